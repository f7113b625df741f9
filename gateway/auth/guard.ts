/** Bearer-token checks for routes: who is calling, and may they. */
import type { FastifyInstance, FastifyRequest, preHandlerHookHandler } from 'fastify';
import type { Role } from '../contract/api.js';
import { HttpError } from '../errors.js';
import type { Principal } from '../services.js';
import { roleRank } from './users.js';

function bearerOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
}

/** The bearer token, else (for the WebSocket, where browsers cannot set headers) the `token` query. */
export function tokenOf(req: FastifyRequest): string | undefined {
  const q = (req.query as Record<string, unknown> | undefined)?.token;
  return bearerOf(req) ?? (typeof q === 'string' ? q : undefined);
}

export function verifyToken(app: FastifyInstance, token: string | undefined): Principal {
  if (!token) throw new HttpError(401, 'unauthorized', 'log in first: send Authorization: Bearer <token>');
  try {
    const p = app.jwt.verify<{ sub: string; role: Role }>(token);
    return { user: p.sub, role: p.role };
  } catch (err) {
    const expired = (err as { code?: string }).code === 'FAST_JWT_EXPIRED';
    throw new HttpError(401, expired ? 'token_expired' : 'unauthorized', expired ? 'the token has expired: log in again' : 'the token is not valid');
  }
}

/** preHandler: the caller must hold at least `min`. Query tokens are accepted only where `allowQuery`. */
export function requireRole(app: FastifyInstance, min: Role, allowQuery = false): preHandlerHookHandler {
  return async (req) => {
    const principal = verifyToken(app, allowQuery ? tokenOf(req) : bearerOf(req));
    if (roleRank(principal.role) < roleRank(min)) throw new HttpError(403, 'forbidden', `this needs the ${min} role; you are ${principal.role}`);
    req.principal = principal;
  };
}
