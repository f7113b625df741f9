/**
 * The daily canteen report per school (明厨亮灶日报, issue "a daily per-school report"), pure: one
 * local day's facts of each school in, the report as data out (rendered by `report-render.ts`).
 *
 * Decided (docs/contract-additions.md, "Daily report"):
 * - The cut-off is the end of the day, or now for today: "still open" and "overdue" are as they
 *   stood then; the day's own findings are those certain by then.
 * - `opened` and `closed` count the cases opened, and closed, within the day (a case opened on
 *   Monday and closed on Tuesday is in both reports).
 * - The rectification rate (整改率) is of the day's cases: opened that day and closed since (as at
 *   the report's generation), and the median time to close is of those closed ones; both null when
 *   there is nothing to measure (never 0% nor 100% by default).
 * - Coverage is the cameras online now (no history of liveness per day is kept), as in the summary.
 */
import type { Case, FindingCode, Reason } from '../../contract/canteen.js';
import type { AiKind } from '../../contract/mqtt.js';
import type { MinuteMeal } from '../../policy.js';
import { judgeDay, mealCompleteness, shiftStartMs, type Completeness, type DayInput } from './records.js';

const DAY_MS = 86_400_000;

export interface SchoolDayFacts {
  school: string;
  name: string;
  nameEn?: string;
  coverage: { required: number; covered: number; rate: number | null; missing: string[] };
  aiEvents: Partial<Record<AiKind, number>>;
  /** The school's cases that may touch the day: opened before its end (closed ones included). */
  cases: readonly Case[];
  /** The day's records and workers, as the module judges them. */
  records: DayInput;
  /** False while the school has never recorded on the gateway: it is not judged (as the module). */
  recording: boolean;
}

export interface MealLine {
  meal: string;
  name: Reason;
  samples: Completeness;
  accompany: Completeness;
  disinfection: Completeness;
}

export interface SchoolDayReport {
  school: string;
  name: string;
  nameEn?: string;
  coverage: SchoolDayFacts['coverage'];
  aiEvents: { total: number; byKind: { kind: AiKind; count: number }[] };
  cases: {
    opened: number;
    closed: number;
    /** Not closed at the cut-off (opened that day or before). */
    open: number;
    /** Of those, past their deadline at the cut-off. */
    overdue: number;
    /** Of the cases opened that day, the share closed since; null when none opened. */
    rectificationRate: number | null;
    /** Median minutes from open to close of the day's cases closed since; null when none. */
    medianCloseMin: number | null;
  };
  recording: boolean;
  meals: MealLine[];
  /** Workers expected on shift (those checked in the last days), checked before their shift, and abnormal checks. */
  morningChecks: { expected: number; checked: number; abnormal: number; status: Completeness };
  /** What was missing or abnormal that day, oldest first. */
  findings: { code: FindingCode; meal?: string; dish?: string; person?: string; at: string; reason: Reason }[];
}

export interface CanteenDayReport {
  date: string;
  county: string;
  generatedAt: string;
  /** The end of the day, or the generation time for today. */
  cutoffAt: string;
  schools: SchoolDayReport[];
}

const closedAtMs = (c: Case): number | undefined => {
  const e = [...c.history].reverse().find((h) => h.action === 'close');
  return e ? Date.parse(e.at) : undefined;
};

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The day's case figures (see the decisions above). */
export function caseFigures(cases: readonly Case[], dayStartMs: number, cutoffMs: number): SchoolDayReport['cases'] {
  const dayEndMs = dayStartMs + DAY_MS;
  const inDay = (ms: number | undefined) => ms !== undefined && ms >= dayStartMs && ms < dayEndMs;
  const opened = cases.filter((c) => inDay(Date.parse(c.openedAt)));
  const closedOf = opened.map(closedAtMs).filter((ms): ms is number => ms !== undefined);
  const stillOpen = cases.filter((c) => {
    const closed = closedAtMs(c);
    return Date.parse(c.openedAt) < cutoffMs && (closed === undefined || closed >= cutoffMs);
  });
  return {
    opened: opened.length,
    closed: cases.filter((c) => inDay(closedAtMs(c))).length,
    open: stillOpen.length,
    overdue: stillOpen.filter((c) => Date.parse(c.deadlineAt) <= cutoffMs).length,
    rectificationRate: opened.length ? closedOf.length / opened.length : null,
    medianCloseMin: median(opened.flatMap((c) => {
      const closed = closedAtMs(c);
      return closed === undefined ? [] : [(closed - Date.parse(c.openedAt)) / 60_000];
    })),
  };
}

export function schoolDayReport(f: SchoolDayFacts, meals: readonly MinuteMeal[], cutoffMs: number): SchoolDayReport {
  const input = f.records;
  const byKind = (Object.entries(f.aiEvents) as [AiKind, number][]).filter(([, n]) => n > 0).map(([kind, count]) => ({ kind, count })).sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind));
  const names = new Map(meals.map((m) => [m.id, { zh: m.name, en: m.nameEn ?? m.id }]));
  const completeness = mealCompleteness(input, cutoffMs);
  const found = f.recording ? judgeDay(input, cutoffMs).findings.sort((a, b) => a.atMs - b.atMs) : [];

  const checkedBefore = input.workers.filter((w) => {
    const start = shiftStartMs(w, input);
    return input.checks.some((c) => c.person === w.person && c.atMs >= input.dayStartMs && (start === undefined || c.atMs <= start));
  }).length;
  const missingChecks = found.some((x) => x.code === 'morning_check_missing');
  const starts = input.workers.map((w) => shiftStartMs(w, input)).filter((ms): ms is number => ms !== undefined);
  const allDue = starts.length > 0 && starts.every((ms) => cutoffMs > ms);
  return {
    school: f.school,
    name: f.name,
    ...(f.nameEn ? { nameEn: f.nameEn } : {}),
    coverage: f.coverage,
    aiEvents: { total: byKind.reduce((n, k) => n + k.count, 0), byKind },
    cases: caseFigures(f.cases, input.dayStartMs, cutoffMs),
    recording: f.recording,
    meals: completeness.map((m) => ({ ...m, name: names.get(m.meal) ?? { zh: m.meal, en: m.meal } })),
    morningChecks: {
      expected: input.workers.length,
      checked: checkedBefore,
      abnormal: input.checks.filter((c) => c.result === 'abnormal' && c.atMs >= input.dayStartMs).length,
      status: missingChecks ? 'missing' : allDue || input.workers.length === 0 ? 'ok' : 'pending',
    },
    findings: found.map((x) => ({
      code: x.code,
      ...(x.meal ? { meal: x.meal } : {}),
      ...(x.dish ? { dish: x.dish } : {}),
      ...(x.person ? { person: x.person } : {}),
      at: new Date(x.atMs).toISOString(),
      reason: x.reason,
    })),
  };
}

export function buildCanteenReport(o: { date: string; county: string; dayStartMs: number; nowMs: number; schools: readonly { facts: SchoolDayFacts; meals: readonly MinuteMeal[] }[] }): CanteenDayReport {
  const cutoffMs = Math.min(o.nowMs, o.dayStartMs + DAY_MS);
  return {
    date: o.date,
    county: o.county,
    generatedAt: new Date(o.nowMs).toISOString(),
    cutoffAt: new Date(cutoffMs).toISOString(),
    schools: o.schools.map((s) => schoolDayReport(s.facts, s.meals, cutoffMs)),
  };
}
