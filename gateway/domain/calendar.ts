/**
 * The school calendar's arithmetic (contract §7), pure and allocation-light: the targets rules call
 * these on every evaluation. Days are local dates `YYYY-MM-DD` in the county's fixed UTC offset
 * (China: +08:00, no daylight saving); internally a day is its number since 1970-01-01.
 */

export const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/** `+08:00` → 28,800,000; `-03:30` → -12,600,000. Undefined when it is not `±HH:MM`. */
export function parseUtcOffset(text: string): number | undefined {
  const m = /^([+-])([01][0-9]):([0-5][0-9])$/.exec(text);
  if (!m) return undefined;
  const ms = (Number(m[2]) * 60 + Number(m[3])) * MINUTE_MS;
  return m[1] === '-' ? -ms : ms;
}

/** `HH:MM` → minutes since local midnight; undefined when it is not a time of day. */
export function parseHhmm(text: string): number | undefined {
  const m = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(text);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

/** `YYYY-MM-DD` → day number; undefined for a malformed or impossible date (2026-02-30). */
export function dayNumber(day: string): number | undefined {
  if (day.length !== 10 || day[4] !== '-' || day[7] !== '-') return undefined;
  const y = Number(day.slice(0, 4));
  const mo = Number(day.slice(5, 7));
  const d = Number(day.slice(8, 10));
  if (!Number.isInteger(y) || !Number.isInteger(mo) || !Number.isInteger(d) || mo < 1 || mo > 12 || d < 1) return undefined;
  const ms = Date.UTC(y, mo - 1, d);
  const check = new Date(ms);
  if (check.getUTCDate() !== d || check.getUTCMonth() !== mo - 1) return undefined;
  return ms / DAY_MS;
}

/** Day number → `YYYY-MM-DD`. */
export function dayString(n: number): string {
  const dt = new Date(n * DAY_MS);
  const m = dt.getUTCMonth() + 1;
  const d = dt.getUTCDate();
  return `${dt.getUTCFullYear()}-${m < 10 ? '0' : ''}${m}-${d < 10 ? '0' : ''}${d}`;
}

/** ISO weekday (1 = Monday … 7 = Sunday) of a day number (1970-01-01 was a Thursday). */
export const isoWeekday = (n: number): number => ((((n + 3) % 7) + 7) % 7) + 1;

/** The local day number an instant falls on. */
export const localDayNumber = (ms: number, offsetMs: number): number => Math.floor((ms + offsetMs) / DAY_MS);

/** Minutes since local midnight (0..1439) of an instant. */
export function minuteOfDay(ms: number, offsetMs: number): number {
  const local = (ms + offsetMs) % DAY_MS;
  return Math.floor((local < 0 ? local + DAY_MS : local) / MINUTE_MS);
}

export interface DayRange {
  from: number;
  to: number;
}

export interface CalendarSpec {
  offsetMs: number;
  /** Inclusive day-number ranges. */
  terms: DayRange[];
  /** ISO weekdays that are school days. */
  weekdays: readonly number[];
  holidays: DayRange[];
  extraSchoolDays: number[];
}

/** A calendar compiled once: every school day of every term, sorted, for O(1) and O(log n) look-ups. */
export class Calendar {
  readonly offsetMs: number;
  private readonly schoolDays: Int32Array;
  private readonly schoolDaySet: Set<number>;

  constructor(spec: CalendarSpec) {
    this.offsetMs = spec.offsetMs;
    const weekday = new Array<boolean>(8).fill(false);
    for (const w of spec.weekdays) weekday[w] = true;
    const extra = new Set(spec.extraSchoolDays);
    const holiday = (n: number) => spec.holidays.some((h) => n >= h.from && n <= h.to);
    const days: number[] = [];
    for (const t of [...spec.terms].sort((a, b) => a.from - b.from))
      for (let n = t.from; n <= t.to; n++) if ((weekday[isoWeekday(n)] || extra.has(n)) && !holiday(n)) days.push(n);
    this.schoolDays = Int32Array.from(days);
    this.schoolDaySet = new Set(days);
  }

  localDay(ms: number): string {
    return dayString(localDayNumber(ms, this.offsetMs));
  }

  minuteOfDay(ms: number): number {
    return minuteOfDay(ms, this.offsetMs);
  }

  /** The instant local midnight begins `day`. Throws for a malformed date (a programming error). */
  dayStartMs(day: string): number {
    return this.num(day) * DAY_MS - this.offsetMs;
  }

  isSchoolDay(day: string): boolean {
    const n = dayNumber(day);
    return n !== undefined && this.schoolDaySet.has(n);
  }

  /** The most recent school day strictly before `day`, or undefined if no term has one. */
  previousSchoolDay(day: string): string | undefined {
    const n = this.num(day);
    const a = this.schoolDays;
    let lo = 0;
    let hi = a.length; // first index with a[i] >= n
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid] < n) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? undefined : dayString(a[lo - 1]);
  }

  /** How many school days the calendar holds (all terms). */
  get size(): number {
    return this.schoolDays.length;
  }

  private num(day: string): number {
    const n = dayNumber(day);
    if (n === undefined) throw new Error(`"${day}" is not a date (YYYY-MM-DD)`);
    return n;
  }
}
