/**
 * `POST /api/vendors/{vendor}/key` (admin, audited): a vendor's push key, shown once.
 * `GET /api/vendors` (admin): the vendors and whether each has a key.
 * `POST /api/push/{vendor}` (the vendor's key, no operator token): a vendor's own JSON → the `ai`
 * event an MQTT camera sends, with its snapshot in the media store (contract §8, docs/vendors.md).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { requireRole } from '../../auth/guard.js';
import { AUTH_ERRORS, BEARER, INTERNAL, described, errorReply } from '../../contract/api.js';
import { iso } from '../../contract/common.js';
import type { AiPayload } from '../../contract/mqtt.js';
import type { DomainEvent } from '../../core/events.js';
import { HttpError } from '../../errors.js';
import { MAX_SNAPSHOT_BYTES, VENDOR_ADAPTERS, VENDOR_REFUSALS } from '../../ingest/vendors/index.js';
import { MediaStore } from '../../store/media.js';
import { SNAPSHOT_LIMITS, fetchSnapshot } from './fetch-snapshot.js';
import type { TargetsModule } from '../targets/index.js';
import type { VendorsModule } from './index.js';

const OPEN = { additionalProperties: true };
/** OpenAPI security of the push route: the vendor's key, as a bearer token or as X-Api-Key. */
export const VENDOR_KEY: { [scheme: string]: string[] }[] = [{ vendorKey: [] }, { vendorApiKey: [] }];
/** A base64 snapshot at the adapters' limit, and room for the rest of the record. Beyond: 413. */
export const PUSH_BODY_LIMIT = Math.ceil(MAX_SNAPSHOT_BYTES / 3) * 4 + 256 * 1024;

const VendorParams = Type.Object({ vendor: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
/** The admin's answer: they may know which adapters exist. */
const unknownVendor = (vendor: string) =>
  new HttpError(404, 'unknown_vendor', `no vendor "${vendor.slice(0, 64)}": the gateway has adapters for ${Object.keys(VENDOR_ADAPTERS).join(', ')}`);
/**
 * The push's answer to a vendor with no adapter: 401 like a wrong key, and without the list of
 * adapters, so an unauthenticated caller cannot probe which vendors exist (issue: "an unknown
 * vendor or wrong key (401)").
 */
const unknownPushVendor = (vendor: string) =>
  new HttpError(401, 'unknown_vendor', `no push key is valid for vendor "${vendor.slice(0, 64)}": check the push URL your gateway administrator gave you`);

/** The key a vendor sent: `Authorization: Bearer <key>`, or `X-Api-Key: <key>`. */
function keyOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h === 'string' && /^Bearer /i.test(h)) return h.slice(7).trim() || undefined;
  const x = req.headers['x-api-key'];
  return typeof x === 'string' && x.trim() !== '' ? x.trim() : undefined;
}

export const vendorRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const vendors = app.gw.module<VendorsModule>('vendors');
  const { registry, policy, dispatcher, config } = app.gw;
  const media = new MediaStore(config.dataDir);
  const targets = app.gw.module<TargetsModule>('targets');
  const admin = requireRole(app, 'admin');

  app.get(
    '/api/vendors',
    {
      onRequest: admin,
      schema: {
        tags: ['vendors'],
        summary: 'The vendor adapters that can push (POST /api/push/{vendor}) and whether each has a key (admin)',
        security: BEARER,
        response: {
          200: described(
            Type.Object({ vendors: Type.Array(Type.Object({ vendor: Type.String(), url: Type.String(), keyMadeAt: Type.Union([Type.String(), Type.Null()]) }, OPEN)) }, OPEN),
            'one entry per adapter',
          ),
          ...AUTH_ERRORS,
          ...INTERNAL,
        },
      },
    },
    async () => ({
      vendors: vendors.vendors.map((v) => {
        const at = vendors.keyMadeAt(v);
        return { vendor: v, url: `/api/push/${v}`, keyMadeAt: at === undefined ? null : iso(at) };
      }),
    }),
  );

  app.post(
    '/api/vendors/:vendor/key',
    {
      onRequest: admin,
      config: { audit: { action: 'vendor.key', target: (req) => (req.params as { vendor?: string }).vendor } },
      schema: {
        tags: ['vendors'],
        summary: "Makes a vendor's push key, ending the old one (admin); the key is shown once, only its hash is stored",
        security: BEARER,
        params: VendorParams,
        response: {
          201: described(
            Type.Object(
              {
                vendor: Type.String(),
                key: Type.String({ description: 'shown once; the vendor sends it as `Authorization: Bearer <key>` (or `X-Api-Key: <key>`)' }),
                url: Type.String({ description: 'where the vendor pushes: POST this path' }),
              },
              OPEN,
            ),
            'the new key',
          ),
          404: errorReply('no adapter for this vendor (`unknown_vendor`)'),
          ...AUTH_ERRORS,
          ...INTERNAL,
        },
      },
    },
    async (req, reply) => {
      const { vendor } = req.params;
      if (!vendors.vendors.includes(vendor)) throw unknownVendor(vendor);
      const key = await vendors.makeKey(vendor, req.principal!.user);
      req.log.info({ vendor, by: req.principal!.user }, 'vendor push key made');
      return reply.code(201).send({ vendor, key, url: `/api/push/${vendor}` });
    },
  );

  app.post(
    '/api/push/:vendor',
    {
      // The vendor's key is the credential: checked here, before the body is read. No operator
      // token is asked for (a vendor has none), and none is accepted in its place.
      onRequest: async (req) => {
        const { vendor } = req.params as { vendor: string };
        if (!vendors.vendors.includes(vendor)) {
          req.log.warn({ vendor: vendor.slice(0, 64), from: req.ip }, 'vendor push refused: unknown vendor');
          throw unknownPushVendor(vendor);
        }
        const key = keyOf(req);
        if (!vendors.verify(vendor, key)) {
          // Never the key itself (contract §6), only whether one was sent.
          req.log.warn({ vendor, from: req.ip, keySent: key !== undefined, keyMade: vendors.keyMadeAt(vendor) !== undefined }, 'vendor push refused: missing or wrong key');
          throw new HttpError(401, 'bad_key', `missing or wrong key for vendor ${vendor}: send Authorization: Bearer <key> (or X-Api-Key: <key>) with the key an administrator made (POST /api/vendors/${vendor}/key)`);
        }
      },
      bodyLimit: PUSH_BODY_LIMIT,
      schema: {
        tags: ['vendors'],
        summary: "A vendor's AI record in its own JSON (trustivs: sendAIRecordByCompany; webhook: {stream_id, event_type, timestamp, image_base64}), mapped to the camera's `ai` event (the vendor's key)",
        description: `Authenticated by the vendor's key (POST /api/vendors/{vendor}/key), not by an operator token. Field mappings: docs/vendors.md. A refusal is 400 with one of ${VENDOR_REFUSALS.map((c) => `\`${c}\``).join(', ')} and what was wrong; a re-sent record (same id) answers 200 with \`duplicate: true\` and is stored once.`,
        security: VENDOR_KEY,
        params: VendorParams,
        body: Type.Object({}, { additionalProperties: true, description: "the vendor's own JSON record (see docs/vendors.md)" }),
        response: {
          200: described(
            Type.Object(
              {
                id: Type.String({ description: 'the event id (`<vendor>:<its record id>`), the dedupe key' }),
                school: Type.String(),
                device: Type.String({ description: 'the camera, from the registry' }),
                kind: Type.String(),
                ts: Type.String(),
                snapshot: Type.Optional(Type.String({ description: 'sha256 of the stored snapshot: GET /api/media/{sha256}' })),
                snapshotError: Type.Optional(Type.String({ description: 'why the snapshot URL could not be fetched (the event is stored without it)' })),
                duplicate: Type.Boolean({ description: 'the record was already stored: nothing new was stored' }),
              },
              OPEN,
            ),
            'stored (durable), or already stored',
          ),
          400: errorReply(`the record is refused, with what was wrong: ${VENDOR_REFUSALS.map((c) => `\`${c}\``).join(', ')} (or \`bad_request\`: the body is not a JSON object)`),
          401: errorReply('no key, or not the current key of this vendor (`bad_key`); or no adapter for this vendor (`unknown_vendor`, not told apart by status so the adapters cannot be probed)'),
          413: errorReply('the body is over the limit (a snapshot over 2 MiB)'),
          ...INTERNAL,
        },
      },
    },
    async (req, reply) => {
      const { vendor } = req.params;
      const mapped = VENDOR_ADAPTERS[vendor](req.body, registry, { offsetMs: policy.offsetMs });
      if (!mapped.ok) {
        req.log.info({ vendor, code: mapped.code, reason: mapped.reason }, 'vendor push refused');
        dispatcher.refused('ai', Date.now());
        throw new HttpError(400, mapped.code, mapped.reason);
      }
      const v = mapped.event;
      const receivedAtMs = Date.now();
      let snapshot = v.snapshot;
      let snapshotError: string | undefined;
      if (!snapshot && v.data.snapshotUrl) {
        // Fetched once here, so that screens never fetch from the vendor. A snapshot that cannot be
        // had does not stop the event: it is stored with its snapshotUrl only.
        const got = await fetchSnapshot(v.data.snapshotUrl, SNAPSHOT_LIMITS);
        if (got.ok) snapshot = got;
        else {
          snapshotError = `picture not fetched: ${got.reason}`;
          req.log.warn({ vendor, device: v.device, reason: got.reason }, 'vendor snapshot URL not fetched');
        }
      }
      let sha: string | undefined;
      if (snapshot) {
        sha = media.put(snapshot.bytes).sha256;
        // The photo's school, so a school's users can read it and no other school's can (once: a re-sent record adds nothing).
        if (!targets.mediaSchools(sha).includes(v.school))
          await dispatcher.execute({ type: 'media', school: v.school, atMs: receivedAtMs, receivedAtMs, data: { sha256: sha, school: v.school } });
      }
      // `snapshotError` tells the canteen why its case has no picture, and the gateway not to fetch it again after the commit.
      const data: AiPayload & { snapshot?: string; snapshotError?: string } = { ...v.data, ...(sha ? { snapshot: sha } : {}), ...(snapshotError ? { snapshotError } : {}) };
      const event = { type: 'ai', school: v.school, device: v.device, sourceId: v.sourceId, atMs: v.atMs, receivedAtMs, data } as DomainEvent;
      const { duplicate } = await vendors.submitAi(event);
      req.log.info({ vendor, id: v.sourceId, device: v.device, kind: v.data.kind, duplicate }, 'vendor push stored');
      return reply.code(200).send({ id: v.sourceId, school: v.school, device: v.device, kind: v.data.kind, ts: iso(v.atMs), ...(sha ? { snapshot: sha } : {}), ...(snapshotError ? { snapshotError } : {}), duplicate });
    },
  );
};
