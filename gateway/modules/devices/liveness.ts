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

/** A slot's `online`: unknown (never heard from since it was registered), offline, online. */
const UNKNOWN = -1;
const OFF = 0;
const ON = 1;

/**
 * Every registered device's liveness in parallel typed arrays indexed by slot (the device's place
 * in the registry), not an object per device: a province of 1,000,000 devices costs ~60 bytes each
 * and no garbage per heartbeat (issue #13). Records are made on demand for whoever reads one.
 */
export class Liveness {
  /** Every registered device's record, materialised when read (read-only outside this class). */
  readonly records: ReadonlyMap<string, LivenessRecord>;
  private readonly slotOf = new Map<string, number>();
  private ids: string[] = [];
  private online = new Int8Array(0);
  /** NaN: null. */
  private lastSeen = new Float64Array(0);
  private since = new Float64Array(0);
  private streak = new Uint8Array(0);
  /** NaN: never reported. */
  private battery = new Float64Array(0);
  private rssi = new Float64Array(0);
  /** The missed-heartbeat window, fixed per device at restore. */
  private windowMs = new Float64Array(0);
  /** Deadline of each online or unknown device; NaN for offline ones (they have none). */
  private deadline = new Float64Array(0);
  /** 1 while the slot has an entry in the wheel (at most one). */
  private scheduled = new Uint8Array(0);
  private scheduledTotal = 0;
  private readonly wheel: DeadlineWheel<number>;

  constructor(
    private readonly o: LivenessOptions,
    nowMs: number,
  ) {
    this.wheel = new DeadlineWheel<number>(o.slotMs ?? 1000, nowMs);
    this.records = new RecordsView(this);
  }

  /** Loads the last known state of every registered device (`stored` may lack some) at gateway start. */
  restore(ids: Iterable<string>, stored: Map<string, LivenessRecord>, nowMs: number): void {
    this.ids = [...ids];
    const n = this.ids.length;
    this.slotOf.clear();
    this.online = new Int8Array(n).fill(UNKNOWN);
    this.lastSeen = new Float64Array(n).fill(NaN);
    this.since = new Float64Array(n).fill(NaN);
    this.streak = new Uint8Array(n);
    this.battery = new Float64Array(n).fill(NaN);
    this.rssi = new Float64Array(n).fill(NaN);
    this.windowMs = new Float64Array(n);
    this.deadline = new Float64Array(n).fill(NaN);
    this.scheduled = new Uint8Array(n);
    this.scheduledTotal = 0;
    for (let i = 0; i < n; i++) {
      const id = this.ids[i];
      this.slotOf.set(id, i);
      this.windowMs[i] = this.o.missedHeartbeats * this.o.intervalMs(id);
      const r = stored.get(id);
      if (r) this.write(i, r);
      if (this.online[i] !== OFF) this.setDeadline(i, nowMs + this.windowMs[i]);
    }
  }

  private write(i: number, r: LivenessRecord): void {
    this.online[i] = r.online === null ? UNKNOWN : r.online ? ON : OFF;
    this.lastSeen[i] = r.lastSeen ?? NaN;
    this.since[i] = r.since ?? NaN;
    this.streak[i] = Math.min(255, r.streak);
    this.battery[i] = r.battery ?? NaN;
    this.rssi[i] = r.rssi ?? NaN;
  }

  /** The record of slot `i`, as a fresh object. */
  private read(i: number): LivenessRecord {
    const o = this.online[i];
    const r: LivenessRecord = {
      id: this.ids[i],
      online: o === UNKNOWN ? null : o === ON,
      lastSeen: nullIfNaN(this.lastSeen[i]),
      since: nullIfNaN(this.since[i]),
      streak: this.streak[i],
    };
    if (!Number.isNaN(this.battery[i])) r.battery = this.battery[i];
    if (!Number.isNaN(this.rssi[i])) r.rssi = this.rssi[i];
    return r;
  }

  get(id: string): LivenessRecord | undefined {
    const i = this.slotOf.get(id);
    return i === undefined ? undefined : this.read(i);
  }

  /** Whether the device is online now (false for unknown and unregistered ones), without making a record. */
  isOnline(id: string): boolean {
    const i = this.slotOf.get(id);
    return i !== undefined && this.online[i] === ON;
  }

  /** How many registered devices there are. */
  get size(): number {
    return this.ids.length;
  }

  /** Registered ids in registry order. */
  keys(): IterableIterator<string> {
    return this.ids.values();
  }

  *all(): IterableIterator<LivenessRecord> {
    for (let i = 0; i < this.ids.length; i++) yield this.read(i);
  }

  private setDeadline(i: number, atMs: number): void {
    this.deadline[i] = atMs;
    if (!this.scheduled[i]) {
      this.scheduled[i] = 1;
      this.scheduledTotal++;
      this.wheel.schedule(i, atMs);
    }
  }

  /** Applies one observation; returns the transition it caused, if any. */
  observe(id: string, sign: LivenessSign, atMs: number, extra: { battery?: number; rssi?: number } = {}): Transition | null {
    const i = this.slotOf.get(id);
    if (i === undefined) return null; // not a registered device
    if (extra.battery !== undefined) this.battery[i] = extra.battery;
    if (extra.rssi !== undefined) this.rssi[i] = extra.rssi;
    const was = this.online[i];
    if (sign === 'alive') {
      const prevSeen = this.lastSeen[i];
      const consecutive = !Number.isNaN(prevSeen) && atMs - prevSeen <= this.windowMs[i];
      this.lastSeen[i] = atMs;
      if (was === ON) {
        this.setDeadline(i, atMs + this.windowMs[i]);
        return null;
      }
      if (was === UNKNOWN) {
        this.becomeOnline(i, atMs);
        return { id, online: true, atMs, reason: 'first_seen', record: this.read(i) };
      }
      this.streak[i] = consecutive && this.streak[i] > 0 ? Math.min(255, this.streak[i] + 1) : 1;
      if (this.streak[i] < this.o.recoverSigns) return null;
      const downFrom = this.since[i];
      this.becomeOnline(i, atMs);
      return { id, online: true, atMs, reason: 'heartbeat_resumed', downForMs: Number.isNaN(downFrom) ? undefined : atMs - downFrom, record: this.read(i) };
    }
    this.streak[i] = 0; // a failed probe breaks a recovery streak; the deadline runs on
    if (sign === 'failed' || was === OFF) return null;
    this.online[i] = OFF;
    this.since[i] = atMs;
    this.deadline[i] = NaN;
    return { id, online: false, atMs, reason: sign === 'gone' ? 'last_will' : 'reported_down', record: this.read(i) };
  }

  private becomeOnline(i: number, atMs: number): void {
    this.online[i] = ON;
    this.since[i] = atMs;
    this.streak[i] = 0;
    this.setDeadline(i, atMs + this.windowMs[i]);
  }

  /** Devices whose window ran out by `nowMs`, each dated at its own deadline. */
  tick(nowMs: number): Transition[] {
    return this.expire(this.expired(nowMs), nowMs);
  }

  /**
   * First half of `tick`, for several gateways (decision 0009): the devices whose window ran out
   * by `nowMs`, left as they are (no transition yet). Each must then be passed to `expire`,
   * `heardAt` or `postpone`: until then it has no entry in the wheel.
   */
  expired(nowMs: number): string[] {
    const out: string[] = [];
    for (const i of this.wheel.due(nowMs)) {
      this.scheduled[i] = 0;
      this.scheduledTotal--;
      const deadline = this.deadline[i];
      if (Number.isNaN(deadline)) continue; // offline meanwhile
      if (deadline > nowMs) this.schedule(i);
      else out.push(this.ids[i]);
    }
    return out;
  }

  /** Second half of `tick`: those of `ids` whose window is still over go offline, dated at their deadline. */
  expire(ids: readonly string[], nowMs: number): Transition[] {
    const out: Transition[] = [];
    for (const id of ids) {
      const i = this.slotOf.get(id);
      if (i === undefined) continue;
      const deadline = this.deadline[i];
      if (Number.isNaN(deadline)) continue; // offline meanwhile
      if (deadline > nowMs) {
        this.schedule(i); // heard meanwhile
        continue;
      }
      const wasUnknown = this.online[i] === UNKNOWN;
      this.online[i] = OFF;
      this.since[i] = deadline;
      this.streak[i] = 0;
      this.deadline[i] = NaN;
      out.push({ id, online: false, atMs: deadline, reason: wasUnknown ? 'never_seen' : 'silent', record: this.read(i) });
    }
    return out.sort((a, b) => a.atMs - b.atMs);
  }

  /**
   * Another gateway heard the device at `atMs` (the store's shared last-seen, decision 0009): an
   * online device's window runs from then, if that is later than what this gateway heard. Not a
   * sign of life for the hysteresis (the gateway that heard it counts its own streak and commits
   * the return). True when it moved the deadline.
   */
  heardAt(id: string, atMs: number): boolean {
    const i = this.slotOf.get(id);
    if (i === undefined || this.online[i] !== ON) return false;
    if (!(atMs > this.lastSeen[i]) && !Number.isNaN(this.lastSeen[i])) return false;
    this.lastSeen[i] = atMs;
    if (!(atMs + this.windowMs[i] > this.deadline[i])) return false;
    this.setDeadline(i, atMs + this.windowMs[i]);
    return true;
  }

  /** Looks at a due device again at `atMs` (another gateway holds the job of recording it offline). */
  postpone(id: string, atMs: number): void {
    const i = this.slotOf.get(id);
    if (i === undefined || Number.isNaN(this.deadline[i])) return;
    this.setDeadline(i, Math.max(this.deadline[i], atMs));
  }

  /**
   * Takes on the state another gateway committed (decision 0009's `refresh`): online, since and
   * battery from `stored` when its state differs from this one's; the later last-seen of the two.
   * An online device's window runs from that last-seen; an offline one has none.
   */
  adopt(stored: LivenessRecord): void {
    const i = this.slotOf.get(stored.id);
    if (i === undefined || stored.online === null) return;
    const seen = Math.max(stored.lastSeen ?? -Infinity, Number.isNaN(this.lastSeen[i]) ? -Infinity : this.lastSeen[i]);
    const state = stored.online ? ON : OFF;
    if (this.online[i] !== state || this.since[i] !== stored.since) {
      this.online[i] = state;
      this.since[i] = stored.since ?? NaN;
      this.streak[i] = 0;
      if (stored.battery !== undefined) this.battery[i] = stored.battery;
      if (stored.rssi !== undefined) this.rssi[i] = stored.rssi;
      if (state === OFF) this.deadline[i] = NaN;
    }
    if (Number.isFinite(seen)) this.lastSeen[i] = seen;
    const from = Number.isFinite(seen) ? seen : (stored.since ?? 0);
    const current = this.deadline[i];
    if (state === ON && (Number.isNaN(current) || from + this.windowMs[i] > current)) this.setDeadline(i, from + this.windowMs[i]);
  }

  /** The device's state epoch: when its current state began (the same on every gateway once refreshed). */
  sinceOf(id: string): number | null {
    const i = this.slotOf.get(id);
    return i === undefined ? null : nullIfNaN(this.since[i]);
  }

  private schedule(i: number): void {
    this.scheduled[i] = 1;
    this.scheduledTotal++;
    this.wheel.schedule(i, this.deadline[i]);
  }

  /** Entries in the wheel (one per online or unknown device at most). */
  get scheduledCount(): number {
    return this.scheduledTotal;
  }
}

const nullIfNaN = (x: number): number | null => (Number.isNaN(x) ? null : x);

/** The records as a read-only Map: each read makes its record, nothing is kept per device. */
class RecordsView implements ReadonlyMap<string, LivenessRecord> {
  constructor(private readonly l: Liveness) {}
  get size(): number {
    return this.l.size;
  }
  get(id: string): LivenessRecord | undefined {
    return this.l.get(id);
  }
  has(id: string): boolean {
    return this.l.get(id) !== undefined;
  }
  keys(): MapIterator<string> {
    return this.l.keys() as MapIterator<string>;
  }
  values(): MapIterator<LivenessRecord> {
    return this.l.all() as MapIterator<LivenessRecord>;
  }
  *entries(): MapIterator<[string, LivenessRecord]> {
    for (const r of this.l.all()) yield [r.id, r];
  }
  [Symbol.iterator](): MapIterator<[string, LivenessRecord]> {
    return this.entries();
  }
  forEach(fn: (value: LivenessRecord, key: string, map: ReadonlyMap<string, LivenessRecord>) => void): void {
    for (const r of this.l.all()) fn(r, r.id, this);
  }
}
