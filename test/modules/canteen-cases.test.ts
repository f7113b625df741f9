import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CASE_ACTIONS, CASE_STATES, type CaseAction, type CaseState } from '../../gateway/contract/canteen.js';
import { CASE_TRANSITIONS, CaseActionIncomplete, IllegalCaseAction, applyCaseAction, caseActions, isOverdue, joinEvent, openCase, withSnapshot } from '../../gateway/modules/canteen/cases.js';

const T0 = Date.parse('2026-12-02T08:30:00+08:00');
const H = 3_600_000;
const PHOTO = 'a'.repeat(64);
const open = (over: Partial<Parameters<typeof openCase>[0]> = {}) =>
  openCase({ id: 'c1', school: 'S001', canteen: 'main', device: 'S001-KC20', source: 'ai', kind: 'rodent', reason: { zh: '库房发现老鼠', en: 'rat in the storeroom' }, atMs: T0, deadlineHours: 2, by: 'S001-KC20', ...over });
const step = (c: ReturnType<typeof open>, action: CaseAction, extra: Record<string, string> = {}, dt = 60_000) =>
  applyCaseAction(c, action, { by: 'officer', atMs: Date.parse(c.history.at(-1)!.at) + dt, ...extra });

test('the whole loop, each step in the ledger with who, when, note, photo and measure', () => {
  let c = open({ snapshot: 'b'.repeat(64) });
  assert.equal(c.state, 'open');
  assert.equal(c.deadlineAt, '2026-12-02T02:30:00.000Z', 'two hours for a rat');
  assert.deepEqual(c.history, [{ action: 'open', state: 'open', by: 'S001-KC20', at: '2026-12-02T00:30:00.000Z' }]);
  c = step(c, 'notify', { note: '  已电话通知食品安全管理员  ' });
  c = step(c, 'start');
  c = step(c, 'submit', { photo: PHOTO, measure: '封堵库房排水口，放置粘鼠板' });
  c = step(c, 'reject', { note: '照片看不到排水口' });
  assert.equal(c.state, 'rectifying');
  c = step(c, 'submit', { photo: PHOTO, measure: '加装防鼠网' });
  c = step(c, 'close', { note: '验收通过' });
  assert.equal(c.state, 'closed');
  assert.deepEqual(c.history.map((e) => [e.action, e.state]), [
    ['open', 'open'], ['notify', 'notified'], ['start', 'rectifying'], ['submit', 'submitted'],
    ['reject', 'rectifying'], ['submit', 'submitted'], ['close', 'closed'],
  ]);
  assert.equal(c.history[1].note, '已电话通知食品安全管理员', 'notes trimmed');
  assert.deepEqual({ ...c.history[3] }, { action: 'submit', state: 'submitted', by: 'officer', at: '2026-12-02T00:33:00.000Z', photo: PHOTO, measure: '封堵库房排水口，放置粘鼠板' });
  assert.equal(c.history[2].photo, undefined);
  assert.equal(c.snapshot, 'b'.repeat(64));
});

test('every action out of order is refused with the current state, table-driven', () => {
  // Reach each state, then try every action: allowed exactly when the table says so.
  const reach: Record<CaseState, CaseAction[]> = {
    open: [], notified: ['notify'], rectifying: ['notify', 'start'], submitted: ['notify', 'start', 'submit'], closed: ['notify', 'start', 'submit', 'close'],
  };
  const extra = { photo: PHOTO, measure: 'm', note: 'n' };
  for (const state of CASE_STATES) {
    let c = open();
    for (const a of reach[state]) c = step(c, a, extra);
    assert.equal(c.state, state);
    assert.deepEqual(caseActions(c), CASE_ACTIONS.filter((a) => CASE_TRANSITIONS[a].from.includes(state)));
    for (const action of CASE_ACTIONS) {
      const allowed = CASE_TRANSITIONS[action].from.includes(state);
      if (allowed) assert.equal(step(c, action, extra).state, CASE_TRANSITIONS[action].to);
      else
        assert.throws(() => step(c, action, extra), (err: unknown) => {
          assert.ok(err instanceof IllegalCaseAction);
          assert.equal(err.state, state);
          assert.equal(err.action, action);
          assert.equal(err.caseId, 'c1');
          assert.match(err.message, new RegExp(`cannot ${action} a case that is ${state}`));
          return true;
        });
    }
  }
  assert.deepEqual(caseActions({ state: 'closed' }), []);
  assert.throws(() => step(open(), 'close'), /cannot close a case that is open \(allowed: notify\)/);
});

test('submit needs a photo and a measure; reject needs a note', () => {
  let c = step(step(open(), 'notify'), 'start');
  const incomplete = (extra: Record<string, string>, missing: string, msg: RegExp) =>
    assert.throws(() => step(c, 'submit', extra), (err: unknown) => err instanceof CaseActionIncomplete && err.missing === missing && msg.test(err.message));
  incomplete({ measure: 'm' }, 'photo', /needs a photo/);
  incomplete({ photo: 'not-a-hash', measure: 'm' }, 'photo', /is not a SHA-256/);
  incomplete({ photo: PHOTO.toUpperCase(), measure: 'm' }, 'photo', /is not a SHA-256/);
  incomplete({ photo: PHOTO }, 'measure', /needs the measure taken/);
  incomplete({ photo: PHOTO, measure: '   ' }, 'measure', /needs the measure taken/);
  c = step(c, 'submit', { photo: PHOTO, measure: 'm' });
  assert.throws(() => step(c, 'reject'), (err: unknown) => err instanceof CaseActionIncomplete && err.missing === 'note');
  assert.throws(() => step(c, 'reject', { note: ' ' }), CaseActionIncomplete);
  // The state is checked first: an out-of-order submit is a 409, not a 400.
  assert.throws(() => step(open(), 'submit'), IllegalCaseAction);
});

test('overdue is derived: at the deadline, until closed; 24 h for most kinds', () => {
  const c = open();
  assert.equal(isOverdue(c, T0 + 2 * H - 1), false);
  assert.equal(isOverdue(c, T0 + 2 * H), true);
  const submitted = step(step(step(c, 'notify'), 'start'), 'submit', { photo: PHOTO, measure: 'm' });
  assert.equal(isOverdue(submitted, T0 + 3 * H), true, 'awaiting review is still overdue');
  const closed = step(submitted, 'close');
  assert.equal(isOverdue(closed, T0 + 3 * H), false);
  const mask = open({ kind: 'no_mask', deadlineHours: 24 });
  assert.equal(mask.deadlineAt, new Date(T0 + 24 * H).toISOString());
  assert.equal(isOverdue(mask, T0 + 23 * H), false);
});

test('a joining event counts and slides the last event time, never back', () => {
  let c = open();
  c = joinEvent(c, T0 + 60_000);
  c = joinEvent(c, T0 + 30_000);
  assert.equal(c.events, 3);
  assert.equal(c.lastEventAt, new Date(T0 + 60_000).toISOString());
  assert.equal(c.state, 'open');
});

test('a picture fetched later: the first one wins; a failure says why only while there is none, and a picture clears it', () => {
  const c = openCase({ id: 'c', school: 'S1', source: 'ai', kind: 'rodent', reason: { zh: 'x', en: 'x' }, atMs: 0, deadlineHours: 2, by: 'cam' });
  const failed = withSnapshot(c, { error: 'picture not fetched: HTTP 404' })!;
  assert.equal(failed.snapshotError, 'picture not fetched: HTTP 404');
  assert.equal(withSnapshot(failed, { error: 'picture not fetched: HTTP 404' }), undefined, 'the same reason again changes nothing');
  const got = withSnapshot(failed, { sha256: 'a'.repeat(64) })!;
  assert.deepEqual([got.snapshot, got.snapshotError], ['a'.repeat(64), undefined]);
  assert.equal(withSnapshot(got, { sha256: 'b'.repeat(64) }), undefined, 'the first picture wins');
  assert.equal(withSnapshot(got, { error: 'late failure' }), undefined);
});
