/**
 * The one path every event takes (ARCHITECTURE): queued → deduplicated → applied by the modules
 * that consume it, into one unit → committed (one transaction per batch) → acknowledged → live feed
 * → effects. Written once, here, for inputs (MQTT, ONVIF, HTTP), operators' commands and the
 * modules' own timed work alike.
 *
 * Group commit: whatever arrives while a batch is being committed forms the next batch. A device
 * input's `ack` (what lets the transport send PUBACK) is called only after its batch is durable,
 * and with an error when the commit failed, so the broker redelivers. Nothing reaches a screen or
 * a button that the store does not already hold.
 */
import type { Logger } from 'pino';
import type { FeedFrame } from '../contract/api.js';
import type { Metrics } from '../metrics.js';
import { RateWindow } from '../domain/rate-window.js';
import { emptyUnit, keyOf, unitIsEmpty, type SourceKey, type Store, type StoredEvent, type Unit } from '../store/store.js';
import type { DomainEvent, EventType } from './events.js';
import type { GatewayModule, Tx } from './module.js';

/** `ack(err)` is the transport's acknowledgement; called once the event is durable (or could not be made so). */
export type Ack = (err?: Error) => void;

type Item =
  | { kind: 'input'; event: DomainEvent; ack?: Ack }
  | { kind: 'command'; event: DomainEvent; resolve: () => void; reject: (err: Error) => void }
  | { kind: 'job'; run: (tx: Tx) => void; resolve: () => void; reject: (err: Error) => void };

export interface DispatcherOptions {
  store: Store;
  metrics: Metrics;
  log: Logger;
  /** Whether time-series lines go to the outbox (only when an exporter will take them). */
  timeSeries: boolean;
  /**
   * Input types whose raw event is not kept in the ledger: what they mean is the state they update,
   * which the modules keep (a heartbeat is the device's last-seen time, saved every few seconds,
   * and its time-series point). One row per heartbeat would make the ledger the cost of liveness.
   */
  unstoredTypes?: ReadonlySet<string>;
  /** Items per commit at most (default MAX_BATCH). */
  maxBatch?: number;
  /** After every commit that added live-feed frames. */
  onFeed: (frames: FeedFrame[]) => void;
  /** After every commit that added outbox rows. */
  onOutbox?: () => void;
  now?: () => number;
}

/** Items per commit at most: a bounded batch keeps an alarm's wait behind heartbeats bounded too. */
const MAX_BATCH = 1000;
const URGENT_TYPES: ReadonlySet<string> = new Set(['alarm']);
const isUrgent = (item: Item): boolean => item.kind === 'command' || (item.kind === 'input' && URGENT_TYPES.has(item.event.type));

/** How often a failed store is probed when nothing else is committed. */
const PROBE_MS = 1000;

export class Dispatcher {
  /** Accepted and refused inputs per type over the last minute (the screen's activity figures). */
  readonly lastMinute = new RateWindow(60);
  private modules: GatewayModule[] = [];
  private readonly consumers = new Map<string, GatewayModule[]>();
  private queue: Item[] = [];
  /** Work that must run alone between two batches (`between`). */
  private exclusive: { run: () => Promise<void>; resolve: () => void; reject: (err: Error) => void }[] = [];
  private scheduled = false;
  private draining?: Promise<void>;
  private healthyFlag = true;
  /** While unhealthy: offers the store an empty batch now and then, so a store that works again is noticed without traffic. */
  private probeTimer?: NodeJS.Timeout;
  private stopped = false;
  /** How deep derived events are nested right now (a module emitting in a circle is a bug). */
  private depth = 0;
  private readonly now: () => number;

  constructor(private readonly o: DispatcherOptions) {
    this.now = o.now ?? Date.now;
  }

  /** The modules, in dependency order; each event type goes to its consumers in that order. */
  use(modules: GatewayModule[]): void {
    this.modules = modules;
    this.consumers.clear();
    for (const m of modules)
      for (const t of m.consumes ?? []) {
        const list = this.consumers.get(t) ?? [];
        list.push(m);
        this.consumers.set(t, list);
      }
  }

  /**
   * False after a commit failed, until one succeeds (of any kind: an input, a module's job, or
   * the store's probe), and while the store reports a fault of its own (its file replaced, its
   * run marks failing): the gateway cannot take alarms.
   */
  healthy(): boolean {
    return this.healthyFlag && this.o.store.health().fault === undefined;
  }

  /** A device's input (MQTT, ONVIF, vendor push). QoS 0 inputs pass no `ack`: they carry no promise. */
  submit(event: DomainEvent, ack?: Ack): void {
    if (this.stopped) return ack?.(new Error('gateway is stopping'));
    this.enqueue({ kind: 'input', event, ack });
  }

  /** An operator's command: resolves once durable; rejects with the module's refusal (nothing stored then). */
  execute(event: DomainEvent): Promise<void> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'command', event, resolve, reject }));
  }

  /** A module's own work (timers, liveness deadlines): runs in the commit queue, its writes in one unit. */
  transact(run: (tx: Tx) => void): Promise<void> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'job', run, resolve, reject }));
  }

  /**
   * Runs `run` alone in the commit queue, after the batch committing now (if any) and before any
   * batch not started yet: a replica bringing its projections up to date with other gateways'
   * commits (decision 0009).
   */
  between(run: () => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.exclusive.push({ run, resolve, reject });
      this.schedule();
    });
  }

  /** Reports a refused input (`_gateway/rejected` is the transport's business). */
  refused(type: string, atMs: number): void {
    this.o.metrics.messagesRejected.inc({ type: type.length <= 16 ? type : 'unknown' });
    this.lastMinute.add('rejected', atMs);
  }

  private enqueue(item: Item): void {
    this.queue.push(item);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.drain();
    });
  }

  /** Commits until the queue is empty; one loop at a time, so batches commit in order. */
  async drain(): Promise<void> {
    while (this.draining || this.queue.length > 0 || this.exclusive.length > 0) {
      // `finally` runs after the assignment even when the loop finishes without awaiting anything,
      // so `draining` can never be left pointing at a loop that has ended.
      if (!this.draining) this.draining = this.loop().finally(() => (this.draining = undefined));
      await this.draining;
    }
  }

  private async loop(): Promise<void> {
    while (this.queue.length > 0 || this.exclusive.length > 0) {
      const x = this.exclusive.shift();
      if (!x) await this.commitBatch(this.takeBatch());
      else await x.run().then(x.resolve, x.reject);
    }
  }

  /**
   * The next batch: everything queued, up to `maxBatch` items. Past that, alarms and operators'
   * commands go first (the priority lane: an alarm never waits behind more than one bounded batch
   * of heartbeats), then the rest in arrival order; what is left waits for the next batch.
   */
  private takeBatch(): Item[] {
    const max = this.o.maxBatch ?? MAX_BATCH;
    const queue = this.queue;
    if (queue.length <= max) {
      this.queue = [];
      return queue;
    }
    const taken = new Set<Item>();
    for (const item of queue) if (taken.size < max && isUrgent(item)) taken.add(item);
    for (const item of queue) {
      if (taken.size >= max) break;
      taken.add(item);
    }
    const rest = queue.filter((item) => !taken.has(item));
    const batch = [...taken];
    this.queue = rest;
    return batch;
  }

  private async commitBatch(batch: Item[]): Promise<void> {
    const { store, metrics, log } = this.o;
    const keys: SourceKey[] = [];
    for (const item of batch)
      if (item.kind !== 'job' && item.event.sourceId !== undefined && item.event.device !== undefined)
        keys.push({ device: item.event.device, type: item.event.type, sourceId: item.event.sourceId });
    let known: Set<string>;
    try {
      known = keys.length > 0 ? await store.existing(keys) : new Set();
    } catch (err) {
      return this.failed(batch, err as Error);
    }

    const unit = emptyUnit();
    const effects: (() => void)[] = [];
    const finals = new Map<string, (tx: Tx) => void>();
    const tx = this.tx(unit, effects, finals);
    const seen = new Set<string>();
    const refusals = new Map<Item, Error>();
    for (const item of batch) {
      // Where this item's writes begin, to take them back alone if it is refused (plain numbers: no allocation per event).
      const e0 = unit.events.length, f0 = unit.feed.length, r0 = unit.rows.length, o0 = unit.outbox.length, x0 = effects.length;
      try {
        if (item.kind === 'job') {
          item.run(tx);
          continue;
        }
        const e = item.event;
        if (e.sourceId !== undefined && e.device !== undefined) {
          const k = keyOf({ device: e.device, type: e.type, sourceId: e.sourceId });
          if (known.has(k) || seen.has(k)) {
            metrics.duplicates.inc({ type: e.type });
            for (const m of this.consumers.get(e.type) ?? []) m.duplicate?.(e, tx);
            continue;
          }
          seen.add(k);
        }
        if (!this.o.unstoredTypes?.has(e.type)) unit.events.push(storedEvent(e));
        this.route(e, tx);
      } catch (err) {
        unit.events.length = e0;
        unit.feed.length = f0;
        unit.rows.length = r0;
        unit.outbox.length = o0;
        effects.length = x0;
        refusals.set(item, err as Error);
        if (item.kind === 'input') {
          // A module that cannot apply a valid input is a bug; the input itself is still kept.
          const e = item.event;
          log.error({ err, type: e.type, device: e.device }, 'a module failed to apply an event; the event is stored, its effects are not');
          unit.events.push(storedEvent(e));
        }
      }
    }

    // Once per unit, after every item (a Map visits what is added while it is walked).
    for (const [key, write] of finals) {
      const f0 = unit.feed.length, r0 = unit.rows.length, o0 = unit.outbox.length, x0 = effects.length;
      try {
        write(tx);
      } catch (err) {
        unit.feed.length = f0;
        unit.rows.length = r0;
        unit.outbox.length = o0;
        effects.length = x0;
        log.error({ err, key }, 'a once-per-commit write failed; the rest of the batch is committed without it');
      }
    }

    let frames: FeedFrame[] = [];
    if (!unitIsEmpty(unit)) {
      const end = metrics.commitSeconds.startTimer();
      try {
        frames = await store.commit(unit);
      } catch (err) {
        end();
        return this.failed(batch, err as Error);
      }
      end();
      this.recovered();
    } else if (!this.healthyFlag) {
      // Nothing to write proves nothing: an empty batch after a failure (a liveness tick with no
      // traffic) only counts once the store has taken a write that needs fresh space.
      try {
        await store.probe();
      } catch (err) {
        return this.failed(batch, err as Error, false);
      }
      this.recovered();
    }

    for (const item of batch) {
      const refusal = refusals.get(item);
      if (item.kind === 'input') {
        metrics.messagesAccepted.inc({ type: item.event.type });
        this.lastMinute.add(item.event.type, item.event.receivedAtMs);
        item.ack?.();
      } else if (refusal) item.reject(refusal);
      else item.resolve();
    }
    for (const run of effects) {
      try {
        run();
      } catch (err) {
        log.error({ err }, 'an effect failed after commit');
      }
    }
    metrics.feedSeq.set(store.lastFeedSeq());
    if (frames.length > 0) this.o.onFeed(frames);
    if (unit.outbox.length > 0) this.o.onOutbox?.();
  }

  private recovered(): void {
    if (this.healthyFlag) return;
    this.healthyFlag = true;
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    this.o.log.warn('store commits work again');
  }

  /**
   * Nothing of the batch is durable: projections may hold part of it, so they are rebuilt (unless
   * nothing was applied: a failed probe), and every input is refused so that it is sent again.
   */
  private async failed(batch: Item[], err: Error, reload = true): Promise<void> {
    const first = this.healthyFlag;
    this.healthyFlag = false;
    this.o.metrics.commitFailures.inc();
    // A probe failing every second is the same fault still there: said once, counted each time.
    if (reload || first) this.o.log.error({ err, items: batch.length }, 'store commit failed; nothing of this batch was acknowledged');
    if (!this.probeTimer && !this.stopped) {
      this.probeTimer = setInterval(() => this.enqueue({ kind: 'job', run: () => undefined, resolve: () => undefined, reject: () => undefined }), PROBE_MS);
      this.probeTimer.unref();
    }
    if (reload) {
      try {
        for (const m of this.modules) await m.load?.();
      } catch (reloadErr) {
        this.o.log.error({ err: reloadErr }, 'could not rebuild projections from the store');
      }
    }
    for (const item of batch) {
      if (item.kind === 'input') item.ack?.(err);
      else item.reject(err);
    }
  }

  private route(e: DomainEvent, tx: Tx): void {
    if (this.depth >= 8) throw new Error(`event "${e.type}" emitted derived events more than 8 deep`);
    this.depth++;
    try {
      for (const m of this.consumers.get(e.type) ?? []) m.apply!(e, tx);
    } finally {
      this.depth--;
    }
  }

  private tx(unit: Unit, effects: (() => void)[], finals: Map<string, (tx: Tx) => void>): Tx {
    const now = this.now();
    const timeSeries = this.o.timeSeries;
    const tx: Tx = {
      now,
      feed: (type, data, atMs = now) => void unit.feed.push({ type, data, at: atMs }),
      put: (table, row) => void unit.rows.push({ table, op: 'put', row }),
      insert: (table, row) => void unit.rows.push({ table, op: 'insert', row }),
      points: (lines, atMs) => {
        if (timeSeries) for (const line of lines) unit.outbox.push({ at: atMs, line });
      },
      after: (effect) => void effects.push(effect),
      emit: (e) => this.route(e, tx),
      once: (key, write) => void (finals.has(key) || finals.set(key, write)),
    };
    return tx;
  }

  /** Stops taking inputs and commits what is queued. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    await this.drain();
  }
}

/** An input as the store keeps it. */
function storedEvent(e: DomainEvent): StoredEvent {
  return { type: e.type, school: e.school, device: e.device, sourceId: e.sourceId, receivedAt: e.receivedAtMs, deviceTs: e.atMs, data: e.data };
}

export type { EventType };
