import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../../auth/guard.js';
import type { AlarmsModule } from '../alarms/index.js';
import type { DevicesModule } from '../devices/index.js';
import { devicesByKind, schoolStatuses } from '../devices/views.js';

export const overviewRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { registry, dispatcher } = app.gw;
  const alarms = app.gw.module<AlarmsModule>('alarms');
  const devices = app.gw.module<DevicesModule>('devices');
  const viewer = requireRole(app, 'viewer');

  app.get('/api/schools', { preHandler: viewer }, async () => ({
    county: registry.registry.county,
    schools: schoolStatuses(registry, devices.records, alarms.open.values()),
  }));

  /** Activity over the last minute and device counts: what the wall screen's header shows. */
  app.get('/api/stats', { preHandler: viewer }, async () => {
    let escalated = 0;
    for (const a of alarms.open.values()) if (!a.test && a.escalated) escalated++;
    return {
      messagesLastMinute: dispatcher.lastMinute.totals(Date.now()),
      devices: devicesByKind(registry, devices.records),
      alarms: { open: alarms.openRealCount, escalated },
    };
  });
};
