/** The alarms module's slice: the open alarms (test presses included), from `alarm` frames and the snapshot's `alarms`. */
import type { Alarm, FeedFrame } from '../../gateway/contract/api.js';
import type { Slice } from './slice.js';

/** Open alarms (not resolved), test ones included, by id. */
export type AlarmsSlice = Record<string, Alarm>;

export const isOpen = (a: Alarm): boolean => a.state !== 'resolved';

/** History only grows: a view with a shorter history than the one we hold is older (e.g. our own action's reply came first). */
export function isOlderView(held: Alarm | undefined, view: Alarm): boolean {
  return !!held && held.history.length > view.history.length;
}

/** The frame's alarm, or null when the frame carries none. */
export function alarmOf(frame: FeedFrame): Alarm | null {
  const a = frame.data as Alarm | null;
  return a && typeof a.id === 'string' && Array.isArray(a.history) ? a : null;
}

export const initialAlarms = (): AlarmsSlice => ({});

export function loadAlarms(_prev: AlarmsSlice, snapshot: { alarms?: Alarm[] }): AlarmsSlice {
  const out: AlarmsSlice = {};
  for (const a of snapshot.alarms ?? []) if (isOpen(a)) out[a.id] = a;
  return out;
}

/** Puts a newer view of an alarm in: kept while open, dropped once resolved. */
export function withAlarmView(slice: AlarmsSlice, alarm: Alarm): AlarmsSlice {
  const out = { ...slice };
  if (isOpen(alarm)) out[alarm.id] = alarm;
  else delete out[alarm.id];
  return out;
}

export function reduceAlarms(slice: AlarmsSlice, frame: FeedFrame): AlarmsSlice {
  const alarm = alarmOf(frame);
  if (!alarm || isOlderView(slice[alarm.id], alarm)) return slice;
  return withAlarmView(slice, alarm);
}

export const alarmsSlice: Slice<AlarmsSlice> = { frames: ['alarm'], initial: initialAlarms, load: loadAlarms, reduce: reduceAlarms };

// ---------- selectors ----------

const raisedMs = (a: Alarm): number => Date.parse(a.raisedAt) || 0;

/** Real (non-test) open alarms: escalated-and-unacknowledged pinned first, then newest first. */
export function realAlarms(state: { alarms: AlarmsSlice }): Alarm[] {
  const urgent = (a: Alarm) => (a.escalated && a.state === 'raised' ? 1 : 0);
  return Object.values(state.alarms)
    .filter((a) => !a.test)
    .sort((a, b) => urgent(b) - urgent(a) || raisedMs(b) - raisedMs(a) || (a.id < b.id ? 1 : -1));
}

export function testAlarms(state: { alarms: AlarmsSlice }): Alarm[] {
  return Object.values(state.alarms)
    .filter((a) => a.test)
    .sort((a, b) => raisedMs(b) - raisedMs(a));
}
