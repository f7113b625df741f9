// The canteen slice of the wall state (dashboard/state/canteen.ts): the snapshot's open cases, `case`
// frames (a step replaces the case, a closed one leaves, an escalation sticks until closed), the
// summary's county totals, and which actions a principal is offered.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FeedFrame, Snapshot } from '../../gateway/contract/api.js';
import { initialState, reduce, type WallState } from '../../dashboard/state/index.js';
import {
  countyTotals,
  coveragePercent,
  isCaseOverdue,
  offeredActions,
  openCases,
  withCanteenSummary,
  withCase,
  type CanteenSummary,
  type CaseItem,
} from '../../dashboard/state/canteen.js';

const T0 = Date.parse('2026-12-02T02:00:00.000Z');
const at = (min: number) => new Date(T0 + min * 60_000).toISOString();
const frame = <T>(seq: number, type: string, data: T): FeedFrame<T> => ({ seq, type, data });

function kase(id: string, over: Partial<CaseItem> = {}): CaseItem {
  return {
    id,
    school: 'S001',
    canteen: 'main',
    device: 'S001-KC26',
    area: 'storage',
    source: 'ai',
    kind: 'rodent',
    reason: { zh: '库房发现老鼠', en: 'rat in the storeroom' },
    state: 'open',
    openedAt: at(0),
    deadlineAt: at(120),
    events: 1,
    lastEventAt: at(0),
    overdue: false,
    ...over,
  };
}

function loaded(cases: CaseItem[] = []): WallState {
  const snap: Partial<Snapshot> & { canteen: unknown } = { alarms: [], devices: {}, schools: [], maintenance: [], canteen: { cases, open: cases.length, overdue: 0 } };
  return reduce(initialState(), frame(10, 'snapshot', snap));
}

describe('canteen slice', () => {
  it('loads the open cases from the snapshot (closed ones and junk dropped); a snapshot without canteen keeps them', () => {
    const s = loaded([kase('a'), kase('b', { state: 'closed' }), { id: 3 } as unknown as CaseItem]);
    assert.deepEqual(Object.keys(s.canteen.cases), ['a']);
    const again = reduce(s, frame(11, 'snapshot', { alarms: [], devices: {}, schools: [], maintenance: [] }));
    assert.deepEqual(Object.keys(again.canteen.cases), ['a']);
  });

  it('a case frame adds or replaces the case; closing removes it; the old state is not mutated', () => {
    const s0 = loaded();
    const s1 = reduce(s0, frame(11, 'case', { ...kase('a'), action: 'open', previous: null }));
    assert.equal(s1.canteen.cases.a.state, 'open');
    assert.deepEqual(s0.canteen.cases, {}, 'not mutated');
    const s2 = reduce(s1, frame(12, 'case', { ...kase('a', { state: 'notified' }), action: 'notify', previous: 'open', by: 'op' }));
    assert.equal(s2.canteen.cases.a.state, 'notified');
    assert.equal(s1.canteen.cases.a.state, 'open');
    const s3 = reduce(s2, frame(13, 'case', { ...kase('a', { state: 'closed' }), action: 'close' }));
    assert.deepEqual(s3.canteen.cases, {});
    // A frame at or below the applied seq changes nothing.
    assert.equal(reduce(s3, frame(12, 'case', kase('a'))), s3);
  });

  it('an overdue escalation sticks through later steps until the case is closed', () => {
    let s = loaded([kase('a')]);
    s = reduce(s, frame(11, 'case', { ...kase('a', { overdue: true, escalatedAt: at(120) }), action: 'overdue', escalated: true }));
    assert.equal(s.canteen.cases.a.overdue, true);
    // A later frame that (say, from a reply) lacks the flag keeps it.
    s = { ...s, canteen: withCase(s.canteen, kase('a', { state: 'notified' })) };
    assert.equal(s.canteen.cases.a.state, 'notified');
    assert.equal(s.canteen.cases.a.overdue, true);
    assert.equal(s.canteen.cases.a.escalatedAt, at(120));
    assert.equal(isCaseOverdue(s.canteen.cases.a, T0), true);
    s = reduce(s, frame(12, 'case', { ...kase('a', { state: 'closed', overdue: false }), action: 'close' }));
    assert.equal(s.canteen.cases.a, undefined);
  });

  it('overdue by the clock too; the list puts overdue first, then the newest', () => {
    const c = kase('a');
    assert.equal(isCaseOverdue(c, T0 + 119 * 60_000), false);
    assert.equal(isCaseOverdue(c, T0 + 120 * 60_000), true, 'at the deadline');
    const s = loaded([kase('old', { openedAt: at(0) }), kase('new', { openedAt: at(30), deadlineAt: at(2000) }), kase('late', { openedAt: at(-10), overdue: true })]);
    assert.deepEqual(openCases(s.canteen, T0 + 60 * 60_000).map((x) => x.id), ['late', 'new', 'old']);
  });

  it('county totals: coverage summed, AI events by kind (most first), open and overdue from the live list, meals', () => {
    const summary: CanteenSummary = {
      date: '2026-12-02',
      schools: [
        { school: 'S001', coverage: { required: 6, covered: 5, rate: 5 / 6, missing: ['main/sample'] }, aiEvents: { rodent: 2, no_mask: 1 }, cases: { open: 0, overdue: 0 }, meals: [{ meal: 'lunch', samples: 'ok', accompany: 'ok', disinfection: 'ok' }] },
        { school: 'S002', coverage: { required: 6, covered: 6, rate: 1, missing: [] }, aiEvents: { no_mask: 4 }, cases: { open: 0, overdue: 0 }, meals: [{ meal: 'lunch', samples: 'missing', accompany: 'pending', disinfection: 'ok' }] },
      ],
    };
    let s = loaded([kase('a'), kase('b', { overdue: true })]);
    s = { ...s, canteen: withCanteenSummary(s.canteen, summary) };
    const tot = countyTotals(s.canteen, T0);
    assert.deepEqual(tot.coverage, { required: 12, covered: 11, rate: 11 / 12 });
    assert.equal(coveragePercent(tot.coverage), '91.6%', 'never rounded up');
    assert.equal(coveragePercent({ required: 6, covered: 6 }), '100%');
    assert.equal(coveragePercent({ required: 0, covered: 0 }), '—');
    assert.deepEqual(tot.aiEvents, [{ kind: 'no_mask', n: 5 }, { kind: 'rodent', n: 2 }]);
    assert.equal(tot.aiTotal, 7);
    assert.deepEqual([tot.open, tot.overdue], [2, 1]);
    assert.deepEqual(tot.meals, [{ meal: 'lunch', ok: 1, missing: 1, pending: 0 }]);
    // A later snapshot keeps the summary.
    const again = reduce(s, frame(20, 'snapshot', { alarms: [], devices: {}, schools: [], maintenance: [], canteen: { cases: [] } }));
    assert.equal(again.canteen.summary, summary);
  });

  it('actions offered: the review never to a school user, nothing to a county viewer', () => {
    const submitted = { state: 'submitted' as const, actions: ['close', 'reject'] as ('close' | 'reject')[] };
    assert.deepEqual(offeredActions(submitted, { role: 'operator' }), ['close', 'reject']);
    assert.deepEqual(offeredActions(submitted, { role: 'viewer', school: 'S001' }), []);
    assert.deepEqual(offeredActions({ state: 'rectifying', actions: ['submit'] }, { role: 'viewer', school: 'S001' }), ['submit']);
    assert.deepEqual(offeredActions({ state: 'open', actions: ['notify'] }, { role: 'viewer' }), []);
    assert.deepEqual(offeredActions({ state: 'open', actions: ['notify'] }, { role: 'maintenance' }), []);
    // Without `actions` (a frame), the state's.
    assert.deepEqual(offeredActions({ state: 'notified' }, { role: 'admin' }), ['start']);
  });
});
