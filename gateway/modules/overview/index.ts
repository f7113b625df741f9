/**
 * The county at a glance: every school with its devices online and open alarms (the snapshot's
 * `schools`, GET /api/schools) and the activity figures of the screen's header (GET /api/stats).
 * Reads the alarms and devices projections; owns none of its own.
 */
import type { GatewayModule, ModuleContext } from '../../core/module.js';
import type { AlarmsModule } from '../alarms/index.js';
import type { DevicesModule } from '../devices/index.js';
import { schoolStatuses } from '../devices/views.js';
import { overviewRoutes } from './routes.js';

export function overviewModule(ctx: ModuleContext): GatewayModule {
  const alarms = ctx.module<AlarmsModule>('alarms');
  const devices = ctx.module<DevicesModule>('devices');
  return {
    name: 'overview',
    dependsOn: ['alarms', 'devices'],
    snapshot: (school) => ({ schools: schoolStatuses(ctx.registry, devices.isOnline, alarms.open.values()).filter((s) => !school || s.id === school) }),
    routes: overviewRoutes,
  };
}
