/**
 * `GET /api/reports/canteen?date=&school=&format=json|csv|html` (viewer+): the daily canteen report
 * per school (明厨亮灶日报). A school's own users get their school only (asking for another: 403
 * `other_school`). Refusals: a date that is not a real calendar date, or one after today (local),
 * `400 bad_request`; an unknown school or one without a canteen `404 not_found`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { requireRole, scopedSchool } from '../../auth/guard.js';
import { AUTH_ERRORS, BAD_REQUEST, BEARER, INTERNAL, errorReply } from '../../contract/api.js';
import { Id, lit } from '../../contract/common.js';
import { HttpError } from '../../errors.js';
import { sendReport } from '../../reports/printable.js';
import type { CanteenModule } from './index.js';
import { buildCanteenReport } from './report.js';
import { reportFacts } from './report-data.js';
import { canteenReportCsv, canteenReportHtml } from './report-render.js';

const OPEN = { additionalProperties: true };

/** A real calendar date (`2026-02-30` is not one). */
const isDate = (s: string) => {
  const ms = Date.parse(`${s}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === s;
};

export const canteenReportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { registry, policy, store } = app.gw;
  const canteen = app.gw.module<CanteenModule>('canteen');

  app.get(
    '/api/reports/canteen',
    {
      onRequest: requireRole(app, 'viewer'),
      schema: {
        tags: ['canteen'],
        summary:
          "The day's canteen report per school: camera coverage, AI events by kind, cases opened / closed / open / overdue, rectification rate and median time to close, record completeness per meal and the findings (viewer+; a school user: theirs); JSON, CSV or printable HTML",
        security: BEARER,
        querystring: Type.Object(
          {
            date: Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description: 'the local date, YYYY-MM-DD; today or before' }),
            school: Type.Optional(Id),
            format: Type.Optional(lit(['json', 'csv', 'html'] as const)),
          },
          { additionalProperties: false },
        ),
        response: {
          200: {
            description: 'the report (JSON), one row per school as CSV with a BOM (`format=csv`), or printable zh-CN HTML for A4 with English beside (`format=html`)',
            content: {
              'application/json': {
                schema: Type.Object({ date: Type.String(), county: Type.String(), generatedAt: Type.String(), cutoffAt: Type.String({ description: 'the end of the day, or now for today' }), schools: Type.Array(Type.Object({}, OPEN)) }, OPEN),
              },
              'text/csv': { schema: { type: 'string' } },
              'text/html': { schema: { type: 'string' } },
            },
          },
          ...BAD_REQUEST,
          ...AUTH_ERRORS,
          404: errorReply('no such school, or it has no canteen (`not_found`)'),
          ...INTERNAL,
        },
      },
    },
    async (req, reply) => {
      const { date, format } = req.query;
      if (!isDate(date)) throw new HttpError(400, 'bad_request', `date: "${date}" is not a calendar date`);
      const today = policy.localDay(Date.now());
      if (date > today) throw new HttpError(400, 'bad_request', `date: ${date} is in the future (today is ${today}): a day is reported once it has begun`);
      const school = scopedSchool(req, req.query.school);
      if (school !== undefined) {
        const s = registry.schools.get(school);
        if (!s) throw new HttpError(404, 'not_found', `no school "${school}" in the registry`);
        if (!(s.canteens?.length ?? 0)) throw new HttpError(404, 'not_found', `school ${school} has no canteen in the registry`);
      }
      const schools = await reportFacts({ store, registry, policy, canteen }, date, school);
      const county = school ? registry.schools.get(school)!.name : registry.registry.county.name;
      const report = buildCanteenReport({ date, county, dayStartMs: policy.dayStartMs(date), nowMs: Date.now(), schools });
      if (format === 'csv') return sendReport(reply, format, canteenReportCsv(report), `canteen-${date}${school ? `-${school}` : ''}.csv`);
      if (format === 'html') return sendReport(reply, format, canteenReportHtml(report), `canteen-${date}.html`);
      return report;
    },
  );
};
