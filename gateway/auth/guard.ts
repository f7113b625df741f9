/** Bearer-token checks for routes: who is calling, and may they. */
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Role } from '../contract/api.js';
import { HttpError } from '../errors.js';
import type { Principal } from '../services.js';
import { roleRank } from './users.js';

/** A verified token: who, and until when. */
export interface Session extends Principal {
  expiresAtMs: number;
}

/** What a token carries besides `sub` and `exp`: the role and the user's token version when it was signed. */
export interface TokenClaims {
  sub: string;
  role: Role;
  ver?: number;
  exp?: number;
  /** A kiosk's session (sub `kiosk:<id>`): valid while the kiosk is not revoked. */
  kiosk?: string;
}

/** The routes a county-bound user may call at a city gateway (decision 0010). */
const CITY_API = '/api/city/';

/** Methods a kiosk may use: a wall screen looks, it never acts (contract-additions "Kiosks"). */
const KIOSK_METHODS = new Set(['GET', 'HEAD']);

function bearerOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
}

/** The bearer token, else (for the WebSocket, where browsers cannot set headers) the `token` query. */
export function tokenOf(req: FastifyRequest): string | undefined {
  const q = (req.query as Record<string, unknown> | undefined)?.token;
  return bearerOf(req) ?? (typeof q === 'string' ? q : undefined);
}

/**
 * A valid token of a user that still exists and has not been changed since it was signed
 * (contract §6: changing or deleting a user ends its tokens at once).
 */
export function verifyToken(app: FastifyInstance, token: string | undefined): Session {
  if (!token) throw new HttpError(401, 'unauthorized', 'log in first: send Authorization: Bearer <token>');
  let p: TokenClaims;
  try {
    p = app.jwt.verify<TokenClaims>(token);
  } catch (err) {
    const expired = (err as { code?: string }).code === 'FAST_JWT_EXPIRED';
    throw new HttpError(401, expired ? 'token_expired' : 'unauthorized', expired ? 'the token has expired: log in again' : 'the token is not valid');
  }
  if (p.kiosk !== undefined) {
    const kiosk = app.gw.kiosks.active(p.kiosk);
    if (!kiosk) throw new HttpError(401, 'kiosk_revoked', 'this wall screen was revoked: an admin must issue a new setup link');
    return { user: p.sub, role: 'viewer', school: kiosk.school, kiosk: kiosk.id, expiresAtMs: typeof p.exp === 'number' ? p.exp * 1000 : Infinity };
  }
  const current = app.gw.users.get(p.sub);
  if (!current || current.tokenVersion !== (p.ver ?? 0)) {
    throw new HttpError(401, 'token_revoked', 'this login was ended (the account was changed or deleted): log in again');
  }
  return { user: p.sub, role: current.role, school: current.school, county: current.county, expiresAtMs: typeof p.exp === 'number' ? p.exp * 1000 : Infinity };
}

/** Verifies the request's token and that it holds at least `min`. Query tokens only where `allowQuery`. */
export function authenticate(app: FastifyInstance, req: FastifyRequest, min: Role, allowQuery = false): Session {
  const session = verifyToken(app, allowQuery ? tokenOf(req) : bearerOf(req));
  // Known even when refused: a logged-in user trying what their role may not do is audited.
  req.principal = session;
  if (session.kiosk !== undefined) {
    app.gw.kiosks.seen(session.kiosk, req.ip);
    if (!KIOSK_METHODS.has(req.method)) throw new HttpError(403, 'kiosk_read_only', 'a wall screen (kiosk) may only look: log in as an operator to act');
  }
  if (roleRank(session.role) < roleRank(min)) throw new HttpError(403, 'forbidden', `this needs the ${min} role; you are ${session.role}`);
  // The city gateway's own APIs (schools, alarms, the live feed) span every county: not for a county's user.
  if (session.county !== undefined && !req.url.startsWith(CITY_API))
    throw new HttpError(403, 'other_county', `you are a user of county ${session.county}: at the city you see it through ${CITY_API}counties only`);
  return session;
}

/**
 * onRequest: the caller must hold at least `min`. Checked before the body is read or validated, so
 * a caller without a token learns only that (401), not what the body should have been.
 * Query tokens are accepted only where `allowQuery`.
 */
export function requireRole(app: FastifyInstance, min: Role, allowQuery = false): onRequestHookHandler {
  return async (req) => {
    authenticate(app, req, min, allowQuery);
  };
}

/**
 * Contract §7: a user bound to a school may see and act for that school only. Throws 403
 * `other_school` for any other; county users (no school) pass.
 */
export function ensureSchool(req: FastifyRequest, school: string): void {
  const mine = req.principal?.school;
  if (mine !== undefined && mine !== school) throw new HttpError(403, 'other_school', `you are a user of school ${mine}: you cannot see or record for school ${school}`);
}

/**
 * Who may record for a school (inspections, guards): a user bound to that school, whatever their
 * role, or a county user of at least `min`.
 */
export function ensureMayRecordFor(req: FastifyRequest, school: string, min: Role): void {
  const p = req.principal!;
  if (p.school !== undefined) return ensureSchool(req, school);
  if (roleRank(p.role) < roleRank(min)) throw new HttpError(403, 'forbidden', `recording for a school needs the ${min} role, or a user of that school; you are ${p.role}`);
}

/**
 * The school a listing is limited to: the one asked for, and for a school's own user always
 * theirs (asking for another is 403 `other_school`).
 */
export function scopedSchool(req: FastifyRequest, asked: string | undefined): string | undefined {
  const mine = req.principal?.school;
  if (mine === undefined) return asked;
  if (asked !== undefined) ensureSchool(req, asked);
  return mine;
}
