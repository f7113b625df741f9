import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { requireRole } from '../../auth/guard.js';
import { AUTH_ERRORS, BAD_REQUEST, BEARER, INTERNAL, described } from '../../contract/api.js';
import { lit } from '../../contract/common.js';
import { toCsv } from '../../contract/csv.js';
import { HttpError, queryTime } from '../../errors.js';
import type { AuditRow } from './chain.js';
import type { AuditModule } from './index.js';

const OPEN = { additionalProperties: true };
const Entry = Type.Object(
  {
    seq: Type.Integer({ description: 'position in the chain, from 1' }),
    at: Type.String({ description: 'ISO-8601 (UTC)' }),
    user: Type.String({ description: 'who: the operator, or the name tried at a failed login' }),
    from: Type.String({ description: "where from: the client's address, or the door (`mqtt`, `users-file`)" }),
    action: Type.String({ description: '`login`, `user.save`, `user.delete`, `device.credentials`, `alarm.ack`, …' }),
    target: Type.Union([Type.String(), Type.Null()]),
    status: Type.Union([Type.Integer(), Type.Null()], { description: 'the answer given (HTTP status)' }),
    detail: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
    prevHash: Type.String(),
    hash: Type.String({ description: 'sha256(prevHash + the entry)' }),
  },
  OPEN,
);
const Verdict = Type.Object(
  {
    intact: Type.Boolean(),
    entries: Type.Integer(),
    head: Type.String({ description: "the newest entry's hash: keep it elsewhere to detect a truncated tail later" }),
    brokenAt: Type.Optional(Type.Integer({ description: 'the first entry that does not follow from the one before' })),
    reason: Type.Optional(Type.String()),
  },
  OPEN,
);

const COLUMNS = ['seq', 'at', 'user', 'from', 'action', 'target', 'status', 'detail', 'prev_hash', 'hash'] as const;
const view = (r: AuditRow) => ({
  seq: r.seq,
  at: new Date(r.at).toISOString(),
  user: r.user,
  from: r.origin,
  action: r.action,
  target: r.target,
  status: r.status,
  detail: r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>),
  prevHash: r.prev_hash,
  hash: r.hash,
});

export const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const audit = app.gw.module<AuditModule>('audit');
  const admin = requireRole(app, 'admin');

  app.get(
    '/api/audit',
    {
      onRequest: admin,
      schema: {
        tags: ['audit'],
        summary: 'The audit trail, newest first (admin); CSV with format=csv',
        security: BEARER,
        querystring: Type.Object(
          {
            since: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'ISO-8601 with offset, or epoch ms' })),
            until: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'ISO-8601 with offset, or epoch ms (exclusive)' })),
            user: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
            action: Type.Optional(Type.String({ pattern: '^[a-z_]+(\\.[a-z_]+)*(\\.\\*)?$', maxLength: 64, description: 'an action, or a family: `alarm.*`' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 1000 })),
            format: Type.Optional(lit(['json', 'csv'] as const)),
          },
          { additionalProperties: false },
        ),
        response: {
          200: {
            description: 'the entries (JSON), or as a CSV attachment (`format=csv`)',
            content: {
              'application/json': { schema: Type.Object({ entries: Type.Array(Entry) }, OPEN) },
              'text/csv': { schema: { type: 'string', description: `one row per entry: ${COLUMNS.join(', ')}` } },
            },
          },
          ...BAD_REQUEST,
          ...AUTH_ERRORS,
          ...INTERNAL,
        },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const sinceMs = queryTime('since', q.since);
      const untilMs = queryTime('until', q.until);
      if (sinceMs !== undefined && untilMs !== undefined && untilMs <= sinceMs) throw new HttpError(400, 'bad_request', 'until must be after since');
      const rows = await audit.list({ sinceMs, untilMs, user: q.user, action: q.action, limit: q.limit ?? 1000 });
      if (q.format === 'csv') {
        const csv = toCsv(COLUMNS, rows.map((r) => [r.seq, new Date(r.at).toISOString(), r.user, r.origin, r.action, r.target, r.status, r.detail, r.prev_hash, r.hash]), { bom: true, neutralizeFormulas: true });
        return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="audit.csv"').send(csv);
      }
      return { entries: rows.map(view) };
    },
  );

  app.get(
    '/api/audit/verify',
    {
      onRequest: admin,
      schema: {
        tags: ['audit'],
        summary: 'Whether the audit chain is intact: every entry stored as written, none missing or reordered (admin)',
        security: BEARER,
        response: { 200: described(Verdict, 'the verdict; `brokenAt` and `reason` when it is not intact'), ...AUTH_ERRORS, ...INTERNAL },
      },
    },
    async () => audit.verify(),
  );
};
