/**
 * Loads and indexes the county's policy (`POLICY`, contract §7): the targets' thresholds and
 * scope, the school calendar, the open and peak windows. Like the registry, everything that can
 * be wrong with it is found here, at start, and reported as one ConfigError naming the file, the
 * JSON pointer and the fault; the targets rules then trust the index and ask it pure questions.
 */
import { readFileSync } from 'node:fs';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { ConfigError } from './config-error.js';
import { jsonErrorPlace } from './config/json-file.js';
import { Policy, TARGET_IDS, type AiRule, type CanteenPolicy, type Meal, type PeakWindow, type Scope, type TargetId, type TimeWindow } from './contract/policy.js';
import type { AiKind } from './contract/mqtt.js';
import type { RegistrySchool } from './contract/registry.js';
import { Calendar, dayNumber, dayString, isoWeekday, parseHhmm, parseUtcOffset, type DayRange } from './domain/calendar.js';
import type { RegistryIndex } from './registry.js';

export type { Policy, TargetId, CanteenPolicy, AiRule, Meal } from './contract/policy.js';

/** A meal with its serving window in minutes since local midnight, `fromMin` inclusive, `toMin` exclusive. */
export type MinuteMeal = Meal & { fromMin: number; toMin: number };

/** A window with its minutes since local midnight, `fromMin` inclusive, `toMin` exclusive. */
export type MinuteWindow = TimeWindow & { fromMin: number; toMin: number };
export type MinutePeak = PeakWindow & { fromMin: number; toMin: number };
export interface SchoolWindows {
  open: readonly MinuteWindow[];
  peaks: readonly MinutePeak[];
}

export interface PolicyIndex {
  /** The file as loaded, defaults filled. */
  policy: Policy;
  /** Where it came from (file path), for messages. */
  source: string;
  /** The county's offset from UTC in ms. */
  offsetMs: number;
  /** What was set aside while loading (the demo policy's school entries on another registry). */
  warnings: readonly string[];
  /** The local date (`YYYY-MM-DD`) an instant falls on. */
  localDay(ms: number): string;
  /** Minutes since local midnight (0..1439). */
  minuteOfDay(ms: number): number;
  /** The instant a local date begins. */
  dayStartMs(day: string): number;
  isSchoolDay(day: string): boolean;
  /** The most recent school day strictly before `day`, or undefined if none within the terms. */
  previousSchoolDay(day: string): string | undefined;
  /** The school's own windows, else the county's (sorted by start). */
  windowsFor(schoolId: string): SchoolWindows;
  /** Is the school judged on this target? (A school with no `area` is in scope of any area list.) */
  inScope(target: TargetId, school: Pick<RegistrySchool, 'id' | 'area'>): boolean;
  /** The target's thresholds. */
  target<T extends TargetId>(id: T): Policy['targets'][T];
  /** Contract §8: the canteen section, defaults filled. */
  canteen: CanteenPolicy;
  /** The AI kind's rule (areas, minimum confidence, dedupe window, deadline). */
  aiRule(kind: AiKind): AiRule;
  /**
   * The meals a school's canteen serves on a school day, by serving time: its own list
   * (`canteen.schoolMeals`), else `boardingMeals` when the registry gives it boarders, else `dayMeals`.
   * An unknown school gets the day meals.
   */
  mealsFor(schoolId: string): readonly MinuteMeal[];
}

export interface PolicyOptions {
  /**
   * `refuse` (default): a school override or exclusion naming a school the registry does not have
   * stops the gateway. `ignore`: set aside with a warning (the demo county's policy, used with
   * another registry because POLICY was not set).
   */
  unknownSchools?: 'refuse' | 'ignore';
}

const checker = TypeCompiler.Compile(Policy);

/** Reads, parses, fills defaults, validates and indexes a policy file. Throws ConfigError on any fault. */
export function loadPolicy(path: string, registry: RegistryIndex, options: PolicyOptions = {}): PolicyIndex {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(path, '(file)', `cannot read the policy file (${e.code ?? e.message})`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, jsonErrorPlace(text, err as Error), `invalid JSON: ${(err as Error).message}`);
  }
  return indexPolicy(data, path, registry, options);
}

/** Validates an already parsed policy (defaults are filled in place) and indexes it. */
export function indexPolicy(data: unknown, source: string, registry: RegistryIndex, options: PolicyOptions = {}): PolicyIndex {
  const filled = typeof data === 'object' && data !== null && !Array.isArray(data) ? Value.Default(Policy, data) : data;
  if (!checker.Check(filled)) {
    const first = checker.Errors(filled).First()!;
    throw new ConfigError(source, first.path || '(root)', describe(first));
  }
  const policy = filled as Policy;
  const fail = (where: string, problem: string): never => {
    throw new ConfigError(source, where, problem);
  };
  const warnings: string[] = [];

  const offsetMs = parseUtcOffset(policy.utcOffset) ?? fail('/utcOffset', `"${policy.utcOffset}" is not an offset like +08:00`);

  // The calendar.
  const cal = policy.calendar;
  const date = (where: string, text: string) => dayNumber(text) ?? fail(where, `"${text}" is not a real date`);
  const range = (where: string, r: { name: string; from: string; to: string }, what: string): DayRange => {
    const from = date(`${where}/from`, r.from);
    const to = date(`${where}/to`, r.to);
    if (to < from) fail(`${where}/to`, `${what} "${r.name}" ends (${r.to}) before it starts (${r.from})`);
    return { from, to };
  };
  const terms = cal.terms.map((t, i) => ({ ...range(`/calendar/terms/${i}`, t, 'term'), i, name: t.name }));
  const byStart = [...terms].sort((a, b) => a.from - b.from);
  for (let k = 1; k < byStart.length; k++) {
    const [a, b] = [byStart[k - 1], byStart[k]];
    if (b.from <= a.to) fail(`/calendar/terms/${b.i}`, `term "${b.name}" (${dayString(b.from)}..${dayString(b.to)}) overlaps term "${a.name}" (${dayString(a.from)}..${dayString(a.to)})`);
  }
  const termOf = (n: number) => terms.find((t) => n >= t.from && n <= t.to);

  const seenWeekday = new Map<number, number>();
  cal.weekdays.forEach((w, i) => {
    const prev = seenWeekday.get(w);
    if (prev !== undefined) fail(`/calendar/weekdays/${i}`, `weekday ${w} is listed twice (already at /calendar/weekdays/${prev})`);
    seenWeekday.set(w, i);
  });

  const holidays = cal.holidays.map((h, i) => {
    const where = `/calendar/holidays/${i}`;
    const r = range(where, h, 'holiday');
    if (!terms.some((t) => r.from <= t.to && r.to >= t.from))
      fail(where, `holiday "${h.name}" (${h.from}..${h.to}) is outside every term: only days inside a term can be school days, so it changes nothing (a wrong year?)`);
    return r;
  });

  const seenExtra = new Map<number, number>();
  const extraSchoolDays = cal.extraSchoolDays.map((d, i) => {
    const where = `/calendar/extraSchoolDays/${i}`;
    const n = date(where, d);
    if (!termOf(n)) fail(where, `extra school day ${d} is outside every term`);
    if (seenWeekday.has(isoWeekday(n))) fail(where, `extra school day ${d} is a weekday (${isoWeekday(n)}) that is already a school day`);
    const h = cal.holidays.findIndex((_, k) => n >= holidays[k].from && n <= holidays[k].to);
    if (h >= 0) fail(where, `extra school day ${d} is inside holiday "${cal.holidays[h].name}" (/calendar/holidays/${h})`);
    const prev = seenExtra.get(n);
    if (prev !== undefined) fail(where, `extra school day ${d} is listed twice (already at /calendar/extraSchoolDays/${prev})`);
    seenExtra.set(n, i);
    return n;
  });

  const calendar = new Calendar({ offsetMs, terms, weekdays: cal.weekdays, holidays, extraSchoolDays });

  // The windows: the county's, then each school's own.
  const county = windows(policy.windows.open, policy.windows.peaks, '/windows', fail);
  const perSchool = new Map<string, SchoolWindows>();
  for (const [id, o] of Object.entries(policy.schools)) {
    const where = `/schools/${pointerKey(id)}`;
    if (!registry.schools.has(id)) {
      const problem = `window override for school "${id}", which is not in the registry (${registry.source})`;
      if (options.unknownSchools === 'ignore') {
        warnings.push(`${source} at ${where}: ${problem}; ignored`);
        continue;
      }
      fail(where, problem);
    }
    perSchool.set(id, windows(o.open ?? policy.windows.open, o.peaks ?? policy.windows.peaks, where, fail, o.open !== undefined, o.peaks !== undefined));
  }

  // Scope per target.
  const scopes = new Map<TargetId, { areas?: Set<string>; exclude: Set<string> }>();
  for (const t of TARGET_IDS) {
    const scope: Scope | undefined = policy.targets[t].scope;
    const exclude = new Set<string>();
    scope?.exclude?.forEach((id, i) => {
      if (!registry.schools.has(id)) {
        const where = `/targets/${t}/scope/exclude/${i}`;
        const problem = `excludes school "${id}", which is not in the registry (${registry.source})`;
        if (options.unknownSchools === 'ignore') return void warnings.push(`${source} at ${where}: ${problem}; ignored`);
        fail(where, problem);
      }
      exclude.add(id);
    });
    scopes.set(t, { areas: scope?.areas ? new Set(scope.areas) : undefined, exclude });
  }

  // Canteens (contract §8).
  const canteen = policy.canteen;
  unique(canteen.requiredAreas, '/canteen/requiredAreas', 'area', fail);
  for (const [kind, rule] of Object.entries(canteen.ai)) unique(rule.areas, `/canteen/ai/${kind}/areas`, 'area', fail);
  const mealIds = new Map<string, number>();
  const meals = canteen.meals.map((m, i) => {
    const where = `/canteen/meals/${i}`;
    if (mealIds.has(m.id)) fail(`${where}/id`, `meal id "${m.id}" is used twice (already at /canteen/meals/${mealIds.get(m.id)})`);
    mealIds.set(m.id, i);
    const fromMin = parseHhmm(m.from)!;
    const toMin = parseHhmm(m.to)!;
    if (toMin <= fromMin) fail(`${where}/to`, `meal "${m.id}" is served ${m.from}–${m.to}: it ends at or before it starts (a meal cannot cross midnight)`);
    return { ...m, fromMin, toMin, i };
  });
  const byServe = [...meals].sort((a, b) => a.fromMin - b.fromMin);
  for (let k = 1; k < byServe.length; k++) {
    const [a, b] = [byServe[k - 1], byServe[k]];
    if (b.fromMin < a.toMin) fail(`/canteen/meals/${b.i}`, `meal "${b.id}" (${b.from}–${b.to}) overlaps meal "${a.id}" (${a.from}–${a.to}, /canteen/meals/${a.i})`);
  }
  const mealById = new Map(byServe.map(({ i: _i, ...m }) => [m.id, m as MinuteMeal]));
  const mealList = (ids: string[], where: string): readonly MinuteMeal[] => {
    unique(ids, where, 'meal', fail);
    ids.forEach((id, i) => {
      if (!mealById.has(id)) fail(`${where}/${i}`, `meal "${id}" is not one of the county's meals (/canteen/meals: ${[...mealIds.keys()].join(', ')})`);
    });
    return [...ids].map((id) => mealById.get(id)!).sort((a, b) => a.fromMin - b.fromMin);
  };
  const boardingMeals = mealList(canteen.boardingMeals, '/canteen/boardingMeals');
  const dayMeals = mealList(canteen.dayMeals, '/canteen/dayMeals');
  const schoolMeals = new Map<string, readonly MinuteMeal[]>();
  for (const [id, list] of Object.entries(canteen.schoolMeals)) {
    const where = `/canteen/schoolMeals/${pointerKey(id)}`;
    if (!registry.schools.has(id)) {
      const problem = `meals for school "${id}", which is not in the registry (${registry.source})`;
      if (options.unknownSchools === 'ignore') {
        warnings.push(`${source} at ${where}: ${problem}; ignored`);
        continue;
      }
      fail(where, problem);
    }
    schoolMeals.set(id, mealList(list, where));
  }

  return {
    canteen,
    aiRule: (kind) => canteen.ai[kind],
    mealsFor(schoolId) {
      const own = schoolMeals.get(schoolId);
      if (own) return own;
      return (registry.schools.get(schoolId)?.boarders ?? 0) > 0 ? boardingMeals : dayMeals;
    },
    policy,
    source,
    offsetMs,
    warnings,
    localDay: (ms) => calendar.localDay(ms),
    minuteOfDay: (ms) => calendar.minuteOfDay(ms),
    dayStartMs: (day) => calendar.dayStartMs(day),
    isSchoolDay: (day) => calendar.isSchoolDay(day),
    previousSchoolDay: (day) => calendar.previousSchoolDay(day),
    windowsFor: (schoolId) => perSchool.get(schoolId) ?? county,
    inScope(target, school) {
      const s = scopes.get(target)!;
      if (s.exclude.has(school.id)) return false;
      return s.areas === undefined || school.area === undefined || s.areas.has(school.area);
    },
    target: (id) => policy.targets[id],
  };
}

/** Checks one set of windows (end after start; no two open windows overlap, nor two peaks) and adds minutes. */
function windows(
  open: TimeWindow[],
  peaks: PeakWindow[],
  at: string,
  fail: (where: string, problem: string) => never,
  checkOpen = true,
  checkPeaks = true,
): SchoolWindows {
  const withMinutes = <W extends TimeWindow>(list: W[], where: string, what: string, check: boolean) => {
    const out = list.map((w, i) => {
      const fromMin = parseHhmm(w.from)!;
      const toMin = parseHhmm(w.to)!;
      if (check && toMin <= fromMin)
        fail(`${where}/${i}/to`, `${what} ${w.from}–${w.to} ends at or before it starts (a window cannot cross midnight)`);
      return { ...w, fromMin, toMin, i };
    });
    const sorted = out.sort((a, b) => a.fromMin - b.fromMin);
    for (let k = 1; check && k < sorted.length; k++) {
      const [a, b] = [sorted[k - 1], sorted[k]];
      if (b.fromMin < a.toMin) fail(`${where}/${b.i}`, `${what} ${b.from}–${b.to} overlaps ${what} ${a.from}–${a.to} (${where}/${a.i})`);
    }
    return sorted.map(({ i: _i, ...w }) => w);
  };
  const openW = withMinutes(open, `${at}/open`, 'open window', checkOpen);
  const peakW = withMinutes(peaks, `${at}/peaks`, 'peak', checkPeaks);
  if (checkPeaks) {
    const ids = new Map<string, number>();
    peaks.forEach((p, i) => {
      if (ids.has(p.id)) fail(`${at}/peaks/${i}/id`, `peak id "${p.id}" is used twice (already at ${at}/peaks/${ids.get(p.id)})`);
      ids.set(p.id, i);
    });
  }
  return { open: openW as MinuteWindow[], peaks: peakW as MinutePeak[] };
}

/** Refuses a list that names a value twice. */
function unique(list: readonly string[], where: string, what: string, fail: (where: string, problem: string) => never): void {
  const seen = new Map<string, number>();
  list.forEach((v, i) => {
    if (seen.has(v)) fail(`${where}/${i}`, `${what} "${v}" is listed twice (already at ${where}/${seen.get(v)})`);
    seen.set(v, i);
  });
}

const pointerKey = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** TypeBox's messages made specific. */
function describe(e: ValueError): string {
  const got = e.value === undefined ? '' : ` (got ${truncate(JSON.stringify(e.value))})`;
  const key = e.path.slice(e.path.lastIndexOf('/') + 1).replace(/~1/g, '/').replace(/~0/g, '~');
  const consts = e.type === ValueErrorType.Union && Array.isArray(e.schema.anyOf) ? e.schema.anyOf.map((s: { const?: unknown }) => s.const) : [];
  if (consts.length && consts.every((c: unknown) => c !== undefined))
    return `must be one of ${consts.map((c: unknown) => JSON.stringify(c)).join(', ')}${got}`;
  if (e.type === ValueErrorType.ObjectRequiredProperty) return `required field "${key}" is missing`;
  if (e.type === ValueErrorType.ObjectAdditionalProperties) return `unknown field "${key}"`;
  if (e.type === ValueErrorType.StringPattern) {
    const d = (e.schema as { description?: string }).description;
    return `"${truncate(String(e.value), 80)}" is not ${d ? `a ${d}` : `valid (must match ${(e.schema as { pattern?: string }).pattern})`}`;
  }
  return `${e.message.toLowerCase()}${got}`;
}

const truncate = (s: string, n = 60) => (s.length > n ? `${s.slice(0, n)}…` : s);
