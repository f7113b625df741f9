import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { LoginBody, Role } from '../contract/api.js';
import { requireRole } from '../auth/guard.js';
import { HttpError } from '../errors.js';

export const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { users, config } = app.gw;

  app.post('/api/login', { schema: { body: LoginBody } }, async (req) => {
    const role = await users.verify(req.body.user, req.body.password);
    if (!role) throw new HttpError(401, 'bad_credentials', 'wrong user name or password');
    const expiresAtMs = Date.now() + config.tokenTtlSec * 1000;
    const token = app.jwt.sign({ sub: req.body.user, role }, { expiresIn: `${config.tokenTtlSec}s` });
    req.log.info({ user: req.body.user, role }, 'login');
    return { token, role, user: req.body.user, expiresAt: new Date(expiresAtMs).toISOString() };
  });

  app.get('/api/users', { preHandler: requireRole(app, 'admin') }, async () => ({ users: users.list() }));

  /** Creates or replaces an account (admin only); the password is hashed at once and never stored. */
  app.post(
    '/api/users',
    {
      preHandler: requireRole(app, 'admin'),
      schema: {
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
