import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { lit } from '../../contract/common.js';
import { DEVICE_KINDS } from '../../contract/mqtt.js';
import { AUTH_ERRORS, BAD_REQUEST, BEARER, DevicesReply, INTERNAL, MaintenanceReply, described } from '../../contract/api.js';
import { requireRole, scopedSchool } from '../../auth/guard.js';
import type { DevicesModule } from './index.js';
import { deviceView } from './views.js';

const SchoolId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });

export const deviceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { registry } = app.gw;
  const devices = app.gw.module<DevicesModule>('devices');
  const viewer = requireRole(app, 'viewer');

  app.get(
    '/api/devices',
    {
      onRequest: viewer,
      schema: {
        tags: ['registry'],
        summary: 'Devices with their last sign of life and state (viewer+)',
        security: BEARER,
        response: { 200: described(DevicesReply, 'the devices of the registry that match'), ...BAD_REQUEST, ...AUTH_ERRORS, ...INTERNAL },
        querystring: Type.Object(
          {
            status: Type.Optional(lit(['online', 'offline'] as const)),
            school: Type.Optional(SchoolId),
            kind: Type.Optional(lit(DEVICE_KINDS)),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const { status, kind } = req.query;
      const school = scopedSchool(req, req.query.school);
      const out = [];
      for (const d of registry.devices.values()) {
        if (school && d.school !== school) continue;
        if (kind && d.kind !== kind) continue;
        const report = devices.cameraReports.get(d.id);
        const camera = report && { at: report.at, online: report.online, rttMs: report.rttMs, clockSkewMs: report.clockSkewMs, error: report.error };
        const v = deviceView(d, devices.records.get(d.id), devices.maintenance.get(d.id), camera);
        if (status && v.online !== (status === 'online')) continue;
        out.push(v);
      }
      return { devices: out };
    },
  );

  /** Maintenance alarms: offline alarm buttons and cameras (open ones, or history). */
  app.get(
    '/api/maintenance',
    {
      onRequest: viewer,
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
      const { state = 'open', limit = 1000 } = req.query;
      const school = scopedSchool(req, req.query.school);
      if (state === 'open') return { alarms: [...devices.maintenance.values()].filter((m) => !school || m.school === school).slice(0, limit) };
      return { alarms: await devices.listMaintenance({ school, limit }) };
    },
  );
};
