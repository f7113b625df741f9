/**
 * A day's book uploaded late (a school's record system sending yesterday's records at once, or the
 * demo seed) is judged once, after its last record: the records that are still coming are not found
 * "missing" on the way. In process with the real HTTP routes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { buildInProcess, type InProcessGateway } from '../routes/harness.js';
import { REPO_ROOT } from '../support/gateway.js';
import { makeTempDir } from '../support/procs.js';
import { waitFor } from '../support/wait.js';

const SCHOOL = 'S035'; // a day school: lunch only
const OFFSET_MS = 8 * 3_600_000;
const localDay = (ms: number) => new Date(ms + OFFSET_MS).toISOString().slice(0, 10);
const today = localDay(Date.now());
const yesterday = localDay(Date.now() - 86_400_000);
let g: InProcessGateway;

before(async () => {
  const dir = await makeTempDir('canteen-late-');
  const policy = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'config/policy.json'), 'utf8'));
  // Every day a school day but today (nothing of today's meals can be missing while the test runs).
  policy.calendar = { terms: [{ name: 'test term', from: localDay(Date.now() - 40 * 86_400_000), to: localDay(Date.now() + 40 * 86_400_000) }], weekdays: [1, 2, 3, 4, 5, 6, 7], holidays: [{ name: 'test day', from: today, to: today }], extraSchoolDays: [] };
  const file = path.join(dir, 'policy.json');
  fs.writeFileSync(file, JSON.stringify(policy));
  g = await buildInProcess({ POLICY: file });
});
after(async () => {
  await g?.close();
});

test('yesterday\'s book sent at once opens only the case of its real fault, once the upload stops', async () => {
  const at = (hhmm: string) => `${yesterday}T${hhmm}:00+08:00`;
  const kept = (hhmm: string) => new Date(Date.parse(at(hhmm)) + 50 * 3_600_000).toISOString();
  const menu = ['米饭', '红烧肉', '青菜'];
  const sample = (dish: string, grams: number, hhmm: string) => ({ kind: 'sample', school: SCHOOL, dish, meal: 'lunch', grams, takenAt: at(hhmm), keptUntil: kept(hhmm), person: '王秀英', menu });
  // The worst order for judging at each record: the first alone would find the leader, the other
  // dishes and the morning check missing. The underweight sample, last, is the day's only fault.
  const book = [
    sample('米饭', 150, '11:30'),
    { kind: 'accompany', school: SCHOOL, leader: '李校长', meal: 'lunch', at: at('11:50') },
    { kind: 'morning_check', school: SCHOOL, person: '王秀英', result: 'normal', at: at('09:20') },
    { kind: 'disinfection', school: SCHOOL, what: '餐具', method: '消毒柜', meal: 'lunch', at: at('11:10') },
    sample('红烧肉', 160, '11:32'),
    sample('青菜', 120, '11:34'),
  ];
  for (const body of book) {
    const res = await g.call('POST', '/api/canteen/records', { token: g.tokens.admin, body });
    assert.equal(res.status, 201, res.text);
  }
  const cases = () => g.call('GET', `/api/canteen/cases?school=${SCHOOL}`, { token: g.tokens.viewer }).then((r) => r.body.cases as { finding?: string; reason: { en: string } }[]);
  const judged = await waitFor('the underweight sample judged', async () => {
    const list = await cases();
    return list.some((c) => c.finding === 'sample_underweight') ? list : undefined;
  }, { timeoutMs: 15_000, intervalMs: 100 });
  assert.deepEqual(judged.map((c) => c.finding), ['sample_underweight'], JSON.stringify(judged.map((c) => c.reason.en)));
  const summary = await g.call('GET', `/api/canteen/summary?date=${yesterday}&school=${SCHOOL}`, { token: g.tokens.viewer });
  assert.deepEqual(summary.body.schools[0].meals, [{ meal: 'lunch', samples: 'missing', accompany: 'ok', disinfection: 'ok' }]);
});
