/**
 * What the city keeps of each county (decision 0010), from the county's forwarded feed frames:
 * its open alarms (`alarm` frames), each school's status per target (`target` frames: the six
 * rates are the share of in-scope schools that meet each target) and its canteen cases (`case`
 * frames). Frame types the city does not show are stored as events and otherwise ignored.
 */
import { TARGET_IDS, type TargetId } from '../../contract/policy.js';

export interface CityAlarm {
  id: string;
  school: string;
  device?: string;
  /** The device's own id of the press (contract §1). */
  sourceId?: string;
  kind?: string;
  state: string;
  raisedAt?: string;
  test?: boolean;
}
export interface CityTarget {
  school: string;
  target: TargetId;
  status: string;
  inScope: boolean;
}
export interface CityCase {
  id: string;
  school: string;
  state: string;
  overdue: boolean;
}

/** One projected item, keyed for the `city_items` table. */
export type CityItem =
  | { kind: 'alarm'; key: string; open: boolean; value: CityAlarm }
  | { kind: 'target'; key: string; open: boolean; value: CityTarget }
  | { kind: 'case'; key: string; open: boolean; value: CityCase };

const OPEN_ALARM_STATES = new Set(['raised', 'acknowledged', 'dispatched']);

/** The item a frame sets, or undefined when the city does not project this frame. */
export function itemOf(county: string, type: string, data: unknown): CityItem | undefined {
  const d = data as Record<string, unknown>;
  if (typeof d !== 'object' || d === null) return undefined;
  if (type === 'alarm' && typeof d.id === 'string' && typeof d.state === 'string' && typeof d.school === 'string') {
    const value: CityAlarm = { id: d.id, school: d.school, device: d.device as string | undefined, sourceId: d.sourceId as string | undefined, state: d.state, kind: d.kind as string | undefined, raisedAt: d.raisedAt as string | undefined, test: d.test === true };
    return { kind: 'alarm', key: `${county}/alarm/${d.id}`, open: OPEN_ALARM_STATES.has(d.state), value };
  }
  if (type === 'target' && typeof d.school === 'string' && (TARGET_IDS as readonly string[]).includes(d.target as string) && typeof d.status === 'string') {
    const value: CityTarget = { school: d.school, target: d.target as TargetId, status: d.status, inScope: d.inScope !== false };
    return { kind: 'target', key: `${county}/target/${d.school}/${d.target}`, open: true, value };
  }
  if (type === 'case' && typeof d.id === 'string' && typeof d.school === 'string' && typeof d.state === 'string') {
    const value: CityCase = { id: d.id, school: d.school, state: d.state, overdue: d.overdue === true };
    return { kind: 'case', key: `${county}/case/${d.id}`, open: d.state !== 'closed', value };
  }
  return undefined;
}

export class CountyState {
  readonly alarms = new Map<string, CityAlarm>();
  readonly targets = new Map<string, CityTarget>();
  readonly cases = new Map<string, CityCase>();
  lastSeq = 0;
  lastAt: number | null = null;

  set(item: CityItem): void {
    const map = (item.kind === 'alarm' ? this.alarms : item.kind === 'target' ? this.targets : this.cases) as Map<string, unknown>;
    if (item.open) map.set(item.key, item.value);
    else map.delete(item.key);
  }

  /** Per target: in-scope schools with a known status, how many meet it, and the rate (null: none known yet). */
  rates(school?: string): Record<TargetId, { met: number; known: number; rate: number | null }> {
    const out = Object.fromEntries(TARGET_IDS.map((t) => [t, { met: 0, known: 0, rate: null as number | null }])) as Record<TargetId, { met: number; known: number; rate: number | null }>;
    for (const t of this.targets.values()) {
      if (!t.inScope || t.status === 'unknown' || (school !== undefined && t.school !== school)) continue;
      out[t.target].known++;
      if (t.status === 'met') out[t.target].met++;
    }
    for (const r of Object.values(out)) r.rate = r.known === 0 ? null : r.met / r.known;
    return out;
  }

  openAlarms(school?: string): CityAlarm[] {
    return [...this.alarms.values()].filter((a) => !a.test && (school === undefined || a.school === school));
  }

  canteen(school?: string): { openCases: number; overdueCases: number } {
    let openCases = 0;
    let overdueCases = 0;
    for (const c of this.cases.values()) {
      if (school !== undefined && c.school !== school) continue;
      openCases++;
      if (c.overdue) overdueCases++;
    }
    return { openCases, overdueCases };
  }
}
