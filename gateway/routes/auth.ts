import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import {
  AUTH_ERRORS,
  BAD_REQUEST,
  BEARER,
  INTERNAL,
  LoginBody,
  LoginReply,
  UserBody,
  UserDeleted,
  UserParams,
  UserSaved,
  UsersReply,
  described,
  errorReply,
} from '../contract/api.js';
import { requireRole } from '../auth/guard.js';
import { Busy } from '../auth/limiter.js';
import { HttpError } from '../errors.js';
import type { CityModule } from '../modules/city/index.js';

const loginSchema = {
  tags: ['auth'],
  summary: 'Log in: a bearer token for the other routes',
  body: LoginBody,
  response: {
    200: described(LoginReply, 'the token (send it as `Authorization: Bearer <token>`), its role and expiry'),
    ...BAD_REQUEST,
    401: errorReply('wrong user name or password (`bad_credentials`)'),
    429: errorReply('5 failed logins for this user within 15 minutes (`too_many_attempts`); `Retry-After` says when to try again'),
    503: errorReply('too many password checks at once (`busy`); `Retry-After` says when to try again'),
    ...INTERNAL,
  },
};
const usersSchema = {
  tags: ['users'],
  summary: 'The accounts and their roles (admin)',
  security: BEARER,
  response: { 200: described(UsersReply, 'every account, without secrets'), ...AUTH_ERRORS, ...INTERNAL },
};
const LAST_ADMIN = errorReply('this is the last admin: make another admin first (`last_admin`)');

function refuse(reply: FastifyReply, status: number, error: string, message: string, retryAfterSec: number) {
  return reply.code(status).header('retry-after', String(retryAfterSec)).send({ error, message });
}

export const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { users, config } = app.gw;
  // Shared with MQTT tool logins (app.ts): one count of failures per user name, whatever the door.
  const throttle = app.gw.loginThrottle;

  app.post('/api/login', { schema: loginSchema, config: { audit: { action: 'login', actor: (req) => (req.body as { user?: string } | undefined)?.user } } }, async (req, reply) => {
    const { user } = req.body;
    const from = req.ip;
    const wait = throttle.retryAfterSec(user);
    if (wait > 0) {
      req.log.warn({ user, from, reason: 'too_many_attempts', retryAfterSec: wait }, 'login refused');
      return refuse(reply, 429, 'too_many_attempts', `too many failed logins for "${user}": try again in ${wait} s`, wait);
    }
    let verified;
    try {
      verified = await users.verify(user, req.body.password);
    } catch (err) {
      if (!(err instanceof Busy)) throw err;
      req.log.warn({ user, from, reason: 'busy' }, 'login refused');
      return refuse(reply, 503, 'busy', 'too many logins at once: try again in a moment', err.retryAfterSec);
    }
    if (!verified) {
      const failures = throttle.failed(user);
      // Never the password: the name, where from, and how close the account is to being locked.
      req.log.warn({ user, from, failures, of: throttle.maxFailures }, 'login failed');
      throw new HttpError(401, 'bad_credentials', 'wrong user name or password');
    }
    throttle.succeeded(user);
    const expiresAtMs = Date.now() + config.tokenTtlSec * 1000;
    const token = app.jwt.sign({ sub: user, role: verified.role, ver: verified.tokenVersion }, { expiresIn: `${config.tokenTtlSec}s` });
    req.log.info({ user, role: verified.role, from }, 'login');
    const { school, county } = users.get(user) ?? {};
    return { token, role: verified.role, user, expiresAt: new Date(expiresAtMs).toISOString(), ...(school ? { school } : {}), ...(county ? { county } : {}) };
  });

  app.get('/api/users', { onRequest: requireRole(app, 'admin'), schema: usersSchema }, async () => ({ users: users.list() }));

  /** Creates or replaces an account (admin only); the password is hashed at once and never stored. Replacing ends its tokens. */
  app.post(
    '/api/users',
    {
      onRequest: requireRole(app, 'admin'),
      config: { audit: { action: 'user.save', target: (req) => (req.body as { user?: string } | undefined)?.user, detail: (req) => ({ role: (req.body as { role?: string } | undefined)?.role, school: (req.body as { school?: string } | undefined)?.school }) } },
      schema: {
        tags: ['users'],
        summary: "Create or replace an account (admin); the password is hashed at once. Replacing one ends its tokens and closes its live sockets",
        security: BEARER,
        response: { 201: UserSaved, ...BAD_REQUEST, ...AUTH_ERRORS, 409: LAST_ADMIN, 503: errorReply('too many password hashes at once (`busy`)'), ...INTERNAL },
        body: UserBody,
      },
    },
    async (req, reply) => {
      const { user, role, school, county } = req.body;
      if (school !== undefined && county !== undefined) throw new HttpError(400, 'bad_request', 'county: a user is bound to a school or to a county, not both');
      if (school !== undefined && !app.gw.registry.schools.has(school)) throw new HttpError(400, 'bad_request', `school: no school "${school}" in the registry`);
      if (county !== undefined && !app.gw.module<CityModule>('city').counties.some((c) => c.id === county))
        throw new HttpError(400, 'bad_request', `county: no county "${county}" here (a county scope is for a city gateway's counties, CITY_COUNTIES_FILE)`);
      // An admin manages every account: one bound to a school or county could still make unbound users.
      if ((school !== undefined || county !== undefined) && role === 'admin')
        throw new HttpError(400, 'bad_request', `${school !== undefined ? 'school' : 'county'}: an admin sees everything and cannot be bound to a ${school !== undefined ? 'school' : 'county'}`);
      if (role !== 'admin' && users.get(user)?.role === 'admin' && users.admins() === 1) {
        throw new HttpError(409, 'last_admin', `"${user}" is the last admin: make another admin before taking the role away`);
      }
      try {
        await users.set(user, req.body.password, role, { school, county });
      } catch (err) {
        if (err instanceof Busy) return refuse(reply, 503, 'busy', 'too many password checks at once: try again in a moment', err.retryAfterSec);
        throw err;
      }
      req.log.info({ user, role, by: req.principal?.user, from: req.ip }, 'user saved');
      return reply.code(201).send({ user, role, ...(school ? { school } : {}), ...(county ? { county } : {}) });
    },
  );

  app.delete(
    '/api/users/:user',
    {
      onRequest: requireRole(app, 'admin'),
      config: { audit: { action: 'user.delete', target: (req) => (req.params as { user?: string }).user } },
      schema: {
        tags: ['users'],
        summary: 'Delete an account (admin): its tokens end at once and its live sockets are closed',
        security: BEARER,
        params: UserParams,
        response: { 200: UserDeleted, ...BAD_REQUEST, ...AUTH_ERRORS, 404: errorReply('no such user (`unknown_user`)'), 409: LAST_ADMIN, ...INTERNAL },
      },
    },
    async (req) => {
      const { user } = req.params;
      const existing = users.get(user);
      if (!existing) throw new HttpError(404, 'unknown_user', `no user "${user}"`);
      if (existing.role === 'admin' && users.admins() === 1) throw new HttpError(409, 'last_admin', `"${user}" is the last admin and cannot be deleted`);
      users.delete(user);
      req.log.info({ user, by: req.principal?.user, from: req.ip }, 'user deleted');
      return { user, deleted: true as const };
    },
  );
};
