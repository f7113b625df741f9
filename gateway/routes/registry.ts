import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { lit } from '../contract/common.js';
import { DEVICE_KINDS } from '../contract/mqtt.js';
import { AUTH_ERRORS, BAD_REQUEST, BEARER, DevicesReply, INTERNAL, SchoolsReply, StatsReply, described } from '../contract/api.js';
import { requireRole } from '../auth/guard.js';
import { deviceView, devicesByKind, schoolStatuses } from '../domain/views.js';

const schoolsSchema = {
  tags: ['registry'],
  summary: 'The county and its schools with live status (viewer+)',
  security: BEARER,
  response: { 200: described(SchoolsReply, 'the county and every school'), ...AUTH_ERRORS, ...INTERNAL },
};
const statsSchema = {
  tags: ['registry'],
  summary: "Activity over the last minute and device counts: the wall screen's header (viewer+)",
  security: BEARER,
  response: { 200: described(StatsReply, 'messages of the last minute, devices per kind, open alarms'), ...AUTH_ERRORS, ...INTERNAL },
};

export const registryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { registry, pipeline } = app.gw;
  const viewer = requireRole(app, 'viewer');

  app.get('/api/schools', { preHandler: viewer, schema: schoolsSchema }, async () => ({
    county: registry.registry.county,
    schools: schoolStatuses(registry, pipeline.devices, pipeline.openAlarms.values()),
  }));

  /** Activity over the last minute and device counts: what the wall screen's header shows. */
  app.get('/api/stats', { preHandler: viewer, schema: statsSchema }, async () => {
    let escalated = 0;
    for (const a of pipeline.openAlarms.values()) if (!a.test && a.escalated) escalated++;
    return {
      messagesLastMinute: pipeline.lastMinute.totals(Date.now()),
      devices: devicesByKind(registry, pipeline.devices),
      alarms: { open: pipeline.openRealCount, escalated },
    };
  });

  app.get(
    '/api/devices',
    {
      preHandler: viewer,
      schema: {
        tags: ['registry'],
        summary: 'Devices with their last sign of life and state (viewer+)',
        security: BEARER,
        response: { 200: described(DevicesReply, 'the devices of the registry that match'), ...BAD_REQUEST, ...AUTH_ERRORS, ...INTERNAL },
        querystring: Type.Object(
          {
            status: Type.Optional(lit(['online', 'offline'] as const)),
            school: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
            kind: Type.Optional(lit(DEVICE_KINDS)),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const { status, school, kind } = req.query;
      const devices = [];
      for (const d of registry.devices.values()) {
        if (school && d.school !== school) continue;
        if (kind && d.kind !== kind) continue;
        const report = pipeline.cameraReports.get(d.id);
        const camera = report && { at: report.at, online: report.online, rttMs: report.rttMs, clockSkewMs: report.clockSkewMs, error: report.error };
        const v = deviceView(d, pipeline.devices.get(d.id), pipeline.maintenance.get(d.id), camera);
        if (status && v.online !== (status === 'online')) continue;
        devices.push(v);
      }
      return { devices };
    },
  );
};
