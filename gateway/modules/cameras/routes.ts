import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { CAMERA_ZONES } from '../../contract/mqtt.js';
import { lit } from '../../contract/common.js';
import { AUTH_ERRORS, BAD_REQUEST, BEARER, INTERNAL, UptimeReport, described } from '../../contract/api.js';
import { requireRole, scopedSchool } from '../../auth/guard.js';
import { UPTIME_WINDOWS, cameraUptimeReport, uptimeCsv, type TransitionRow, type UptimeWindow } from './camera-uptime.js';

const UPTIME_CSV_COLUMNS = 'id, name, school, zone, uptime_ratio, up_s, down_s, unknown_s, outages, longest_outage_s, mttr_s, down_since';
const SchoolId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });

type Row = { device: string; at: number; online: number; reason: string };
const toTransition = (r: Row): TransitionRow => ({ device: r.device, atMs: r.at, online: r.online === 1, reason: r.reason });

export const uptimeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { registry, store } = app.gw;

  /** Contract §3: uptime per camera, school and zone, from recorded transitions; CSV with format=csv. */
  app.get(
    '/api/cameras/uptime',
    {
      onRequest: requireRole(app, 'maintenance'),
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
      const { window = '24h', zone, format = 'json' } = req.query;
      const school = scopedSchool(req, req.query.school);
      const toMs = Date.now();
      const fromMs = toMs - UPTIME_WINDOWS[window];
      const cameras = [...registry.devices.values()].filter((d) => d.kind === 'camera' && (!school || d.school === school) && (!zone || d.zone === zone));
      const [before, between, runs] = await Promise.all([
        store.latestPer<Row>('device_transitions', 'device', 'at', fromMs),
        store.find<Row>('device_transitions', { where: [['at', '>=', fromMs], ['at', '<=', toMs]], orderBy: [['at', 'asc']] }),
        store.runsSince(fromMs),
      ]);
      const report = cameraUptimeReport(cameras, { fromMs, toMs }, new Map(before.map((r) => [r.device, toTransition(r)])), between.map(toTransition), runs);
      if (format === 'csv') {
        const name = `camera-uptime-${window}${school ? '-' + school : ''}${zone ? '-' + zone : ''}.csv`;
        return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`).send(uptimeCsv(report.cameras));
      }
      return { window, ...report };
    },
  );
};
