/**
 * The canteen's gauges as time-series points (docs/influx-schema.md), pure. Numeric fields only
 * (stores that keep numbers lose nothing).
 *
 * - `canteen_cases`: a school's open and overdue cases, at every change (a case opens, closes or
 *   turns overdue): a step function a dashboard can chart without counting opened/closed points.
 * - `canteen_meal`: a meal's record completeness on a day (field `day`, as the number YYYYMMDD), at
 *   each judgement of that day (1 on record, 0 missing; a part still pending is left out). At the
 *   judgement's time, not the meal's: two judgements at one timestamp with different values would
 *   be ambiguous in a store that keeps duplicates (VictoriaMetrics keeps one of them, not the last).
 */
import { Point, line } from '../../core/points.js';
import type { MealCompleteness } from './records.js';

export function openCasesLine(school: string, region: string | undefined, counts: { open: number; overdue: number }, atMs: number): string {
  const p = new Point('canteen_cases').tag('school', school);
  if (region) p.tag('region', region);
  return line(p.intField('open', counts.open).intField('overdue', counts.overdue).timestamp(atMs));
}

const STATUS = { ok: 1, missing: 0 } as const;

export function mealLines(school: string, region: string | undefined, day: string, meals: readonly MealCompleteness[], atMs: number): string[] {
  const out: string[] = [];
  for (const m of meals) {
    const p = new Point('canteen_meal').tag('school', school).tag('meal', m.meal);
    if (region) p.tag('region', region);
    let fields = 0;
    for (const f of ['samples', 'accompany', 'disinfection'] as const) {
      const s = m[f];
      if (s === 'pending') continue;
      p.intField(f, STATUS[s]);
      fields++;
    }
    // Complete: every part on record (0 as soon as one is missing; absent while any is pending).
    if (m.samples === 'missing' || m.accompany === 'missing' || m.disinfection === 'missing') p.intField('complete', 0);
    else if (fields === 3) p.intField('complete', 1);
    if (fields === 0) continue; // nothing decided yet: no point
    out.push(line(p.intField('day', Number(day.replaceAll('-', ''))).timestamp(atMs)));
  }
  return out;
}
