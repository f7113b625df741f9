/**
 * The one path every event takes (ARCHITECTURE): validated input → ledger (one transaction per
 * batch) → in-memory projections → effects (live feed, button feedback, timers).
 *
 * Messages that arrive together are committed together (group commit), and each QoS 1 message's
 * `done` — which is what lets the transport send PUBACK — is called only after its batch commits.
 * Nothing reaches a screen or a button that the ledger does not already hold.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Alarm, AlarmAction, DeviceChange } from './contract/api.js';
import { iso } from './contract/common.js';
import { topics, type CameraPayload } from './contract/mqtt.js';
import {
  IllegalTransition,
  applyAction,
  escalate,
  escalationDueMs,
  feedbackFor,
  isOpen,
  needsEscalation,
  raiseAlarm,
} from './domain/alarms.js';
import { Liveness, type LivenessSign, type Transition } from './domain/liveness.js';
import { WATCHED_KINDS, clearMaintenance, openMaintenance, type MaintenanceAlarm } from './domain/maintenance.js';
import { RateWindow } from './domain/rate-window.js';
import type { Bus, InboundMessage } from './ingest/bus.js';
import { parseDeviceMessage, splitTopic, type DeviceInput } from './ingest/parse.js';
import type { Ledger, StoredDeviceState } from './ledger/ledger.js';
import type { Metrics } from './metrics.js';
import type { RegistryIndex } from './registry.js';
import { alarmPoint, deviceStatePoint, inputPoints } from './export/points.js';

export { IllegalTransition };

export class AlarmNotFound extends Error {
  constructor(readonly id: string) {
    super(`no alarm with id "${id}"`);
  }
}

export interface PipelineOptions {
  ledger: Ledger;
  registry: RegistryIndex;
  metrics: Metrics;
  log: Logger;
  topicPrefix: string;
  ackTimeoutSec: number;
  clockSkewToleranceMs: number;
  missedHeartbeats: number;
  /** A device's expected interval between signs of life (registry heartbeat, or the ONVIF probe interval). */
  intervalSec: (deviceId: string) => number;
  /** A device that drops again within this long of returning reopens its maintenance alarm. */
  maintenanceFlapHoldMs: number;
  livenessTickMs?: number;
  /** Called after every commit that added live-feed frames. */
  onFeed: () => void;
  /** Write time-series points to the outbox (only when an exporter will take them). */
  timeSeries?: boolean;
  /** Called after every commit that added outbox rows. */
  onOutbox?: () => void;
  now?: () => number;
}

interface Pending {
  input: DeviceInput;
  done?: (err?: Error) => void;
}

type Effect = { kind: 'feedback'; alarm: Alarm } | { kind: 'arm'; alarm: Alarm };

export class Pipeline {
  readonly openAlarms = new Map<string, Alarm>();
  /** Open alarms that are not test presses. */
  openRealCount = 0;
  private liveness!: Liveness;
  /** Open maintenance alarms by device. */
  readonly maintenance = new Map<string, MaintenanceAlarm>();
  /** Devices whose lastSeen changed since it was last written (written every few seconds, and on every transition). */
  private readonly dirty = new Set<string>();
  private readonly cameraStatus = new Map<string, string>();
  /** Each camera's latest own report (from an NVR or our ONVIF watcher): rtt, clock skew, error. */
  readonly cameraReports = new Map<string, CameraPayload & { at: string }>();
  private ticker?: NodeJS.Timeout;
  private runId = 0;
  private ticks = 0;
  /** Liveness resolution: a silent device is seen at most about two ticks after its deadline. */
  private get tickMs(): number {
    return this.o.livenessTickMs ?? 250;
  }
  /** Last-seen times and our own run are written every ~5 s. */
  private get persistEvery(): number {
    return Math.max(1, Math.round(5000 / this.tickMs));
  }
  private get runTouchEvery(): number {
    return Math.max(1, Math.round(1000 / this.tickMs));
  }
  /** Accepted and refused messages per type over the last minute (for the screen's activity figures). */
  readonly lastMinute = new RateWindow(60);
  /** `${device}\u0000${sourceId}` → alarm id, for open alarms (older ones are found in the ledger). */
  private readonly openBySource = new Map<string, string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private queue: Pending[] = [];
  private flushScheduled = false;
  private bus?: Bus;
  private readonly topics;
  private readonly now: () => number;
  private ledgerHealthy = true;
  private outboxDirty = false;
  private stopped = false;

  constructor(private readonly o: PipelineOptions) {
    this.topics = topics(o.topicPrefix);
    this.now = o.now ?? Date.now;
  }

  /** Rebuilds the in-memory state from the ledger and re-arms escalation timers. */
  start(bus: Bus): void {
    this.bus = bus;
    this.reload();
    for (const alarm of this.openAlarms.values()) this.arm(alarm);
    this.runId = this.o.ledger.startRun(this.now());
    this.ticker = setInterval(() => this.tick(), this.tickMs);
  }

  /** Every registered device's liveness record. */
  get devices(): ReadonlyMap<string, StoredDeviceState> {
    return this.liveness.records;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.ticker);
    this.flush();
    try {
      this.o.ledger.transaction(() => this.persistDirty(true));
    } catch (err) {
      this.o.log.warn({ err }, 'could not save device last-seen times at stop');
    }
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  healthy(): boolean {
    return this.ledgerHealthy;
  }

  private reload(): void {
    this.openAlarms.clear();
    this.openBySource.clear();
    this.openRealCount = 0;
    for (const a of this.o.ledger.loadOpenAlarms()) this.remember(a);
    const now = this.now();
    this.liveness = new Liveness(
      { missedHeartbeats: this.o.missedHeartbeats, recoverSigns: 2, intervalMs: (id) => this.o.intervalSec(id) * 1000, slotMs: this.tickMs },
      now,
    );
    this.liveness.restore(this.o.registry.devices.keys(), new Map(this.o.ledger.loadDevices().map((d) => [d.id, d])), now);
    this.maintenance.clear();
    for (const m of this.o.ledger.openMaintenance()) this.maintenance.set(m.device, m);
    this.dirty.clear();
    this.refreshGauges();
  }

  private remember(alarm: Alarm): void {
    const key = `${alarm.device}\u0000${alarm.sourceId}`;
    // Kept as a running count: walking every open alarm after each batch cost 28 % of CPU in a flood.
    const wasOpenReal = this.openAlarms.has(alarm.id) && !alarm.test;
    const isOpenReal = isOpen(alarm) && !alarm.test;
    this.openRealCount += Number(isOpenReal) - Number(wasOpenReal);
    if (isOpen(alarm)) {
      this.openAlarms.set(alarm.id, alarm);
      this.openBySource.set(key, alarm.id);
    } else {
      this.openAlarms.delete(alarm.id);
      this.openBySource.delete(key);
    }
  }

  /** Entry point for every MQTT message. Refusals are answered at once; the rest join the next batch. */
  accept = (msg: InboundMessage, done: (err?: Error) => void): void => {
    if (!splitTopic(this.o.topicPrefix, msg.topic)) return done(); // not a device topic: not ours
    const receivedAtMs = this.now();
    const parsed = parseDeviceMessage(this.o.registry, this.o.topicPrefix, msg.topic, msg.payload, receivedAtMs);
    if (!parsed.ok) {
      this.reject(msg.topic, parsed.reason, receivedAtMs);
      return done();
    }
    if (this.stopped) return done(new Error('gateway is stopping'));
    // QoS 0 carries no promise to the sender, so it does not wait for the commit.
    if (msg.qos === 0) {
      this.queue.push({ input: parsed.input });
      done();
    } else {
      this.queue.push({ input: parsed.input, done });
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  };

  private reject(topic: string, reason: string, receivedAtMs: number): void {
    const type = splitTopic(this.o.topicPrefix, topic)?.[2] ?? 'unknown';
    this.o.metrics.messagesRejected.inc({ type: type.length <= 16 ? type : 'unknown' });
    this.lastMinute.add('rejected', receivedAtMs);
    this.o.log.debug({ topic, reason }, 'message refused');
    this.bus?.publish(this.topics.rejected, JSON.stringify({ topic, reason, receivedAt: iso(receivedAtMs) }), { qos: 0 });
  }

  /** Commits everything queued in one transaction, then runs its effects and acknowledges it. */
  flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const effects: Effect[] = [];
    const feedBefore = this.o.ledger.lastFeedSeq();
    const end = this.o.metrics.commitSeconds.startTimer();
    try {
      this.o.ledger.transaction(() => {
        for (const p of batch) this.apply(p.input, effects);
      });
      end();
      this.ledgerHealthy = true;
    } catch (err) {
      end();
      // Nothing of the batch is durable: projections may hold part of it, so rebuild them, and
      // refuse the acknowledgements so that the broker redelivers.
      this.ledgerHealthy = false;
      this.outboxDirty = false;
      this.o.metrics.commitFailures.inc();
      this.o.log.error({ err, messages: batch.length }, 'ledger commit failed; messages not acknowledged');
      this.reload();
      for (const p of batch) p.done?.(err as Error);
      return;
    }
    for (const p of batch) {
      this.o.metrics.messagesAccepted.inc({ type: p.input.topic });
      this.lastMinute.add(p.input.topic, p.input.receivedAtMs);
      p.done?.();
    }
    this.runEffects(effects);
    if (this.o.ledger.lastFeedSeq() !== feedBefore) this.o.onFeed();
    this.pokeOutbox();
  }

  private pokeOutbox(): void {
    if (!this.outboxDirty) return;
    this.outboxDirty = false;
    this.o.onOutbox?.();
  }

  private apply(input: DeviceInput, effects: Effect[]): void {
    const { ledger } = this.o;
    const base = { school: input.school, device: input.device.id, receivedAt: input.receivedAtMs, deviceTs: input.deviceTsMs };
    if (input.topic !== 'alarm' && input.topic !== 'ai') this.series(inputPoints(this.o.registry, input), input.receivedAtMs);
    switch (input.topic) {
      case 'alarm': {
        const p = input.payload;
        const existing = this.findBySource(input.device.id, p.id);
        if (existing) {
          // The same press again (a redelivery, or the button retrying for want of feedback):
          // no second alarm, but tell the button again where its alarm stands.
          this.o.metrics.duplicates.inc({ type: 'alarm' });
          effects.push({ kind: 'feedback', alarm: existing });
          return;
        }
        ledger.appendEvent({ ...base, type: 'alarm', sourceId: p.id, data: p });
        const school = this.o.registry.schools.get(input.school)!;
        const alarm = raiseAlarm({
          id: randomUUID(),
          sourceId: p.id,
          school: { id: school.id, name: school.name, nameEn: school.nameEn },
          device: input.device,
          kind: p.kind,
          zone: p.zone,
          test: p.test === true,
          receivedAtMs: input.receivedAtMs,
          deviceTsMs: input.deviceTsMs,
          clockSkewToleranceMs: this.o.clockSkewToleranceMs,
        });
        this.saveAlarm(alarm);
        this.series([alarmPoint(this.o.registry, alarm)], input.receivedAtMs);
        this.o.metrics.alarmsRaised.inc({ kind: alarm.kind, test: String(alarm.test) });
        effects.push({ kind: 'feedback', alarm }, { kind: 'arm', alarm });
        this.sign(input, 'alive');
        return;
      }
      case 'heartbeat':
        ledger.appendEvent({ ...base, type: 'heartbeat', data: input.payload });
        this.sign(input, 'alive', { battery: input.payload.battery, rssi: input.payload.rssi });
        return;
      case 'availability':
        ledger.appendEvent({ ...base, type: 'availability', data: { state: input.payload } });
        this.sign(input, input.payload === 'online' ? 'alive' : 'gone');
        return;
      case 'camera': {
        ledger.appendEvent({ ...base, type: 'camera', data: input.payload });
        this.sign(input, input.payload.online ? 'alive' : 'failed');
        // The screen hears of a camera's own report when it changes (up/down, or a new error).
        const status = `${input.payload.online}|${input.payload.error ?? ''}`;
        if (input.payload.event === undefined) this.cameraReports.set(input.device.id, { ...input.payload, ts: iso(input.deviceTsMs), at: iso(input.receivedAtMs) });
        // An ONVIF event (tampering, signal loss) always reaches the screen.
        const changed = this.cameraStatus.get(input.device.id) !== status || input.payload.event !== undefined;
        if (input.payload.event === undefined) this.cameraStatus.set(input.device.id, status);
        if (changed) ledger.appendFeed('camera', { device: input.device.id, school: input.school, ...input.payload, ts: iso(input.deviceTsMs) }, input.receivedAtMs);
        return;
      }
      case 'ai': {
        const p = input.payload;
        if (ledger.appendEvent({ ...base, type: 'ai', sourceId: p.id, data: p }) === null) {
          this.o.metrics.duplicates.inc({ type: 'ai' });
          return;
        }
        this.series(inputPoints(this.o.registry, input), input.receivedAtMs);
        ledger.appendFeed('ai', { device: input.device.id, school: input.school, zone: input.device.zone, ...p, ts: iso(input.deviceTsMs), receivedAt: iso(input.receivedAtMs) }, input.receivedAtMs);
        this.sign(input, 'alive');
        return;
      }
      case 'gate':
      case 'checkin':
        ledger.appendEvent({ ...base, type: input.topic, data: input.payload });
        ledger.appendFeed(input.topic, { device: input.device.id, school: input.school, ...input.payload, ts: iso(input.deviceTsMs) }, input.receivedAtMs);
        this.sign(input, 'alive');
        return;
    }
  }

  /** Applies a liveness observation; a resulting transition is recorded in the same transaction. */
  private sign(input: DeviceInput, sign: LivenessSign, extra?: { battery?: number; rssi?: number }): void {
    const t = this.liveness.observe(input.device.id, sign, input.receivedAtMs, extra);
    if (t) this.applyTransition(t);
    else this.dirty.add(input.device.id);
  }

  /** A sign of life not worth a ledger event (a live ONVIF event subscription): only a resulting transition is recorded. */
  signOfLife(deviceId: string, atMs = this.now()): void {
    const t = this.liveness.observe(deviceId, 'alive', atMs);
    if (!t) return void this.dirty.add(deviceId);
    try {
      this.o.ledger.transaction(() => this.applyTransition(t));
    } catch (err) {
      this.o.log.error({ err }, 'could not record a device transition; rebuilding state');
      this.outboxDirty = false;
      this.reload();
      return;
    }
    this.o.onFeed();
    this.pokeOutbox();
  }

  /** Records a device going offline or coming back: state, history, feed, time series, maintenance alarm. */
  private applyTransition(t: Transition): void {
    const { ledger } = this.o;
    const device = this.o.registry.devices.get(t.id)!;
    ledger.saveDevice(t.record);
    this.dirty.delete(t.id);
    ledger.appendTransition({ device: t.id, atMs: t.atMs, online: t.online, reason: t.reason });
    this.o.metrics.deviceTransitions.inc({ online: String(t.online), reason: t.reason });
    const change: DeviceChange = {
      id: t.id,
      school: device.school,
      online: t.online,
      lastSeen: t.record.lastSeen === null ? null : iso(t.record.lastSeen),
      reason: t.reason,
      since: iso(t.atMs),
    };
    ledger.appendFeed('device', change, t.atMs);
    this.series([deviceStatePoint(this.o.registry, device, t.online, t.reason, t.atMs)], t.atMs);
    if (!WATCHED_KINDS.includes(device.kind)) return;
    const open = this.maintenance.get(t.id);
    let next: MaintenanceAlarm | undefined;
    if (!t.online) {
      next = openMaintenance(open ?? ledger.lastMaintenance(t.id), device, t.atMs, t.reason, this.o.maintenanceFlapHoldMs, randomUUID);
      this.maintenance.set(t.id, next);
    } else if (open) {
      next = clearMaintenance(open, t.atMs, t.downForMs);
      this.maintenance.delete(t.id);
    }
    if (next) {
      ledger.saveMaintenance(next);
      ledger.appendFeed('maintenance', next, t.atMs);
    }
  }

  /** Writes last-seen times that changed (every few seconds: a heartbeat need not cost a write). */
  private persistDirty(force: boolean): void {
    // Our own run is marked alive every second: uptime reports count time after the last mark
    // as "gateway down" (unknown), so the mark's resolution is the report's.
    if (this.runId && (force || this.ticks % this.runTouchEvery === 0)) this.o.ledger.touchRun(this.runId, this.now());
    if (!force && this.ticks % this.persistEvery !== 0) return;
    for (const id of this.dirty) {
      const r = this.liveness.records.get(id);
      if (r) this.o.ledger.saveDevice(r);
    }
    this.dirty.clear();
  }

  /** Every tick: devices whose window ran out go offline; last-seen times and our own run are saved. */
  private tick(): void {
    this.ticks++;
    this.flush();
    const due = this.liveness.tick(this.now());
    if (due.length === 0 && this.ticks % this.runTouchEvery !== 0) return;
    const feedBefore = this.o.ledger.lastFeedSeq();
    try {
      this.o.ledger.transaction(() => {
        for (const t of due) this.applyTransition(t);
        this.persistDirty(false);
      });
    } catch (err) {
      this.o.log.error({ err }, 'could not record liveness transitions; rebuilding state');
      this.outboxDirty = false;
      this.reload();
      return;
    }
    if (due.length) this.o.log.info({ offline: due.length }, 'devices went silent');
    if (this.o.ledger.lastFeedSeq() !== feedBefore) this.o.onFeed();
    this.pokeOutbox();
  }

  private series(lines: string[], atMs: number): void {
    if (!this.o.timeSeries || lines.length === 0) return;
    this.o.ledger.appendOutbox(lines, atMs);
    this.outboxDirty = true;
  }

  private findBySource(device: string, sourceId: string): Alarm | undefined {
    const openId = this.openBySource.get(`${device}\u0000${sourceId}`);
    return openId ? this.openAlarms.get(openId) : this.o.ledger.findAlarmBySource(device, sourceId);
  }

  /** Stores an alarm's new state with its feed frame, and mirrors it in memory. Inside a transaction. */
  private saveAlarm(alarm: Alarm): void {
    this.o.ledger.saveAlarm(alarm);
    this.o.ledger.appendFeed('alarm', alarm, this.now());
    this.remember(alarm);
  }

  /** An operator's action (HTTP): durable first, then applied; illegal transitions throw. */
  act(alarmId: string, action: AlarmAction, by: string, note?: string): Alarm {
    const current = this.openAlarms.get(alarmId) ?? this.o.ledger.getAlarm(alarmId);
    if (!current) throw new AlarmNotFound(alarmId);
    const at = this.now();
    const next = applyAction(current, action, by, at, note);
    this.commitAlarmChange(next, { type: `alarm_${action}`, by, note, alarm: alarmId }, at);
    return next;
  }

  private escalateNow(alarmId: string): void {
    this.timers.delete(alarmId);
    const current = this.openAlarms.get(alarmId);
    if (!current || !needsEscalation(current)) return;
    const at = this.now();
    const next = escalate(current, at);
    try {
      this.commitAlarmChange(next, { type: 'alarm_escalated', alarm: alarmId }, at);
      this.o.metrics.alarmsEscalated.inc();
    } catch (err) {
      this.o.log.error({ err, alarmId }, 'could not record escalation; retrying in 5 s');
      this.timers.set(alarmId, setTimeout(() => this.escalateNow(alarmId), 5000));
    }
  }

  private commitAlarmChange(next: Alarm, event: Record<string, unknown> & { type: string }, at: number): void {
    this.flush(); // keep the ledger's order equal to the order things happened in
    try {
      this.o.ledger.transaction(() => {
        this.o.ledger.appendEvent({ type: event.type, school: next.school, device: next.device, receivedAt: at, data: event });
        this.saveAlarm(next);
        this.series([alarmPoint(this.o.registry, next)], at);
      });
    } catch (err) {
      this.outboxDirty = false;
      this.reload();
      throw err;
    }
    this.pokeOutbox();
    this.runEffects([{ kind: 'feedback', alarm: next }, { kind: 'arm', alarm: next }]);
    this.o.onFeed();
  }

  private runEffects(effects: Effect[]): void {
    for (const e of effects) {
      if (e.kind === 'feedback') {
        this.bus?.publish(this.topics.alarmState(e.alarm.school, e.alarm.device), JSON.stringify(feedbackFor(e.alarm)), { qos: 1 });
      } else {
        this.arm(e.alarm);
      }
    }
    this.refreshGauges();
  }

  /** Sets or clears the alarm's escalation timer (ISA-18.2: an unacknowledged alarm must not go quiet). */
  private arm(alarm: Alarm): void {
    const existing = this.timers.get(alarm.id);
    if (!needsEscalation(alarm)) {
      if (existing) clearTimeout(existing);
      this.timers.delete(alarm.id);
      return;
    }
    if (existing || this.stopped) return;
    const delay = Math.max(0, escalationDueMs(alarm, this.o.ackTimeoutSec) - this.now());
    this.timers.set(alarm.id, setTimeout(() => this.escalateNow(alarm.id), delay));
  }

  private refreshGauges(): void {
    this.o.metrics.alarmsOpen.set(this.openRealCount);
    this.o.metrics.maintenanceOpen.set(this.maintenance.size);
    this.o.metrics.feedSeq.set(this.o.ledger.lastFeedSeq());
  }
}
