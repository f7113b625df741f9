import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ALARM_ACTIONS, AUTH_ERRORS, ActionBody, AlarmStatsQuery, AlarmStatsReply, ResolveBody, Alarm, AlarmsReply, BAD_REQUEST, NoteBody, BEARER, INTERNAL, IllegalTransitionReply, described, errorReply, type AlarmAction, type AlarmOutcome } from '../../contract/api.js';
import { ensureSchool, requireRole, scopedSchool } from '../../auth/guard.js';
import { HttpError, queryTime } from '../../errors.js';
import { AlarmNotFound, IllegalTransition, type AlarmsModule } from './index.js';
import { alarmStats, periodStartMs } from './stats.js';

const AlarmQuery = Type.Object(
  {
    state: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('all')])),
    school: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
    since: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);

const AlarmParams = Type.Object({ alarmId: Type.String({ maxLength: 64 }) });
const NOT_FOUND = { 404: errorReply('no alarm with that id (`not_found`)') };

const listSchema = {
  tags: ['alarms'],
  summary: 'Alarms, newest first (viewer+)',
  security: BEARER,
  querystring: AlarmQuery,
  response: { 200: described(AlarmsReply, 'the alarms, newest first'), ...BAD_REQUEST, ...AUTH_ERRORS, ...INTERNAL },
};
const oneSchema = {
  tags: ['alarms'],
  summary: 'One alarm with its full history (viewer+)',
  security: BEARER,
  params: AlarmParams,
  response: { 200: described(Alarm, 'the alarm with its full history'), ...BAD_REQUEST, ...AUTH_ERRORS, ...NOT_FOUND, ...INTERNAL },
};
const ACTION_SUMMARY: Record<AlarmAction, string> = { ack: 'Acknowledge', dispatch: 'Dispatch help to', resolve: 'Resolve' };
const actionSchema = (action: AlarmAction) => ({
  tags: ['alarms'],
  summary: `${ACTION_SUMMARY[action]} an alarm (operator+); the acting operator comes from the token`,
  security: BEARER,
  params: AlarmParams,
  body: Type.Optional(action === 'resolve' ? ResolveBody : ActionBody),
  response: { 200: described(Alarm, 'the alarm after the action'), ...BAD_REQUEST, ...AUTH_ERRORS, ...NOT_FOUND, 409: IllegalTransitionReply, ...INTERNAL },
});

const noteSchema = {
  tags: ['alarms'],
  summary: 'A note on an alarm without a change of state, in any state, resolved too (operator+); the author comes from the token',
  security: BEARER,
  params: AlarmParams,
  body: NoteBody,
  response: {
    200: described(Alarm, 'the alarm with the note last in its history'),
    400: errorReply('no note, over 2000 characters, or a field besides `note` (`bad_request`); a note of blanks only (`empty_note`)'),
    ...AUTH_ERRORS, ...NOT_FOUND, ...INTERNAL },
};

const statsSchema = {
  tags: ['alarms'],
  summary: 'Alarm statistics by local day, county and township: counts, false and test presses, escalations, time to acknowledge and dispatch (viewer+)',
  security: BEARER,
  querystring: AlarmStatsQuery,
  response: {
    200: described(AlarmStatsReply, 'the period, county totals, every township and every day'),
    ...BAD_REQUEST,
    ...AUTH_ERRORS,
    404: errorReply('no school with that id (`unknown_school`)'),
    ...INTERNAL,
  },
};

export const alarmRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const alarms = app.gw.module<AlarmsModule>('alarms');
  const viewer = requireRole(app, 'viewer');

  app.get('/api/alarms', { onRequest: viewer, schema: listSchema }, async (req) => {
    const q = req.query;
    return { alarms: await alarms.list({ open: (q.state ?? 'open') === 'open', school: scopedSchool(req, q.school), sinceMs: queryTime('since', q.since), limit: q.limit ?? 100 }) };
  });

  app.get('/api/stats/alarms', { onRequest: viewer, schema: statsSchema }, async (req) => {
    const { registry, policy } = app.gw;
    const school = scopedSchool(req, req.query.school);
    if (school !== undefined && !registry.schools.has(school)) throw new HttpError(404, 'unknown_school', `no school with id "${school}"`);
    const days = req.query.days ?? 7;
    const now = Date.now();
    const regions = school !== undefined ? [registry.schools.get(school)!.region] : [...new Set([...registry.schools.values()].map((s) => s.region))];
    return alarmStats({
      alarms: await alarms.raisedSince(periodStartMs(now, days, policy.offsetMs), school),
      nowMs: now,
      days,
      offsetMs: policy.offsetMs,
      regionOf: (id) => registry.schools.get(id)?.region,
      regions,
    });
  });

  app.get('/api/alarms/:alarmId', { onRequest: viewer, schema: oneSchema }, async (req) => {
    const alarm = await alarms.get(req.params.alarmId);
    if (!alarm) throw new HttpError(404, 'not_found', `no alarm with id "${req.params.alarmId}"`);
    ensureSchool(req, alarm.school);
    return alarm;
  });

  const operator = requireRole(app, 'operator');

  app.post(
    '/api/alarms/:alarmId/note',
    {
      onRequest: operator,
      schema: noteSchema,
      config: { audit: { action: 'alarm.note', target: (req) => (req.params as { alarmId?: string }).alarmId, detail: (req) => ({ note: (req.body as { note?: string } | undefined)?.note }) } },
    },
    async (req) => {
      // The schema takes 1–2000 characters; blanks alone say nothing and would be an empty entry.
      if (req.body.note.trim() === '') throw new HttpError(400, 'empty_note', 'the note is only blanks: write something, or nothing at all');
      const current = await alarms.get(req.params.alarmId);
      if (!current) throw new HttpError(404, 'not_found', `no alarm with id "${req.params.alarmId}"`);
      ensureSchool(req, current.school);
      try {
        const alarm = await alarms.note(req.params.alarmId, req.principal!.user, req.body.note);
        req.log.info({ alarm: alarm.id, action: 'note', by: req.principal!.user }, 'alarm note');
        return alarm;
      } catch (err) {
        if (err instanceof AlarmNotFound) throw new HttpError(404, 'not_found', err.message);
        throw err;
      }
    },
  );
  for (const action of ALARM_ACTIONS) {
    app.post(
      `/api/alarms/:alarmId/${action}`,
      {
        onRequest: operator,
        // The note is optional, and so is the body that carries it (`curl -X POST …/ack`).
        preValidation: async (req) => void (req.body ??= {}),
        schema: actionSchema(action),
        config: { audit: { action: `alarm.${action}`, target: (req) => (req.params as { alarmId?: string }).alarmId, detail: (req) => ({ note: (req.body as { note?: string } | undefined)?.note, outcome: (req.body as { outcome?: string } | undefined)?.outcome }) } },
      },
      async (req) => {
        try {
          const current = await alarms.get(req.params.alarmId);
          if (current) ensureSchool(req, current.school);
          const outcome = (req.body as { outcome?: AlarmOutcome } | undefined)?.outcome;
          const alarm = await alarms.act(req.params.alarmId, action as AlarmAction, req.principal!.user, req.body?.note, outcome);
          req.log.info({ alarm: alarm.id, action, by: req.principal!.user }, 'alarm action');
          return alarm;
        } catch (err) {
          if (err instanceof AlarmNotFound) throw new HttpError(404, 'not_found', err.message);
          if (err instanceof IllegalTransition)
            throw new HttpError(409, 'illegal_transition', err.message, { state: err.alarm.state, alarm: err.alarm });
          throw err;
        }
      },
    );
  }
};
