import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AUTH_ERRORS, BAD_REQUEST, BEARER, INTERNAL, LoginBody, LoginReply, Role, UserSaved, UsersReply, described, errorReply } from '../contract/api.js';
import { requireRole } from '../auth/guard.js';
import { HttpError } from '../errors.js';

const loginSchema = {
  tags: ['auth'],
  summary: 'Log in: a bearer token for the other routes',
  body: LoginBody,
  response: {
    200: described(LoginReply, 'the token (send it as `Authorization: Bearer <token>`), its role and expiry'),
    ...BAD_REQUEST,
    401: errorReply('wrong user name or password (`bad_credentials`)'),
    ...INTERNAL,
  },
};
const usersSchema = {
  tags: ['users'],
  summary: 'The accounts and their roles (admin)',
  security: BEARER,
  response: { 200: described(UsersReply, 'every account, without secrets'), ...AUTH_ERRORS, ...INTERNAL },
};

export const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { users, config } = app.gw;

  app.post('/api/login', { schema: loginSchema }, async (req) => {
    const role = await users.verify(req.body.user, req.body.password);
    if (!role) throw new HttpError(401, 'bad_credentials', 'wrong user name or password');
    const expiresAtMs = Date.now() + config.tokenTtlSec * 1000;
    const token = app.jwt.sign({ sub: req.body.user, role }, { expiresIn: `${config.tokenTtlSec}s` });
    req.log.info({ user: req.body.user, role }, 'login');
    return { token, role, user: req.body.user, expiresAt: new Date(expiresAtMs).toISOString() };
  });

  app.get('/api/users', { preHandler: requireRole(app, 'admin'), schema: usersSchema }, async () => ({ users: users.list() }));

  /** Creates or replaces an account (admin only); the password is hashed at once and never stored. */
  app.post(
    '/api/users',
    {
      preHandler: requireRole(app, 'admin'),
      schema: {
        tags: ['users'],
        summary: 'Create or replace an account (admin); the password is hashed at once',
        security: BEARER,
        response: { 201: UserSaved, ...BAD_REQUEST, ...AUTH_ERRORS, ...INTERNAL },
        body: Type.Object(
          { user: Type.String({ pattern: '^[A-Za-z0-9_.@-]{1,64}$' }), password: Type.String({ minLength: 8, maxLength: 256 }), role: Role },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      await users.set(req.body.user, req.body.password, req.body.role);
      req.log.info({ user: req.body.user, role: req.body.role, by: req.principal?.user }, 'user saved');
      return reply.code(201).send({ user: req.body.user, role: req.body.role });
    },
  );
};
