/**
 * The rectification case (整改) lifecycle of contract §8, pure: no I/O, no clock of its own.
 *
 *   open ─notify→ notified ─start→ rectifying ─submit→ submitted ─close→ closed
 *                                        ↑                  │
 *                                        └──────reject──────┘
 *
 * The loop the canteen center runs (发现 → 推送 → 整改 → 验收): the center notifies the school's
 * food-safety officer, who starts the rectification and submits a photo and the measure taken; the
 * center closes the case or sends it back with a note.
 *
 * `overdue` is not a state: a case is overdue from its deadline until it is closed (a submitted case
 * waiting for review is still overdue: the hazard is not signed off). As a flag derived from the
 * deadline and the state, it can never disagree with them, it needs no transition of its own, and a
 * deadline the policy moves applies to open cases at once.
 */
import { CASE_ACTIONS, type Case, type CaseAction, type CaseEntry, type CaseSource, type CaseState, type FindingCode, type Reason } from '../../contract/canteen.js';
import type { AiKind } from '../../contract/mqtt.js';
import { iso } from '../../contract/common.js';
import { allowedActions, nextState, type TransitionTable } from '../../domain/transitions.js';

export const CASE_TRANSITIONS: TransitionTable<CaseState, CaseAction> = {
  notify: { to: 'notified', from: ['open'] },
  start: { to: 'rectifying', from: ['notified'] },
  submit: { to: 'submitted', from: ['rectifying'] },
  close: { to: 'closed', from: ['submitted'] },
  reject: { to: 'rectifying', from: ['submitted'] },
};

/** An action the case's state does not allow (HTTP 409 with `state`). */
export class IllegalCaseAction extends Error {
  readonly code = 'illegal_transition';
  constructor(
    readonly caseId: string,
    readonly state: CaseState,
    readonly action: CaseAction,
  ) {
    super(`cannot ${action} a case that is ${state} (allowed: ${allowedActions(CASE_TRANSITIONS, state).join(', ') || 'none, it is closed'})`);
  }
}

/** An allowed action without what it needs (HTTP 400): `submit` without a photo or measure, `reject` without a note. */
export class CaseActionIncomplete extends Error {
  readonly code = 'bad_request';
  constructor(
    readonly action: CaseAction,
    readonly missing: 'photo' | 'measure' | 'note',
    message: string,
  ) {
    super(message);
  }
}

export interface OpenInput {
  id: string;
  school: string;
  canteen?: string;
  device?: string;
  source: CaseSource;
  kind?: AiKind;
  finding?: FindingCode;
  reason: Reason;
  /** When the case opens (the event's time for an AI case: a case never opens before its evidence). */
  atMs: number;
  deadlineHours: number;
  /** Who opened it: the camera, `scheduler` for a record rule, the inspector. */
  by: string;
  snapshot?: string;
  note?: string;
}

export function openCase(i: OpenInput): Case {
  const at = iso(i.atMs);
  const entry: CaseEntry = { action: 'open', state: 'open', by: i.by, at };
  if (i.note?.trim()) entry.note = i.note.trim();
  const c: Case = {
    id: i.id,
    school: i.school,
    source: i.source,
    reason: i.reason,
    state: 'open',
    openedAt: at,
    deadlineAt: iso(i.atMs + i.deadlineHours * 3_600_000),
    events: 1,
    lastEventAt: at,
    history: [entry],
  };
  if (i.canteen) c.canteen = i.canteen;
  if (i.device) c.device = i.device;
  if (i.kind) c.kind = i.kind;
  if (i.finding) c.finding = i.finding;
  if (i.snapshot) c.snapshot = i.snapshot;
  return c;
}

export interface ActionInput {
  by: string;
  atMs: number;
  note?: string;
  /** `submit`: the photo's SHA-256 in the media store. */
  photo?: string;
  /** `submit`: the measure taken. */
  measure?: string;
}

const SHA256_RE = /^[0-9a-f]{64}$/;

/** The case after `action`. Throws IllegalCaseAction (state does not allow it) or CaseActionIncomplete. */
export function applyCaseAction(c: Case, action: CaseAction, input: ActionInput): Case {
  if (!(CASE_ACTIONS as readonly string[]).includes(action)) throw new Error(`unknown case action "${action}"`);
  const to = nextState(CASE_TRANSITIONS, c.state, action);
  if (to === undefined) throw new IllegalCaseAction(c.id, c.state, action);
  const note = input.note?.trim() || undefined;
  const measure = input.measure?.trim() || undefined;
  if (action === 'submit') {
    if (!input.photo) throw new CaseActionIncomplete(action, 'photo', 'submit needs a photo of the rectification (its SHA-256 in the media store)');
    if (!SHA256_RE.test(input.photo)) throw new CaseActionIncomplete(action, 'photo', `photo "${input.photo.slice(0, 80)}" is not a SHA-256 (64 lowercase hex digits)`);
    if (!measure) throw new CaseActionIncomplete(action, 'measure', 'submit needs the measure taken (整改措施)');
  }
  if (action === 'reject' && !note) throw new CaseActionIncomplete(action, 'note', 'reject needs a note saying what is still wrong');
  const entry: CaseEntry = { action, state: to, by: input.by, at: iso(input.atMs) };
  if (note) entry.note = note;
  if (action === 'submit') Object.assign(entry, { photo: input.photo, measure });
  return { ...c, state: to, history: [...c.history, entry] };
}

/** Another event joined the case (dedupe): counted, and the window slides from it. */
export function joinEvent(c: Case, atMs: number): Case {
  const last = Math.max(Date.parse(c.lastEventAt), atMs);
  return { ...c, events: c.events + 1, lastEventAt: iso(last) };
}

/**
 * A picture of one of its events arrived, or could not be had: the first picture wins (as for
 * pushes); a failure is kept only while there is none, to say why. Undefined: nothing changes.
 */
export function withSnapshot(c: Case, got: { sha256?: string; error?: string }): Case | undefined {
  if (c.snapshot) return undefined;
  if (got.sha256) {
    const { snapshotError: _e, ...rest } = c;
    return { ...rest, snapshot: got.sha256 };
  }
  if (!got.error || c.snapshotError === got.error) return undefined;
  return { ...c, snapshotError: got.error };
}

/** Overdue: at or past the deadline and not closed. */
export function isOverdue(c: Pick<Case, 'state' | 'deadlineAt'>, nowMs: number): boolean {
  return c.state !== 'closed' && nowMs >= Date.parse(c.deadlineAt);
}

export const isClosed = (c: Pick<Case, 'state'>): boolean => c.state === 'closed';
/** What the console offers for this case. */
export const caseActions = (c: Pick<Case, 'state'>): CaseAction[] => allowedActions(CASE_TRANSITIONS, c.state);
