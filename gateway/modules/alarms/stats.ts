/**
 * Alarm statistics for the wall screen (GET /api/stats/alarms), pure: alarms in, figures out; the
 * route reads the alarms of the period from the store and hands them here with the policy's offset.
 *
 * Each alarm is exactly one of: `test` (a test press, `test: true`, or resolved with outcome
 * `test`), `false` (resolved with outcome `false`) or `real` (everything else, open ones too).
 * Times to acknowledge and to dispatch are measured from `raisedAt` (the gateway's receive time)
 * over real and false alarms (a test press is acknowledged at leisure and would skew them).
 */
import type { Alarm } from '../../contract/api.js';
import { DAY_MS, dayString, localDayNumber } from '../../domain/calendar.js';

export interface Percentiles {
  /** How many alarms were measured. */
  n: number;
  /** Seconds, nearest rank (a time some alarm actually took); null when n = 0. */
  p50: number | null;
  p90: number | null;
}

export interface Figures {
  /** Every alarm raised in the period: real + false + tests. */
  total: number;
  real: number;
  false: number;
  tests: number;
  /** Alarms escalated for want of an acknowledgement (test presses never escalate). */
  escalations: number;
  ackSec: Percentiles;
  dispatchSec: Percentiles;
}

export interface AlarmStats {
  /** Local dates, inclusive; `days` of them, ending today. */
  from: string;
  to: string;
  days: number;
  county: Figures;
  /** Every township (registry `region`) in scope, with zeros where nothing happened; by name. */
  townships: (Figures & { region: string })[];
  /** One entry per local day, oldest first (the trend chart). */
  byDay: (Figures & { day: string })[];
}

/**
 * Nearest-rank percentile (the smallest sample with at least p % of the samples at or below it):
 * with one sample every percentile is that sample; with two, p50 is the smaller and p90 the larger.
 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export function percentiles(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
  return { n: sorted.length, p50: round(percentile(sorted, 50)), p90: round(percentile(sorted, 90)) };
}

export type AlarmClass = 'real' | 'false' | 'test';
export function classify(a: Pick<Alarm, 'test' | 'outcome'>): AlarmClass {
  if (a.test || a.outcome === 'test') return 'test';
  return a.outcome === 'false' ? 'false' : 'real';
}

/** Seconds from the raise to the first entry of `state`, or undefined when it never got there. */
function secondsTo(a: Alarm, state: 'acknowledged' | 'dispatched'): number | undefined {
  const h = a.history.find((x) => x.state === state);
  return h ? (Date.parse(h.at) - Date.parse(a.raisedAt)) / 1000 : undefined;
}

class Acc {
  total = 0;
  real = 0;
  false = 0;
  tests = 0;
  escalations = 0;
  ack: number[] = [];
  dispatch: number[] = [];
  add(a: Alarm): void {
    this.total++;
    const c = classify(a);
    if (c === 'test') return void this.tests++;
    this[c]++;
    if (a.escalated) this.escalations++;
    const ack = secondsTo(a, 'acknowledged');
    if (ack !== undefined) this.ack.push(ack);
    const dispatch = secondsTo(a, 'dispatched');
    if (dispatch !== undefined) this.dispatch.push(dispatch);
  }
  figures(): Figures {
    return { total: this.total, real: this.real, false: this.false, tests: this.tests, escalations: this.escalations, ackSec: percentiles(this.ack), dispatchSec: percentiles(this.dispatch) };
  }
}

export interface StatsInput {
  alarms: Iterable<Alarm>;
  /** The instant "now": today is its local day. */
  nowMs: number;
  days: number;
  offsetMs: number;
  /** The township of a school (undefined: a school no longer in the registry, counted as `?`). */
  regionOf(school: string): string | undefined;
  /** Townships listed even with no alarm (the registry's, or the scoped school's). */
  regions: readonly string[];
}

/** The first instant of the period: local midnight `days − 1` days before today. */
export function periodStartMs(nowMs: number, days: number, offsetMs: number): number {
  return (localDayNumber(nowMs, offsetMs) - (days - 1)) * DAY_MS - offsetMs;
}

export function alarmStats(i: StatsInput): AlarmStats {
  const today = localDayNumber(i.nowMs, i.offsetMs);
  const first = today - (i.days - 1);
  const county = new Acc();
  const byRegion = new Map<string, Acc>(i.regions.map((r) => [r, new Acc()]));
  const byDay = Array.from({ length: i.days }, () => new Acc());
  for (const a of i.alarms) {
    const day = localDayNumber(Date.parse(a.raisedAt), i.offsetMs);
    if (day < first || day > today) continue; // the caller may read a little more; the period is decided here
    county.add(a);
    byDay[day - first].add(a);
    const region = i.regionOf(a.school) ?? '?';
    let r = byRegion.get(region);
    if (!r) byRegion.set(region, (r = new Acc()));
    r.add(a);
  }
  return {
    from: dayString(first),
    to: dayString(today),
    days: i.days,
    county: county.figures(),
    townships: [...byRegion].sort(([a], [b]) => a.localeCompare(b, 'zh-CN')).map(([region, acc]) => ({ region, ...acc.figures() })),
    byDay: byDay.map((acc, k) => ({ day: dayString(first + k), ...acc.figures() })),
  };
}
