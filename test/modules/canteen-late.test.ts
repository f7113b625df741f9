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
let policyFile: string;

before(async () => {
  const dir = await makeTempDir('canteen-late-');
  const policy = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'config/policy.json'), 'utf8'));
  // Every day a school day but today (nothing of today's meals can be missing while the test runs).
  policy.calendar = { terms: [{ name: 'test term', from: localDay(Date.now() - 40 * 86_400_000), to: localDay(Date.now() + 40 * 86_400_000) }], weekdays: [1, 2, 3, 4, 5, 6, 7], holidays: [{ name: 'test day', from: today, to: today }], extraSchoolDays: [] };
  policyFile = path.join(dir, 'policy.json');
  fs.writeFileSync(policyFile, JSON.stringify(policy));
  g = await buildInProcess({ POLICY: policyFile });
});
after(async () => {
  await g?.close();
});

function lateBook() {
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
  return book;
}
async function upload(g: InProcessGateway): Promise<void> {
  for (const body of lateBook()) {
    const res = await g.call('POST', '/api/canteen/records', { token: g.tokens.admin, body });
    assert.equal(res.status, 201, res.text);
  }
}
/** The school's cases, once the underweight sample (the book's last record) has been judged. */
const judgedFindings = (g: InProcessGateway) =>
  waitFor('the underweight sample judged', async () => {
    const list = (await g.call('GET', `/api/canteen/cases?school=${SCHOOL}`, { token: g.tokens.viewer })).body.cases as { finding?: string; reason: { en: string } }[];
    return list.some((c) => c.finding === 'sample_underweight') ? list : undefined;
  }, { timeoutMs: 15_000, intervalMs: 100 });

test('yesterday\'s book sent at once opens only the case of its real fault, once the upload stops', async () => {
  await upload(g);
  const judged = await judgedFindings(g);
  assert.deepEqual(judged.map((c) => c.finding), ['sample_underweight'], JSON.stringify(judged.map((c) => c.reason.en)));
  const summary = await g.call('GET', `/api/canteen/summary?date=${yesterday}&school=${SCHOOL}`, { token: g.tokens.viewer });
  assert.deepEqual(summary.body.schools[0].meals, [{ meal: 'lunch', samples: 'missing', accompany: 'ok', disinfection: 'ok' }]);
});

test('a late book cut off by a restart in its quiet time is still judged, once, after the restart', async () => {
  const env = { POLICY: policyFile, DATA_DIR: await makeTempDir('canteen-late-restart-'), GATEWAY_ADMIN_PASSWORD: 'canteen-late-restart-pw' };
  const first = await buildInProcess(env);
  await upload(first);
  // Closed at once: the judgement, LATE_QUIET_MS after the last record, was still to come.
  await first.close();
  const second = await buildInProcess(env);
  try {
    const judged = await judgedFindings(second);
    assert.deepEqual(judged.map((c) => c.finding), ['sample_underweight']);
  } finally {
    await second.close();
  }
});
