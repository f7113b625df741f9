/**
 * The targets module's slice (contract §7, the 6 × 100%): each in-scope school's status per
 * target, and the county's six rates. Loaded from the snapshot's `targets`; a `target` frame moves
 * one school's status on one target, and the rates are counted again from the per-school statuses
 * at once, so the wall shows the new figure without waiting for the next snapshot.
 */
import type { FeedFrame, Snapshot, TargetRateView } from '../../gateway/contract/api.js';
import type { TargetId } from '../../gateway/contract/policy.js';
import type { Slice } from './slice.js';

export type TargetStatus = 'met' | 'not_met' | 'unknown';

/** The six targets, in the contract's order (a type-only tie to the gateway's list: no schema library in the bundle). */
export const TARGET_ORDER = ['closed_campus', 'guard_posts', 'security_guards', 'hard_barriers', 'one_key_alarm', 'video_networked'] as const satisfies readonly TargetId[];

/** One target's county figure, as GET /api/targets and the snapshot give it. */
export type TargetRate = TargetRateView;

/** A `target` delta: one school's verdict on one target changed (status, or whether it is in scope). */
export interface TargetChange {
  school: string;
  target: string;
  status: TargetStatus;
  previous: TargetStatus | null;
  inScope: boolean;
  since: string;
  reasons: { zh: string; en: string }[];
}

export interface TargetsSlice {
  /** The six rates in display order; empty before the gateway has sent any. */
  rates: TargetRate[];
  /** School id → target id → status, in-scope verdicts only. */
  schools: Record<string, Partial<Record<string, TargetStatus>>>;
  /** When the last change arrived (the frame's `since`), for the panel's "updated" line; null before any. */
  changedAt: string | null;
}

/** What the snapshot carries under `targets` (the targets module), checked field by field: a feed is input. */
interface TargetsSnapshot {
  rates?: TargetRate[];
  schools?: Record<string, Partial<Record<string, TargetStatus>>>;
}

const STATUSES: readonly string[] = ['met', 'not_met', 'unknown'];
const isStatus = (s: unknown): s is TargetStatus => typeof s === 'string' && STATUSES.includes(s);

export const initialTargets = (): TargetsSlice => ({ rates: [], schools: {}, changedAt: null });

/** A rate with no counts: the name from `named` when it has one, else the id. */
function emptyRate(id: string, named?: TargetRate): TargetRate {
  return { id, name: named?.name ?? id, nameEn: named?.nameEn ?? id, rate: null, met: 0, notMet: 0, unknown: 0, inScope: 0 };
}

/**
 * The rates counted from the per-school statuses, in the order (and with the names) of `named`,
 * plus any of the six targets (or a target a school has) that `named` lacks. `unknown` never
 * counts as met.
 */
export function countRates(schools: TargetsSlice['schools'], named: readonly TargetRate[]): TargetRate[] {
  const ids: string[] = named.map((r) => r.id);
  const extra = (id: string) => {
    if (!ids.includes(id)) ids.push(id);
  };
  if (named.length === 0) TARGET_ORDER.forEach(extra);
  for (const row of Object.values(schools)) for (const id of Object.keys(row)) extra(id);
  const byId = new Map(ids.map((id) => [id, emptyRate(id, named.find((r) => r.id === id))]));
  for (const row of Object.values(schools))
    for (const [id, status] of Object.entries(row)) {
      const r = byId.get(id);
      if (!r || !isStatus(status)) continue;
      r.inScope++;
      if (status === 'met') r.met++;
      else if (status === 'not_met') r.notMet++;
      else r.unknown++;
    }
  for (const r of byId.values()) r.rate = r.inScope > 0 ? r.met / r.inScope : null;
  return ids.map((id) => byId.get(id)!);
}

function cleanSchools(raw: unknown): TargetsSlice['schools'] {
  const out: TargetsSlice['schools'] = {};
  if (!raw || typeof raw !== 'object') return out;
  for (const [school, row] of Object.entries(raw as Record<string, unknown>)) {
    if (!row || typeof row !== 'object') continue;
    const clean: Partial<Record<string, TargetStatus>> = {};
    for (const [target, status] of Object.entries(row as Record<string, unknown>)) if (isStatus(status)) clean[target] = status;
    out[school] = clean;
  }
  return out;
}

/** A snapshot without `targets` (a gateway without the module) keeps what we had. */
export function loadTargets(prev: TargetsSlice, snapshot: Partial<Snapshot>): TargetsSlice {
  const t = snapshot.targets as TargetsSnapshot | undefined;
  if (!t || typeof t !== 'object') return prev;
  const named = Array.isArray(t.rates) ? t.rates.filter((r) => r && typeof r.id === 'string') : [];
  // Without per-school statuses the gateway's own figures are all we have; with them, count (the same figures, and the base frames build on).
  if (!t.schools) return { rates: named.map((r) => ({ ...r })), schools: {}, changedAt: prev.changedAt };
  const schools = cleanSchools(t.schools);
  return { rates: countRates(schools, named), schools, changedAt: prev.changedAt };
}

/** The frame's change, or null when it carries none. */
export function targetChangeOf(frame: FeedFrame): TargetChange | null {
  const c = frame.data as TargetChange | null;
  return c && typeof c.school === 'string' && typeof c.target === 'string' && isStatus(c.status) && typeof c.inScope === 'boolean' ? c : null;
}

/** One school's status on one target changed, or it came into or left the target's scope. */
export function reduceTargets(slice: TargetsSlice, frame: FeedFrame): TargetsSlice {
  const c = targetChangeOf(frame);
  if (!c) return slice;
  const row = slice.schools[c.school] ?? {};
  const held = row[c.target];
  if (c.inScope ? held === c.status : held === undefined) return slice;
  const nextRow = { ...row };
  if (c.inScope) nextRow[c.target] = c.status;
  else delete nextRow[c.target];
  const schools = { ...slice.schools, [c.school]: nextRow };
  return { rates: countRates(schools, slice.rates), schools, changedAt: typeof c.since === 'string' ? c.since : slice.changedAt };
}

export const targetsSlice: Slice<TargetsSlice> = {
  frames: ['target'],
  initial: initialTargets,
  load: loadTargets,
  reduce: reduceTargets,
};

// ---------- selectors ----------

/** The schools that do not meet `target` (not met first, then unknown), by id in registry order where known. */
export function failingSchools(slice: TargetsSlice, target: string, order: readonly string[] = []): { school: string; status: Exclude<TargetStatus, 'met'> }[] {
  const rank = new Map(order.map((id, i) => [id, i]));
  const out: { school: string; status: Exclude<TargetStatus, 'met'> }[] = [];
  for (const [school, row] of Object.entries(slice.schools)) {
    const s = row[target];
    if (s === 'not_met' || s === 'unknown') out.push({ school, status: s });
  }
  const pos = (id: string) => rank.get(id) ?? Number.MAX_SAFE_INTEGER;
  return out.sort((a, b) => Number(a.status === 'unknown') - Number(b.status === 'unknown') || pos(a.school) - pos(b.school) || (a.school < b.school ? -1 : a.school > b.school ? 1 : 0));
}

/** How a rate reads at a glance: all met, some not met, or only unknowns short of 100 % (none: nothing in scope). */
export type RateLevel = 'full' | 'short' | 'unknown' | 'none';

export function rateLevel(r: TargetRate): RateLevel {
  if (r.rate === null || r.inScope === 0) return 'none';
  if (r.met === r.inScope) return 'full';
  return r.notMet > 0 ? 'short' : 'unknown';
}

/** "100%", "98.8%" (never rounded up to 100 % while a school falls short), "—" when nothing is in scope. */
export function ratePercent(r: Pick<TargetRate, 'rate' | 'met' | 'inScope'>): string {
  if (r.rate === null || r.inScope === 0) return '—';
  if (r.met === r.inScope) return '100%';
  const p = Math.floor(r.rate * 1000) / 10;
  return `${p.toFixed(1)}%`;
}
