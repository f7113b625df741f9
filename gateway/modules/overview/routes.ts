import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AUTH_ERRORS, BEARER, INTERNAL, SchoolsReply, StatsReply, described } from '../../contract/api.js';
import { requireRole, scopedSchool } from '../../auth/guard.js';
import type { AlarmsModule } from '../alarms/index.js';
import type { DevicesModule } from '../devices/index.js';
import { devicesByKind, schoolStatuses } from '../devices/views.js';

const schoolsSchema = {
  tags: ['registry'],
  summary: 'The county and its schools with live status (viewer+)',
  security: BEARER,
  response: { 200: described(SchoolsReply, 'the county and every school'), ...AUTH_ERRORS, ...INTERNAL },
};
const statsSchema = {
  tags: ['registry'],
  summary: "Activity over the last minute and device counts: the wall screen's header (viewer+; a school-bound user: its school's devices and alarms)",
  security: BEARER,
  response: { 200: described(StatsReply, 'messages of the last minute, devices per kind, open alarms'), ...AUTH_ERRORS, ...INTERNAL },
};

export const overviewRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { registry, dispatcher } = app.gw;
  const alarms = app.gw.module<AlarmsModule>('alarms');
  const devices = app.gw.module<DevicesModule>('devices');
  const viewer = requireRole(app, 'viewer');

  app.get('/api/schools', { onRequest: viewer, schema: schoolsSchema }, async (req) => {
    const only = scopedSchool(req, undefined);
    return { county: registry.registry.county, schools: schoolStatuses(registry, devices.isOnline, alarms.open.values()).filter((s) => !only || s.id === only) };
  });

  /** Activity over the last minute and device counts: what the wall screen's header shows. */
  // A school-bound user gets its school's devices and alarms (the message rate is the gateway's own).
  app.get('/api/stats', { onRequest: viewer, schema: statsSchema }, async (req) => {
    const only = scopedSchool(req, undefined);
    let open = 0;
    let escalated = 0;
    for (const a of alarms.open.values()) {
      if (a.test || (only !== undefined && a.school !== only)) continue;
      open++;
      if (a.escalated) escalated++;
    }
    return {
      messagesLastMinute: dispatcher.lastMinute.totals(Date.now()),
      devices: devicesByKind(registry, devices.isOnline, only),
      alarms: { open, escalated },
    };
  });
};
