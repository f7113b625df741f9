import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { CAMERA_ZONES } from '../contract/mqtt.js';
import { lit } from '../contract/common.js';
import { AUTH_ERRORS, BAD_REQUEST, BEARER, INTERNAL, MaintenanceReply, UptimeReport, described } from '../contract/api.js';
import { requireRole } from '../auth/guard.js';
import { UPTIME_WINDOWS, cameraUptimeReport, uptimeCsv, type UptimeWindow } from '../domain/camera-uptime.js';

const UPTIME_CSV_COLUMNS = 'id, name, school, zone, uptime_ratio, up_s, down_s, unknown_s, outages, longest_outage_s, mttr_s, down_since';
const SchoolId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });

export const maintenanceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { registry, ledger, pipeline } = app.gw;

  /** Maintenance alarms: offline alarm buttons and cameras (open ones, or history). */
  app.get(
    '/api/maintenance',
    {
      preHandler: requireRole(app, 'viewer'),
      schema: {
        tags: ['maintenance'],
        summary: 'Maintenance alarms: offline alarm buttons and cameras, open ones or history (viewer+)',
        security: BEARER,
        response: { 200: described(MaintenanceReply, 'the maintenance alarms'), ...BAD_REQUEST, ...AUTH_ERRORS, ...INTERNAL },
        querystring: Type.Object(
          { state: Type.Optional(lit(['open', 'all'] as const)), school: Type.Optional(SchoolId), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000 })) },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const { state = 'open', school, limit = 1000 } = req.query;
      if (state === 'open') return { alarms: [...pipeline.maintenance.values()].filter((m) => !school || m.school === school).slice(0, limit) };
      return { alarms: ledger.listMaintenance({ school, limit }) };
    },
  );

  /** Contract §3: uptime per camera, school and zone, from recorded transitions; CSV with format=csv. */
  app.get(
    '/api/cameras/uptime',
    {
      preHandler: requireRole(app, 'maintenance'),
      schema: {
        tags: ['maintenance'],
        summary: 'Camera uptime per camera, school and zone over a window (maintenance+); CSV with format=csv',
        security: BEARER,
        response: {
          200: {
            description: 'the uptime report (JSON), or its cameras as CSV (`format=csv`, sent as an attachment)',
            content: {
              'application/json': { schema: UptimeReport },
              'text/csv': { schema: { type: 'string', description: `one row per camera: ${UPTIME_CSV_COLUMNS}` } },
            },
          },
          ...BAD_REQUEST,
          ...AUTH_ERRORS,
          ...INTERNAL,
        },
        querystring: Type.Object(
          {
            window: Type.Optional(lit(Object.keys(UPTIME_WINDOWS) as UptimeWindow[])),
            school: Type.Optional(SchoolId),
            zone: Type.Optional(lit(CAMERA_ZONES)),
            format: Type.Optional(lit(['json', 'csv'] as const)),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const { window = '24h', school, zone, format = 'json' } = req.query;
      const toMs = Date.now();
      const fromMs = toMs - UPTIME_WINDOWS[window];
      const cameras = [...registry.devices.values()].filter((d) => d.kind === 'camera' && (!school || d.school === school) && (!zone || d.zone === zone));
      const report = cameraUptimeReport(cameras, { fromMs, toMs }, ledger.stateBefore(fromMs), ledger.transitionsBetween(fromMs, toMs), ledger.runsSince(fromMs));
      if (format === 'csv') {
        const name = `camera-uptime-${window}${school ? '-' + school : ''}${zone ? '-' + zone : ''}.csv`;
        return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`).send(uptimeCsv(report.cameras));
      }
      return { window, ...report };
    },
  );
};
