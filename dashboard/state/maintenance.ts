/**
 * The devices module's maintenance slice: the open maintenance alarms (an alarm button or camera
 * gone offline), from `maintenance` frames and the snapshot's `maintenance`.
 */
import type { FeedFrame, MaintenanceAlarmView, Snapshot } from '../../gateway/contract/api.js';
import { deviceOf, type DevicesSlice } from './devices.js';
import type { Slice } from './slice.js';

/** Open maintenance alarms (offline alarm buttons and cameras), by id. */
export type MaintenanceSlice = Record<string, MaintenanceAlarmView>;

export const initialMaintenance = (): MaintenanceSlice => ({});

export function loadMaintenance(_prev: MaintenanceSlice, snapshot: Partial<Snapshot>): MaintenanceSlice {
  // One open alarm per device (the last one listed wins).
  const byDevice = new Map<string, MaintenanceAlarmView>();
  for (const m of snapshot.maintenance ?? []) if (m?.state === 'open' && typeof m.id === 'string') byDevice.set(m.device, m);
  const out: MaintenanceSlice = {};
  for (const m of byDevice.values()) out[m.id] = m;
  return out;
}

/** Adds or replaces an open maintenance alarm; a device has at most one open, so an older one of the same device goes. */
function withOpen(slice: MaintenanceSlice, m: MaintenanceAlarmView): MaintenanceSlice {
  const out: MaintenanceSlice = {};
  for (const [id, x] of Object.entries(slice)) if (id !== m.id && x.device !== m.device) out[id] = x;
  out[m.id] = m;
  return out;
}

/** A maintenance alarm opened, reopened (same id, `flaps` + 1) or cleared. */
export function reduceMaintenance(slice: MaintenanceSlice, frame: FeedFrame): MaintenanceSlice {
  const m = frame.data as MaintenanceAlarmView | null;
  if (!m || typeof m.id !== 'string') return slice;
  if (m.state === 'open') return withOpen(slice, m);
  if (!slice[m.id]) return slice;
  const out = { ...slice };
  delete out[m.id];
  return out;
}

export const maintenanceSlice: Slice<MaintenanceSlice> = {
  frames: ['maintenance'],
  initial: initialMaintenance,
  load: loadMaintenance,
  reduce: reduceMaintenance,
};

// ---------- selectors ----------

/** A currently-down alarm button or camera, as the maintenance panel lists it. */
export interface DownDevice {
  /** The maintenance alarm's id. */
  id: string;
  device: string;
  deviceName: string;
  deviceKind: string;
  school: string;
  zone?: string;
  /** `silent`, `last_will` or `never_seen`. */
  reason: string;
  /** When the current outage began: the device's `since` when a delta told us, else when the alarm opened. */
  since: string;
  openedAt: string;
  /** How often it came back and dropped again (a flapping link). */
  flaps: number;
}

/** Alarm buttons first (a dead panic button is the most dangerous failure), then cameras, then anything else. */
const DOWN_KIND_RANK: Record<string, number> = { alarm_button: 0, camera: 1 };

/** The open maintenance alarms: alarm buttons first, then cameras; longest down first within each. */
export function downDevices(state: { maintenance: MaintenanceSlice; devices: DevicesSlice }): DownDevice[] {
  const out: (DownDevice & { sinceMs: number })[] = [];
  for (const m of Object.values(state.maintenance)) {
    const d = deviceOf(state.devices, m.device);
    if (d?.status === 'online') continue; // back: its `cleared` frame is on the way
    const openedMs = Date.parse(m.openedAt);
    const devMs = d?.status === 'offline' && d.since ? Date.parse(d.since) : NaN;
    // A reopened (flapping) alarm keeps its first openedAt: the device's own `since` is the current outage.
    const useDev = Number.isFinite(devMs) && (!Number.isFinite(openedMs) || devMs >= openedMs);
    const since = useDev && d?.since ? d.since : m.openedAt;
    const item: DownDevice & { sinceMs: number } = {
      id: m.id,
      device: m.device,
      deviceName: m.deviceName,
      deviceKind: m.deviceKind,
      school: m.school,
      reason: m.reason,
      since,
      openedAt: m.openedAt,
      flaps: m.flaps ?? 0,
      sinceMs: useDev ? devMs : Number.isFinite(openedMs) ? openedMs : Number.MAX_SAFE_INTEGER,
    };
    if (m.zone) item.zone = m.zone;
    out.push(item);
  }
  const rank = (k: string) => DOWN_KIND_RANK[k] ?? 2;
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  out.sort((a, b) => rank(a.deviceKind) - rank(b.deviceKind) || a.sinceMs - b.sinceMs || cmp(a.device, b.device) || cmp(a.id, b.id));
  return out.map(({ sinceMs: _s, ...rest }) => rest);
}
