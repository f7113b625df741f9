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
import { topics } from './contract/mqtt.js';
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
import { applySignal, initialDeviceState, type DeviceSignal } from './domain/devices.js';
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
  readonly devices = new Map<string, StoredDeviceState>();
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
  }

  stop(): void {
    this.stopped = true;
    this.flush();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  healthy(): boolean {
    return this.ledgerHealthy;
  }

  private reload(): void {
    this.openAlarms.clear();
    this.openBySource.clear();
    this.devices.clear();
    for (const a of this.o.ledger.loadOpenAlarms()) this.remember(a);
    for (const d of this.o.ledger.loadDevices()) this.devices.set(d.id, d);
    this.refreshGauges();
  }

  private remember(alarm: Alarm): void {
    const key = `${alarm.device}\u0000${alarm.sourceId}`;
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
        this.signal(input, { kind: 'activity', atMs: input.receivedAtMs });
        return;
      }
      case 'heartbeat':
        ledger.appendEvent({ ...base, type: 'heartbeat', data: input.payload });
        this.signal(input, { kind: 'heartbeat', atMs: input.receivedAtMs, battery: input.payload.battery, rssi: input.payload.rssi });
        return;
      case 'availability':
        ledger.appendEvent({ ...base, type: 'availability', data: { state: input.payload } });
        this.signal(input, { kind: 'availability', atMs: input.receivedAtMs, online: input.payload === 'online' });
        return;
      case 'camera': {
        ledger.appendEvent({ ...base, type: 'camera', data: input.payload });
        const changed = this.signal(input, { kind: 'camera', atMs: input.receivedAtMs, online: input.payload.online });
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
        this.signal(input, { kind: 'activity', atMs: input.receivedAtMs });
        return;
      }
      case 'gate':
      case 'checkin':
        ledger.appendEvent({ ...base, type: input.topic, data: input.payload });
        ledger.appendFeed(input.topic, { device: input.device.id, school: input.school, ...input.payload, ts: iso(input.deviceTsMs) }, input.receivedAtMs);
        this.signal(input, { kind: 'activity', atMs: input.receivedAtMs });
        return;
    }
  }

  /** Applies a liveness signal; returns true when the device's online state flipped. */
  private signal(input: DeviceInput, s: DeviceSignal): boolean {
    const id = input.device.id;
    const { next, changed } = applySignal(this.devices.get(id) ?? initialDeviceState(id), s);
    this.devices.set(id, next);
    this.o.ledger.saveDevice(next);
    if (!changed) return false;
    const change: DeviceChange = { id, school: input.school, online: next.online, lastSeen: next.lastSeen === null ? null : iso(next.lastSeen), reason: changed };
    this.o.ledger.appendFeed('device', change, s.atMs);
    this.series([deviceStatePoint(this.o.registry, input.device, next.online, changed, s.atMs)], s.atMs);
    return true;
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
    let open = 0;
    for (const a of this.openAlarms.values()) if (!a.test) open++;
    this.o.metrics.alarmsOpen.set(open);
    this.o.metrics.feedSeq.set(this.o.ledger.lastFeedSeq());
  }
}
