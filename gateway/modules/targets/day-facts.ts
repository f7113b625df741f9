/**
 * Folding device events into a school's per-day facts (the targets module's projection): a
 * check-in lands on its post in its local day; a gate's opening is split at local midnights so
 * each day holds its own minutes. Pure: the module decides when, this decides how.
 */
import type { CheckinRole } from '../../contract/mqtt.js';
import type { DayFacts, Opening } from './facts.js';

/** The calendar arithmetic the facts need (the policy's local time). */
export interface LocalClock {
  localDay(ms: number): string;
  minuteOfDay(ms: number): number;
  dayStartMs(day: string): number;
}

export const emptyDay = (day: string): DayFacts => ({ day, checkins: {}, openings: {} });

/** Check-ins kept per post and day: a terminal stuck in a loop cannot grow a day without bound. */
export const MAX_CHECKINS_PER_POST_DAY = 500;

export function addCheckin(d: DayFacts, post: string, c: { minute: number; role: CheckinRole; person?: string; ref: string }): boolean {
  const list = (d.checkins[post] ??= []);
  if (list.length >= MAX_CHECKINS_PER_POST_DAY) return false;
  list.push(c);
  return true;
}

/** The parts of an opening [fromMs, toMs) on each local day it touches, as minutes of that day. */
export function splitByDay(clock: LocalClock, fromMs: number, toMs: number, ref: string): { day: string; opening: Opening }[] {
  const out: { day: string; opening: Opening }[] = [];
  let start = fromMs;
  while (start < toMs) {
    const day = clock.localDay(start);
    const nextMidnight = clock.dayStartMs(day) + 86_400_000;
    const end = Math.min(toMs, nextMidnight);
    out.push({ day, opening: { from: clock.minuteOfDay(start), to: end === nextMidnight ? 24 * 60 : clock.minuteOfDay(end), ref } });
    start = end;
  }
  return out;
}
