/**
 * The canteen module's slice (contract §8, 明厨亮灶): the rectification cases not yet closed, as the
 * snapshot's `canteen.cases` and the `case` frames give them, and the day's summary (coverage, AI
 * events by kind, record completeness per meal) from GET /api/canteen/summary. A `case` frame
 * replaces the case it names; a closed case leaves the list. An overdue escalation (`action:
 * "overdue"`, `escalated: true`) stays on the case until it is closed. Pure: no DOM, no clock.
 */
import type { FeedFrame, Snapshot } from '../../gateway/contract/api.js';
import type { Slice } from './slice.js';

export const CASE_STATES = ['open', 'notified', 'rectifying', 'submitted', 'closed'] as const;
export type CaseState = (typeof CASE_STATES)[number];
export const CASE_ACTIONS = ['notify', 'start', 'submit', 'close', 'reject'] as const;
export type CaseAction = (typeof CASE_ACTIONS)[number];
/** The review (验收): the county center's, never a school's own. */
export const REVIEW_ACTIONS: readonly CaseAction[] = ['close', 'reject'];

/** The AI kinds of contract §1 and §8, in the order the panel lists them. */
export const CANTEEN_AI_KINDS = ['no_hat', 'no_mask', 'no_uniform', 'no_gloves', 'bare_chested', 'smoking', 'phone', 'rodent', 'animal', 'bin_uncovered', 'fire_unattended', 'off_post', 'intrusion', 'other'] as const;

export interface CaseEntry {
  action: 'open' | CaseAction;
  state: CaseState;
  by: string;
  at: string;
  note?: string;
  photo?: string;
  measure?: string;
}

/** A case as a frame or the snapshot carries it (no history); GET /api/canteen/cases/{id} adds `history` and `actions`. */
export interface CaseItem {
  id: string;
  school: string;
  canteen?: string;
  device?: string;
  area?: string;
  source: string;
  kind?: string;
  finding?: string;
  reason: { zh: string; en: string };
  state: CaseState;
  openedAt: string;
  deadlineAt: string;
  events: number;
  lastEventAt: string;
  snapshot?: string;
  escalatedAt?: string;
  overdue: boolean;
}

export interface CaseDetail extends CaseItem {
  history: CaseEntry[];
  actions: CaseAction[];
}

export type Completeness = 'ok' | 'missing' | 'pending';
export interface MealCompleteness {
  meal: string;
  samples: Completeness;
  accompany: Completeness;
  disinfection: Completeness;
}
export interface CanteenSchoolSummary {
  school: string;
  coverage: { required: number; covered: number; rate: number | null; missing: string[] };
  aiEvents: Partial<Record<string, number>>;
  cases: { open: number; overdue: number };
  meals: MealCompleteness[];
}
export interface CanteenSummary {
  date: string;
  schools: CanteenSchoolSummary[];
}

export interface CanteenSlice {
  /** Case id → case, closed ones dropped. */
  cases: Record<string, CaseItem>;
  /** The last summary read (null before the first). */
  summary: CanteenSummary | null;
}

export const initialCanteen = (): CanteenSlice => ({ cases: {}, summary: null });

const isState = (s: unknown): s is CaseState => typeof s === 'string' && (CASE_STATES as readonly string[]).includes(s);

/** A case from the feed, checked field by field (a feed is input); null when it is not one. */
export function caseOf(raw: unknown): CaseItem | null {
  if (!raw || typeof raw !== 'object') return null;
  const c = raw as Record<string, unknown>;
  if (typeof c.id !== 'string' || typeof c.school !== 'string' || !isState(c.state) || typeof c.openedAt !== 'string' || typeof c.deadlineAt !== 'string') return null;
  const reason = c.reason as { zh?: unknown; en?: unknown } | undefined;
  const str = (k: string) => (typeof c[k] === 'string' ? (c[k] as string) : undefined);
  const out: CaseItem = {
    id: c.id,
    school: c.school,
    source: str('source') ?? 'ai',
    reason: { zh: typeof reason?.zh === 'string' ? reason.zh : '', en: typeof reason?.en === 'string' ? reason.en : '' },
    state: c.state,
    openedAt: c.openedAt,
    deadlineAt: c.deadlineAt,
    events: typeof c.events === 'number' ? c.events : 1,
    lastEventAt: str('lastEventAt') ?? c.openedAt,
    overdue: c.overdue === true || c.escalated === true,
  };
  for (const k of ['canteen', 'device', 'area', 'kind', 'finding', 'escalatedAt'] as const) {
    const v = str(k);
    if (v !== undefined) out[k] = v;
  }
  const snap = str('snapshot');
  if (snap && /^[0-9a-f]{64}$/.test(snap)) out.snapshot = snap;
  return out;
}

/** A snapshot without `canteen` (a gateway without the module) keeps what we had. */
export function loadCanteen(prev: CanteenSlice, snapshot: Partial<Snapshot>): CanteenSlice {
  const part = (snapshot as { canteen?: { cases?: unknown } }).canteen;
  if (!part || typeof part !== 'object' || !Array.isArray(part.cases)) return prev;
  const cases: Record<string, CaseItem> = {};
  for (const raw of part.cases) {
    const c = caseOf(raw);
    if (c && c.state !== 'closed') cases[c.id] = c;
  }
  return { ...prev, cases };
}

/** Applies a `case` frame: the case after the change; a closed one leaves the list. */
export function reduceCanteen(slice: CanteenSlice, frame: FeedFrame): CanteenSlice {
  const c = caseOf(frame.data);
  if (!c) return slice;
  const held = slice.cases[c.id];
  if (c.state === 'closed') {
    if (!held) return slice;
    const { [c.id]: _gone, ...rest } = slice.cases;
    return { ...slice, cases: rest };
  }
  // Once overdue, a case stays overdue until it is closed (the escalation is not undone by a later step).
  if (held && (held.overdue || held.escalatedAt)) {
    c.overdue = true;
    c.escalatedAt ??= held.escalatedAt;
  }
  return { ...slice, cases: { ...slice.cases, [c.id]: c } };
}

/** A case reply from the REST side (our own action): applied like a frame. */
export function withCase(slice: CanteenSlice, c: CaseItem): CanteenSlice {
  return reduceCanteen(slice, { seq: 0, type: 'case', data: c });
}

export function withCanteenSummary(slice: CanteenSlice, summary: CanteenSummary): CanteenSlice {
  return { ...slice, summary };
}

export const canteenSlice: Slice<CanteenSlice> = {
  frames: ['case'],
  initial: initialCanteen,
  load: loadCanteen,
  reduce: reduceCanteen,
};

// ---------- selectors ----------

/** Overdue now: flagged by the gateway, escalated, or past the deadline by the wall's clock. */
export function isCaseOverdue(c: CaseItem, nowMs: number): boolean {
  return c.state !== 'closed' && (c.overdue || c.escalatedAt !== undefined || nowMs >= Date.parse(c.deadlineAt));
}

/** The open cases, overdue first, then the newest first (what just happened is on top). */
export function openCases(slice: CanteenSlice, nowMs: number): CaseItem[] {
  return Object.values(slice.cases).sort(
    (a, b) => Number(isCaseOverdue(b, nowMs)) - Number(isCaseOverdue(a, nowMs)) || Date.parse(b.openedAt) - Date.parse(a.openedAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

export interface CountyTotals {
  schools: number;
  coverage: { required: number; covered: number; rate: number | null };
  /** AI events today by kind, the kinds with any first (most first). */
  aiEvents: { kind: string; n: number }[];
  aiTotal: number;
  /** Open and overdue cases, counted from the live list (newer than the summary). */
  open: number;
  overdue: number;
  /** Per meal id: how many schools have it complete (samples, accompany and disinfection all ok), missing anything, or pending. */
  meals: { meal: string; ok: number; missing: number; pending: number }[];
}

/** Whole-meal completeness: missing if any record is missing, ok if all are, else pending. */
export function mealStatus(m: MealCompleteness): Completeness {
  const all = [m.samples, m.accompany, m.disinfection];
  if (all.includes('missing')) return 'missing';
  return all.every((x) => x === 'ok') ? 'ok' : 'pending';
}

export function countyTotals(slice: CanteenSlice, nowMs: number): CountyTotals {
  const schools = slice.summary?.schools ?? [];
  let required = 0;
  let covered = 0;
  const kinds = new Map<string, number>();
  const meals = new Map<string, { meal: string; ok: number; missing: number; pending: number }>();
  for (const s of schools) {
    required += s.coverage.required;
    covered += s.coverage.covered;
    for (const [k, n] of Object.entries(s.aiEvents)) if (typeof n === 'number' && n > 0) kinds.set(k, (kinds.get(k) ?? 0) + n);
    for (const m of s.meals) {
      const row = meals.get(m.meal) ?? { meal: m.meal, ok: 0, missing: 0, pending: 0 };
      row[mealStatus(m)]++;
      meals.set(m.meal, row);
    }
  }
  const order = (k: string) => {
    const i = (CANTEEN_AI_KINDS as readonly string[]).indexOf(k);
    return i < 0 ? CANTEEN_AI_KINDS.length : i;
  };
  const aiEvents = [...kinds].map(([kind, n]) => ({ kind, n })).sort((a, b) => b.n - a.n || order(a.kind) - order(b.kind));
  const list = Object.values(slice.cases);
  return {
    schools: schools.length,
    coverage: { required, covered, rate: required > 0 ? covered / required : null },
    aiEvents,
    aiTotal: aiEvents.reduce((n, e) => n + e.n, 0),
    open: list.length,
    overdue: list.filter((c) => isCaseOverdue(c, nowMs)).length,
    meals: [...meals.values()],
  };
}

/** One school's open and overdue cases, from the live list. */
export function schoolCaseCounts(slice: CanteenSlice, school: string, nowMs: number): { open: number; overdue: number } {
  const mine = Object.values(slice.cases).filter((c) => c.school === school);
  return { open: mine.length, overdue: mine.filter((c) => isCaseOverdue(c, nowMs)).length };
}

/** "83.3%" (never rounded up to 100 % while an area is missing), "—" when nothing is required. */
export function coveragePercent(c: { required: number; covered: number }): string {
  if (c.required <= 0) return '—';
  if (c.covered >= c.required) return '100%';
  return `${(Math.floor((c.covered / c.required) * 1000) / 10).toFixed(1)}%`;
}

/**
 * The actions a principal is offered on a case: what the case's state allows (`actions` from the
 * gateway, or its state's when it has none), less the review for a user bound to a school (the API
 * refuses it with 403) and everything for a county user below operator.
 */
export function offeredActions(c: Pick<CaseDetail, 'state'> & { actions?: readonly CaseAction[] }, who: { role: string; school?: string }): CaseAction[] {
  const allowed = c.actions ?? stateActions(c.state);
  if (who.school !== undefined) return allowed.filter((a) => !REVIEW_ACTIONS.includes(a));
  return who.role === 'operator' || who.role === 'admin' ? [...allowed] : [];
}

const TRANSITIONS: Record<CaseAction, CaseState> = { notify: 'open', start: 'notified', submit: 'rectifying', close: 'submitted', reject: 'submitted' };
export function stateActions(state: CaseState): CaseAction[] {
  return CASE_ACTIONS.filter((a) => TRANSITIONS[a] === state);
}
