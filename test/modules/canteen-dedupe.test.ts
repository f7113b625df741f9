import { test } from 'node:test';
import assert from 'node:assert/strict';
import { caseKey, decideAiEvent, type AiEventIn, type OpenCaseRef } from '../../gateway/modules/canteen/dedupe.js';
import type { AiRule } from '../../gateway/contract/policy.js';

const T0 = Date.parse('2026-12-02T22:00:00+08:00');
const MIN = 60_000;
const rodent: AiRule = { areas: ['processing', 'special_room', 'serving', 'washing', 'storage', 'sample', 'dining'], minConfidence: 0.6, dedupeWindowMin: 10, deadlineHours: 2 };
const noMask: AiRule = { areas: ['processing', 'special_room', 'serving'], minConfidence: 0.6, dedupeWindowMin: 10, deadlineHours: 24 };

/** Feeds events through the decision as the module would: a new case per `open`, `join` slides the window. */
function run(events: AiEventIn[], rule: AiRule) {
  const open = new Map<string, OpenCaseRef>();
  const cases: { id: string; events: number }[] = [];
  let counted = 0;
  for (const e of events) {
    const d = decideAiEvent(e, rule, open);
    if (d.action === 'count') counted++;
    else if (d.action === 'open') {
      const id = `case-${cases.length + 1}`;
      cases.push({ id, events: 1 });
      open.set(caseKey(e.camera, e.kind), { caseId: id, lastEventMs: e.atMs });
    } else {
      cases.find((c) => c.id === d.caseId)!.events++;
      const ref = open.get(caseKey(e.camera, e.kind))!;
      ref.lastEventMs = Math.max(ref.lastEventMs, e.atMs);
    }
  }
  return { cases, counted };
}
const rat = (atMs: number, over: Partial<AiEventIn> = {}): AiEventIn => ({ camera: 'S001-KC20', area: 'storage', kind: 'rodent', confidence: 0.9, atMs, ...over });

test('sixty frames of the same rat within the window → one case', () => {
  // One frame every 10 s for ten minutes, and then one a minute for an hour (the window slides).
  const frames = Array.from({ length: 60 }, (_, k) => rat(T0 + k * 10_000));
  assert.deepEqual(run(frames, rodent), { cases: [{ id: 'case-1', events: 60 }], counted: 0 });
  const hour = Array.from({ length: 60 }, (_, k) => rat(T0 + k * MIN));
  assert.deepEqual(run(hour, rodent).cases, [{ id: 'case-1', events: 60 }]);
});

test('the first frame after the window → a new case; exactly at the window still joins', () => {
  assert.deepEqual(run([rat(T0), rat(T0 + 10 * MIN)], rodent).cases, [{ id: 'case-1', events: 2 }]);
  assert.deepEqual(run([rat(T0), rat(T0 + 10 * MIN + 1)], rodent).cases, [{ id: 'case-1', events: 1 }, { id: 'case-2', events: 1 }]);
  // The window counts from the case's last event, not its first.
  assert.deepEqual(run([rat(T0), rat(T0 + 9 * MIN), rat(T0 + 18 * MIN)], rodent).cases, [{ id: 'case-1', events: 3 }]);
  // A late redelivery older than the last event joins.
  assert.deepEqual(run([rat(T0), rat(T0 + 5 * MIN), rat(T0 - 30 * MIN)], rodent).cases, [{ id: 'case-1', events: 3 }]);
});

test('another camera or another kind is another case', () => {
  const r = run([rat(T0), rat(T0 + MIN, { camera: 'S001-KC21' }), rat(T0 + 2 * MIN, { kind: 'animal' }), rat(T0 + 3 * MIN)], rodent);
  assert.deepEqual(r.cases, [{ id: 'case-1', events: 2 }, { id: 'case-2', events: 1 }, { id: 'case-3', events: 1 }]);
});

test('under the minimum confidence or outside the rule\'s areas → no case, only counted', () => {
  assert.deepEqual(decideAiEvent(rat(T0, { confidence: 0.59 }), rodent, new Map()), { action: 'count', why: 'low_confidence', reason: 'confidence 0.59 is under 0.6 for rodent' });
  assert.deepEqual(decideAiEvent(rat(T0, { confidence: 0.6 }), rodent, new Map()), { action: 'open' });
  assert.deepEqual(decideAiEvent(rat(T0, { confidence: undefined }), rodent, new Map()), { action: 'open' }, 'no confidence: taken as sure');
  const dining = { camera: 'S001-KC15', area: 'dining' as const, kind: 'no_mask' as const, confidence: 0.95, atMs: T0 };
  const d = decideAiEvent(dining, noMask, new Map());
  assert.equal(d.action, 'count');
  assert.equal(d.action === 'count' && d.why, 'outside_area');
  assert.match(d.action === 'count' ? d.reason : '', /no_mask does not apply in area dining \(only processing, special_room, serving\)/);
  assert.deepEqual(decideAiEvent({ ...dining, area: undefined }, noMask, new Map()), { action: 'open' }, 'a camera with no area gets every rule');
  // Counted events never join or open, even with a case open.
  const frames = [rat(T0), rat(T0 + MIN, { confidence: 0.3 }), rat(T0 + 2 * MIN, { confidence: 0.2 })];
  assert.deepEqual(run(frames, rodent), { cases: [{ id: 'case-1', events: 1 }], counted: 2 });
});
