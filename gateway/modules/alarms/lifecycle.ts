/**
 * The one-key alarm lifecycle, pure: no I/O, no clock of its own (times come in as arguments).
 *
 * raised → acknowledged → dispatched → resolved, and acknowledged → resolved for a false or test
 * press that needs no dispatch. GB 50394 (intrusion and hold-up alarm systems) requires a hold-up
 * alarm to latch: nothing but an operator's action clears it, so there is no timeout to resolved.
 */
import type { Alarm, AlarmAction, AlarmOutcome, AlarmSnapshot, AlarmState, HistoryEntry } from '../../contract/api.js';
import type { AlarmFeedback, AlarmKind } from '../../contract/mqtt.js';
import { iso } from '../../contract/common.js';
import { nextState, type TransitionTable } from '../../domain/transitions.js';

export interface RaiseInput {
  id: string;
  sourceId: string;
  school: { id: string; name: string; nameEn?: string };
  device: { id: string; name: string; nameEn?: string; place?: string; zone?: string };
  kind: AlarmKind;
  zone?: string;
  test: boolean;
  receivedAtMs: number;
  deviceTsMs: number;
  clockSkewToleranceMs: number;
}

export function raiseAlarm(i: RaiseInput): Alarm {
  const skew = i.deviceTsMs - i.receivedAtMs;
  const raisedAt = iso(i.receivedAtMs);
  const alarm: Alarm = {
    id: i.id,
    sourceId: i.sourceId,
    school: i.school.id,
    schoolName: i.school.name,
    device: i.device.id,
    deviceName: i.device.name,
    kind: i.kind,
    test: i.test,
    state: 'raised',
    raisedAt,
    deviceTs: iso(i.deviceTsMs),
    clockSkewMs: skew,
    clockSuspect: Math.abs(skew) > i.clockSkewToleranceMs,
    escalated: false,
    history: [{ state: 'raised', at: raisedAt, by: i.device.id }],
  };
  if (i.device.place) alarm.place = i.device.place;
  if (i.device.nameEn) alarm.deviceNameEn = i.device.nameEn;
  if (i.school.nameEn) alarm.schoolNameEn = i.school.nameEn;
  // The press's own zone (a button may report which classroom) wins over the device's.
  const zone = i.zone ?? i.device.zone;
  if (zone) alarm.zone = zone;
  return alarm;
}

/** The outcome of one camera's picture, recorded on the alarm; an outcome for a camera it did not plan is ignored. */
export function withSnapshot(alarm: Alarm, o: { camera: string; sha256?: string; error?: string }, atMs: number): Alarm {
  const i = alarm.snapshots?.findIndex((s) => s.camera === o.camera) ?? -1;
  if (i < 0) return alarm;
  const s = alarm.snapshots![i];
  const next: AlarmSnapshot = { camera: s.camera, cameraName: s.cameraName, ...(s.cameraNameEn ? { cameraNameEn: s.cameraNameEn } : {}), by: s.by, at: iso(atMs), ...(o.sha256 ? { state: 'fetched', sha256: o.sha256 } : { state: 'failed', error: o.error ?? 'no reason given' }) };
  const snapshots = [...alarm.snapshots!];
  snapshots[i] = next;
  return { ...alarm, snapshots };
}

/** Which state each action leads to, from which states. */
export const TRANSITIONS: TransitionTable<AlarmState, AlarmAction> = {
  ack: { to: 'acknowledged', from: ['raised'] },
  dispatch: { to: 'dispatched', from: ['acknowledged'] },
  resolve: { to: 'resolved', from: ['acknowledged', 'dispatched'] },
};

export class IllegalTransition extends Error {
  constructor(
    readonly alarm: Alarm,
    readonly action: AlarmAction,
  ) {
    super(`cannot ${action} an alarm that is ${alarm.state}`);
  }
}

/** `outcome` (what the alarm turned out to be) is taken on resolve only; the other actions ignore it. */
export function applyAction(alarm: Alarm, action: AlarmAction, by: string, atMs: number, note?: string, outcome?: AlarmOutcome): Alarm {
  const to = nextState(TRANSITIONS, alarm.state, action);
  if (to === undefined) throw new IllegalTransition(alarm, action);
  const entry: HistoryEntry = { state: to, at: iso(atMs), by };
  if (note !== undefined && note.trim() !== '') entry.note = note.trim();
  if (action === 'resolve' && outcome !== undefined) {
    entry.outcome = outcome;
    return { ...alarm, state: to, outcome, history: [...alarm.history, entry] };
  }
  return { ...alarm, state: to, history: [...alarm.history, entry] };
}

/**
 * A note on its own: an entry in the history, the state unchanged (any state, resolved too). It
 * neither acknowledges nor stops escalation: only an action does.
 */
export function addNote(alarm: Alarm, by: string, atMs: number, note: string): Alarm {
  const entry: HistoryEntry = { state: alarm.state, at: iso(atMs), by, note: note.trim(), action: 'note' };
  return { ...alarm, history: [...alarm.history, entry] };
}

/** The entries that changed the state (a note on its own did not). */
export const stateEntries = (alarm: Alarm): HistoryEntry[] => alarm.history.filter((h) => h.action !== 'note');

/** Escalation applies only while nobody has acknowledged; test presses never escalate. */
export function needsEscalation(alarm: Alarm): boolean {
  return alarm.state === 'raised' && !alarm.escalated && !alarm.test;
}

export function escalate(alarm: Alarm, atMs: number): Alarm {
  return { ...alarm, escalated: true, escalatedAt: iso(atMs) };
}

/** When the escalation timer of an unacknowledged alarm falls due. */
export function escalationDueMs(alarm: Alarm, ackTimeoutSec: number): number {
  return Date.parse(alarm.raisedAt) + ackTimeoutSec * 1000;
}

const FEEDBACK_STATE: Record<AlarmState, AlarmFeedback['state']> = {
  raised: 'received',
  acknowledged: 'acknowledged',
  dispatched: 'dispatched',
  resolved: 'resolved',
};

/** Contract §2 `alarm/state`: what the button's lamp shows. */
export function feedbackFor(alarm: Alarm): AlarmFeedback {
  // The button's lamp shows where the alarm stands: a later note is not news to it.
  const last = stateEntries(alarm).at(-1)!;
  const fb: AlarmFeedback = { id: alarm.sourceId, state: FEEDBACK_STATE[alarm.state], ts: last.at };
  if (alarm.state !== 'raised' && last.by) fb.by = last.by;
  return fb;
}

export function isOpen(alarm: Alarm): boolean {
  return alarm.state !== 'resolved';
}
