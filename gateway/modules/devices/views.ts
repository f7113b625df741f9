/** Read models for the screen and the API, computed from the registry and the projections. Pure. */
import type { Alarm, Device, SchoolStatus } from '../../contract/api.js';
import { iso } from '../../contract/common.js';
import type { IndexedDevice, RegistryIndex } from '../../registry.js';
import type { LivenessRecord } from './liveness.js';
import type { MaintenanceAlarm } from './maintenance.js';

type StoredDeviceState = LivenessRecord;

/** `unknown`: never heard from since the gateway started watching it. */
export function statusOf(s: StoredDeviceState | undefined): Device['status'] {
  return s?.online === true ? 'online' : s?.online === false ? 'offline' : 'unknown';
}

/** Whether a registered device is online now: the devices module's `isOnline` (no record made per device). */
export type IsOnline = (deviceId: string) => boolean;

/** Devices per kind, and how many of them are online: the county's, or one school's (GET /api/stats, GET /metrics). */
export function devicesByKind(registry: RegistryIndex, isOnline: IsOnline, school?: string): { total: Record<string, number>; online: Record<string, number> } {
  const total: Record<string, number> = {};
  const online: Record<string, number> = {};
  for (const d of registry.devices.values()) {
    if (school !== undefined && d.school !== school) continue;
    total[d.kind] = (total[d.kind] ?? 0) + 1;
    online[d.kind] = (online[d.kind] ?? 0) + (isOnline(d.id) ? 1 : 0);
  }
  return { total, online };
}

export function deviceView(d: IndexedDevice, s: StoredDeviceState | undefined, maintenance?: MaintenanceAlarm, camera?: Device['camera']): Device {
  const v: Device = {
    id: d.id,
    school: d.school,
    kind: d.kind,
    name: d.name,
    online: s?.online === true,
    status: statusOf(s),
    lastSeen: s?.lastSeen ? iso(s.lastSeen) : null,
    since: s?.since ? iso(s.since) : null,
  };
  if (camera) v.camera = camera;
  if (maintenance) v.maintenance = { id: maintenance.id, openedAt: maintenance.openedAt, reason: maintenance.reason, flaps: maintenance.flaps };
  if (d.zone) v.zone = d.zone;
  if (d.place) v.place = d.place;
  if (d.nameEn) v.nameEn = d.nameEn;
  if (s?.battery !== undefined) v.battery = s.battery;
  if (s?.rssi !== undefined) v.rssi = s.rssi;
  return v;
}

export function schoolStatuses(registry: RegistryIndex, isOnline: IsOnline, openAlarms: Iterable<Alarm>): SchoolStatus[] {
  const open = new Map<string, number>();
  for (const a of openAlarms) if (!a.test) open.set(a.school, (open.get(a.school) ?? 0) + 1);
  return registry.registry.schools.map((s) => {
    let online = 0;
    for (const d of s.devices) if (isOnline(d.id)) online++;
    const v: SchoolStatus = { id: s.id, name: s.name, type: s.type, students: s.students, region: s.region, devices: { total: s.devices.length, online }, openAlarms: open.get(s.id) ?? 0 };
    if (s.nameEn) v.nameEn = s.nameEn;
    if (s.map) v.map = { x: s.map.x, y: s.map.y };
    return v;
  });
}
