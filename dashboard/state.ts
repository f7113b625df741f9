/**
 * The wall screen's model: a pure reducer of live-feed frames (contract §4) into state.
 * No DOM, no timers, no globals: `reduce(state, frame)` returns a new state and never mutates
 * the old one, so it is unit-testable under node:test.
 */
import type { Alarm, DeviceChange, FeedFrame, MaintenanceAlarmView, SchoolStatus, Snapshot } from '../gateway/contract/api.js';

export type DeviceStatus = 'online' | 'offline' | 'unknown';

export interface DeviceLive {
  online: boolean;
  /** `unknown`: never heard from since the gateway started watching it. */
  status: DeviceStatus;
  lastSeen: string | null;
  /** When the current status began (from `device` deltas; the snapshot does not carry it). */
  since?: string;
  /** Why the last change happened (`silent`, `last_will`, `heartbeat_resumed`, …). */
  reason?: string;
}

export type ActivityKind = 'device' | 'camera' | 'ai' | 'alarm';
export interface Activity {
  seq: number;
  at: string;
  kind: ActivityKind;
  school: string;
  /** Device id (or camera id). */
  device?: string;
  /** Device/camera online after the change; AI kind; alarm state. */
  online?: boolean;
  detail?: string;
}

export interface WallState {
  /** Last seq applied; -1 before the first snapshot. */
  seq: number;
  /** True once a snapshot has been applied (deltas before it are dropped). */
  ready: boolean;
  /** Open alarms (not resolved), test ones included, by id. */
  alarms: Record<string, Alarm>;
  devices: Record<string, DeviceLive>;
  schools: Record<string, SchoolStatus>;
  /** Open maintenance alarms (offline alarm buttons and cameras), by id. */
  maintenance: Record<string, MaintenanceAlarmView>;
  /** Registry order of the schools (as the snapshot / GET /api/schools gives them). */
  schoolOrder: string[];
  /** Newest first, at most ACTIVITY_MAX. */
  activity: Activity[];
  /** Set by a `resync` frame: the connection must be dropped and opened fresh (no resume). */
  resync: boolean;
}

export const ACTIVITY_MAX = 40;

export function initialState(): WallState {
  return { seq: -1, ready: false, alarms: {}, devices: {}, schools: {}, maintenance: {}, schoolOrder: [], activity: [], resync: false };
}

const isOpen = (a: Alarm): boolean => a.state !== 'resolved';

/** Recomputes each school's open-alarm count from the open alarms (test presses do not count). */
function withAlarmCounts(schools: Record<string, SchoolStatus>, alarms: Record<string, Alarm>): Record<string, SchoolStatus> {
  const counts: Record<string, number> = {};
  for (const a of Object.values(alarms)) if (!a.test && isOpen(a)) counts[a.school] = (counts[a.school] ?? 0) + 1;
  const out: Record<string, SchoolStatus> = {};
  for (const [id, s] of Object.entries(schools)) {
    const n = counts[id] ?? 0;
    out[id] = s.openAlarms === n ? s : { ...s, openAlarms: n };
  }
  return out;
}

function pushActivity(list: Activity[], item: Activity): Activity[] {
  return [item, ...list].slice(0, ACTIVITY_MAX);
}

/** Replaces the school list (from a snapshot or GET /api/schools), keeping alarm counts consistent. */
export function withSchools(state: WallState, list: SchoolStatus[]): WallState {
  const schools: Record<string, SchoolStatus> = {};
  for (const s of list) schools[s.id] = s;
  return { ...state, schools: withAlarmCounts(schools, state.alarms), schoolOrder: list.map((s) => s.id) };
}

function applySnapshot(state: WallState, seq: number, snap: Snapshot): WallState {
  const alarms: Record<string, Alarm> = {};
  for (const a of snap.alarms ?? []) if (isOpen(a)) alarms[a.id] = a;
  const devices: Record<string, DeviceLive> = {};
  for (const [id, d] of Object.entries(snap.devices ?? {})) {
    // `since` is not in the snapshot (only in deltas): a fresh snapshot starts without it.
    devices[id] = { online: d.online, status: d.status ?? (d.online ? 'online' : d.lastSeen ? 'offline' : 'unknown'), lastSeen: d.lastSeen };
  }
  // One open alarm per device (the last one listed wins).
  const byDevice = new Map<string, MaintenanceAlarmView>();
  for (const m of snap.maintenance ?? []) if (m?.state === 'open' && typeof m.id === 'string') byDevice.set(m.device, m);
  const maintenance: Record<string, MaintenanceAlarmView> = {};
  for (const m of byDevice.values()) maintenance[m.id] = m;
  const base: WallState = {
    ...state,
    seq,
    ready: true,
    resync: false,
    alarms,
    devices,
    maintenance,
  };
  // A snapshot without schools keeps the ones we had (e.g. loaded over REST).
  return snap.schools ? withSchools(base, snap.schools) : { ...base, schools: withAlarmCounts(state.schools, alarms) };
}

function applyAlarm(state: WallState, seq: number, alarm: Alarm): WallState {
  const prev = state.alarms[alarm.id];
  // History only grows: an older view of the alarm (e.g. our own action's reply came first) never wins.
  if (prev && prev.history.length > alarm.history.length) return { ...state, seq };
  const alarms = { ...state.alarms };
  if (isOpen(alarm)) alarms[alarm.id] = alarm;
  else delete alarms[alarm.id];
  let activity = state.activity;
  if (!alarm.test && (!prev || prev.state !== alarm.state))
    activity = pushActivity(activity, {
      seq,
      at: alarm.history.at(-1)?.at ?? alarm.raisedAt,
      kind: 'alarm',
      school: alarm.school,
      device: alarm.device,
      detail: `${alarm.kind}:${alarm.state}`,
    });
  return { ...state, seq, alarms, schools: withAlarmCounts(state.schools, alarms), activity };
}

/** Adds or replaces an open maintenance alarm; a device has at most one open, so an older one of the same device goes. */
function withOpenMaintenance(list: Record<string, MaintenanceAlarmView>, m: MaintenanceAlarmView): Record<string, MaintenanceAlarmView> {
  const out: Record<string, MaintenanceAlarmView> = {};
  for (const [id, x] of Object.entries(list)) if (id !== m.id && x.device !== m.device) out[id] = x;
  out[m.id] = m;
  return out;
}

/** A maintenance alarm opened, reopened (same id, `flaps` + 1) or cleared. */
function applyMaintenance(state: WallState, seq: number, m: MaintenanceAlarmView): WallState {
  if (!m || typeof m.id !== 'string') return { ...state, seq };
  let maintenance = state.maintenance;
  if (m.state === 'open') maintenance = withOpenMaintenance(maintenance, m);
  else if (maintenance[m.id]) {
    maintenance = { ...maintenance };
    delete maintenance[m.id];
  }
  return { ...state, seq, maintenance };
}

function applyDevice(state: WallState, seq: number, ch: DeviceChange, now: number): WallState {
  const prev = state.devices[ch.id];
  // A `device` delta is a change: if we never saw the device, it was in the other state before.
  const wasOnline = prev ? prev.online : !ch.online;
  const live: DeviceLive = { online: ch.online, status: ch.online ? 'online' : 'offline', lastSeen: ch.lastSeen };
  // `since` is in the contract; older gateways (and hand-written frames) may leave it out.
  const since = typeof ch.since === 'string' && ch.since ? ch.since : prev && prev.online === ch.online ? prev.since : undefined;
  if (since) live.since = since;
  if (ch.reason) live.reason = ch.reason;
  const devices = { ...state.devices, [ch.id]: live };
  let schools = state.schools;
  const school = schools[ch.school];
  if (school && wasOnline !== ch.online) {
    const online = Math.min(school.devices.total, Math.max(0, school.devices.online + (ch.online ? 1 : -1)));
    schools = { ...schools, [ch.school]: { ...school, devices: { ...school.devices, online } } };
  }
  const activity =
    wasOnline !== ch.online
      ? pushActivity(state.activity, {
          seq,
          // Going offline happens "now" (lastSeen is the last sign of life, long before).
          at: ch.online && ch.lastSeen ? ch.lastSeen : new Date(now).toISOString(),
          kind: 'device',
          school: ch.school,
          device: ch.id,
          online: ch.online,
          detail: ch.reason,
        })
      : state.activity;
  return { ...state, seq, devices, schools, activity };
}

/**
 * Applies an alarm we got from a REST reply (our own ack/dispatch/resolve), without a seq: the
 * feed's own `alarm` delta follows and is applied normally.
 */
export function applyLocalAlarm(state: WallState, alarm: Alarm): WallState {
  const prev = state.alarms[alarm.id];
  if (!prev || prev.history.length > alarm.history.length) return state;
  const alarms = { ...state.alarms };
  if (isOpen(alarm)) alarms[alarm.id] = alarm;
  else delete alarms[alarm.id];
  return { ...state, alarms, schools: withAlarmCounts(state.schools, alarms) };
}

interface LooseEvent {
  id?: string;
  device?: string;
  school?: string;
  ts?: string | number;
  at?: string;
  receivedAt?: string;
  online?: boolean;
  kind?: string;
}

function eventTime(e: LooseEvent, now: number): string {
  const v = e.receivedAt ?? e.at ?? e.ts;
  const ms = v === undefined ? NaN : new Date(v).getTime();
  return new Date(Number.isFinite(ms) ? ms : now).toISOString();
}

/**
 * Applies one frame. Frames at or below the last applied seq are ignored; a snapshot always applies.
 * `now` (epoch ms) only stamps activity entries whose frame carries no time of its own.
 */
export function reduce(state: WallState, frame: FeedFrame, now: number = Date.now()): WallState {
  if (!frame || typeof frame.type !== 'string') return state;
  if (frame.type === 'resync') return { ...state, resync: true };
  if (frame.type === 'snapshot') return applySnapshot(state, frame.seq, frame.data as Snapshot);
  if (!state.ready) return state; // deltas before the snapshot: nothing to apply them to
  if (typeof frame.seq !== 'number' || frame.seq <= state.seq) return state;
  switch (frame.type) {
    case 'alarm':
      return applyAlarm(state, frame.seq, frame.data as Alarm);
    case 'device':
      return applyDevice(state, frame.seq, frame.data as DeviceChange, now);
    case 'maintenance':
      return applyMaintenance(state, frame.seq, frame.data as MaintenanceAlarmView);
    case 'camera': {
      const e = (frame.data ?? {}) as LooseEvent;
      const id = e.device ?? e.id;
      const prev = id ? state.devices[id] : undefined;
      const changed = typeof e.online === 'boolean' && (!prev || prev.online !== e.online);
      const activity =
        changed && e.school
          ? pushActivity(state.activity, { seq: frame.seq, at: eventTime(e, now), kind: 'camera', school: e.school, device: id, online: e.online })
          : state.activity;
      return { ...state, seq: frame.seq, activity };
    }
    case 'ai': {
      const e = (frame.data ?? {}) as LooseEvent;
      const activity = e.school
        ? pushActivity(state.activity, { seq: frame.seq, at: eventTime(e, now), kind: 'ai', school: e.school, device: e.device, detail: e.kind })
        : state.activity;
      return { ...state, seq: frame.seq, activity };
    }
    default:
      return { ...state, seq: frame.seq }; // a delta type this screen does not show
  }
}

// ---------- selectors ----------

const raisedMs = (a: Alarm): number => Date.parse(a.raisedAt) || 0;

/** Real (non-test) open alarms: escalated-and-unacknowledged pinned first, then newest first. */
export function realAlarms(state: WallState): Alarm[] {
  const urgent = (a: Alarm) => (a.escalated && a.state === 'raised' ? 1 : 0);
  return Object.values(state.alarms)
    .filter((a) => !a.test)
    .sort((a, b) => urgent(b) - urgent(a) || raisedMs(b) - raisedMs(a) || (a.id < b.id ? 1 : -1));
}

export function testAlarms(state: WallState): Alarm[] {
  return Object.values(state.alarms)
    .filter((a) => a.test)
    .sort((a, b) => raisedMs(b) - raisedMs(a));
}

export interface Summary {
  schools: number;
  devicesOnline: number;
  devicesTotal: number;
  open: number;
  escalated: number;
}

export function summary(state: WallState): Summary {
  let devicesOnline = 0;
  let devicesTotal = 0;
  for (const s of Object.values(state.schools)) {
    devicesOnline += s.devices.online;
    devicesTotal += s.devices.total;
  }
  const real = Object.values(state.alarms).filter((a) => !a.test);
  return {
    schools: state.schoolOrder.length,
    devicesOnline,
    devicesTotal,
    open: real.length,
    escalated: real.filter((a) => a.escalated && a.state === 'raised').length,
  };
}

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
export function downDevices(state: WallState): DownDevice[] {
  const out: (DownDevice & { sinceMs: number })[] = [];
  for (const m of Object.values(state.maintenance)) {
    const d = state.devices[m.device];
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
