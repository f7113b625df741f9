/**
 * The daily report's facts, read from the canteen's tables (any past day, not only the days the
 * module keeps in memory): the day's AI counts, the school's cases, and its records of the day and
 * of the ROSTER_DAYS before (the workers expected on shift), judged as the module judges them.
 */
import type { Case } from '../../contract/canteen.js';
import type { AiKind } from '../../contract/mqtt.js';
import type { PolicyIndex } from '../../policy.js';
import type { RegistryIndex } from '../../registry.js';
import type { Store } from '../../store/store.js';
import type { CanteenModule } from './index.js';
import { ROSTER_DAYS } from './index.js';
import type { Accompany, DayInput, Disinfection, MorningCheck, ParsedRecord, Sample } from './records.js';
import type { SchoolDayFacts } from './report.js';

const DAY_MS = 86_400_000;

export async function reportFacts(d: { store: Store; registry: RegistryIndex; policy: PolicyIndex; canteen: CanteenModule }, date: string, school?: string) {
  const { store, registry, policy } = d;
  const dayStartMs = policy.dayStartMs(date);
  const dayEndMs = dayStartMs + DAY_MS;
  const rosterFrom = policy.localDay(dayStartMs - ROSTER_DAYS * DAY_MS);
  const out: { facts: SchoolDayFacts; meals: ReturnType<PolicyIndex['mealsFor']> }[] = [];
  for (const summary of d.canteen.summary(date, school)) {
    const s = summary.school;
    const reg = registry.schools.get(s)!;
    const ai = await store.get<{ counts: Partial<Record<AiKind, number>> }>('canteen_ai_days', `${s}|${date}`);
    const cases = await store.find<Case>('canteen_cases', { where: [['school', '=', s], ['opened', '<', dayEndMs]] });
    const rows = await store.find<{ record: ParsedRecord; day: string }>('canteen_records', { where: [['school', '=', s], ['day', '>=', rosterFrom], ['day', '<=', date]], orderBy: [['at', 'asc']] });
    const ever = rows.length > 0 || (await store.find('canteen_records', { where: [['school', '=', s], ['day', '<=', date]], limit: 1 })).length > 0;
    const meals = policy.isSchoolDay(date) ? policy.mealsFor(s) : [];
    // A record with the same id replaces the earlier one (as the module keeps them).
    const mine = new Map<string, ParsedRecord>();
    for (const r of rows) if (r.day === date) mine.set(r.record.id, r.record);
    const of = <K extends ParsedRecord['kind']>(kind: K) => [...mine.values()].filter((r) => r.kind === kind);
    const workers = new Set(rows.filter((r) => r.record.kind === 'morning_check').map((r) => (r.record as MorningCheck).person));
    const records: DayInput = {
      dayStartMs,
      meals,
      limits: policy.canteen.records,
      samples: of('sample') as Sample[],
      checks: of('morning_check') as MorningCheck[],
      accompany: of('accompany') as Accompany[],
      disinfection: of('disinfection') as Disinfection[],
      workers: [...workers].map((person) => ({ person })),
    };
    out.push({
      facts: { school: s, name: reg.name, ...(reg.nameEn ? { nameEn: reg.nameEn } : {}), coverage: summary.coverage, aiEvents: ai?.counts ?? {}, cases, records, recording: ever },
      meals: policy.mealsFor(s),
    });
  }
  return out;
}
