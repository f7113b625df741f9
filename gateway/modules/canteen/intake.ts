/**
 * One way in for a canteen record (contract §8), whatever the transport: `POST /api/canteen/records`
 * and a canteen terminal's MQTT `record` topic share these checks, so a record is refused for the
 * same reasons (the HTTP status code, the MQTT reason on `_gateway/rejected`) and stored and judged
 * identically. Pure: the registry, the school's meals and the clock come in.
 */
import type { CanteenRecord } from '../../contract/canteen.js';
import type { RegistryIndex } from '../../registry.js';
import type { PolicyIndex } from '../../policy.js';
import { checkRecord, type ParsedRecord, type RecordRefusalCode } from './records.js';

/** A record may be dated this far ahead of the gateway's clock (a terminal's clock). */
export const FUTURE_SLACK_MS = 5 * 60_000;

export type Intake =
  | { ok: true; school: string; canteen?: string; record: ParsedRecord; atMs: number }
  | { ok: false; code: RecordRefusalCode | 'bad_request'; reason: string };

export function intakeRecord(b: CanteenRecord, registry: RegistryIndex, policy: Pick<PolicyIndex, 'mealsFor'>, nowMs: number, newId: () => string): Intake {
  const school = registry.schools.get(b.school);
  if (!school) return { ok: false, code: 'bad_request', reason: `school: no school "${b.school}" in the registry` };
  if (b.canteen !== undefined && !(school.canteens ?? []).some((c) => c.id === b.canteen))
    return { ok: false, code: 'bad_request', reason: `canteen: school ${b.school} has no canteen "${b.canteen}" (it has ${(school.canteens ?? []).map((c) => c.id).join(', ') || 'none'})` };
  const checked = checkRecord(b, policy.mealsFor(b.school), b.id ?? newId());
  if (!checked.ok) return checked;
  const r = checked.record;
  const atMs = r.kind === 'sample' ? r.takenAtMs : r.atMs;
  if (atMs > nowMs + FUTURE_SLACK_MS) return { ok: false, code: 'bad_time', reason: `${r.kind === 'sample' ? 'takenAt' : 'at'}: ${new Date(atMs).toISOString()} is in the future` };
  return { ok: true, school: b.school, ...(b.canteen !== undefined ? { canteen: b.canteen } : {}), record: r, atMs };
}
