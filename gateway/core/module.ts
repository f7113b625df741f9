/**
 * What a capability is to the core (ARCHITECTURE "Rooms"): a module names itself and what it
 * depends on, the event types it consumes, its tables and projections (load at start, apply inside
 * the commit, snapshot for the screen), its feed frame types, its routes, and start/stop. Adding a
 * capability is a folder under `gateway/modules/` and one line in `gateway/modules/index.ts`.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { FeedFrame } from '../contract/api.js';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config.js';
import type { Bus } from '../ingest/bus.js';
import type { DeviceInput } from '../ingest/parse.js';
import type { DeviceTopic } from '../contract/mqtt.js';
import type { Metrics } from '../metrics.js';
import type { PolicyIndex } from '../policy.js';
import type { RegistryIndex } from '../registry.js';
import type { Store, TableSpec } from '../store/store.js';
import type { Dispatcher } from './dispatcher.js';
import type { DomainEvent, EventType } from './events.js';
import type { Scheduler } from './scheduler.js';

/** The unit of work one commit will hold; modules write to it while they apply events. */
export interface Tx {
  /** The time this unit is applied at. */
  readonly now: number;
  /** A live-feed frame (contract §4) for every screen, committed with the unit. */
  feed(type: string, data: unknown, atMs?: number): void;
  /** Inserts or replaces a row of one of the module's keyed tables. */
  put(table: string, row: Record<string, unknown>): void;
  /** Appends a row to one of the module's append-only tables. */
  insert(table: string, row: Record<string, unknown>): void;
  /** Time-series lines for the outbox (dropped when no exporter is configured). */
  points(lines: string[], atMs: number): void;
  /** Runs once the unit is durable, in the order given (button feedback, timers). */
  after(effect: () => void): void;
  /** A derived fact for the modules that consume its type, applied in this same unit (not stored as input). */
  emit(event: DomainEvent): void;
  /**
   * Runs `write` once, after every event of this unit was applied, however many events ask for it
   * under `key` (the first request's `write` is kept): for a frame that restates a state rather
   * than a change (an alarm flood's grouping), so that a batch of events writes it once, not once
   * per event. Written into this unit, before its commit.
   */
  once(key: string, write: (tx: Tx) => void): void;
}

export interface ModuleContext {
  config: GatewayConfig;
  registry: RegistryIndex;
  /** The county's policy (contract §7): calendar, windows, target thresholds and scope. */
  policy: PolicyIndex;
  store: Store;
  dispatcher: Dispatcher;
  scheduler: Scheduler;
  bus: Bus;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** A module this one named in `dependsOn` (started before it). */
  module<T extends GatewayModule>(name: string): T;
}

export interface GatewayModule {
  readonly name: string;
  /** Modules whose projections this one reads; they load, apply and start before it. */
  readonly dependsOn?: readonly string[];
  /** Event types routed to `apply` (inputs, and facts other modules `emit`). */
  readonly consumes?: readonly EventType[];
  /** Live-feed frame types this module adds (documentation, and checked by a test). */
  readonly frames?: readonly string[];
  readonly tables?: readonly TableSpec[];
  /** Rebuilds in-memory projections from the store: at start, and after a commit that failed. */
  load?(): Promise<void>;
  /**
   * Several gateways on one PostgreSQL ledger (decision 0009): brings the in-memory projections up
   * to date with what other gateways committed, from the store. Runs alone in the commit queue, so
   * no batch of this gateway is applied half before and half after it. Absent: the module's
   * in-memory state is this gateway's own (not yet shared across replicas).
   * `frames`: every frame since the last refresh, oldest first, this gateway's own among them (so
   * applying one must be harmless when it was already applied), when the follower could read them
   * all; a module whose every change makes a frame may apply those instead of reloading (and skip
   * the reload when none is its). Undefined: reload.
   */
  refresh?(frames?: readonly FeedFrame[]): Promise<void>;
  /** Applies one event inside the commit. Must throw before changing anything when it refuses the event. */
  apply?(e: DomainEvent, tx: Tx): void;
  /** The event is a redelivery of one already stored (same device, type and sourceId). */
  duplicate?(e: DomainEvent, tx: Tx): void;
  /**
   * Device topics whose messages this module turns into events itself (after the topic, the device
   * and the payload schema passed): its event, or a refusal whose reason goes to `_gateway/rejected`
   * (nothing stored). Topics no module claims become `toDomainEvent`'s event.
   */
  readonly deviceInputs?: Partial<Record<DeviceTopic, (input: DeviceInput) => { event: DomainEvent } | { refused: string }>>;
  /** This module's part of the live snapshot (contract §4); for a school's own users, that school's part only (contract §7). */
  snapshot?(school?: string): Record<string, unknown>;
  /** HTTP routes: a Fastify plugin (registered with this module's name as its plugin name). */
  routes?: FastifyPluginAsync;
  /** This module's part of GET /health; `degraded: true` turns the status to degraded. */
  health?(): Promise<Record<string, unknown> & { degraded?: boolean }>;
  /** Refreshes gauges just before GET /metrics is rendered. */
  collect?(): void | Promise<void>;
  start?(): Promise<void> | void;
  stop?(): Promise<void> | void;
}

export type ModuleFactory = (ctx: ModuleContext) => GatewayModule;

/** Orders modules so that each comes after the ones it depends on; refuses unknown or circular dependencies. */
export function orderModules(mods: GatewayModule[]): GatewayModule[] {
  const byName = new Map<string, GatewayModule>();
  for (const m of mods) {
    if (byName.has(m.name)) throw new Error(`module "${m.name}" is listed twice`);
    byName.set(m.name, m);
  }
  const out: GatewayModule[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (m: GatewayModule, path: string[]) => {
    if (state.get(m.name) === 'done') return;
    if (state.get(m.name) === 'visiting') throw new Error(`modules depend on each other in a circle: ${[...path, m.name].join(' → ')}`);
    state.set(m.name, 'visiting');
    for (const d of m.dependsOn ?? []) {
      const dep = byName.get(d);
      if (!dep) throw new Error(`module "${m.name}" depends on "${d}", which is not in the list of modules`);
      visit(dep, [...path, m.name]);
    }
    state.set(m.name, 'done');
    out.push(m);
  };
  for (const m of mods) visit(m, []);
  return out;
}

/**
 * Builds every module (a module asking for another with `ctx.module` gets it built first), checks
 * that each is listed under its own name, and returns them in dependency order.
 */
export function buildModules(factories: Readonly<Record<string, ModuleFactory>>, base: Omit<ModuleContext, 'module'>): GatewayModule[] {
  const built = new Map<string, GatewayModule>();
  const building: string[] = [];
  const get = <T extends GatewayModule>(name: string): T => {
    const done = built.get(name);
    if (done) return done as T;
    const factory = factories[name];
    if (!factory) throw new Error(`module "${building.at(-1)}" asks for module "${name}", which is not in the list of modules`);
    if (building.includes(name)) throw new Error(`modules depend on each other in a circle: ${[...building, name].join(' → ')}`);
    building.push(name);
    const m = factory({ ...base, log: base.log.child({ module: name }), module: get });
    building.pop();
    if (m.name !== name) throw new Error(`module listed as "${name}" calls itself "${m.name}"`);
    built.set(name, m);
    return m as T;
  };
  for (const name of Object.keys(factories)) get(name);
  return orderModules([...built.values()]);
}
