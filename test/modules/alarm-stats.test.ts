/** The pure alarm statistics (GET /api/stats/alarms): percentiles at their edges, local days, classes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alarm } from '../../gateway/contract/api.js';
import { alarmStats, percentiles, periodStartMs } from '../../gateway/modules/alarms/stats.js';

const OFFSET = 8 * 3600_000; // +08:00
const NOW = Date.parse('2026-03-10T10:00:00+08:00');
const REGIONS: Record<string, string> = { S001: '城关镇', S002: '城关镇', S003: '河西乡' };

let n = 0;
/** An alarm raised at `at`, acknowledged / dispatched that many seconds later. */
function alarm(at: string, o: { school?: string; ack?: number; dispatch?: number; test?: boolean; outcome?: Alarm['outcome']; escalated?: boolean } = {}): Alarm {
  const raised = Date.parse(at);
  const history: Alarm['history'] = [{ state: 'raised', at: new Date(raised).toISOString(), by: 'dev' }];
  if (o.ack !== undefined) history.push({ state: 'acknowledged', at: new Date(raised + o.ack * 1000).toISOString(), by: 'op' });
  if (o.dispatch !== undefined) history.push({ state: 'dispatched', at: new Date(raised + o.dispatch * 1000).toISOString(), by: 'op' });
  return {
    id: `a${n++}`, sourceId: 'p', school: o.school ?? 'S001', schoolName: 's', device: 'd', deviceName: 'd', kind: 'panic', test: o.test ?? false,
    state: history.at(-1)!.state, raisedAt: new Date(raised).toISOString(), deviceTs: new Date(raised).toISOString(), clockSkewMs: 0, clockSuspect: false,
    escalated: o.escalated ?? false, history, ...(o.outcome ? { outcome: o.outcome } : {}),
  };
}
const stats = (alarms: Alarm[], days = 7) =>
  alarmStats({ alarms, nowMs: NOW, days, offsetMs: OFFSET, regionOf: (s) => REGIONS[s], regions: ['城关镇', '河西乡'] });

test('percentiles: none is null, one is itself, two are the smaller (p50) and the larger (p90)', () => {
  assert.deepEqual(percentiles([]), { n: 0, p50: null, p90: null });
  assert.deepEqual(percentiles([42]), { n: 1, p50: 42, p90: 42 });
  assert.deepEqual(percentiles([30, 10]), { n: 2, p50: 10, p90: 30 });
  // ten samples 1..10: p50 is the 5th, p90 the 9th (nearest rank: a time some alarm really took)
  assert.deepEqual(percentiles([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]), { n: 10, p50: 5, p90: 9 });
});

test('days are local (+08:00): 23:59:59 and 00:00:00 local fall on different days, whatever the UTC date', () => {
  const s = stats([
    alarm('2026-03-09T23:59:59.999+08:00'), // 15:59 UTC on the 9th
    alarm('2026-03-10T00:00:00+08:00'), // 16:00 UTC on the 9th, but today locally
    alarm('2026-03-04T00:00:00+08:00'), // the first instant of a 7-day period ending on the 10th
    alarm('2026-03-03T23:59:59.999+08:00'), // just before it: left out
  ]);
  assert.equal(s.from, '2026-03-04');
  assert.equal(s.to, '2026-03-10');
  assert.deepEqual(s.byDay.map((d) => [d.day, d.total]), [
    ['2026-03-04', 1], ['2026-03-05', 0], ['2026-03-06', 0], ['2026-03-07', 0], ['2026-03-08', 0], ['2026-03-09', 1], ['2026-03-10', 1],
  ]);
  assert.equal(s.county.total, 3);
  assert.equal(periodStartMs(NOW, 7, OFFSET), Date.parse('2026-03-04T00:00:00+08:00'));
  assert.equal(periodStartMs(NOW, 1, OFFSET), Date.parse('2026-03-10T00:00:00+08:00'));
  // days=1 is today only
  assert.deepEqual(stats([alarm('2026-03-09T23:59:59+08:00'), alarm('2026-03-10T00:00:01+08:00')], 1).byDay.map((d) => [d.day, d.total]), [['2026-03-10', 1]]);
});

test('real, false and test apart; escalations; times to acknowledge and dispatch over real and false alarms only', () => {
  const s = stats([
    alarm('2026-03-10T08:00:00+08:00', { ack: 20, dispatch: 60, escalated: false }),
    alarm('2026-03-10T08:05:00+08:00', { ack: 40, escalated: true }),
    alarm('2026-03-10T08:10:00+08:00', { ack: 10, outcome: 'false', school: 'S003' }),
    alarm('2026-03-10T08:20:00+08:00', { ack: 900, test: true }), // a test press: counted apart, not timed
    alarm('2026-03-10T08:30:00+08:00', { ack: 5, outcome: 'test' }), // resolved as a drill: a test too
    alarm('2026-03-10T08:40:00+08:00'), // still open, unacknowledged: a real alarm, not timed
  ]);
  const { total, real, tests, escalations, ackSec, dispatchSec } = s.county;
  assert.deepEqual({ total, real, false: s.county.false, tests, escalations }, { total: 6, real: 3, false: 1, tests: 2, escalations: 1 });
  assert.deepEqual(ackSec, { n: 3, p50: 20, p90: 40 });
  assert.deepEqual(dispatchSec, { n: 1, p50: 60, p90: 60 });
  const [chengguan, hexi] = s.townships;
  assert.equal(chengguan.region, '城关镇');
  assert.deepEqual([chengguan.total, chengguan.real, chengguan.false], [5, 3, 0]);
  assert.deepEqual([hexi.region, hexi.total, hexi.false, hexi.ackSec.p50], ['河西乡', 1, 1, 10]);
});

test('a township with no alarm is listed with zeros and null times', () => {
  const s = stats([alarm('2026-03-10T08:00:00+08:00')]);
  const hexi = s.townships.find((t) => t.region === '河西乡')!;
  assert.deepEqual(hexi, { region: '河西乡', total: 0, real: 0, false: 0, tests: 0, escalations: 0, ackSec: { n: 0, p50: null, p90: null }, dispatchSec: { n: 0, p50: null, p90: null } });
});
