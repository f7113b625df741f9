/**
 * One-key alarms (一键报警): the lifecycle (`lifecycle.ts`, pure), its projection (every open alarm
 * in memory, all of them in the `alarms` table), button feedback on `alarm/state`, escalation of an
 * alarm nobody acknowledged (ISA-18.2: an unacknowledged alarm must not go quiet) and the routes.
 */
import { randomUUID } from 'node:crypto';
import type { Alarm, AlarmAction, AlarmOutcome } from '../../contract/api.js';
import { topics, type AlarmPayload } from '../../contract/mqtt.js';
import type { DomainEvent } from '../../core/events.js';
import type { GatewayModule, ModuleContext, Tx } from '../../core/module.js';
import { Point, line } from '../../core/points.js';
import type { TableSpec } from '../../store/store.js';
import { IllegalTransition, addNote, applyAction, escalate, escalationDueMs, feedbackFor, isOpen, needsEscalation, raiseAlarm, stateEntries, withSnapshot } from './lifecycle.js';
import { camerasForAlarm, snapshotPlan } from './linked-cameras.js';
import { alarmRoutes } from './routes.js';

export { IllegalTransition };

interface ActionData {
  alarm: string;
  by: string;
  note?: string;
  /** resolve only: what the alarm turned out to be */
  outcome?: AlarmOutcome;
}

declare module '../../core/events.js' {
  interface EventMap {
    alarm: AlarmPayload;
    alarm_ack: ActionData;
    alarm_dispatch: ActionData;
    alarm_resolve: ActionData;
    alarm_escalated: { alarm: string };
    /** A note on its own (no change of state), on an alarm in any state. */
    alarm_note: { alarm: string; by: string; note: string };
    /** A picture of an alarm's camera, taken after its raise (the alarm-snapshots module's command). */
    alarm_snapshot: AlarmSnapshotOutcome;
  }
}

/** One camera's picture for an alarm: the stored picture, or why there is none. */
export interface AlarmSnapshotOutcome {
  alarm: string;
  camera: string;
  sha256?: string;
  error?: string;
}

/** Resolved alarms kept in memory for late pictures (a resolved alarm never changes but for those). */
const RECENTLY_CLOSED = 256;
/** How long one gateway holds an alarm's escalation before another may record it (decision 0009). */
const ESCALATION_LEASE_MS = 10_000;

export const ALARMS_TABLE: TableSpec = {
  name: 'alarms',
  key: 'id',
  columns: { id: 'text', device: 'text', source_id: 'text', school: 'text', state: 'text', raised_at: 'integer' },
  doc: true,
  indexes: [{ columns: ['state'] }, { columns: ['raised_at'] }, { columns: ['school', 'raised_at'] }, { columns: ['device', 'source_id'] }],
};

export class AlarmNotFound extends Error {
  constructor(readonly id: string) {
    super(`no alarm with id "${id}"`);
  }
}

const ACTION_EVENT = { ack: 'alarm_ack', dispatch: 'alarm_dispatch', resolve: 'alarm_resolve' } as const;
const ACTION_OF = { alarm_ack: 'ack', alarm_dispatch: 'dispatch', alarm_resolve: 'resolve' } as const satisfies Record<string, AlarmAction>;

/** A school's open alarms, summed up (test presses too). */
export interface OpenSchool {
  school: string;
  schoolName: string;
  count: number;
  newest: string;
}

export interface AlarmsModule extends GatewayModule {
  readonly open: ReadonlyMap<string, Alarm>;
  /** Open alarms per school (count and newest `raisedAt`), kept as alarms open and close: O(schools) to read. */
  readonly openBySchool: ReadonlyMap<string, OpenSchool>;
  /** Open alarms that are not test presses. */
  readonly openRealCount: number;
  get(id: string): Promise<Alarm | undefined>;
  list(q: { open: boolean; school?: string; sinceMs?: number; limit: number }): Promise<Alarm[]>;
  /** The open alarm a press (device, its own id) raised. */
  bySource(device: string, sourceId: string): Alarm | undefined;
  /** Makes a resolved alarm available to the next `alarm_snapshot` (read from the store when not in memory). */
  recall(id: string): Promise<void>;
  /** Every alarm raised since `sinceMs` (by the `raised_at` index), for the statistics. */
  raisedSince(sinceMs: number, school?: string): Promise<Alarm[]>;
  /** An operator's action: durable first, then applied. Throws AlarmNotFound or IllegalTransition. */
  act(alarmId: string, action: AlarmAction, by: string, note?: string, outcome?: AlarmOutcome): Promise<Alarm>;
  /** A note on its own, in any state (resolved too): durable, in the history, on the feed. Throws AlarmNotFound. */
  note(alarmId: string, by: string, note: string): Promise<Alarm>;
}

export function alarmsModule(ctx: ModuleContext): AlarmsModule {
  const { store, registry, scheduler, dispatcher, metrics, bus, config } = ctx;
  const names = topics(config.topicPrefix);
  const open = new Map<string, Alarm>();
  /** Alarms whose escalation lease is being asked for (a refresh re-arming meanwhile must not ask twice). */
  const claiming = new Set<string>();
  /** school → its open alarms' count and newest raisedAt; `members` to find the next newest when the newest closes. */
  const bySchool = new Map<string, OpenSchool & { members: Map<string, string> }>();
  /** `${device}\u0000${sourceId}` → open alarm id: a re-sent press finds its alarm without a query. */
  const openBySource = new Map<string, string>();
  /** The alarm an operator's command produced, handed back to `act` (keyed by the command's own event). */
  const results = new WeakMap<DomainEvent, Alarm>();
  let openRealCount = 0;
  /** Resolved alarms a picture may still arrive for (FIFO, RECENTLY_CLOSED). */
  const closed = new Map<string, Alarm>();

  const sourceKey = (a: Pick<Alarm, 'device' | 'sourceId'>) => `${a.device}\u0000${a.sourceId}`;

  function remember(alarm: Alarm): void {
    // A running count: walking every open alarm after each batch cost 28 % of CPU in a flood.
    const wasOpenReal = open.has(alarm.id) && !alarm.test;
    const isOpenReal = isOpen(alarm) && !alarm.test;
    openRealCount += Number(isOpenReal) - Number(wasOpenReal);
    const wasOpen = open.has(alarm.id);
    if (isOpen(alarm) && !wasOpen) addToSchool(alarm);
    else if (!isOpen(alarm) && wasOpen) removeFromSchool(alarm);
    if (isOpen(alarm)) {
      open.set(alarm.id, alarm);
      openBySource.set(sourceKey(alarm), alarm.id);
    } else {
      open.delete(alarm.id);
      openBySource.delete(sourceKey(alarm));
      keepClosed(alarm);
    }
  }

  function addToSchool(a: Alarm): void {
    const g = bySchool.get(a.school);
    if (!g) return void bySchool.set(a.school, { school: a.school, schoolName: a.schoolName, count: 1, newest: a.raisedAt, members: new Map([[a.id, a.raisedAt]]) });
    g.members.set(a.id, a.raisedAt);
    g.count = g.members.size;
    // ISO-8601 UTC strings of one format: code-unit order is time order.
    if (a.raisedAt > g.newest) g.newest = a.raisedAt;
  }

  function removeFromSchool(a: Alarm): void {
    const g = bySchool.get(a.school);
    if (!g || !g.members.delete(a.id)) return;
    g.count = g.members.size;
    if (g.count === 0) return void bySchool.delete(a.school);
    if (a.raisedAt === g.newest) {
      let newest = '';
      for (const t of g.members.values()) if (t > newest) newest = t;
      g.newest = newest;
    }
  }

  function keepClosed(alarm: Alarm): void {
    closed.delete(alarm.id);
    closed.set(alarm.id, alarm);
    if (closed.size > RECENTLY_CLOSED) closed.delete(closed.keys().next().value!);
  }

  /** Stores the alarm's new state with its feed frame and point; after the commit, tells the button and (re)arms escalation. */
  function save(alarm: Alarm, tx: Tx): void {
    tx.put('alarms', { id: alarm.id, device: alarm.device, source_id: alarm.sourceId, school: alarm.school, state: alarm.state, raised_at: Date.parse(alarm.raisedAt), doc: alarm });
    tx.feed('alarm', alarm);
    tx.points([alarmPoint(alarm)], tx.now);
    remember(alarm);
    tx.after(() => {
      feedback(alarm);
      arm(alarm);
      metrics.alarmsOpen.set(openRealCount);
    });
  }

  /** A picture changes the record and the screens, not the button's lamp, the escalation or the time series. */
  function saveEvidence(alarm: Alarm, tx: Tx): void {
    tx.put('alarms', { id: alarm.id, device: alarm.device, source_id: alarm.sourceId, school: alarm.school, state: alarm.state, raised_at: Date.parse(alarm.raisedAt), doc: alarm });
    tx.feed('alarm', alarm);
    remember(alarm);
  }

  function feedback(alarm: Alarm): void {
    bus.publish(names.alarmState(alarm.school, alarm.device), JSON.stringify(feedbackFor(alarm)), { qos: 1 });
  }

  /** Sets or clears the alarm's escalation deadline. */
  function arm(alarm: Alarm): void {
    const key = `alarms:escalate:${alarm.id}`;
    if (!needsEscalation(alarm)) return scheduler.cancel(key);
    if (scheduler.has(key)) return;
    scheduler.at(key, escalationDueMs(alarm, config.ackTimeoutSec), async () => {
      let current = open.get(alarm.id);
      if (!current || !needsEscalation(current) || claiming.has(alarm.id)) return;
      if (store.claimJob) {
        // Several gateways (decision 0009): the one that takes the lease records the escalation;
        // the others look again when it is over — by then its commit has reached them (refresh
        // cancels this timer), or it died before committing and one of them takes the job.
        claiming.add(alarm.id);
        let mine: boolean;
        try {
          mine = await store.claimJob(key, ESCALATION_LEASE_MS);
        } catch (err) {
          ctx.log.error({ err, alarm: alarm.id }, 'could not take the escalation lease; retrying in 5 s');
          scheduler.at(key, ctx.now() + 5000, () => arm(open.get(alarm.id) ?? alarm));
          return;
        } finally {
          claiming.delete(alarm.id);
        }
        if (!mine) return scheduler.at(key, ctx.now() + ESCALATION_LEASE_MS, () => arm(open.get(alarm.id) ?? alarm));
        current = open.get(alarm.id);
        if (!current || !needsEscalation(current)) return;
      }
      const now = ctx.now();
      return dispatcher
        .execute({ type: 'alarm_escalated', school: current.school, device: current.device, atMs: now, receivedAtMs: now, data: { alarm: alarm.id } })
        .then(() => metrics.alarmsEscalated.inc())
        .catch((err) => {
          ctx.log.error({ err, alarm: alarm.id }, 'could not record escalation; retrying in 5 s');
          scheduler.at(key, ctx.now() + 5000, () => arm(open.get(alarm.id) ?? alarm));
        });
    });
  }

  /** One point per alarm at its raise time, rewritten as it moves on (the last write carries every field so far). */
  function alarmPoint(alarm: Alarm): string {
    const raisedMs = Date.parse(alarm.raisedAt);
    const p = new Point('alarm')
      .tag('school', alarm.school)
      .tag('region', registry.schools.get(alarm.school)!.region)
      .tag('device', alarm.device)
      .tag('kind', alarm.kind)
      .tag('test', alarm.test ? 'true' : 'false')
      .intField('count', 1)
      .intField('escalated', alarm.escalated ? 1 : 0)
      .floatField('clock_skew_s', alarm.clockSkewMs / 1000)
      .timestamp(raisedMs);
    const field = { acknowledged: 'ack_s', dispatched: 'dispatch_s', resolved: 'resolve_s' } as const;
    for (const h of stateEntries(alarm)) if (h.state !== 'raised') p.floatField(field[h.state], (Date.parse(h.at) - raisedMs) / 1000);
    return line(p);
  }

  async function get(id: string): Promise<Alarm | undefined> {
    return open.get(id) ?? (await store.get<Alarm>('alarms', id));
  }

  return {
    name: 'alarms',
    consumes: ['alarm', 'alarm_ack', 'alarm_dispatch', 'alarm_resolve', 'alarm_escalated', 'alarm_snapshot', 'alarm_note'],
    frames: ['alarm'],
    tables: [ALARMS_TABLE],
    get open() {
      return open;
    },
    get openBySchool() {
      return bySchool;
    },
    get openRealCount() {
      return openRealCount;
    },

    async load() {
      open.clear();
      bySchool.clear();
      openBySource.clear();
      closed.clear();
      openRealCount = 0;
      const rows = await store.find<Alarm>('alarms', { where: [['state', '<>', 'resolved']], orderBy: [['raised_at', 'asc']] });
      for (const a of rows) remember(a);
      metrics.alarmsOpen.set(openRealCount);
    },

    async refresh(frames) {
      // Another gateway raised or moved alarms. Every change of an alarm is an `alarm` frame with
      // the whole alarm, so the frames, in seq order (ours among them: the last one of an alarm is
      // its state), bring this projection up to date without rereading every open alarm (in a
      // flood, thousands per refresh); without them the table is the truth.
      // Timers of alarms still open stay armed (arm() keeps an armed one), those of closed ones
      // find nothing to escalate.
      if (frames) {
        for (const f of frames) if (f.type === 'alarm') remember(f.data as Alarm);
        metrics.alarmsOpen.set(openRealCount);
      } else await this.load!();
      for (const a of open.values()) arm(a);
    },

    start() {
      // Restart-safe escalation: every open alarm re-arms; one already overdue fires at once.
      for (const a of open.values()) arm(a);
    },

    apply(e, tx) {
      if (e.type === 'alarm') {
        const p = e.data as AlarmPayload;
        const school = registry.schools.get(e.school)!;
        const button = registry.devices.get(e.device!)!;
        const raised = raiseAlarm({
          id: randomUUID(),
          sourceId: p.id,
          school: { id: school.id, name: school.name, nameEn: school.nameEn },
          device: registry.devices.get(e.device!)!,
          kind: p.kind,
          zone: p.zone,
          test: p.test === true,
          receivedAtMs: e.receivedAtMs,
          deviceTsMs: e.atMs,
          clockSkewToleranceMs: config.clockSkewToleranceMs,
        });
        // The pictures to take are planned with the raise (the pop-up knows what is coming); they are taken after the commit.
        const plan = snapshotPlan(camerasForAlarm(button, school.devices, p.zone), registry.devices, e.receivedAtMs);
        const alarm = plan.length > 0 ? { ...raised, snapshots: plan } : raised;
        save(alarm, tx);
        tx.after(() => metrics.alarmsRaised.inc({ kind: alarm.kind, test: String(alarm.test) }));
        return;
      }
      if (e.type === 'alarm_snapshot') {
        const d = e.data as AlarmSnapshotOutcome;
        const current = open.get(d.alarm) ?? closed.get(d.alarm);
        if (!current) throw new AlarmNotFound(d.alarm);
        const next = withSnapshot(current, d, e.receivedAtMs);
        // A camera the raise did not plan (the registry changed since): nothing to show.
        if (next !== current) saveEvidence(next, tx);
        return;
      }
      if (e.type === 'alarm_note') {
        const d = e.data as { alarm: string; by: string; note: string };
        const current = open.get(d.alarm) ?? closed.get(d.alarm);
        if (!current) throw new AlarmNotFound(d.alarm);
        const next = addNote(current, d.by, e.receivedAtMs, d.note);
        // Like a picture: the record and the screens change; the lamp, escalation and time series do not.
        saveEvidence(next, tx);
        results.set(e, next);
        return;
      }
      if (e.type === 'alarm_escalated') {
        const current = open.get((e.data as { alarm: string }).alarm);
        if (current && needsEscalation(current)) save(escalate(current, e.receivedAtMs), tx);
        return;
      }
      const d = e.data as ActionData;
      const current = open.get(d.alarm);
      // Only open alarms move; `act` has already refused closed ones, so this is a race lost to another operator.
      if (!current) throw new AlarmNotFound(d.alarm);
      const next = applyAction(current, ACTION_OF[e.type as keyof typeof ACTION_OF], d.by, e.receivedAtMs, d.note, d.outcome);
      save(next, tx);
      results.set(e, next);
    },

    duplicate(e, tx) {
      if (e.type !== 'alarm') return;
      // The same press again (a redelivery, or the button retrying for want of feedback): no second
      // alarm, but the button is told again where its alarm stands.
      const key = `${e.device}\u0000${e.sourceId}`;
      tx.after(async () => {
        const openId = openBySource.get(key);
        const alarm = openId ? open.get(openId) : (await store.find<Alarm>('alarms', { where: [['device', '=', e.device!], ['source_id', '=', e.sourceId!]], limit: 1 }))[0];
        if (alarm) feedback(alarm);
      });
    },

    snapshot(school) {
      return { alarms: [...open.values()].filter((a) => !school || a.school === school).sort((a, b) => b.raisedAt.localeCompare(a.raisedAt)) };
    },

    get,

    bySource(device, sourceId) {
      const id = openBySource.get(`${device}\u0000${sourceId}`);
      return id === undefined ? undefined : open.get(id);
    },

    async recall(id) {
      if (open.has(id) || closed.has(id)) return;
      const a = await store.get<Alarm>('alarms', id);
      // Checked again after the read: the alarm may have been applied meanwhile, and that copy is newer.
      if (a && !open.has(id) && !closed.has(id) && !isOpen(a)) keepClosed(a);
    },

    list(q) {
      return store.find<Alarm>('alarms', {
        where: [
          ...(q.open ? [['state', '<>', 'resolved'] as const] : []),
          ...(q.school ? [['school', '=', q.school] as const] : []),
          ...(q.sinceMs !== undefined ? [['raised_at', '>=', q.sinceMs] as const] : []),
        ],
        orderBy: [['raised_at', 'desc']],
        limit: q.limit,
      });
    },

    raisedSince(sinceMs, school) {
      return store.find<Alarm>('alarms', { where: [['raised_at', '>=', sinceMs], ...(school ? [['school', '=', school] as const] : [])], orderBy: [['raised_at', 'asc']] });
    },

    async act(alarmId, action, by, note, outcome) {
      const current = await get(alarmId);
      if (!current) throw new AlarmNotFound(alarmId);
      applyAction(current, action, by, ctx.now(), note, outcome); // refuses an illegal step before anything is queued
      const now = ctx.now();
      const data = { alarm: alarmId, by, ...(note !== undefined ? { note } : {}), ...(action === 'resolve' && outcome !== undefined ? { outcome } : {}) };
      const e: DomainEvent = { type: ACTION_EVENT[action], school: current.school, device: current.device, atMs: now, receivedAtMs: now, data };
      await dispatcher.execute(e);
      return results.get(e)!;
    },

    async note(alarmId, by, note) {
      const current = await get(alarmId);
      if (!current) throw new AlarmNotFound(alarmId);
      // A resolved alarm is applied from memory: bring it back if it has left the recent ones.
      if (!isOpen(current)) await this.recall(alarmId);
      const now = ctx.now();
      const e: DomainEvent = { type: 'alarm_note', school: current.school, device: current.device, atMs: now, receivedAtMs: now, data: { alarm: alarmId, by, note } };
      await dispatcher.execute(e);
      return results.get(e)!;
    },

    routes: alarmRoutes,
  };
}
