/**
 * Devices: liveness (every registered device online, offline or unknown, from every sign of life),
 * maintenance alarms for alarm buttons and cameras that go offline, each camera's own latest report
 * (from its NVR or our ONVIF watcher), and the device routes.
 */
import { randomUUID } from 'node:crypto';
import type { DeviceChange } from '../../contract/api.js';
import { iso } from '../../contract/common.js';
import { DEVICE_KINDS, type CameraPayload, type HeartbeatPayload } from '../../contract/mqtt.js';
import type { DomainEvent } from '../../core/events.js';
import type { GatewayModule, ModuleContext, Tx } from '../../core/module.js';
import { devicePoint, line } from '../../core/points.js';
import type { IndexedDevice, RegistryIndex } from '../../registry.js';
import type { Scalar, TableSpec } from '../../store/store.js';
import { Liveness, type LivenessRecord, type LivenessSign, type Transition } from './liveness.js';
import { WATCHED_KINDS, clearMaintenance, openMaintenance, type MaintenanceAlarm } from './maintenance.js';
import { deviceRoutes } from './routes.js';
import { devicesByKind, statusOf } from './views.js';

declare module '../../core/events.js' {
  interface EventMap {
    heartbeat: HeartbeatPayload;
    availability: { state: 'online' | 'offline' };
    camera: CameraPayload;
    /** A device went offline or came back (derived, for the modules that judge by liveness). */
    device_transition: DeviceChange;
  }
}

export type CameraReport = CameraPayload & { at: string };

/** Shared mode (decision 0009): how often this gateway writes the devices it heard to the store. */
const SHARED_FLUSH_MS = 1000;
/** Shared mode: how long the gateway that took a device's offline job has to commit it before another may. */
const LIVENESS_LEASE_MS = 10_000;

export interface DevicesModule extends GatewayModule {
  /** Every registered device's liveness record. */
  readonly records: ReadonlyMap<string, LivenessRecord>;
  /** Whether the device is online now, without making its record (the per-school and per-kind counts). */
  isOnline(deviceId: string): boolean;
  /** Open maintenance alarms by device. */
  readonly maintenance: ReadonlyMap<string, MaintenanceAlarm>;
  /** Each camera's latest own report (rtt, clock skew, error). */
  readonly cameraReports: ReadonlyMap<string, CameraReport>;
  /** A sign of life not worth a ledger event (a live ONVIF event subscription). */
  alive(deviceId: string, atMs: number): void;
  /** A failed probe that is not yet a verdict: the camera's latest report; it breaks a recovery streak, the deadline runs on. */
  failed(deviceId: string, report: CameraPayload): void;
  listMaintenance(q: { school?: string; limit: number }): Promise<MaintenanceAlarm[]>;
}

export const DEVICE_TABLES: TableSpec[] = [
  { name: 'devices', key: 'id', columns: { id: 'text' }, doc: true },
  { name: 'device_transitions', columns: { device: 'text', at: 'integer', online: 'integer', reason: 'text' }, indexes: [{ columns: ['at', 'device'] }, { columns: ['device', 'at'] }] },
  {
    name: 'maintenance_alarms',
    key: 'id',
    columns: { id: 'text', device: 'text', school: 'text', state: 'text', opened_at: 'integer' },
    doc: true,
    indexes: [{ columns: ['state'] }, { columns: ['device', 'opened_at'] }, { columns: ['school', 'opened_at'] }],
  },
];

/** The time-series point of one heartbeat (docs/influx-schema.md). */
export function heartbeatPoint(registry: RegistryIndex, device: IndexedDevice, p: HeartbeatPayload, atMs: number): string {
  const pt = devicePoint('heartbeat', registry, device, atMs).intField('count', 1);
  if (p.battery !== undefined) pt.floatField('battery', p.battery);
  if (p.rssi !== undefined) pt.floatField('rssi', p.rssi);
  return line(pt);
}

/** Which sign of life each input is. */
function signOf(e: DomainEvent): LivenessSign {
  if (e.type === 'availability') return (e.data as { state: string }).state === 'online' ? 'alive' : 'gone';
  if (e.type === 'camera') return (e.data as CameraPayload).online ? 'alive' : 'down';
  return 'alive';
}

export function devicesModule(ctx: ModuleContext): DevicesModule {
  const { store, registry, config, metrics, dispatcher, scheduler } = ctx;
  /** Liveness resolution: a silent device is seen at most about two ticks after its deadline. */
  const tickMs = 250;
  let liveness!: Liveness;
  const maintenance = new Map<string, MaintenanceAlarm>();
  /** Each watched device's latest maintenance alarm (open or cleared): a drop soon after a return reopens it. */
  const lastMaintenance = new Map<string, MaintenanceAlarm>();
  const cameraReports = new Map<string, CameraReport>();
  const cameraStatus = new Map<string, string>();
  /** Devices whose lastSeen changed since it was last written (written every few seconds, and on every transition). */
  const dirty = new Set<string>();
  let ticks = 0;
  const persistEvery = Math.max(1, Math.round(5000 / tickMs));
  /**
   * Several gateways on one PostgreSQL ledger (decision 0009): the broker spreads a device's
   * heartbeats over them, so last-seen times are shared through the store, and a device's offline
   * transition is recorded by the gateway that takes its lease. Absent (SQLite): one gateway.
   */
  const shared = store.saveLastSeen && store.lastSeen && store.claimJobs ? { save: store.saveLastSeen.bind(store), read: store.lastSeen.bind(store), claim: store.claimJobs.bind(store) } : undefined;
  /** Shared mode: devices heard since the last flush, with the newest time (one batched upsert a second). */
  let heard = new Map<string, number>();
  let flushing = false;
  const flushEvery = Math.max(1, Math.round(SHARED_FLUSH_MS / tickMs));
  // Cameras the gateway probes itself are expected to answer every probe interval.
  const intervalSec = (id: string) => (registry.devices.get(id)?.onvif ? config.onvif.probeIntervalSec : registry.heartbeatIntervalSec(id));

  function save(r: LivenessRecord, tx: Tx): void {
    tx.put('devices', { id: r.id, doc: r });
  }

  /** Records a device going offline or coming back: state, history, feed, time series, maintenance alarm. */
  function applyTransition(t: Transition, tx: Tx): void {
    const device = registry.devices.get(t.id)!;
    save(t.record, tx);
    dirty.delete(t.id);
    tx.insert('device_transitions', { device: t.id, at: t.atMs, online: t.online ? 1 : 0, reason: t.reason });
    tx.after(() => metrics.deviceTransitions.inc({ online: String(t.online), reason: t.reason }));
    const change: DeviceChange = {
      id: t.id,
      school: device.school,
      online: t.online,
      lastSeen: t.record.lastSeen === null ? null : iso(t.record.lastSeen),
      reason: t.reason,
      since: iso(t.atMs),
    };
    tx.feed('device', change, t.atMs);
    tx.points([line(devicePoint('device_state', registry, device, t.atMs).tag('reason', t.reason).intField('online', t.online ? 1 : 0))], t.atMs);
    tx.emit({ type: 'device_transition', school: device.school, device: t.id, atMs: t.atMs, receivedAtMs: tx.now, data: change });
    if (!WATCHED_KINDS.includes(device.kind)) return;
    const open = maintenance.get(t.id);
    let next: MaintenanceAlarm | undefined;
    if (!t.online) {
      next = openMaintenance(open ?? lastMaintenance.get(t.id), device, t.atMs, t.reason, config.maintenanceFlapHoldSec * 1000, randomUUID);
      maintenance.set(t.id, next);
    } else if (open) {
      next = clearMaintenance(open, t.atMs, t.downForMs);
      maintenance.delete(t.id);
    }
    if (next) {
      lastMaintenance.set(t.id, next);
      tx.put('maintenance_alarms', { id: next.id, device: next.device, school: next.school, state: next.state, opened_at: Date.parse(next.openedAt), doc: next });
      tx.feed('maintenance', next, t.atMs);
      tx.after(() => metrics.maintenanceOpen.set(maintenance.size));
    }
  }

  function sign(id: string, s: LivenessSign, atMs: number, tx: Tx, extra?: { battery?: number; rssi?: number }): void {
    const t = liveness.observe(id, s, atMs, extra);
    if (shared && s === 'alive') heard.set(id, atMs);
    if (t) applyTransition(t, tx);
    // Shared mode writes a device's row on its transitions only: a last-seen row written from this
    // gateway's copy could put back a state another gateway has moved on from since.
    else if (!shared) dirty.add(id);
  }

  function persistDirty(tx: Tx): void {
    for (const id of dirty) {
      const r = liveness.records.get(id);
      if (r) save(r, tx);
    }
    dirty.clear();
  }

  /** Every tick: devices whose window ran out go offline; every few seconds, last-seen times are saved. */
  function tick(): void {
    ticks++;
    if (shared) return sharedTick();
    const persist = ticks % persistEvery === 0;
    void dispatcher
      .transact((tx) => {
        const due = liveness.tick(ctx.now());
        for (const t of due) applyTransition(t, tx);
        if (persist) persistDirty(tx);
        if (due.length) ctx.log.info({ offline: due.length }, 'devices went silent');
      })
      .catch(() => undefined); // the dispatcher has logged it and rebuilt the projections
  }

  /** Shared mode: writes the devices heard since the last flush to the store, in one statement. */
  async function flushHeard(): Promise<void> {
    if (!shared || flushing || heard.size === 0) return;
    flushing = true;
    const batch = heard;
    heard = new Map();
    try {
      await shared.save(batch);
    } catch (err) {
      // Kept for the next flush (the store has logged the failure); a newer time heard meanwhile wins.
      for (const [id, at] of batch) if (!(heard.get(id)! >= at)) heard.set(id, at);
      throw err;
    } finally {
      flushing = false;
    }
  }

  /**
   * Shared mode's tick: a device whose window ran out here may have been heard by another gateway
   * (one query for all of this tick's), and is then re-armed from that time; the rest go offline
   * through a lease per device and state epoch (one statement for all), so one gateway records it.
   */
  function sharedTick(): void {
    if (ticks % flushEvery === 0) void flushHeard().catch(() => undefined);
    const due = liveness.expired(ctx.now());
    if (due.length === 0) return;
    void resolveDue(shared!, due).catch((err) => {
      ctx.log.warn({ err: (err as Error).message, devices: due.length }, 'could not check silent devices with the other gateways; looking again in 5 s');
      const later = ctx.now() + 5000;
      for (const id of due) liveness.postpone(id, later);
    });
  }

  async function resolveDue(s: NonNullable<typeof shared>, due: string[]): Promise<void> {
    const seen = await s.read(due);
    const silent = due.filter((id) => {
      const at = seen.get(id);
      return at === undefined || !liveness.heardAt(id, at);
    });
    if (silent.length === 0) return;
    const keyOf = (id: string) => `devices:offline:${id}:${liveness.sinceOf(id) ?? 'never'}`;
    const keys = new Map(silent.map((id) => [keyOf(id), id]));
    const mine = await s.claim([...keys.keys()], LIVENESS_LEASE_MS);
    // Not ours: the holder's commit reaches this gateway (refresh) before the lease is over; if it
    // died first, this gateway takes the job then.
    const later = ctx.now() + LIVENESS_LEASE_MS;
    const ours: string[] = [];
    for (const [key, id] of keys) {
      if (mine.has(key)) ours.push(id);
      else liveness.postpone(id, later);
    }
    if (ours.length === 0) return;
    await dispatcher
      .transact((tx) => {
        const gone = liveness.expire(ours, ctx.now());
        for (const t of gone) applyTransition(t, tx);
        if (gone.length) ctx.log.info({ offline: gone.length }, 'devices went silent');
      })
      .catch(() => undefined); // the dispatcher has logged it and rebuilt the projections
  }

  /** The maintenance alarms as stored: every device's latest, and the open ones. */
  async function loadMaintenance(): Promise<void> {
    const latest = await store.latestPer<MaintenanceAlarm>('maintenance_alarms', 'device', 'opened_at', Number.MAX_SAFE_INTEGER);
    maintenance.clear();
    lastMaintenance.clear();
    for (const m of latest) {
      lastMaintenance.set(m.device, m);
      if (m.state === 'open') maintenance.set(m.device, m);
    }
    metrics.maintenanceOpen.set(maintenance.size);
  }

  function cameraReport(e: DomainEvent, p: CameraPayload, tx: Tx): void {
    const id = e.device!;
    // The screen hears of a camera's own report when it changes (up/down, or a new error);
    // an ONVIF event (tampering, signal loss) always reaches it.
    const status = `${p.online}|${p.error ?? ''}`;
    const changed = cameraStatus.get(id) !== status || p.event !== undefined;
    if (p.event === undefined) {
      cameraReports.set(id, { ...p, ts: iso(e.atMs), at: iso(e.receivedAtMs) });
      cameraStatus.set(id, status);
    }
    if (changed) tx.feed('camera', { device: id, school: e.school, ...p, ts: iso(e.atMs) }, e.receivedAtMs);
  }

  const outside = (id: string, s: LivenessSign, atMs: number) =>
    void dispatcher.transact((tx) => sign(id, s, atMs, tx)).catch(() => undefined);

  return {
    name: 'devices',
    dependsOn: ['alarms'], // an alarm press is also a sign of life, applied after the alarm itself
    // canteen_record: a canteen terminal's record over MQTT is its sign of life (one over HTTP has no device).
    consumes: ['alarm', 'heartbeat', 'availability', 'camera', 'ai', 'gate', 'checkin', 'uplink', 'canteen_record'],
    frames: ['device', 'camera', 'maintenance'],
    tables: DEVICE_TABLES,
    get records() {
      return liveness.records;
    },
    isOnline: (id) => liveness.isOnline(id),
    maintenance,
    cameraReports,

    async load() {
      const now = ctx.now();
      liveness = new Liveness({ missedHeartbeats: config.missedHeartbeats, recoverSigns: 2, intervalMs: (id) => intervalSec(id) * 1000, slotMs: tickMs }, now);
      const stored = await store.find<LivenessRecord>('devices', {});
      liveness.restore(registry.devices.keys(), new Map(stored.map((d) => [d.id, d])), now);
      // Shared mode keeps last-seen times in their own table (rows are written on transitions).
      if (shared) for (const [id, at] of await shared.read()) liveness.heardAt(id, at);
      await loadMaintenance();
      dirty.clear();
    },

    // Another gateway's commits (decision 0009): its transitions and maintenance alarms. Last-seen
    // times stay this gateway's own, merged (the later one wins); the shared ones are read when a
    // window runs out.
    async refresh() {
      const stored = await store.find<LivenessRecord>('devices', {});
      for (const r of stored) liveness.adopt(r);
      await loadMaintenance();
    },

    start() {
      scheduler.every('devices:liveness', tickMs, tick);
    },

    async stop() {
      if (shared) return flushHeard().catch((err) => ctx.log.warn({ err }, 'could not save device last-seen times at stop'));
      await dispatcher.transact(persistDirty).catch((err) => ctx.log.warn({ err }, 'could not save device last-seen times at stop'));
    },

    apply(e, tx) {
      if (e.device === undefined) return;
      const id = e.device;
      if (e.type === 'heartbeat') {
        const p = e.data as HeartbeatPayload;
        tx.points([heartbeatPoint(registry, registry.devices.get(id)!, p, e.receivedAtMs)], e.receivedAtMs);
        return sign(id, 'alive', e.receivedAtMs, tx, { battery: p.battery, rssi: p.rssi });
      }
      if (e.type === 'camera') {
        const p = e.data as CameraPayload;
        const pt = devicePoint('camera', registry, registry.devices.get(id)!, e.receivedAtMs).intField('online', p.online ? 1 : 0);
        if (p.rttMs !== undefined) pt.floatField('rtt_ms', p.rttMs);
        tx.points([line(pt.intField('error', p.error ? 1 : 0))], e.receivedAtMs);
        cameraReport(e, p, tx);
      }
      sign(id, signOf(e), e.receivedAtMs, tx);
    },

    snapshot(school) {
      const devices: Record<string, { online: boolean; status: string; lastSeen: string | null; since: string | null }> = {};
      // Only the devices that are not online (contract additions): a province's snapshot is its exceptions, not a million rows.
      for (const [id, d] of registry.devices) {
        if ((school && d.school !== school) || liveness.isOnline(id)) continue;
        const s = liveness.records.get(id);
        devices[id] = { online: s?.online === true, status: statusOf(s), lastSeen: s?.lastSeen ? iso(s.lastSeen) : null, since: s?.since ? iso(s.since) : null };
      }
      return { devices, maintenance: [...maintenance.values()].filter((m) => !school || m.school === school) };
    },

    collect() {
      const { online } = devicesByKind(registry, (id) => liveness.isOnline(id));
      for (const kind of DEVICE_KINDS) metrics.devicesOnline.set({ kind }, online[kind] ?? 0);
    },

    alive: (id, atMs) => outside(id, 'alive', atMs),
    failed: (id, report) => {
      const atMs = ctx.now();
      const e = { type: 'camera', school: registry.devices.get(id)!.school, device: id, atMs: typeof report.ts === 'number' ? report.ts : atMs, receivedAtMs: atMs, data: report } as DomainEvent;
      void dispatcher
        .transact((tx) => {
          cameraReport(e, report, tx);
          sign(id, 'failed', atMs, tx);
        })
        .catch(() => undefined);
    },

    listMaintenance(q) {
      const where: [string, '=', Scalar][] = q.school ? [['school', '=', q.school]] : [];
      return store.find<MaintenanceAlarm>('maintenance_alarms', { where, orderBy: [['opened_at', 'desc']], limit: q.limit });
    },

    routes: deviceRoutes,
  };
}
