import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IllegalTransition, applyAction, escalate, escalationDueMs, feedbackFor, needsEscalation, raiseAlarm } from '../../gateway/modules/alarms/lifecycle.js';

const T0 = Date.parse('2026-03-01T07:45:12.345+08:00');
const raise = (over: Partial<Parameters<typeof raiseAlarm>[0]> = {}) =>
  raiseAlarm({
    id: 'a1',
    sourceId: 'press-1',
    school: { id: 'S001', name: '示范县第一小学' },
    device: { id: 'S001-AB01', name: '校门岗亭一键报警', place: '校门岗亭' },
    kind: 'panic',
    test: false,
    receivedAtMs: T0,
    deviceTsMs: T0,
    clockSkewToleranceMs: 300_000,
    ...over,
  });

test('a raised alarm is ordered by receive time and shows the device clock skew', () => {
  const a = raise({ deviceTsMs: T0 - 26 * 3600_000 });
  assert.equal(a.state, 'raised');
  assert.equal(a.raisedAt, new Date(T0).toISOString());
  assert.equal(a.clockSkewMs, -26 * 3600_000);
  assert.equal(a.clockSuspect, true);
  assert.equal(raise().clockSuspect, false);
  assert.deepEqual(feedbackFor(a), { id: 'press-1', state: 'received', ts: a.raisedAt });
});

test('lifecycle raised → acknowledged → dispatched → resolved records who, when and the note', () => {
  let a = raise();
  a = applyAction(a, 'ack', 'op1', T0 + 5000, ' 已电话联系门卫 ');
  a = applyAction(a, 'dispatch', 'op1', T0 + 9000);
  a = applyAction(a, 'resolve', 'op2', T0 + 60_000, '误报');
  assert.equal(a.state, 'resolved');
  assert.deepEqual(
    a.history.map((h) => [h.state, h.by, h.note]),
    [
      ['raised', 'S001-AB01', undefined],
      ['acknowledged', 'op1', '已电话联系门卫'],
      ['dispatched', 'op1', undefined],
      ['resolved', 'op2', '误报'],
    ],
  );
  assert.deepEqual(feedbackFor(a), { id: 'press-1', state: 'resolved', ts: new Date(T0 + 60_000).toISOString(), by: 'op2' });
});

test('an acknowledged alarm may be resolved without dispatch (false press)', () => {
  const a = applyAction(applyAction(raise(), 'ack', 'op', T0), 'resolve', 'op', T0);
  assert.equal(a.state, 'resolved');
});

test('illegal transitions are refused: latched alarms never skip acknowledgement, resolved ones stay resolved', () => {
  const raised = raise();
  assert.throws(() => applyAction(raised, 'resolve', 'op', T0), IllegalTransition);
  assert.throws(() => applyAction(raised, 'dispatch', 'op', T0), IllegalTransition);
  const acked = applyAction(raised, 'ack', 'op', T0);
  assert.throws(() => applyAction(acked, 'ack', 'op', T0), (e: unknown) => e instanceof IllegalTransition && e.alarm.state === 'acknowledged');
  const resolved = applyAction(acked, 'resolve', 'op', T0);
  for (const action of ['ack', 'dispatch', 'resolve'] as const) assert.throws(() => applyAction(resolved, action, 'op', T0), IllegalTransition);
});

test('escalation is due ackTimeoutSec after raise, only while unacknowledged, never for test presses', () => {
  const a = raise();
  assert.equal(escalationDueMs(a, 30), T0 + 30_000);
  assert.equal(needsEscalation(a), true);
  const e = escalate(a, T0 + 30_000);
  assert.equal(e.escalated, true);
  assert.equal(needsEscalation(e), false);
  assert.equal(needsEscalation(applyAction(a, 'ack', 'op', T0)), false);
  assert.equal(needsEscalation(raise({ test: true })), false);
});

test('resolve may name the outcome (real, false, test): kept on the alarm and its history entry; other actions ignore it', () => {
  const acked = applyAction(raise(), 'ack', 'op1', T0 + 5000, undefined, 'false');
  assert.equal(acked.outcome, undefined, 'ack takes no outcome');
  assert.equal(acked.history.at(-1)!.outcome, undefined);
  const resolved = applyAction(acked, 'resolve', 'op1', T0 + 9000, '误按', 'false');
  assert.equal(resolved.state, 'resolved');
  assert.equal(resolved.outcome, 'false');
  assert.deepEqual(resolved.history.at(-1), { state: 'resolved', at: new Date(T0 + 9000).toISOString(), by: 'op1', note: '误按', outcome: 'false' });
  assert.equal(applyAction(acked, 'resolve', 'op1', T0 + 9000).outcome, undefined, 'without one, nothing is claimed');
});
