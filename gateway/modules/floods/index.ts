/**
 * Alarm floods (ISA-18.2, `detector.ts`): the county command center is one operator's desk, so the
 * rate is county-wide. While a flood lasts the snapshot and the `flood` frame group the open alarms
 * by school, every one of them: a flood changes how the screen arranges alarms, never which it
 * shows (each alarm still has its own `alarm` frames, `GET /api/alarms` and escalation).
 *
 * State lives in memory and is rebuilt at start from the alarms of the last window in the ledger
 * (a flood that had fallen back between the end and start counts across a restart begins afresh).
 */
import type { Alarm } from '../../contract/api.js';
import type { AlarmPayload } from '../../contract/mqtt.js';
import { iso } from '../../contract/common.js';
import type { GatewayModule, ModuleContext, Tx } from '../../core/module.js';
import type { AlarmsModule, OpenSchool } from '../alarms/index.js';
import { NO_FLOOD, floodAt, floodEndDueMs, floodOnAlarm, type FloodState } from './detector.js';

export interface FloodSchoolGroup {
  school: string;
  schoolName: string;
  region?: string;
  /** Open alarms of the school (test presses too: nothing is hidden). */
  count: number;
  /** The newest open alarm's `raisedAt`. */
  newest: string;
  /** Every open alarm id of the school, newest first (the snapshot only: frames stay as small as the county). */
  alarms?: string[];
}

export interface FloodView {
  /** Frames with `scope: "county"` reach county users only (the hub): a school's screen sees its own school. */
  scope: 'county';
  active: boolean;
  since: string | null;
  endedAt?: string;
  /** Alarms (test presses not counted) raised within the window now. */
  count: number;
  threshold: number;
  endBelow: number;
  windowSec: number;
  /** Open alarms by school, most first; empty when no flood is on. */
  bySchool: FloodSchoolGroup[];
}

/** Every open alarm in exactly one school's group: most alarms first, then the newest. Pure. */
export function groupBySchool(open: Iterable<Alarm>, regionOf: (school: string) => string | undefined, withIds = true): FloodSchoolGroup[] {
  let groups: FloodSchoolGroup[];
  if (withIds) {
    const by = new Map<string, Alarm[]>();
    for (const a of open) {
      const list = by.get(a.school);
      if (list) list.push(a);
      else by.set(a.school, [a]);
    }
    groups = [...by.values()].map((list) => {
      list.sort((a, b) => b.raisedAt.localeCompare(a.raisedAt));
      return { school: list[0].school, schoolName: list[0].schoolName, count: list.length, newest: list[0].raisedAt, alarms: list.map((a) => a.id) };
    });
  } else {
    const by = new Map<string, OpenSchool>();
    for (const a of open) {
      const g = by.get(a.school);
      if (!g) by.set(a.school, { school: a.school, schoolName: a.schoolName, count: 1, newest: a.raisedAt });
      else {
        g.count++;
        // ISO-8601 UTC strings of one format: code-unit order is time order.
        if (a.raisedAt > g.newest) g.newest = a.raisedAt;
      }
    }
    return schoolGroups(by.values(), regionOf);
  }
  for (const g of groups) {
    const region = regionOf(g.school);
    if (region !== undefined) g.region = region;
  }
  return groups.sort((a, b) => b.count - a.count || b.newest.localeCompare(a.newest));
}

/**
 * The groups of a frame, from per-school sums (the alarms module's `openBySchool`): O(schools),
 * not O(open alarms) — every press of a flood makes a frame, so a burst of alarms pays this per
 * alarm (issue 13). Same order as `groupBySchool`.
 */
export function schoolGroups(schools: Iterable<OpenSchool>, regionOf: (school: string) => string | undefined): FloodSchoolGroup[] {
  const groups: FloodSchoolGroup[] = [];
  for (const s of schools) {
    const g: FloodSchoolGroup = { school: s.school, schoolName: s.schoolName, count: s.count, newest: s.newest };
    const region = regionOf(g.school);
    if (region !== undefined) g.region = region;
    groups.push(g);
  }
  return groups.sort((a, b) => b.count - a.count || b.newest.localeCompare(a.newest));
}

export function floodsModule(ctx: ModuleContext): GatewayModule {
  const { config, scheduler, dispatcher, registry } = ctx;
  const cfg = config.alarmFlood;
  const alarms = ctx.module<AlarmsModule>('alarms');
  const KEY = 'floods:end';
  let state: FloodState = NO_FLOOD;

  /**
   * The flood as the screen sees it. Frames leave out the alarm ids: one frame per press of a flood
   * would otherwise grow with every alarm (quadratic in the flood); per school it is bounded by the
   * county, and each alarm's own frame says its school.
   */
  const regionOf = (s: string) => registry.schools.get(s)?.region;
  function view(withIds = false): FloodView {
    const v: FloodView = {
      scope: 'county',
      active: state.active,
      since: state.since !== undefined ? iso(state.since) : null,
      count: state.count,
      threshold: cfg.count,
      endBelow: cfg.endCount,
      windowSec: cfg.windowMs / 1000,
      bySchool: !state.active
        ? []
        : withIds
          ? groupBySchool(alarms.open.values(), regionOf, true)
          : schoolGroups(alarms.openBySchool.values(), regionOf),
    };
    if (!state.active && state.endedAt !== undefined) v.endedAt = iso(state.endedAt);
    return v;
  }

  /** Wakes at the moment the flood would end if nothing more is raised. */
  function arm(): void {
    const due = floodEndDueMs(state, cfg);
    if (due === undefined) return scheduler.cancel(KEY);
    scheduler.at(KEY, due, () =>
      dispatcher
        .transact((tx) => {
          const was = state.active;
          state = floodAt(state, tx.now, cfg);
          if (was && !state.active) tx.feed('flood', view());
          tx.after(arm);
        })
        .catch((err) => {
          ctx.log.error({ err }, 'could not record the end of an alarm flood; retrying in 5 s');
          scheduler.at(KEY, ctx.now() + 5000, arm);
        }),
    );
  }

  return {
    name: 'floods',
    dependsOn: ['alarms'],
    consumes: ['alarm'],
    frames: ['flood'],

    // Another gateway's commits (decision 0009): the flood is the region's, counted from every
    // gateway's alarms (the alarms module, refreshed first, already holds them).
    async refresh(frames) {
      // Recounted only when alarms changed.
      if (frames && !frames.some((f) => f.type === 'alarm')) return;
      await this.load!();
    },

    async load() {
      const now = ctx.now();
      state = NO_FLOOD;
      for (const a of await alarms.raisedSince(now - cfg.windowMs)) if (!a.test) state = floodOnAlarm(state, Date.parse(a.raisedAt), cfg);
      state = floodAt(state, now, cfg);
    },

    start() {
      arm();
    },

    apply(e, tx: Tx) {
      // The alarms module applied first (dependsOn): the new alarm is already among the open ones.
      const was = state.active;
      if ((e.data as AlarmPayload).test !== true) state = floodOnAlarm(state, e.receivedAtMs, cfg);
      // Every press of a flood updates the grouping: the start and every later press make a frame,
      // one per commit (the grouping after the batch's last press), not one per press — a burst of
      // 100 presses in one commit would send 100 frames of every school's sums to every screen.
      if (state.active || was) tx.once('floods:frame', (t) => t.feed('flood', view()));
      tx.after(arm);
    },

    snapshot: (school) => (school === undefined ? { flood: view(true) } : {}),

    stop() {
      scheduler.cancel(KEY);
    },
  };
}
