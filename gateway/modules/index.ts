/**
 * The gateway's capabilities, one line each: a new module is a folder beside these and one line
 * here. Order does not matter: each module names what it depends on.
 */
import type { ModuleFactory } from '../core/module.js';
import { activityModule } from './activity/index.js';
import { alarmsModule } from './alarms/index.js';
import { alarmSnapshotsModule } from './alarm-snapshots/index.js';
import { batteryModule } from './battery/index.js';
import { camerasModule } from './cameras/index.js';
import { cityModule } from './city/index.js';
import { cityUplinkModule } from './city-uplink/index.js';
import { canteenModule } from './canteen/index.js';
import { devicesModule } from './devices/index.js';
import { exportModule } from './export/index.js';
import { floodsModule } from './floods/index.js';
import { auditModule } from './audit/index.js';
import { identityModule } from './identity/index.js';
import { overviewModule } from './overview/index.js';
import { snapshotsModule } from './snapshots/index.js';
import { targetsModule } from './targets/index.js';
import { vendorsModule } from './vendors/index.js';

export const MODULES: Readonly<Record<string, ModuleFactory>> = {
  alarms: alarmsModule,
  devices: devicesModule,
  cameras: camerasModule,
  overview: overviewModule,
  floods: floodsModule,
  activity: activityModule,
  export: exportModule,
  battery: batteryModule,
  identity: identityModule,
  audit: auditModule,
  targets: targetsModule,
  canteen: canteenModule,
  vendors: vendorsModule,
  snapshots: snapshotsModule,
  'alarm-snapshots': alarmSnapshotsModule,
  'city-uplink': cityUplinkModule,
  city: cityModule,
};
