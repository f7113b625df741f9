/**
 * Kiosk routes (contract-additions "Kiosks"): an admin issues, lists and revokes wall screens'
 * credentials; a browser spends a setup code once to be bound, then trades its device secret for
 * short-lived session tokens. Secrets travel only in request and reply bodies, never in a URL the
 * server sees, and are never logged.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AUTH_ERRORS, BAD_REQUEST, BEARER, INTERNAL, errorReply } from '../contract/api.js';
import { KioskIssueBody, KioskIssued, KioskParams, KioskRevoked, KioskSecretBody, KioskSession, KioskSetupBody, KioskSetupReply, KiosksReply } from '../contract/kiosk.js';
import { requireRole } from '../auth/guard.js';
import type { StoredKiosk } from '../auth/kiosks.js';
import { HttpError } from '../errors.js';

/** A kiosk's session lasts at most this long (less when TOKEN_TTL_SEC is shorter); the screen renews it silently. */
export const KIOSK_SESSION_SEC = 3600;

const kioskOf = (req: FastifyRequest) => (typeof req.auditDetail?.kiosk === 'string' ? req.auditDetail.kiosk : undefined);

function session(app: FastifyInstance, k: StoredKiosk) {
  const ttl = Math.min(app.gw.config.tokenTtlSec, KIOSK_SESSION_SEC);
  const user = `kiosk:${k.id}`;
  const token = app.jwt.sign({ sub: user, role: 'viewer', kiosk: k.id }, { expiresIn: `${ttl}s` });
  return { token, role: 'viewer' as const, user, expiresAt: new Date(Date.now() + ttl * 1000).toISOString(), kiosk: { id: k.id, name: k.name, ...(k.school ? { school: k.school } : {}) } };
}

const SETUP_REFUSALS = {
  bad_setup_code: [401, 'this setup code is not one the gateway issued'],
  setup_used: [409, 'this setup code was already used by another screen: ask an admin for a new one'],
  setup_expired: [410, 'this setup code has expired (24 h): ask an admin for a new one'],
  kiosk_revoked: [401, 'this wall screen was revoked: ask an admin for a new setup link'],
} as const;

export const kioskRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { kiosks, registry } = app.gw;

  app.post(
    '/api/kiosks',
    {
      onRequest: requireRole(app, 'admin'),
      config: { audit: { action: 'kiosk.issue', target: kioskOf, detail: (req) => ({ name: (req.body as { name?: string } | undefined)?.name, school: (req.body as { school?: string } | undefined)?.school }) } },
      schema: {
        tags: ['kiosks'],
        summary: 'Issue a kiosk for a named wall screen (admin): a one-time setup code and link, shown only here',
        security: BEARER,
        body: KioskIssueBody,
        response: { 201: KioskIssued, ...BAD_REQUEST, ...AUTH_ERRORS, ...INTERNAL },
      },
    },
    async (req, reply) => {
      const { name, school } = req.body;
      if (school !== undefined && !registry.schools.has(school)) throw new HttpError(400, 'bad_request', `school: no school "${school}" in the registry`);
      const { kiosk, setupCode } = kiosks.issue(name, school, req.principal!.user);
      req.auditDetail = { kiosk: kiosk.id };
      req.log.info({ kiosk: kiosk.id, name, school, by: req.principal!.user, from: req.ip }, 'kiosk issued');
      // The code goes in the fragment: a browser never sends it, so no access log or proxy sees it.
      const url = `${req.protocol}://${req.host}/#kiosk-setup=${setupCode}`;
      return reply.code(201).send({ ...kiosks.view(kiosk), setupCode, url });
    },
  );

  app.get(
    '/api/kiosks',
    {
      onRequest: requireRole(app, 'admin'),
      schema: { tags: ['kiosks'], summary: 'Every kiosk: where and when it was set up, last seen, revoked (admin)', security: BEARER, response: { 200: KiosksReply, ...AUTH_ERRORS, ...INTERNAL } },
    },
    async () => ({ kiosks: kiosks.list() }),
  );

  app.delete(
    '/api/kiosks/:id',
    {
      onRequest: requireRole(app, 'admin'),
      config: { audit: { action: 'kiosk.revoke', target: (req) => (req.params as { id?: string }).id } },
      schema: {
        tags: ['kiosks'],
        summary: 'Revoke a kiosk (admin): its sessions end at once and its live sockets close with 4003',
        security: BEARER,
        params: KioskParams,
        response: { 200: KioskRevoked, ...BAD_REQUEST, ...AUTH_ERRORS, 404: errorReply('no such kiosk (`unknown_kiosk`)'), ...INTERNAL },
      },
    },
    async (req) => {
      const revoked = kiosks.revoke(req.params.id, req.principal!.user);
      if (!revoked) throw new HttpError(404, 'unknown_kiosk', `no kiosk "${req.params.id}"`);
      req.log.info({ kiosk: revoked.id, name: revoked.name, by: req.principal!.user, from: req.ip }, 'kiosk revoked');
      return kiosks.view(revoked);
    },
  );

  app.post(
    '/api/kiosk/setup',
    {
      // Audited as the kiosk whose code it was (a second use too); an unknown code changed nothing and is not.
      config: { audit: { action: 'kiosk.setup', actor: (req) => (kioskOf(req) ? `kiosk:${kioskOf(req)}` : undefined), target: kioskOf } },
      schema: {
        tags: ['kiosks'],
        summary: 'Bind this browser to a kiosk with its one-time setup code: the device secret and a first session',
        body: KioskSetupBody,
        response: {
          201: KioskSetupReply,
          ...BAD_REQUEST,
          401: errorReply('not a code the gateway issued (`bad_setup_code`), or the kiosk was revoked (`kiosk_revoked`)'),
          409: errorReply('the code was already used (`setup_used`)'),
          410: errorReply('the code is older than 24 h (`setup_expired`)'),
          ...INTERNAL,
        },
      },
    },
    async (req, reply) => {
      const agent = req.headers['user-agent'];
      const r = kiosks.setup(req.body.setupCode, req.ip, typeof agent === 'string' ? agent : undefined);
      if (r.kiosk) req.auditDetail = { kiosk: r.kiosk.id };
      if (!r.ok) {
        const [status, message] = SETUP_REFUSALS[r.code];
        req.log.warn({ kiosk: r.kiosk?.id, from: req.ip, reason: r.code }, 'kiosk setup refused');
        throw new HttpError(status, r.code, message);
      }
      req.log.info({ kiosk: r.kiosk.id, name: r.kiosk.name, from: req.ip }, 'kiosk set up');
      return reply.code(201).send({ ...session(app, r.kiosk), secret: r.secret });
    },
  );

  app.post(
    '/api/kiosk/session',
    {
      // Only a refused known kiosk is audited (a revoked screen, or a copied secret, still calling).
      config: { audit: { action: 'kiosk.session', actor: (req) => (req.auditDetail?.refused && kioskOf(req) ? `kiosk:${kioskOf(req)}` : undefined), target: kioskOf } },
      schema: {
        tags: ['kiosks'],
        summary: "A kiosk's session token for its device secret (renewed silently by the wall screen)",
        body: KioskSecretBody,
        response: {
          200: KioskSession,
          ...BAD_REQUEST,
          401: errorReply('the kiosk was revoked (`kiosk_revoked`), or the secret is not a kiosk\'s (`bad_kiosk_secret`)'),
          ...INTERNAL,
        },
      },
    },
    async (req) => {
      const k = kiosks.bySecret(req.body.secret);
      if (!k) throw new HttpError(401, 'bad_kiosk_secret', 'this is not the secret of any kiosk: set the screen up again with a new setup link');
      if (k.revokedAt) {
        req.auditDetail = { kiosk: k.id, refused: true };
        req.log.warn({ kiosk: k.id, from: req.ip }, 'revoked kiosk refused');
        throw new HttpError(401, 'kiosk_revoked', 'this wall screen was revoked: ask an admin for a new setup link');
      }
      kiosks.seen(k.id, req.ip);
      return session(app, k);
    },
  );
};
