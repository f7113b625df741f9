/**
 * GET /api/reports/canteen end to end, in process with the real embedded broker: AI events sent
 * over MQTT and records sent over HTTP show in the day's report as JSON, CSV and printable HTML;
 * a school's user gets their school only; bad and future dates are refused.
 *
 * The policy: every day a school day except today (a holiday), so yesterday's meals are judged
 * and nothing of today's can go missing while the test runs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildInProcess, type InProcessGateway } from '../routes/harness.js';
import { REPO_ROOT } from '../support/gateway.js';
import { connectDevice, type MqttClient } from '../support/mqtt.js';
import { makeTempDir } from '../support/procs.js';
import { waitFor } from '../support/wait.js';

const OFFSET_MS = 8 * 3_600_000;
const localDay = (ms: number) => new Date(ms + OFFSET_MS).toISOString().slice(0, 10);
const today = localDay(Date.now());
const yesterday = localDay(Date.now() - 86_400_000);
const tomorrow = localDay(Date.now() + 86_400_000);
const atY = (hhmm: string) => `${yesterday}T${hhmm}:00+08:00`;

let g: InProcessGateway;
let fleet: MqttClient;
let s002: string;

before(async () => {
  const dir = await makeTempDir('canteen-report-policy-');
  const policy = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'config/policy.json'), 'utf8'));
  policy.calendar = { terms: [{ name: 't', from: localDay(Date.now() - 40 * 86_400_000), to: localDay(Date.now() + 40 * 86_400_000) }], weekdays: [1, 2, 3, 4, 5, 6, 7], holidays: [{ name: 'test day', from: today, to: today }], extraSchoolDays: [] };
  const file = path.join(dir, 'policy.json');
  fs.writeFileSync(file, JSON.stringify(policy));
  g = await buildInProcess({ POLICY: file });
  const password = randomBytes(12).toString('base64url');
  assert.equal((await g.call('POST', '/api/users', { token: g.tokens.admin, body: { user: 's002-officer', password, role: 'viewer', school: 'S002' } })).status, 201);
  s002 = (await g.call('POST', '/api/login', { body: { user: 's002-officer', password } })).body.token;
  fleet = await connectDevice(g.mqttUrl);
});
after(async () => {
  await fleet?.endAsync(true);
  await g?.close();
});

const report = (q: string, token = g.tokens.viewer) => g.call('GET', `/api/reports/canteen?${q}`, { token });
const record = async (body: Record<string, unknown>) => {
  const res = await g.call('POST', '/api/canteen/records', { token: g.tokens.maintenance ?? g.tokens.admin, body: { school: 'S001', ...body } });
  assert.equal(res.status, 201, res.text);
};

test("today's AI events over MQTT show in the report by kind, with the cases they opened", async () => {
  for (const [device, kind] of [['S001-KC26', 'rodent'], ['S001-KC26', 'rodent'], ['S001-KC27', 'smoking']])
    await fleet.publishAsync(`campus/v1/S001/${device}/ai`, JSON.stringify({ id: `r-${randomBytes(6).toString('hex')}`, ts: Date.now(), kind, confidence: 0.9 }), { qos: 1 });
  const s = await waitFor('the day’s AI events in the report', async () => {
    const res = await report(`date=${today}`);
    assert.equal(res.status, 200, res.text);
    const mine = (res.body.schools as { school: string; aiEvents: { total: number } }[]).find((x) => x.school === 'S001');
    return mine && mine.aiEvents.total >= 3 ? (mine as unknown as { aiEvents: { byKind: { kind: string; count: number }[] }; cases: { opened: number; open: number; rectificationRate: number | null }; coverage: { required: number } }) : undefined;
  });
  assert.deepEqual(s.aiEvents.byKind.find((k) => k.kind === 'rodent'), { kind: 'rodent', count: 2 });
  assert.deepEqual(s.aiEvents.byKind.find((k) => k.kind === 'smoking'), { kind: 'smoking', count: 1 });
  assert.equal(s.cases.opened, 2, 'two rats in the window are one case; the smoker is another');
  assert.equal(s.cases.open, 2);
  assert.equal(s.cases.rectificationRate, 0);
  assert.ok(s.coverage.required > 0);
});

test("yesterday's records: complete breakfast, the missing lunch and the abnormal morning check are listed, in JSON, CSV and HTML", async () => {
  await record({ kind: 'morning_check', person: '王师傅', result: 'normal', at: atY('04:00') });
  await record({ kind: 'morning_check', person: '刘师傅', result: 'abnormal', symptom: '腹泻', at: atY('04:10') });
  await record({ kind: 'sample', dish: '包子', meal: 'breakfast', grams: 150, takenAt: atY('06:50'), keptUntil: `${localDay(Date.now() + 86_400_000)}T07:00:00+08:00`, person: '王师傅' });
  await record({ kind: 'accompany', leader: '张校长', meal: 'breakfast', at: atY('07:00') });
  await record({ kind: 'disinfection', what: '餐具', method: '蒸汽', meal: 'breakfast', at: atY('06:00') });

  const res = await report(`date=${yesterday}&school=S001`);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.cutoffAt, new Date(Date.parse(`${yesterday}T00:00:00+08:00`) + 86_400_000).toISOString());
  assert.equal(res.body.schools.length, 1);
  const s = res.body.schools[0];
  assert.deepEqual(s.meals.find((m: { meal: string }) => m.meal === 'breakfast'), { meal: 'breakfast', name: { zh: '早餐', en: 'Breakfast' }, samples: 'ok', accompany: 'ok', disinfection: 'ok' });
  assert.equal(s.meals.find((m: { meal: string }) => m.meal === 'lunch').samples, 'missing');
  const codes = s.findings.map((f: { code: string; meal?: string }) => `${f.code}${f.meal ? `:${f.meal}` : ''}`);
  for (const c of ['sample_missing:lunch', 'accompany_missing:lunch', 'morning_check_abnormal']) assert.ok(codes.includes(c), `${c} in ${codes}`);
  assert.ok(!codes.some((c: string) => c.endsWith(':breakfast')), 'breakfast is complete');
  assert.deepEqual(s.morningChecks, { expected: 2, checked: 2, abnormal: 1, status: 'ok' });

  const csv = await report(`date=${yesterday}&school=S001&format=csv`);
  assert.equal(csv.status, 200);
  assert.match(String(csv.headers['content-type']), /^text\/csv/);
  assert.match(String(csv.headers['content-disposition']), /attachment; filename="canteen-.*\.csv"/);
  assert.ok(csv.text.startsWith('\ufeffdate,school,'));
  assert.match(csv.text, /刘师傅 晨检异常（腹泻）/);

  const html = await report(`date=${yesterday}&school=S001&format=html`);
  assert.equal(html.status, 200);
  assert.match(String(html.headers['content-type']), /^text\/html/);
  assert.match(String(html.headers['content-security-policy']), /default-src 'none'/);
  assert.match(html.text, /明厨亮灶日报/);
  assert.match(html.text, /午餐无留样记录/);
  assert.match(html.text, /Lunch: no food sample recorded/);
});

test("a school's user gets their school only; another school is 403 other_school", async () => {
  const mine = await report(`date=${today}`, s002);
  assert.equal(mine.status, 200, mine.text);
  assert.deepEqual(mine.body.schools.map((s: { school: string }) => s.school), ['S002']);
  const other = await report(`date=${today}&school=S001`, s002);
  assert.equal(other.status, 403);
  assert.equal(other.body.error, 'other_school');
  const county = await report(`date=${today}`);
  assert.ok(county.body.schools.length > 1, 'a county user gets every school with a canteen');
  assert.equal((await g.call('GET', `/api/reports/canteen?date=${today}`)).status, 401);
});

test('refusals: not a date, not a calendar date, a date in the future, an unknown school', async () => {
  for (const [q, status, re] of [
    ['date=2026-1-5', 400, /date/],
    ['date=2026-02-30', 400, /not a calendar date/],
    [`date=${tomorrow}`, 400, /in the future/],
    ['', 400, /date/],
    [`date=${today}&school=S999`, 404, /no school "S999"/],
    [`date=${today}&format=pdf`, 400, /format/],
  ] as const) {
    const res = await report(q);
    assert.equal(res.status, status, `${q}: ${res.text}`);
    assert.match(res.body.message, re, q);
  }
});
