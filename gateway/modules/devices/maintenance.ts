/**
 * Maintenance alarms, pure: a one-key alarm device or a camera gone offline. Their own class,
 * below panic in priority (they never pop up or sound); opened by the liveness transition,
 * cleared automatically when the device returns, recorded with the outage's duration.
 * A device that comes back and drops again within `flapHoldMs` reopens the same alarm (with
 * `flaps` counted) instead of raising a new one, so a flapping link is one line, not a flood.
 */
import { iso } from '../../contract/common.js';
import type { DeviceKind } from '../../contract/mqtt.js';
import type { MaintenanceAlarmView } from '../../contract/api.js';

export type MaintenanceAlarm = MaintenanceAlarmView;

/** Which device kinds raise maintenance alarms (issue 4): the ones whose silence hides danger. */
export const WATCHED_KINDS: readonly DeviceKind[] = ['alarm_button', 'camera'];

export function openMaintenance(
  last: MaintenanceAlarm | undefined,
  device: { id: string; name: string; kind: DeviceKind; school: string; zone?: string },
  atMs: number,
  reason: string,
  flapHoldMs: number,
  newId: () => string,
): MaintenanceAlarm {
  if (last?.state === 'open') return last;
  if (last && last.clearedAt && atMs - Date.parse(last.clearedAt) <= flapHoldMs) {
    const { clearedAt: _c, ...rest } = last;
    return { ...rest, state: 'open', reason, flaps: last.flaps + 1 };
  }
  const m: MaintenanceAlarm = {
    id: newId(),
    device: device.id,
    deviceName: device.name,
    deviceKind: device.kind,
    school: device.school,
    state: 'open',
    openedAt: iso(atMs),
    reason,
    flaps: 0,
  };
  if (device.zone) m.zone = device.zone;
  return m;
}

export function clearMaintenance(m: MaintenanceAlarm, atMs: number, downForMs: number | undefined): MaintenanceAlarm {
  return { ...m, state: 'cleared', clearedAt: iso(atMs), downMs: (m.downMs ?? 0) + (downForMs ?? atMs - Date.parse(m.openedAt)) };
}
