/** The pure ISA-18.2 flood detector: the threshold, the sliding window, the end with hysteresis. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_FLOOD, floodAt, floodEndDueMs, floodOnAlarm, type FloodState } from '../../gateway/modules/floods/detector.js';

const MIN = 60_000;
const CFG = { count: 10, windowMs: 10 * MIN, endCount: 5 };
const T0 = Date.parse('2026-03-10T08:00:00+08:00');
const raise = (s: FloodState, ...at: number[]) => at.reduce((x, t) => floodOnAlarm(x, t, CFG), s);
const every = (n: number, from: number, stepMs: number) => Array.from({ length: n }, (_, k) => from + k * stepMs);

test('10 alarms in 10 minutes is not a flood; the 11th within the window starts one', () => {
  const ten = raise(NO_FLOOD, ...every(10, T0, 30_000));
  assert.equal(ten.active, false);
  assert.equal(floodEndDueMs(ten, CFG), undefined);
  const eleven = raise(ten, T0 + 9 * MIN);
  assert.equal(eleven.active, true);
  assert.equal(eleven.since, T0 + 9 * MIN);
  assert.equal(eleven.times.length, 11);
});

test('the window slides: 11 alarms spread over more than 10 minutes are no flood', () => {
  // one a minute: at the 11th (T0 + 10 min) the first (T0) has just left the window
  const s = raise(NO_FLOOD, ...every(11, T0, MIN));
  assert.equal(s.active, false);
  assert.equal(s.times.length, 10);
  // but one more inside the last 10 minutes makes 11
  assert.equal(raise(s, T0 + 10 * MIN + 1).active, true);
});

test('a flood ends when fewer than 5 remain in the window, not when it drops to 10 (hysteresis)', () => {
  const flood = raise(NO_FLOOD, ...every(11, T0, 1000)); // 11 in 10 s, the last at T0 + 10 s
  assert.equal(flood.active, true);
  // at T0 + 10 min + 6.5 s the first seven have left: 4 remain, below 5
  const due = floodEndDueMs(flood, CFG)!;
  assert.equal(due, T0 + 6000 + 10 * MIN);
  const stillOn = floodAt(flood, due - 1, CFG);
  assert.equal(stillOn.active, true, '5 left in the window: still a flood');
  assert.equal(stillOn.times.length, 5);
  const ended = floodAt(flood, due, CFG);
  assert.equal(ended.active, false);
  assert.equal(ended.times.length, 4);
  assert.equal(ended.endedAt, due);
  assert.equal(ended.since, T0 + 10_000, 'the ended flood still says when it began');
  // a new press then needs 11 in the window again to start another
  assert.equal(raise(ended, due + 1).active, false);
});

test('a press during the flood keeps it going: the end moves later', () => {
  const flood = raise(NO_FLOOD, ...every(11, T0, 1000));
  const later = raise(flood, T0 + 5 * MIN);
  assert.equal(later.active, true);
  assert.equal(later.since, flood.since, 'the same flood');
  assert.ok(floodEndDueMs(later, CFG)! > floodEndDueMs(flood, CFG)!);
});

test('states stay values: a press on an older state does not change a later one, nor the reverse', () => {
  // The detector shares one array of raise times between states (a press costs O(1), issue 13).
  const base = raise(NO_FLOOD, ...every(9, T0, 1000));
  const a = raise(base, T0 + 20_000);
  const b = raise(base, T0 + 30_000, T0 + 31_000);
  assert.deepEqual(a.times.slice(-1), [T0 + 20_000]);
  assert.equal(a.count, 10);
  assert.equal(a.active, false);
  assert.deepEqual(b.times.slice(-2), [T0 + 30_000, T0 + 31_000]);
  assert.equal(b.count, 11);
  assert.equal(b.active, true);
  assert.equal(base.count, 9, 'the common past is untouched');
  assert.equal(raise(a, T0 + 40_000).times.at(-2), T0 + 20_000);
});

test('a burst of 20,000 presses over 20 minutes: the window keeps only the last 10 minutes', () => {
  let s = NO_FLOOD;
  for (let k = 0; k < 20_000; k++) s = floodOnAlarm(s, T0 + k * 60, CFG); // one every 60 ms
  assert.equal(s.active, true);
  assert.equal(s.since, T0 + 10 * 60);
  assert.equal(s.count, 10_000);
  assert.equal(s.times[0], T0 + 10_000 * 60);
  // nothing more: the flood ends once fewer than 5 remain, when the fifth-newest leaves
  const due = floodEndDueMs(s, CFG)!;
  assert.equal(due, T0 + 19_995 * 60 + 10 * MIN);
  assert.equal(floodAt(s, due, CFG).active, false);
  assert.equal(floodAt(s, due - 1, CFG).active, true);
});

test('grouping by school keeps every open alarm in exactly one group: most first, then the newest', async () => {
  const { groupBySchool } = await import('../../gateway/modules/floods/index.js');
  const a = (id: string, school: string, at: string) => ({ id, school, schoolName: school, raisedAt: at }) as never;
  const open = [a('1', 'S2', '08:01'), a('2', 'S1', '08:02'), a('3', 'S2', '08:05'), a('4', 'S3', '08:09'), a('5', 'S1', '08:00')];
  const groups = groupBySchool(open, (s) => (s === 'S3' ? undefined : '城关镇'));
  assert.deepEqual(groups.map((g) => [g.school, g.count, g.newest, g.alarms]), [
    ['S2', 2, '08:05', ['3', '1']],
    ['S1', 2, '08:02', ['2', '5']],
    ['S3', 1, '08:09', ['4']],
  ]);
  assert.equal(groups[2].region, undefined);
  assert.deepEqual(groupBySchool(open, () => undefined, false).map((g) => g.alarms), [undefined, undefined, undefined]);
  assert.deepEqual(groupBySchool([], () => undefined), []);
  // A frame's groups come from the alarms module's per-school sums: the same groups, in the same order.
  const { schoolGroups } = await import('../../gateway/modules/floods/index.js');
  const sums = [
    { school: 'S1', schoolName: 'S1', count: 2, newest: '08:02' },
    { school: 'S3', schoolName: 'S3', count: 1, newest: '08:09' },
    { school: 'S2', schoolName: 'S2', count: 2, newest: '08:05' },
  ];
  const region = (s: string) => (s === 'S3' ? undefined : '城关镇');
  assert.deepEqual(schoolGroups(sums, region), groupBySchool(open, region, false));
});
