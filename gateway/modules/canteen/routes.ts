/**
 * Contract §8 routes: rectification cases and their workflow, canteen records, the daily summary.
 *
 * Who may act on a case (decided, docs/contract-additions.md): `notify`, `start` and `submit` a user
 * of the case's school (any role: the food-safety officer rectifies) or a county operator+; `close`
 * and `reject` (the review, 验收) a county operator+ only: a school does not sign off its own
 * rectification. Records: a user of that school, or a county maintenance+ (as inspections).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ensureMayRecordFor, ensureSchool, requireRole, scopedSchool } from '../../auth/guard.js';
import { roleRank } from '../../auth/users.js';
import { CASE_ACTIONS, CASE_STATES, CanteenRecord, Case, type CaseAction } from '../../contract/canteen.js';
import { AUTH_ERRORS, BAD_REQUEST, BEARER, INTERNAL, described, errorReply } from '../../contract/api.js';
import { ErrorBody, Id, lit } from '../../contract/common.js';
import { HttpError } from '../../errors.js';
import { MediaStore, storeBodyPhoto } from '../../store/media.js';
import { CaseActionIncomplete, IllegalCaseAction } from './cases.js';
import { intakeRecord } from './intake.js';
import { CaseNotFound, type CanteenModule } from './index.js';

const OPEN = { additionalProperties: true };
const DATE = '^[0-9]{4}-[0-9]{2}-[0-9]{2}$';
const CaseView = Type.Intersect([Case, Type.Object({ overdue: Type.Boolean(), actions: Type.Array(lit(CASE_ACTIONS)) })]);
const CaseParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });
const ActionBody = Type.Object(
  {
    note: Type.Optional(Type.String({ maxLength: 2000 })),
    photo: Type.Optional(Type.String({ minLength: 1, description: '`submit`: the rectification photo, base64 JPEG or PNG at most 4 MiB (a `data:image/…;base64,` prefix is accepted)' })),
    measure: Type.Optional(Type.String({ maxLength: 2000, description: '`submit`: the measure taken (整改措施)' })),
  },
  { additionalProperties: false },
);
/** Who reviews: the county's operators. */
const REVIEW: readonly CaseAction[] = ['close', 'reject'];

export const canteenRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { registry, policy, dispatcher, config } = app.gw;
  const canteen = app.gw.module<CanteenModule>('canteen');
  const media = new MediaStore(config.dataDir);
  const viewer = requireRole(app, 'viewer');

  app.get(
    '/api/canteen/cases',
    {
      onRequest: viewer,
      schema: {
        tags: ['canteen'],
        summary: 'Rectification cases, newest first (viewer+; a school user: their school’s only)',
        security: BEARER,
        querystring: Type.Object(
          {
            state: Type.Optional(lit([...CASE_STATES, 'overdue'] as const)),
            school: Type.Optional(Id),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: described(Type.Object({ cases: Type.Array(CaseView) }, OPEN), 'the cases'), ...BAD_REQUEST, ...AUTH_ERRORS, ...INTERNAL },
      },
    },
    async (req) => ({ cases: await canteen.list({ state: req.query.state, school: scopedSchool(req, req.query.school), limit: req.query.limit }) }),
  );

  app.get(
    '/api/canteen/cases/:id',
    {
      onRequest: viewer,
      schema: {
        tags: ['canteen'],
        summary: 'One case with its history (viewer+; a school user: their school’s only)',
        security: BEARER,
        params: CaseParams,
        response: { 200: described(CaseView, 'the case'), ...BAD_REQUEST, ...AUTH_ERRORS, 404: errorReply('no such case'), ...INTERNAL },
      },
    },
    async (req) => {
      const c = await canteen.get(req.params.id);
      if (!c) throw new HttpError(404, 'not_found', `no case with id "${req.params.id}"`);
      ensureSchool(req, c.school);
      return c;
    },
  );

  for (const action of CASE_ACTIONS) {
    app.post(
      `/api/canteen/cases/:id/${action}`,
      {
        onRequest: viewer,
        preValidation: async (req) => void (req.body ??= {}),
        bodyLimit: 6 * 1024 * 1024,
        config: { audit: { action: `case.${action}`, target: (req) => (req.params as { id?: string }).id, detail: (req) => { const b = req.body as { note?: string; measure?: string } | undefined; return { note: b?.note, measure: b?.measure }; } } },
        schema: {
          tags: ['canteen'],
          summary:
            action === 'close' || action === 'reject'
              ? `${action === 'close' ? 'Closes a submitted case (review passed)' : 'Sends a submitted case back to rectifying (a note is required)'} (county operator+)`
              : `${{ notify: 'Notifies the school of an open case', start: 'Starts the rectification of a notified case', submit: 'Submits the rectification: a photo and the measure taken' }[action as 'notify']} (a user of the case’s school, or county operator+)`,
          security: BEARER,
          params: CaseParams,
          body: Type.Optional(ActionBody),
          response: {
            200: described(CaseView, 'the case after the action'),
            400: errorReply('the body does not match the schema, `submit` without a photo or a measure, `reject` without a note, or a photo that is not a JPEG or PNG'),
            ...AUTH_ERRORS,
            404: errorReply('no such case'),
            409: Type.Object({ ...ErrorBody.properties, state: lit(CASE_STATES) }, { ...OPEN, description: 'the case’s state does not allow the action: `state` is the current one' }),
            413: errorReply('the photo is over 4 MiB'),
            ...INTERNAL,
          },
        },
      },
      async (req) => {
        const current = await canteen.get(req.params.id);
        if (!current) throw new HttpError(404, 'not_found', `no case with id "${req.params.id}"`);
        const p = req.principal!;
        ensureSchool(req, current.school);
        if (REVIEW.includes(action)) {
          if (p.school !== undefined) throw new HttpError(403, 'forbidden', `${action} is the county center's review: a school user cannot ${action} a case`);
          if (roleRank(p.role) < roleRank('operator')) throw new HttpError(403, 'forbidden', `this needs the operator role; you are ${p.role}`);
        } else if (p.school === undefined && roleRank(p.role) < roleRank('operator')) {
          throw new HttpError(403, 'forbidden', `acting on a case needs the operator role, or a user of that school; you are ${p.role}`);
        }
        const b = req.body ?? {};
        // Out of order first: a refused action stores no photo.
        if (!current.actions.includes(action)) throw new HttpError(409, 'illegal_transition', `cannot ${action} a case that is ${current.state}`, { state: current.state });
        let photo: string | undefined;
        if (b.photo !== undefined) {
          photo = storeBodyPhoto(media, b.photo);
        }
        try {
          const c = await canteen.act({ case: current.id, action, by: p.user, note: b.note, photo, measure: b.measure }, current.school);
          req.log.info({ case: c.id, action, by: p.user }, 'case action');
          return c;
        } catch (err) {
          if (err instanceof CaseNotFound) throw new HttpError(404, 'not_found', err.message);
          if (err instanceof IllegalCaseAction) throw new HttpError(409, 'illegal_transition', err.message, { state: err.state });
          if (err instanceof CaseActionIncomplete) throw new HttpError(400, 'bad_request', err.message, { missing: err.missing });
          throw err;
        }
      },
    );
  }

  app.post(
    '/api/canteen/records',
    {
      onRequest: viewer,
      config: { audit: { action: 'canteen.record', target: (req) => (req.body as { school?: string } | undefined)?.school, detail: (req) => { const b = req.body as { kind?: string; meal?: string } | undefined; return { kind: b?.kind, meal: b?.meal }; } } },
      schema: {
        tags: ['canteen'],
        summary: 'Records a 留样 (sample), 晨检 (morning_check), 陪餐 (accompany) or 消毒 (disinfection) (a user of that school, or county maintenance+)',
        security: BEARER,
        body: CanteenRecord,
        response: {
          201: described(Type.Object({ id: Type.String(), kind: Type.String(), day: Type.String() }, OPEN), 'recorded'),
          400: errorReply('the body does not match the schema, or the record is refused: `negative_weight`, `zero_weight`, `kept_before_taken`, `unknown_meal`, `bad_time`, with the reason'),
          ...AUTH_ERRORS,
          ...INTERNAL,
        },
      },
    },
    async (req, reply) => {
      const b = req.body;
      if (!registry.schools.has(b.school)) throw new HttpError(400, 'bad_request', `school: no school "${b.school}" in the registry`);
      ensureMayRecordFor(req, b.school, 'maintenance');
      // The same checks as a canteen terminal's MQTT record (intake.ts).
      const got = intakeRecord(b, registry, policy, Date.now(), () => `rec-${randomUUID()}`);
      if (!got.ok) throw new HttpError(400, got.code, got.reason);
      const { record: r, atMs } = got;
      await dispatcher.execute({ type: 'canteen_record', school: b.school, atMs, receivedAtMs: Date.now(), data: { school: b.school, canteen: b.canteen, record: r, by: req.principal!.user } });
      return reply.code(201).send({ id: r.id, kind: r.kind, day: policy.localDay(atMs) });
    },
  );

  app.get(
    '/api/canteen/records',
    {
      onRequest: viewer,
      schema: {
        tags: ['canteen'],
        summary: 'The canteen records of a local day, oldest first (viewer+; a school user: their school’s only)',
        security: BEARER,
        querystring: Type.Object({ date: Type.Optional(Type.String({ pattern: DATE, description: 'local date, YYYY-MM-DD; default today' })), school: Type.Optional(Id) }, { additionalProperties: false }),
        response: { 200: described(Type.Object({ date: Type.String(), records: Type.Array(Type.Object({ id: Type.String(), kind: Type.String(), school: Type.String(), day: Type.String(), by: Type.String() }, OPEN)) }, OPEN), 'the records'), ...BAD_REQUEST, ...AUTH_ERRORS, ...INTERNAL },
      },
    },
    async (req) => {
      const date = req.query.date ?? policy.localDay(Date.now());
      return { date, records: await canteen.records(date, scopedSchool(req, req.query.school)) };
    },
  );

  app.get(
    '/api/canteen/summary',
    {
      onRequest: viewer,
      schema: {
        tags: ['canteen'],
        summary: 'Per school with a canteen: coverage, AI events by kind, open and overdue cases, record completeness per meal (viewer+; a school user: theirs)',
        security: BEARER,
        querystring: Type.Object({ date: Type.Optional(Type.String({ pattern: DATE, description: 'local date, YYYY-MM-DD; default today' })), school: Type.Optional(Id) }, { additionalProperties: false }),
        response: { 200: described(Type.Object({ date: Type.String(), schools: Type.Array(Type.Object({}, OPEN)) }, OPEN), 'the summary'), ...BAD_REQUEST, ...AUTH_ERRORS, ...INTERNAL },
      },
    },
    async (req) => {
      const date = req.query.date ?? policy.localDay(Date.now());
      if (Number.isNaN(Date.parse(`${date}T00:00:00Z`))) throw new HttpError(400, 'bad_request', `date: "${date}" is not a date`);
      return { date, schools: canteen.summary(date, scopedSchool(req, req.query.school)) };
    },
  );
};
