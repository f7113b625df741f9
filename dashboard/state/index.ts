/**
 * The wall screen's model: live-feed frames (contract §4) reduced into one state, one slice per
 * gateway module. No DOM, no timers, no globals: `reduce(state, frame)` returns a new state and
 * never mutates the old one, so it is unit-testable under node:test.
 *
 * A new module's slice: one file in this folder (a `Slice`: the frame types it owns, initial
 * value, snapshot loader, reducer) and one line in SLICES. Only a slice that depends on another
 * one's change also adds a rule to FRAME_RULES or `derive` below.
 */
import type { Alarm, FeedFrame, SchoolStatus, Snapshot } from '../../gateway/contract/api.js';
import { activitySlice, alarmActivity, cameraActivity, deviceActivity, pushActivity } from './activity.js';
import { canteenSlice } from './canteen.js';
import { alarmOf, alarmsSlice, isOlderView, withAlarmView } from './alarms.js';
import { deviceChangeOf, devicesSlice, flips } from './devices.js';
import { floodSlice } from './flood.js';
import { maintenanceSlice } from './maintenance.js';
import { schoolOrderSlice, schoolsFrom, schoolsSlice, withAlarmCounts, withDeviceFlip } from './schools.js';
import { combineSlices, type SliceState } from './slice.js';
import { targetsSlice } from './targets.js';

export { ACTIVITY_MAX, type Activity, type ActivityKind } from './activity.js';
export { realAlarms, testAlarms } from './alarms.js';
export { deviceOf, type DeviceLive, type DeviceStatus } from './devices.js';
export { downDevices, type DownDevice } from './maintenance.js';

/** The slices, by the name they have in WallState. */
export const SLICES = {
  alarms: alarmsSlice,
  devices: devicesSlice,
  maintenance: maintenanceSlice,
  schools: schoolsSlice,
  schoolOrder: schoolOrderSlice,
  activity: activitySlice,
  targets: targetsSlice,
  canteen: canteenSlice,
  flood: floodSlice,
};

const slices = combineSlices(SLICES);

export interface WallState extends SliceState<typeof SLICES> {
  /** Last seq applied; -1 before the first snapshot. */
  seq: number;
  /** True once a snapshot has been applied (deltas before it are dropped). */
  ready: boolean;
  /** Set by a `resync` frame: the connection must be dropped and opened fresh (no resume). */
  resync: boolean;
}

export function initialState(): WallState {
  return { seq: -1, ready: false, resync: false, ...slices.initial() };
}

// ---------- cross-slice rules: what one slice's frame means for another ----------

type FrameRule = (prev: WallState, next: WallState, frame: FeedFrame, now: number) => WallState;

/** Run in order after the owning slices have reduced a delta; `prev` is the state before the frame. */
const FRAME_RULES: readonly FrameRule[] = [
  // A device that flips moves its school's online count, and shows in the ticker.
  (prev, next, frame, now) => {
    const ch = frame.type === 'device' ? deviceChangeOf(frame) : null;
    if (!ch || !flips(prev.devices, ch)) return next;
    return { ...next, schools: withDeviceFlip(next.schools, ch.school, ch.online), activity: pushActivity(next.activity, deviceActivity(ch, frame.seq, now)) };
  },
  // A real alarm that is new or changed state shows in the ticker (an older view changes nothing).
  (prev, next, frame) => {
    const alarm = frame.type === 'alarm' ? alarmOf(frame) : null;
    const held = alarm ? prev.alarms[alarm.id] : undefined;
    const item = alarm && !isOlderView(held, alarm) ? alarmActivity(held, alarm, frame.seq) : null;
    return item ? { ...next, activity: pushActivity(next.activity, item) } : next;
  },
  // A camera's own report shows in the ticker when it differs from the device's known state.
  (prev, next, frame, now) => {
    const item = frame.type === 'camera' ? cameraActivity(prev.devices, frame, now) : null;
    return item ? { ...next, activity: pushActivity(next.activity, item) } : next;
  },
];

/** Derived figures, kept true after every change (frames, snapshots and REST replies alike). */
function derive(prev: WallState, next: WallState): WallState {
  // A school's open-alarm count is the number of its open real alarms in the alarms slice.
  if (next.alarms !== prev.alarms || next.schools !== prev.schools) return { ...next, schools: withAlarmCounts(next.schools, next.alarms) };
  return next;
}

// ---------- the reducer ----------

/**
 * Applies one frame. Frames at or below the last applied seq are ignored; a snapshot always applies.
 * `now` (epoch ms) only stamps activity entries whose frame carries no time of its own.
 */
export function reduce(state: WallState, frame: FeedFrame, now: number = Date.now()): WallState {
  if (!frame || typeof frame.type !== 'string') return state;
  if (frame.type === 'resync') return { ...state, resync: true };
  if (frame.type === 'snapshot') {
    const snapshot = (frame.data ?? {}) as Partial<Snapshot>;
    return derive(state, { ...slices.load(state, snapshot), seq: frame.seq, ready: true, resync: false });
  }
  if (!state.ready) return state; // deltas before the snapshot: nothing to apply them to
  if (typeof frame.seq !== 'number' || frame.seq <= state.seq) return state;
  // A type no slice owns (one this screen does not show) moves only the seq.
  let next: WallState = { ...slices.reduce(state, frame, now), seq: frame.seq };
  for (const rule of FRAME_RULES) next = rule(state, next, frame, now);
  return derive(state, next);
}

/** Replaces the school list (from a snapshot or GET /api/schools), keeping alarm counts consistent. */
export function withSchools(state: WallState, list: SchoolStatus[]): WallState {
  return derive(state, { ...state, schools: schoolsFrom(list), schoolOrder: list.map((s) => s.id) });
}

/**
 * Applies an alarm we got from a REST reply (our own ack/dispatch/resolve), without a seq: the
 * feed's own `alarm` delta follows and is applied normally.
 */
export function applyLocalAlarm(state: WallState, alarm: Alarm): WallState {
  const held = state.alarms[alarm.id];
  if (!held || isOlderView(held, alarm)) return state;
  return derive(state, { ...state, alarms: withAlarmView(state.alarms, alarm) });
}

// ---------- cross-slice selectors ----------

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
