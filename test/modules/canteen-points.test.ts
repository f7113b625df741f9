/**
 * The canteen's gauges as points (docs/influx-schema.md), into a real VictoriaMetrics (InfluxDB's
 * write API): `canteen_cases` (a school's open and overdue cases at every change) and
 * `canteen_meal` (record completeness per meal, numeric: 1 on record, 0 missing), plus the pure
 * rendering.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { mealLines, openCasesLine } from '../../gateway/modules/canteen/points.js';
import { buildInProcess, type InProcessGateway } from '../routes/harness.js';
import { REPO_ROOT } from '../support/gateway.js';
import { makeTempDir } from '../support/procs.js';
import { exportSeries, startVictoria, type ExportedSeries, type Victoria } from '../support/victoria.js';

const OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;
const localDay = (ms: number) => new Date(ms + OFFSET_MS).toISOString().slice(0, 10);
/** Yesterday, local: every deadline of its meals has passed, so the statuses do not depend on the time of day. */
const yesterday = localDay(Date.now() - DAY_MS);
const at = (hhmm: string) => `${yesterday}T${hhmm}:00+08:00`;

test('rendering: numeric fields only; pending parts left out; complete 1 only when every part is on record', () => {
  assert.equal(openCasesLine('S001', 'R1', { open: 3, overdue: 1 }, 1_000), 'canteen_cases,region=R1,school=S001 open=3i,overdue=1i 1000');
  const lines = mealLines('S001', 'R1', '2026-12-01', [
    { meal: 'lunch', samples: 'ok', accompany: 'ok', disinfection: 'ok' },
    { meal: 'dinner', samples: 'missing', accompany: 'pending', disinfection: 'ok' },
    { meal: 'breakfast', samples: 'pending', accompany: 'pending', disinfection: 'pending' },
  ], 2000);
  assert.deepEqual(lines, [
    'canteen_meal,meal=lunch,region=R1,school=S001 accompany=1i,complete=1i,day=20261201i,disinfection=1i,samples=1i 2000',
    'canteen_meal,meal=dinner,region=R1,school=S001 complete=0i,day=20261201i,disinfection=1i,samples=0i 2000',
  ]);
});

let vm: Victoria;
let g: InProcessGateway;
before(async () => {
  vm = await startVictoria();
  const dir = await makeTempDir('canteen-points-');
  const policy = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'config/policy.json'), 'utf8'));
  // Every day a school day, so yesterday's meals are judged whatever the calendar says.
  policy.calendar = { terms: [{ name: 'test term', from: localDay(Date.now() - 40 * DAY_MS), to: localDay(Date.now() + 40 * DAY_MS) }], weekdays: [1, 2, 3, 4, 5, 6, 7], holidays: [], extraSchoolDays: [] };
  fs.writeFileSync(path.join(dir, 'policy.json'), JSON.stringify(policy));
  g = await buildInProcess({ POLICY: path.join(dir, 'policy.json'), INFLUX_URL: vm.url, INFLUX_TOKEN: 'test-token', INFLUX_ORG: 'bureau', INFLUX_BUCKET: 'campus', EXPORT_MAX_BATCH_AGE_MS: '50' });
});
after(async () => {
  await g?.close();
  await vm?.stop();
});

const last = (s: ExportedSeries[]) => s[0]?.values.at(-1);

test('canteen_cases follows a school’s open cases: up when one opens, down when it closes', async () => {
  const r = await g.call('POST', '/api/inspections', { token: g.tokens.maintenance, body: { school: 'S003', item: 'canteen', result: 'fail' } });
  assert.equal(r.status, 201, r.text);
  const open = await exportSeries(vm.url, '{__name__="canteen_cases_open",school="S003"}', { until: (s) => last(s) === 1 });
  assert.equal(last(open), 1);
  assert.ok(open[0].metric.region, 'tagged with the region');
  const [c] = (await g.call('GET', '/api/canteen/cases?school=S003', { token: g.tokens.viewer })).body.cases;
  for (const [action, body] of [['notify', {}], ['start', {}], ['submit', { photo: 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', measure: '整改' }], ['close', {}]] as const)
    assert.equal((await g.call('POST', `/api/canteen/cases/${c.id}/${action}`, { token: g.tokens.operator, body })).status, 200, action);
  const closed = await exportSeries(vm.url, '{__name__="canteen_cases_open",school="S003"}', { until: (s) => last(s) === 0 });
  assert.equal(last(closed), 0);
  assert.equal(last(await exportSeries(vm.url, '{__name__="canteen_cases_overdue",school="S003"}')), 0);
});

test('canteen_meal: a meal with its sample, leader and disinfection on record is complete (1); one without its sample is not (0)', async () => {
  const rec = async (body: Record<string, unknown>) => {
    const r = await g.call('POST', '/api/canteen/records', { token: g.tokens.maintenance, body: { school: 'S001', ...body } });
    assert.equal(r.status, 201, r.text);
  };
  // Yesterday's records are late: the day is judged once they stop coming (contract additions, judging records).
  await rec({ kind: 'disinfection', what: '餐具', method: '高温消毒柜', meal: 'lunch', at: at('10:30') });
  await rec({ kind: 'accompany', leader: '李校长', meal: 'lunch', at: at('12:05') });
  const before = await exportSeries(vm.url, '{__name__="canteen_meal_complete",school="S001",meal="lunch"}', { until: (s) => last(s) === 0 });
  assert.equal(last(before), 0, 'incomplete while its sample is not on record');
  await rec({ kind: 'sample', dish: '米饭', meal: 'lunch', grams: 150, takenAt: at('11:45'), keptUntil: new Date(Date.parse(at('11:45')) + 49 * 3_600_000).toISOString(), person: '王师傅' });
  const lunch = await exportSeries(vm.url, '{__name__="canteen_meal_complete",school="S001",meal="lunch"}', { until: (s) => last(s) === 1 });
  assert.equal(last(lunch), 1, 'lunch complete once all three are on record');
  assert.equal(last(await exportSeries(vm.url, '{__name__="canteen_meal_day",school="S001",meal="lunch"}')), Number(yesterday.replaceAll('-', '')), 'the day it is about');
  const breakfast = await exportSeries(vm.url, '{__name__="canteen_meal_samples",school="S001",meal="breakfast"}', { until: (s) => last(s) === 0 });
  assert.equal(last(breakfast), 0, 'breakfast has no sample on record');
  assert.equal(last(await exportSeries(vm.url, '{__name__="canteen_meal_complete",school="S001",meal="breakfast"}')), 0);
});
