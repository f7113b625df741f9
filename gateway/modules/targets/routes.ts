import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ensureSchool, requireRole } from '../../auth/guard.js';
import { AUTH_ERRORS, BAD_REQUEST, BEARER, INTERNAL, described, errorReply } from '../../contract/api.js';
import { Id, lit } from '../../contract/common.js';
import { TARGET_IDS, type TargetId } from '../../contract/policy.js';
import { HttpError } from '../../errors.js';
import { sendReport } from '../../reports/printable.js';
import { buildReport, reportCsv, reportHtml } from './report.js';
import { TARGET_NAMES } from './rules.js';
import type { SchoolVerdict, TargetsModule } from './index.js';

const OPEN = { additionalProperties: true };
const STATUSES = ['met', 'not_met', 'unknown'] as const;
const Reason = Type.Object({ zh: Type.String(), en: Type.String() }, OPEN);
const Rate = Type.Object(
  {
    id: lit(TARGET_IDS),
    name: Type.String(),
    nameEn: Type.String(),
    rate: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], { description: 'met / inScope; null when no school is in scope' }),
    met: Type.Integer(),
    notMet: Type.Integer(),
    unknown: Type.Integer({ description: 'evidence missing or stale: never counted as met' }),
    inScope: Type.Integer(),
  },
  OPEN,
);
const VerdictView = Type.Object(
  {
    school: Type.String(),
    schoolName: Type.String(),
    target: lit(TARGET_IDS),
    name: Type.String(),
    nameEn: Type.String(),
    status: lit(STATUSES),
    inScope: Type.Boolean(),
    since: Type.String({ description: 'since when the status is what it is' }),
    evaluatedAt: Type.String(),
    staleAt: Type.Union([Type.String(), Type.Null()], { description: 'when the evidence goes stale without new input' }),
    reasons: Type.Array(Reason),
    evidence: Type.Array(Type.String(), { description: '`checkin:{device}:{time}`, `gate:…`, `uplink:…`, `device:{id}`, `inspection:{id}`, `media:{sha256}`' }),
  },
  OPEN,
);
const NOT_FOUND = { 404: errorReply('no such school (`not_found`)') };
const TargetParams = Type.Object({ id: lit(TARGET_IDS) }, { additionalProperties: false });
const SchoolParams = Type.Object({ id: Id }, { additionalProperties: false });

export const targetRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const targets = app.gw.module<TargetsModule>('targets');
  const { registry } = app.gw;
  const viewer = requireRole(app, 'viewer');
  const iso = (ms: number) => new Date(ms).toISOString();
  const view = (v: SchoolVerdict) => ({
    school: v.school,
    schoolName: registry.schools.get(v.school)?.name ?? v.school,
    target: v.target,
    name: TARGET_NAMES[v.target].zh,
    nameEn: TARGET_NAMES[v.target].en,
    status: v.status,
    inScope: v.inScope,
    since: iso(v.since),
    evaluatedAt: iso(v.evaluatedAt),
    staleAt: v.staleAt === null ? null : iso(v.staleAt),
    reasons: v.reasons,
    evidence: v.evidence,
  });
  const knownSchool = (id: string) => {
    if (!registry.schools.has(id)) throw new HttpError(404, 'not_found', `no school "${id}" in the registry`);
  };

  app.get(
    '/api/targets',
    {
      onRequest: viewer,
      schema: {
        tags: ['targets'],
        summary: "The six targets' rates for the county, or one school (viewer+)",
        security: BEARER,
        querystring: Type.Object({ school: Type.Optional(Id) }, { additionalProperties: false }),
        response: { 200: described(Type.Object({ evaluatedAt: Type.String(), targets: Type.Array(Rate) }, OPEN), 'the rates'), ...BAD_REQUEST, ...AUTH_ERRORS, ...NOT_FOUND, ...INTERNAL },
      },
    },
    async (req) => {
      const school = req.query.school ?? req.principal!.school;
      if (school) (knownSchool(school), ensureSchool(req, school));
      return { evaluatedAt: iso(Date.now()), targets: targets.rates(school) };
    },
  );

  app.get(
    '/api/targets/:id/schools',
    {
      onRequest: viewer,
      schema: {
        tags: ['targets'],
        summary: "Each in-scope school's verdict on one target, with reasons and evidence (viewer+)",
        security: BEARER,
        params: TargetParams,
        querystring: Type.Object({ status: Type.Optional(lit(STATUSES)) }, { additionalProperties: false }),
        response: { 200: described(Type.Object({ target: lit(TARGET_IDS), schools: Type.Array(VerdictView) }, OPEN), 'the verdicts, by school id'), ...BAD_REQUEST, ...AUTH_ERRORS, ...INTERNAL },
      },
    },
    async (req) => {
      const mine = req.principal!.school;
      return { target: req.params.id, schools: targets.schools(req.params.id as TargetId, req.query.status).filter((v) => !mine || v.school === mine).map(view) };
    },
  );

  app.get(
    '/api/reports/targets',
    {
      onRequest: viewer,
      schema: {
        tags: ['targets'],
        summary: "The month's report for the inspectorate: daily verdicts per school and target, the rates, the failing schools and why (viewer+); JSON, CSV or printable HTML",
        security: BEARER,
        querystring: Type.Object(
          { month: Type.String({ pattern: '^[0-9]{4}-(0[1-9]|1[0-2])$', description: 'YYYY-MM' }), format: Type.Optional(lit(['json', 'csv', 'html'] as const)) },
          { additionalProperties: false },
        ),
        response: {
          200: {
            description: 'the report (JSON), its daily rows as CSV with a BOM (`format=csv`), or printable zh-CN HTML for A4 (`format=html`)',
            content: {
              'application/json': { schema: Type.Object({ month: Type.String(), days: Type.Array(Type.String()), targets: Type.Array(Type.Object({}, OPEN)), failing: Type.Array(Type.Object({}, OPEN)), daily: Type.Array(Type.Object({}, OPEN)) }, OPEN) },
              'text/csv': { schema: { type: 'string' } },
              'text/html': { schema: { type: 'string' } },
            },
          },
          ...BAD_REQUEST,
          ...AUTH_ERRORS,
          ...INTERNAL,
        },
      },
    },
    async (req, reply) => {
      const { month, format } = req.query;
      const [y, m] = month.split('-').map(Number);
      const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
      // A school's own users get their school's report.
      const school = req.principal!.school;
      const rows = await targets.daily(`${month}-01`, `${month}-${String(last).padStart(2, '0')}`, school);
      const names = new Map([...registry.schools.values()].map((s) => [s.id, s.name]));
      const county = school ? names.get(school)! : registry.registry.county.name;
      const report = buildReport(month, county, rows, names, Date.now());
      if (format === 'csv') return sendReport(reply, format, reportCsv(report, names), `targets-${month}.csv`);
      if (format === 'html') return sendReport(reply, format, reportHtml(report), `targets-${month}.html`);
      return report;
    },
  );

  app.get(
    '/api/schools/:id/targets',
    {
      onRequest: viewer,
      schema: {
        tags: ['targets'],
        summary: "One school's six verdicts, since when, why, and the evidence (viewer+)",
        security: BEARER,
        params: SchoolParams,
        response: { 200: described(Type.Object({ school: Type.String(), targets: Type.Array(VerdictView) }, OPEN), 'the six verdicts'), ...BAD_REQUEST, ...AUTH_ERRORS, ...NOT_FOUND, ...INTERNAL },
      },
    },
    async (req) => {
      knownSchool(req.params.id);
      ensureSchool(req, req.params.id);
      const list = TARGET_IDS.map((t) => targets.verdict(req.params.id, t)).filter((v): v is SchoolVerdict => v !== undefined);
      return { school: req.params.id, targets: list.map(view) };
    },
  );
};
