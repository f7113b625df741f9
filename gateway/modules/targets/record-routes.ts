/**
 * What no device can say (contract §7): inspections with photos, a school's licensed guards, and
 * the photos themselves. Recorded by county maintenance staff (guards: admins) or by users of
 * that school, each checked whole before anything is stored.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ensureMayRecordFor, ensureSchool, requireRole } from '../../auth/guard.js';
import { AUTH_ERRORS, BAD_REQUEST, BEARER, INTERNAL, described, errorReply } from '../../contract/api.js';
import { CANTEEN_INSPECTION_ITEMS, isCanteenInspectionItem } from '../../contract/canteen.js';
import { Id, lit } from '../../contract/common.js';
import { HttpError } from '../../errors.js';
import { MediaStore, storeBodyPhoto } from '../../store/media.js';
import type { GuardOnFile } from './facts.js';
import type { TargetsModule } from './index.js';

/** The campus items, and the canteen's (a failed one opens a canteen case: the canteen module's business). */
export const INSPECTION_ITEMS = ['perimeter', 'barrier', 'gatehouse', 'visitor_register', 'fire_safety', 'other', ...CANTEEN_INSPECTION_ITEMS] as const;
const DATE = '^[0-9]{4}-[0-9]{2}-[0-9]{2}$';
const OPEN = { additionalProperties: true };
/** How far back a record may be dated (`at`): a year's paper records and then some. */
export const MAX_BACKDATE_DAYS = 400;
/** A device-free record may be dated this far ahead of the gateway's clock (a phone's clock). */
const FUTURE_SLACK_MS = 5 * 60_000;

/** The instant a record is dated: `at` (ISO-8601 with offset) within MAX_BACKDATE_DAYS and not in the future, else now. */
export function recordTime(at: string | undefined, now: number, field = 'at'): number {
  if (at === undefined) return now;
  const ms = /(Z|[+-][0-9]{2}:[0-9]{2})$/.test(at) ? Date.parse(at) : NaN;
  if (Number.isNaN(ms)) throw new HttpError(400, 'bad_request', `${field}: "${at.slice(0, 40)}" is not an ISO-8601 time with an offset (e.g. 2026-09-01T09:30:00+08:00)`);
  if (ms > now + FUTURE_SLACK_MS) throw new HttpError(400, 'bad_request', `${field}: ${at} is in the future`);
  if (ms < now - MAX_BACKDATE_DAYS * 86_400_000) throw new HttpError(400, 'bad_request', `${field}: ${at} is more than ${MAX_BACKDATE_DAYS} days ago`);
  return Math.min(ms, now);
}

const InspectionBody = Type.Object(
  {
    school: Id,
    item: lit(INSPECTION_ITEMS),
    gate: Type.Optional(Id),
    result: lit(['pass', 'fail'] as const),
    note: Type.Optional(Type.String({ maxLength: 2000 })),
    photo: Type.Optional(Type.String({ minLength: 1, description: 'base64 JPEG or PNG, at most 4 MiB (a `data:image/…;base64,` prefix is accepted)' })),
    at: Type.Optional(Type.String({ minLength: 1, maxLength: 40, description: `when the inspection was made, ISO-8601 with offset (a paper record entered later); not in the future, at most ${MAX_BACKDATE_DAYS} days ago. Default: now` })),
  },
  { additionalProperties: false },
);
const Guard = Type.Object(
  {
    person: Type.String({ minLength: 1, maxLength: 128, description: 'the id the guard checks in with (their licence id, contract §7)' }),
    name: Type.String({ minLength: 1, maxLength: 64 }),
    licence: Type.String({ minLength: 1, maxLength: 64, description: '保安员证 number' }),
    licenceExpires: Type.String({ pattern: DATE, description: 'last valid day, YYYY-MM-DD' }),
  },
  { additionalProperties: false },
);

export const recordRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { registry, dispatcher, config } = app.gw;
  const targets = app.gw.module<TargetsModule>('targets');
  const media = new MediaStore(config.dataDir);
  const viewer = requireRole(app, 'viewer');
  const knownSchool = (id: string) => {
    if (!registry.schools.has(id)) throw new HttpError(400, 'bad_request', `school: no school "${id}" in the registry`);
  };

  app.post(
    '/api/inspections',
    {
      onRequest: viewer,
      // A 4 MiB photo is about 5.6 MB of base64.
      bodyLimit: 6 * 1024 * 1024,
      config: { audit: { action: 'inspection.record', target: (req) => (req.body as { school?: string } | undefined)?.school, detail: (req) => { const b = req.body as { item?: string; gate?: string; result?: string; at?: string } | undefined; return { item: b?.item, gate: b?.gate, result: b?.result, ...(b?.at ? { at: b.at } : {}) }; } } },
      schema: {
        tags: ['targets'],
        summary: 'Records an inspection (perimeter, barrier of a gate, …) with an optional photo (maintenance+, or a user of that school)',
        security: BEARER,
        body: InspectionBody,
        response: {
          201: described(Type.Object({ id: Type.String(), photo: Type.Optional(Type.String({ description: 'sha256 of the photo: GET /api/media/{sha256}' })) }, OPEN), 'recorded'),
          ...BAD_REQUEST,
          ...AUTH_ERRORS,
          413: errorReply('the photo is over 4 MiB (`photo_too_large`), or the body over 6 MB'),
          ...INTERNAL,
        },
      },
    },
    async (req, reply) => {
      const b = req.body;
      knownSchool(b.school);
      ensureMayRecordFor(req, b.school, 'maintenance');
      const gates = registry.schools.get(b.school)!.gates ?? [];
      if (isCanteenInspectionItem(b.item) && !(registry.schools.get(b.school)!.canteens?.length))
        throw new HttpError(400, 'bad_request', `item: school ${b.school} has no canteen in the registry, so it has no ${b.item} to inspect`);
      if (b.item === 'barrier' && b.gate === undefined) throw new HttpError(400, 'bad_request', 'gate: a barrier inspection names the gate it checked');
      if (b.gate !== undefined && !gates.some((g) => g.id === b.gate))
        throw new HttpError(400, 'bad_request', `gate: school ${b.school} has no gate "${b.gate}" (it has ${gates.map((g) => g.id).join(', ') || 'none'})`);
      const now = recordTime(b.at, Date.now());
      let photo: string | undefined;
      if (b.photo !== undefined) {
        photo = storeBodyPhoto(media, b.photo);
        // The photo's school, so a school's users cannot read another school's photos.
        await dispatcher.execute({ type: 'media', school: b.school, atMs: Date.now(), receivedAtMs: Date.now(), data: { sha256: photo, school: b.school } });
      }
      const id = `insp-${randomUUID()}`;
      await dispatcher.execute({
        type: 'inspection',
        school: b.school,
        atMs: now,
        receivedAtMs: Date.now(),
        data: { id, school: b.school, item: b.item, gate: b.gate, result: b.result, atMs: now, photo, note: b.note, by: req.principal!.user },
      });
      return reply.code(201).send({ id, ...(photo ? { photo } : {}) });
    },
  );

  app.get(
    '/api/media/:sha256',
    {
      onRequest: viewer,
      schema: {
        tags: ['targets'],
        summary: 'A stored photo by its sha256 (viewer+; a school user: their school’s only)',
        security: BEARER,
        params: Type.Object({ sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }) }, { additionalProperties: false }),
        response: { 200: { description: 'the JPEG or PNG', content: { 'image/jpeg': { schema: { type: 'string', format: 'binary' } }, 'image/png': { schema: { type: 'string', format: 'binary' } } } }, ...BAD_REQUEST, ...AUTH_ERRORS, 404: errorReply('no such photo'), ...INTERNAL },
      },
    },
    async (req, reply) => {
      const owners = targets.mediaSchools(req.params.sha256);
      const found = owners.length === 0 ? undefined : media.get(req.params.sha256);
      if (!found) throw new HttpError(404, 'not_found', 'no such photo');
      const mine = req.principal!.school;
      if (mine !== undefined && !owners.includes(mine)) ensureSchool(req, owners[0]);
      // Content-addressed: the bytes behind a name never change.
      return reply.header('content-type', found.type).header('cache-control', 'private, max-age=31536000, immutable').send(found.bytes);
    },
  );

  app.put(
    '/api/schools/:id/guards',
    {
      onRequest: viewer,
      config: { audit: { action: 'guards.replace', target: (req) => (req.params as { id?: string }).id, detail: (req) => ({ guards: Array.isArray(req.body) ? req.body.length : undefined, ...((req.query as { at?: string }).at ? { at: (req.query as { at?: string }).at } : {}) }) } },
      schema: {
        tags: ['targets'],
        summary: "Replaces a school's licensed guards (admin, or a user of that school)",
        security: BEARER,
        params: Type.Object({ id: Id }, { additionalProperties: false }),
        querystring: Type.Object({ at: Type.Optional(Type.String({ minLength: 1, maxLength: 40, description: `when the list was in force, ISO-8601 with offset (entering the records of an earlier date): licences are checked against that day; not in the future, at most ${MAX_BACKDATE_DAYS} days ago. Default: now` })) }, { additionalProperties: false }),
        body: Type.Array(Guard, { maxItems: 200 }),
        response: { 200: described(Type.Object({ school: Type.String(), guards: Type.Array(Guard) }, OPEN), 'the guards now on file'), ...BAD_REQUEST, ...AUTH_ERRORS, 404: errorReply('no such school'), ...INTERNAL },
      },
    },
    async (req) => {
      const school = req.params.id;
      if (!registry.schools.has(school)) throw new HttpError(404, 'not_found', `no school "${school}" in the registry`);
      ensureMayRecordFor(req, school, 'admin');
      const guards = req.body as GuardOnFile[];
      const now = recordTime((req.query as { at?: string }).at, Date.now());
      const today = app.gw.policy.localDay(now);
      const seen = new Map<string, number>();
      guards.forEach((g, i) => {
        for (const key of [`person ${g.person}`, `licence ${g.licence}`]) {
          if (seen.has(key)) throw new HttpError(400, 'bad_request', `/${i}: ${key} is listed twice (also at /${seen.get(key)})`);
          seen.set(key, i);
        }
        if (Number.isNaN(Date.parse(`${g.licenceExpires}T00:00:00Z`))) throw new HttpError(400, 'bad_request', `/${i}/licenceExpires: "${g.licenceExpires}" is not a date`);
        if (g.licenceExpires < today) throw new HttpError(400, 'bad_request', `/${i}/licenceExpires: ${g.name}'s licence expired on ${g.licenceExpires}; record only guards with a valid licence`);
      });
      await dispatcher.execute({ type: 'guards', school, atMs: now, receivedAtMs: Date.now(), data: { school, guards, by: req.principal!.user } });
      return { school, guards: targets.guards(school) };
    },
  );
};
