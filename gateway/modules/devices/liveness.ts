/**
 * Device liveness, pure (times are arguments; no timers here — the caller ticks).
 *
 *  - A device is offline after `missedHeartbeats` × its heartbeat interval without a sign of life,
 *    or at once on `offline` (its MQTT last will) or a camera report that it is down. The transition
 *    is dated at the deadline itself.
 *  - It is back online only after `recoverSigns` (2) consecutive signs of life, each within a
 *    missed-heartbeat window of the last: hysteresis, so a flapping link does not flood the screen.
 *  - A camera probe that failed is not a sign of life and breaks a recovery streak; three of them
 *    in a row are simply three missed heartbeats.
 *  - A device never heard from is `unknown` until its first window after start has passed; then it
 *    is offline (`never_seen`): a dead panic button must not hide behind "no data".
 *  - After a restart every device keeps its last state; online ones get a fresh window from the
 *    start (the gateway was not listening, so their silence proves nothing): no false flood.
 */
import { DeadlineWheel } from './deadline-wheel.js';

export type LivenessSign =
  /** Heartbeat, `online`, a camera up, or any message from it. */
  | 'alive'
  /** `offline` availability: the device's last will. */
  | 'gone'
  /** A `camera` report with `"online": false`: its NVR's (or our watcher's) verdict that it is down (contract §1). */
  | 'down'
  /** A camera probe that failed (the camera is not answering, though its NVR or watcher is). */
  | 'failed';

export interface LivenessRecord {
  id: string;
  /** `null`: unknown (never heard from since it was registered). */
  online: boolean | null;
  lastSeen: number | null;
  /** When the current state began. */
  since: number | null;
  /** Consecutive signs of life while offline. */
  streak: number;
  battery?: number;
  rssi?: number;
}

export interface Transition {
  id: string;
  online: boolean;
  atMs: number;
  reason: 'heartbeat_resumed' | 'first_seen' | 'silent' | 'last_will' | 'reported_down' | 'never_seen';
  /** For a return: how long it was offline. */
  downForMs?: number;
  record: LivenessRecord;
}

export interface LivenessOptions {
  missedHeartbeats: number;
  recoverSigns: number;
  intervalMs: (id: string) => number;
  slotMs?: number;
}

export class Liveness {
  /** Every registered device's record (read-only outside this class). */
  readonly records = new Map<string, LivenessRecord>();
  private readonly wheel: DeadlineWheel;
  /** Deadline of each online or unknown device (offline ones have none). */
  private readonly deadlines = new Map<string, number>();
  private readonly scheduled = new Set<string>();

  constructor(
    private readonly o: LivenessOptions,
    nowMs: number,
  ) {
    this.wheel = new DeadlineWheel(o.slotMs ?? 1000, nowMs);
  }

  private window(id: string): number {
    return this.o.missedHeartbeats * this.o.intervalMs(id);
  }

  /** Loads the last known state of every registered device (`stored` may lack some) at gateway start. */
  restore(ids: Iterable<string>, stored: Map<string, LivenessRecord>, nowMs: number): void {
    for (const id of ids) {
      const r: LivenessRecord = stored.get(id) ?? { id, online: null, lastSeen: null, since: null, streak: 0 };
      this.records.set(id, r);
      if (r.online !== false) this.setDeadline(id, nowMs + this.window(id));
    }
  }

  get(id: string): LivenessRecord | undefined {
    return this.records.get(id);
  }

  all(): IterableIterator<LivenessRecord> {
    return this.records.values();
  }

  private setDeadline(id: string, atMs: number): void {
    this.deadlines.set(id, atMs);
    if (!this.scheduled.has(id)) {
      this.scheduled.add(id);
      this.wheel.schedule(id, atMs);
    }
  }

  /** Applies one observation; returns the transition it caused, if any. */
  observe(id: string, sign: LivenessSign, atMs: number, extra: { battery?: number; rssi?: number } = {}): Transition | null {
    const prev = this.records.get(id);
    if (!prev) return null; // not a registered device
    const r: LivenessRecord = { ...prev };
    if (extra.battery !== undefined) r.battery = extra.battery;
    if (extra.rssi !== undefined) r.rssi = extra.rssi;
    let t: Transition | null = null;

    if (sign === 'alive') {
      const consecutive = prev.lastSeen !== null && atMs - prev.lastSeen <= this.window(id);
      r.lastSeen = atMs;
      if (r.online === true) {
        this.setDeadline(id, atMs + this.window(id));
      } else if (r.online === null) {
        r.online = true;
        r.since = atMs;
        r.streak = 0;
        this.setDeadline(id, atMs + this.window(id));
        t = { id, online: true, atMs, reason: 'first_seen', record: r };
      } else {
        r.streak = consecutive && prev.streak > 0 ? prev.streak + 1 : 1;
        if (r.streak >= this.o.recoverSigns) {
          const downForMs = prev.since === null ? undefined : atMs - prev.since;
          r.online = true;
          r.since = atMs;
          r.streak = 0;
          this.setDeadline(id, atMs + this.window(id));
          t = { id, online: true, atMs, reason: 'heartbeat_resumed', downForMs, record: r };
        }
      }
    } else if (sign === 'gone' || sign === 'down') {
      r.streak = 0;
      if (r.online !== false) {
        r.online = false;
        r.since = atMs;
        this.deadlines.delete(id);
        t = { id, online: false, atMs, reason: sign === 'gone' ? 'last_will' : 'reported_down', record: r };
      }
    } else {
      r.streak = 0; // a failed probe breaks a recovery streak; the deadline runs on
    }
    this.records.set(id, r);
    return t;
  }

  /** Devices whose window ran out by `nowMs`, each dated at its own deadline. */
  tick(nowMs: number): Transition[] {
    const out: Transition[] = [];
    for (const id of this.wheel.due(nowMs)) {
      this.scheduled.delete(id);
      const deadline = this.deadlines.get(id);
      if (deadline === undefined) continue; // offline meanwhile
      if (deadline > nowMs) {
        this.scheduled.add(id);
        this.wheel.schedule(id, deadline);
        continue;
      }
      const prev = this.records.get(id)!;
      const r: LivenessRecord = { ...prev, online: false, since: deadline, streak: 0 };
      this.records.set(id, r);
      this.deadlines.delete(id);
      out.push({ id, online: false, atMs: deadline, reason: prev.online === null ? 'never_seen' : 'silent', record: r });
    }
    return out.sort((a, b) => a.atMs - b.atMs);
  }

  /** Entries in the wheel (one per online or unknown device at most). */
  get scheduledCount(): number {
    return this.scheduled.size;
  }
}
