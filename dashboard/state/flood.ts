/**
 * The floods module's slice (ISA-18.2 alarm floods, gateway/modules/floods): whether a county flood
 * is on, from the snapshot's `flood` and the `flood` frames (scope county: a school's own screen never
 * gets them, and stays `active: false`).
 *
 * The flood only says how to arrange the alarms; it never hides or drops one (issue #12). The
 * grouping the screen shows is made here from the alarms slice itself — not from the frame's
 * `bySchool`, which is sent when a flood starts and not on every ack/resolve — so every open alarm
 * the screen holds is in exactly one group, whatever frames came since. Everything here is pure.
 */
import type { Alarm, FeedFrame, SchoolStatus, Snapshot } from '../../gateway/contract/api.js';
import type { Slice } from './slice.js';

/** The `flood` frame's data (docs/contract-additions.md "Alarm floods"). */
export interface FloodInfo {
  scope?: string;
  active: boolean;
  /** When the flood began (ISO). */
  since?: string;
  /** When it ended (the end frame only). */
  endedAt?: string;
  /** Alarms in the sliding window when the frame was made. */
  count: number;
  /** More than this many in the window start a flood. */
  threshold: number;
  /** Fewer than this many end it. */
  endBelow: number;
  windowSec: number;
  bySchool?: { school: string; schoolName?: string; region?: string; count: number; newest: string; alarms?: string[] }[];
}

export type FloodSlice = FloodInfo;

export const initialFlood = (): FloodSlice => ({ active: false, count: 0, threshold: 10, endBelow: 5, windowSec: 600 });

function floodOf(data: unknown): FloodInfo | null {
  const f = data as Partial<FloodInfo> | null | undefined;
  if (!f || typeof f !== 'object' || typeof f.active !== 'boolean') return null;
  return {
    ...initialFlood(),
    ...f,
    active: f.active,
    count: typeof f.count === 'number' ? f.count : 0,
  } as FloodInfo;
}

export function loadFlood(prev: FloodSlice, snapshot: Partial<Snapshot>): FloodSlice {
  // No `flood` key: a school's screen, or a gateway without the module. Nothing on.
  return floodOf((snapshot as { flood?: unknown }).flood) ?? { ...prev, active: false };
}

export function reduceFlood(slice: FloodSlice, frame: FeedFrame): FloodSlice {
  return floodOf(frame.data) ?? slice;
}

export const floodSlice: Slice<FloodSlice> = { frames: ['flood'], initial: initialFlood, load: loadFlood, reduce: reduceFlood };

// ---------- grouping ----------

export interface SchoolGroup {
  school: string;
  /** The alarms' own school name (the registry's, as the alarm carries it), else the id. */
  schoolName: string;
  region?: string;
  count: number;
  /** The newest alarm's raise time (ISO). */
  newest: string;
  /** Unacknowledged escalated alarms in the group (pinned groups first). */
  urgent: number;
  /** In the order they came in (the list's order: escalated first, then newest). */
  alarms: Alarm[];
}

const raisedMs = (a: Alarm): number => Date.parse(a.raisedAt) || 0;
const isUrgent = (a: Alarm): boolean => a.escalated && a.state === 'raised';

/**
 * Groups alarms by school: one group per school with at least one alarm, every alarm in exactly one
 * group (the counts add up to `alarms.length`: nothing hidden, nothing dropped). Groups holding an
 * escalated unacknowledged alarm come first, then most alarms, then the newest alarm, then by id.
 */
export function groupBySchool(alarms: readonly Alarm[], schools: Record<string, SchoolStatus> = {}): SchoolGroup[] {
  const by = new Map<string, SchoolGroup>();
  for (const a of alarms) {
    let g = by.get(a.school);
    if (!g) {
      const s = schools[a.school];
      g = { school: a.school, schoolName: a.schoolName || s?.name || a.school, region: s?.region, count: 0, newest: a.raisedAt, urgent: 0, alarms: [] };
      by.set(a.school, g);
    }
    g.alarms.push(a);
    g.count += 1;
    if (isUrgent(a)) g.urgent += 1;
    if (raisedMs(a) > (Date.parse(g.newest) || 0)) g.newest = a.raisedAt;
  }
  return [...by.values()].sort(
    (x, y) =>
      Number(y.urgent > 0) - Number(x.urgent > 0) ||
      y.count - x.count ||
      (Date.parse(y.newest) || 0) - (Date.parse(x.newest) || 0) ||
      (x.school < y.school ? -1 : x.school > y.school ? 1 : 0),
  );
}

/** How many alarms of each state a group holds (the collapsed header's line: state in words, not colour). */
export function stateCounts(alarms: readonly Alarm[]): Partial<Record<Alarm['state'], number>> {
  const out: Partial<Record<Alarm['state'], number>> = {};
  for (const a of alarms) out[a.state] = (out[a.state] ?? 0) + 1;
  return out;
}
