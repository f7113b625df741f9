/**
 * The canteen's records (留样, 晨检, 陪餐, 消毒) and the rules that turn a missing or bad one into a
 * case (contract §8; 学校食品安全与营养健康管理规定 2019, art. 39 and 40), pure: one school day's
 * meals, records and workers in, findings out. The module opens one case per finding `key` and wakes
 * at `nextAtMs` to judge again (through the scheduler, never early).
 *
 * Deadlines are inclusive: a record at the deadline counts, and the finding is certain from the
 * next millisecond. Which deadline:
 * - 留样 (art. 40): every dish of the meal sampled by serving start + `sampleWithinMin`. A meal's
 *   dishes are the union of the `menu` lists on its samples and the dishes sampled (decided so:
 *   the canteen declares its menu where it records the samples, with no fifth record kind; a meal
 *   with no sample at all is a finding whatever its menu). A sample taken after the deadline does
 *   not count for it. Each sample also needs `grams` ≥ `sampleMinGrams` and
 *   `keptUntil − takenAt` ≥ `sampleMinKeepHours`: certain as soon as it is recorded.
 * - 晨检: each worker on shift checked at or before the shift start (the roster's, else the day's
 *   first meal minus `shiftLeadMin`). An `abnormal` check is a finding as soon as it is recorded:
 *   the officer confirms in the case that the worker did not handle food (which no record shows).
 * - 陪餐: a leader's record for the meal between serving start and serving end + `accompanyGraceMin`.
 * - 消毒 (art. 39: before use): shown in the completeness per meal (due at serving start), not a case.
 */
import type { FindingCode, Reason, CanteenRecord } from '../../contract/canteen.js';
import { parseWireTime } from '../../contract/common.js';
import type { CanteenPolicy, MinuteMeal } from '../../policy.js';

const MIN = 60_000;
const HOUR = 3_600_000;

export interface Sample { id: string; dish: string; meal: string; grams: number; takenAtMs: number; keptUntilMs: number; person: string; menu?: readonly string[] }
export interface MorningCheck { id: string; person: string; result: 'normal' | 'abnormal'; symptom?: string; atMs: number }
export interface Accompany { id: string; leader: string; meal: string; atMs: number }
export interface Disinfection { id: string; what: string; method: string; meal: string; atMs: number }
/** A canteen worker on shift today; `shiftStartMs` from the roster, else the policy's lead before the first meal. */
export interface Worker { person: string; shiftStartMs?: number }

export interface DayInput {
  /** The instant the local school day begins. */
  dayStartMs: number;
  /** The school's meals (policy `mealsFor`), by serving time. */
  meals: readonly MinuteMeal[];
  limits: CanteenPolicy['records'];
  samples: readonly Sample[];
  checks: readonly MorningCheck[];
  accompany: readonly Accompany[];
  disinfection: readonly Disinfection[];
  workers: readonly Worker[];
}

export interface Finding {
  /** Stable for the day: the module opens one case per key. */
  key: string;
  code: FindingCode;
  meal?: string;
  dish?: string;
  person?: string;
  /** Since when it is certain. */
  atMs: number;
  reason: Reason;
  /** The records it rests on. */
  evidence: string[];
}

const hhmm = (ms: number, dayStartMs: number) => {
  const m = Math.floor((ms - dayStartMs) / MIN);
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(((m % 60) + 60) % 60).padStart(2, '0')}`;
};
const norm = (dish: string) => dish.trim().replace(/\s+/g, ' ');
const mealName = (m: MinuteMeal) => ({ zh: m.name, en: m.nameEn ?? m.id });

/** When each meal's records are due. */
export function mealDeadlines(m: MinuteMeal, dayStartMs: number, limits: CanteenPolicy['records']) {
  return {
    serveFromMs: dayStartMs + m.fromMin * MIN,
    serveToMs: dayStartMs + m.toMin * MIN,
    sampleDueMs: dayStartMs + (m.fromMin + limits.sampleWithinMin) * MIN,
    accompanyDueMs: dayStartMs + (m.toMin + limits.accompanyGraceMin) * MIN,
    disinfectionDueMs: dayStartMs + m.fromMin * MIN,
  };
}

/** A worker's shift start: the roster's, else `shiftLeadMin` before the first meal; none when no meal is served. */
export function shiftStartMs(w: Worker, input: Pick<DayInput, 'dayStartMs' | 'meals' | 'limits'>): number | undefined {
  if (w.shiftStartMs !== undefined) return w.shiftStartMs;
  const first = input.meals[0];
  return first ? input.dayStartMs + (first.fromMin - input.limits.shiftLeadMin) * MIN : undefined;
}

/** One sample's own faults (weight, keeping time): certain once recorded. */
export function sampleFindings(s: Sample, limits: CanteenPolicy['records']): Finding[] {
  const out: Finding[] = [];
  if (s.grams < limits.sampleMinGrams)
    out.push({
      key: `sample_underweight:${s.id}`, code: 'sample_underweight', meal: s.meal, dish: s.dish, person: s.person, atMs: s.takenAtMs, evidence: [s.id],
      reason: { zh: `留样“${s.dish}”仅 ${s.grams} 克，不足 ${limits.sampleMinGrams} 克`, en: `sample of "${s.dish}" is ${s.grams} g, under ${limits.sampleMinGrams} g` },
    });
  const keptMs = s.keptUntilMs - s.takenAtMs;
  if (keptMs < limits.sampleMinKeepHours * HOUR) {
    const h = Math.floor((keptMs / HOUR) * 10) / 10;
    out.push({
      key: `sample_short_keep:${s.id}`, code: 'sample_short_keep', meal: s.meal, dish: s.dish, person: s.person, atMs: s.takenAtMs, evidence: [s.id],
      reason: { zh: `留样“${s.dish}”仅保存 ${h} 小时，不足 ${limits.sampleMinKeepHours} 小时`, en: `sample of "${s.dish}" kept ${h} h, under ${limits.sampleMinKeepHours} h` },
    });
  }
  return out;
}

/**
 * The findings certain at `nowMs`, and when to judge again (`nextAtMs`: the next deadline still
 * ahead, or null when the day has none left).
 */
export function judgeDay(input: DayInput, nowMs: number): { findings: Finding[]; nextAtMs: number | null } {
  const { dayStartMs, limits } = input;
  const findings: Finding[] = [];
  let next: number | null = null;
  /** A deadline: passed (true) or, if still ahead, the next wake-up. */
  const passed = (dueMs: number) => {
    if (nowMs > dueMs) return true;
    if (next === null || dueMs + 1 < next) next = dueMs + 1;
    return false;
  };

  for (const s of input.samples) findings.push(...sampleFindings(s, limits));

  for (const m of input.meals) {
    const due = mealDeadlines(m, dayStartMs, limits);
    const name = mealName(m);
    if (passed(due.sampleDueMs)) {
      const samples = input.samples.filter((s) => s.meal === m.id && s.takenAtMs >= dayStartMs && s.takenAtMs <= due.sampleDueMs);
      if (samples.length === 0)
        findings.push({
          key: `sample_missing:${m.id}`, code: 'sample_missing', meal: m.id, atMs: due.sampleDueMs + 1, evidence: [],
          reason: { zh: `${name.zh}无留样记录（应于 ${hhmm(due.sampleDueMs, dayStartMs)} 前）`, en: `${name.en}: no food sample recorded (due by ${hhmm(due.sampleDueMs, dayStartMs)})` },
        });
      else {
        const sampled = new Set(samples.map((s) => norm(s.dish)));
        const menu = new Set(input.samples.filter((s) => s.meal === m.id).flatMap((s) => (s.menu ?? []).map(norm)));
        for (const dish of [...menu].filter((d) => !sampled.has(d)))
          findings.push({
            key: `dish_unsampled:${m.id}:${dish}`, code: 'dish_unsampled', meal: m.id, dish, atMs: due.sampleDueMs + 1, evidence: samples.map((s) => s.id),
            reason: { zh: `${name.zh}菜品“${dish}”未留样`, en: `${name.en}: dish "${dish}" not sampled` },
          });
      }
    }
    if (passed(due.accompanyDueMs)) {
      const ok = input.accompany.some((a) => a.meal === m.id && a.atMs >= due.serveFromMs && a.atMs <= due.accompanyDueMs);
      if (!ok)
        findings.push({
          key: `accompany_missing:${m.id}`, code: 'accompany_missing', meal: m.id, atMs: due.accompanyDueMs + 1, evidence: [],
          reason: { zh: `${name.zh}无学校负责人陪餐记录`, en: `${name.en}: no school leader's accompanying-meal record` },
        });
    }
  }

  for (const w of input.workers) {
    const start = shiftStartMs(w, input);
    if (start === undefined || !passed(start)) continue;
    const mine = input.checks.filter((c) => c.person === w.person && c.atMs >= dayStartMs);
    if (mine.some((c) => c.atMs <= start)) continue;
    const late = mine.filter((c) => c.atMs > start).sort((a, b) => a.atMs - b.atMs)[0];
    findings.push({
      key: `morning_check_missing:${w.person}`, code: 'morning_check_missing', person: w.person, atMs: start + 1, evidence: late ? [late.id] : [],
      reason: late
        ? { zh: `从业人员 ${w.person} 晨检于 ${hhmm(late.atMs, dayStartMs)}，晚于上岗时间 ${hhmm(start, dayStartMs)}`, en: `worker ${w.person} was checked at ${hhmm(late.atMs, dayStartMs)}, after the shift started at ${hhmm(start, dayStartMs)}` }
        : { zh: `从业人员 ${w.person} 上岗（${hhmm(start, dayStartMs)}）前无晨检记录`, en: `worker ${w.person} has no morning check before the shift start (${hhmm(start, dayStartMs)})` },
    });
  }
  for (const c of input.checks)
    if (c.result === 'abnormal' && c.atMs >= dayStartMs)
      findings.push({
        key: `morning_check_abnormal:${c.id}`, code: 'morning_check_abnormal', person: c.person, atMs: c.atMs, evidence: [c.id],
        reason: {
          zh: `从业人员 ${c.person} 晨检异常${c.symptom ? `（${c.symptom}）` : ''}，不得从事接触直接入口食品的工作`,
          en: `worker ${c.person}'s morning check is abnormal${c.symptom ? ` (${c.symptom})` : ''}: must not handle food`,
        },
      });

  return { findings, nextAtMs: next };
}

export type Completeness = 'ok' | 'missing' | 'pending';
export interface MealCompleteness { meal: string; samples: Completeness; accompany: Completeness; disinfection: Completeness }

/** Contract §8 summary: per meal, whether its samples, leader and disinfection are on record. */
export function mealCompleteness(input: DayInput, nowMs: number): MealCompleteness[] {
  const { findings } = judgeDay({ ...input, workers: [] }, nowMs);
  return input.meals.map((m) => {
    const due = mealDeadlines(m, input.dayStartMs, input.limits);
    const mine = (code: FindingCode) => findings.some((f) => f.meal === m.id && f.code === code);
    const sampled = input.samples.some((s) => s.meal === m.id && s.takenAtMs >= input.dayStartMs && s.takenAtMs <= due.sampleDueMs);
    const accompanied = input.accompany.some((a) => a.meal === m.id && a.atMs >= due.serveFromMs && a.atMs <= due.accompanyDueMs);
    const disinfected = input.disinfection.some((d) => d.meal === m.id && d.atMs >= input.dayStartMs && d.atMs <= due.disinfectionDueMs);
    const sampleBad = mine('sample_missing') || mine('dish_unsampled') || mine('sample_underweight') || mine('sample_short_keep');
    return {
      meal: m.id,
      samples: sampleBad ? 'missing' : sampled ? 'ok' : 'pending',
      accompany: accompanied ? 'ok' : mine('accompany_missing') ? 'missing' : 'pending',
      disinfection: disinfected ? 'ok' : nowMs > due.disinfectionDueMs ? 'missing' : 'pending',
    };
  });
}

// Validation of one record before it is stored (the route has checked its schema): each refusal
// with a code and a reason that says what was wrong.

export type RecordRefusalCode = 'bad_time' | 'negative_weight' | 'zero_weight' | 'kept_before_taken' | 'unknown_meal';
export type ParsedRecord =
  | ({ kind: 'sample' } & Sample)
  | ({ kind: 'morning_check' } & MorningCheck)
  | ({ kind: 'accompany' } & Accompany)
  | ({ kind: 'disinfection' } & Disinfection);
export type RecordCheck = { ok: true; record: ParsedRecord } | { ok: false; code: RecordRefusalCode; reason: string };

/** Checks one record against the school's meals; `id` is the record's own or the one the caller assigns. */
export function checkRecord(r: CanteenRecord, meals: readonly MinuteMeal[], id: string): RecordCheck {
  const refuse = (code: RecordRefusalCode, reason: string): RecordCheck => ({ ok: false, code, reason });
  const time = (field: string, v: unknown): number | RecordCheck => {
    const t = parseWireTime(v);
    return t.ok ? t.ms : refuse('bad_time', `${field}: ${t.reason.replace(/^ts /, '')}`);
  };
  const meal = (m: string): RecordCheck | undefined =>
    meals.some((x) => x.id === m) ? undefined : refuse('unknown_meal', `meal "${m}" is not one this school serves (${meals.length ? meals.map((x) => x.id).join(', ') : 'it serves none'})`);
  const rid = r.id ?? id;
  switch (r.kind) {
    case 'sample': {
      if (!Number.isFinite(r.grams) || r.grams < 0) return refuse('negative_weight', `grams ${r.grams} is negative: a weight is at least 0`);
      if (r.grams === 0) return refuse('zero_weight', 'grams is 0: a sample of nothing is no sample');
      const taken = time('takenAt', r.takenAt);
      if (typeof taken !== 'number') return taken;
      const kept = time('keptUntil', r.keptUntil);
      if (typeof kept !== 'number') return kept;
      if (kept < taken) return refuse('kept_before_taken', `keptUntil (${new Date(kept).toISOString()}) is before takenAt (${new Date(taken).toISOString()})`);
      const bad = meal(r.meal);
      if (bad) return bad;
      const s: ParsedRecord = { kind: 'sample', id: rid, dish: norm(r.dish), meal: r.meal, grams: r.grams, takenAtMs: taken, keptUntilMs: kept, person: r.person };
      if (r.menu) s.menu = r.menu.map(norm);
      return { ok: true, record: s };
    }
    case 'morning_check': {
      const at = time('at', r.at);
      if (typeof at !== 'number') return at;
      const c: ParsedRecord = { kind: 'morning_check', id: rid, person: r.person, result: r.result, atMs: at };
      if (r.symptom?.trim()) c.symptom = r.symptom.trim();
      return { ok: true, record: c };
    }
    case 'accompany': {
      const at = time('at', r.at);
      if (typeof at !== 'number') return at;
      return meal(r.meal) ?? { ok: true, record: { kind: 'accompany', id: rid, leader: r.leader, meal: r.meal, atMs: at } };
    }
    case 'disinfection': {
      const at = time('at', r.at);
      if (typeof at !== 'number') return at;
      return meal(r.meal) ?? { ok: true, record: { kind: 'disinfection', id: rid, what: r.what, method: r.method, meal: r.meal, atMs: at } };
    }
  }
}
