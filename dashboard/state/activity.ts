/**
 * The activity ticker's slice: recent events, newest first. It owns the `ai` frame (canteen
 * cameras' analytics); alarm, device and camera entries need the other slices' previous state and
 * are added by the cross-slice rules in index.ts, with the builders below.
 */
import type { Alarm, DeviceChange, FeedFrame } from '../../gateway/contract/api.js';
import { deviceOf, type DevicesSlice } from './devices.js';
import type { Slice } from './slice.js';

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

/** Newest first, at most ACTIVITY_MAX. */
export type ActivitySlice = Activity[];

export const ACTIVITY_MAX = 40;

export function pushActivity(list: ActivitySlice, item: Activity): ActivitySlice {
  return [item, ...list].slice(0, ACTIVITY_MAX);
}

/** `camera` and `ai` frames: the event as the gateway forwards it, loosely typed. */
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

function reduceActivity(list: ActivitySlice, frame: FeedFrame, now: number): ActivitySlice {
  const e = (frame.data ?? {}) as LooseEvent;
  if (!e.school) return list;
  return pushActivity(list, { seq: frame.seq, at: eventTime(e, now), kind: 'ai', school: e.school, device: e.device, detail: e.kind });
}

export const activitySlice: Slice<ActivitySlice> = {
  frames: ['ai'],
  initial: () => [],
  // The snapshot carries no activity: what the ticker showed stays.
  load: (prev) => prev,
  reduce: reduceActivity,
};

// ---------- entries built from other slices' frames ----------

/** A real alarm that is new or changed state (`held`: the view we had before). */
export function alarmActivity(held: Alarm | undefined, alarm: Alarm, seq: number): Activity | null {
  if (alarm.test || (held && held.state === alarm.state)) return null;
  return {
    seq,
    at: alarm.history.at(-1)?.at ?? alarm.raisedAt,
    kind: 'alarm',
    school: alarm.school,
    device: alarm.device,
    detail: `${alarm.kind}:${alarm.state}`,
  };
}

/** A device that went online or offline (the caller knows it flipped). */
export function deviceActivity(ch: DeviceChange, seq: number, now: number): Activity {
  return {
    seq,
    // Going offline happens "now" (lastSeen is the last sign of life, long before).
    at: ch.online && ch.lastSeen ? ch.lastSeen : new Date(now).toISOString(),
    kind: 'device',
    school: ch.school,
    device: ch.id,
    online: ch.online,
    detail: ch.reason,
  };
}

/** A camera's own report whose online state differs from what the devices slice holds. */
export function cameraActivity(devices: DevicesSlice, frame: FeedFrame, now: number): Activity | null {
  const e = (frame.data ?? {}) as LooseEvent;
  const id = e.device ?? e.id;
  const prev = id ? deviceOf(devices, id) : undefined;
  const changed = typeof e.online === 'boolean' && (!prev || prev.online !== e.online);
  if (!changed || !e.school) return null;
  return { seq: frame.seq, at: eventTime(e, now), kind: 'camera', school: e.school, device: id, online: e.online };
}
