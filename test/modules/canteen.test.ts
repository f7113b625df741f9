/**
 * The canteen module end to end (contract §8, issue 11), in process with the real embedded broker
 * and /live: an MQTT `ai` event from a canteen camera opens a case (a `case` frame), sixty frames of
 * the same rat are one case, the whole rectification workflow over HTTP with its refusals, the
 * overdue escalation, and records refused or turned into cases.
 *
 * The policy is the demo county's with today a holiday (nothing of today's meals can be missing
 * while the test runs).
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
import { openLive, type LiveClient } from '../support/ws.js';
import { waitFor } from '../support/wait.js';

const SCHOOL = 'S001';
const OFFSET_MS = 8 * 3_600_000;
const localDay = (ms: number) => new Date(ms + OFFSET_MS).toISOString().slice(0, 10);
const today = localDay(Date.now());
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

let g: InProcessGateway;
let fleet: MqttClient;
let live: LiveClient;
let schoolLive: LiveClient;
const school: Record<string, string> = {};

before(async () => {
  const dir = await makeTempDir('canteen-policy-');
  const policy = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'config/policy.json'), 'utf8'));
  policy.calendar = { terms: [{ name: 'test term', from: localDay(Date.now() - 40 * 86_400_000), to: localDay(Date.now() + 40 * 86_400_000) }], weekdays: [1, 2, 3, 4, 5, 6, 7], holidays: [{ name: 'test day', from: today, to: today }], extraSchoolDays: [] };
  const file = path.join(dir, 'policy.json');
  fs.writeFileSync(file, JSON.stringify(policy));
  g = await buildInProcess({ POLICY: file });
  for (const s of ['S001', 'S002']) {
    const password = randomBytes(12).toString('base64url');
    const user = `${s.toLowerCase()}-officer`;
    const made = await g.call('POST', '/api/users', { token: g.tokens.admin, body: { user, password, role: 'viewer', school: s } });
    assert.equal(made.status, 201, made.text);
    const login = await g.call('POST', '/api/login', { body: { user, password } });
    school[s] = login.body.token;
  }
  await g.app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(g.app.server.address() as import('node:net').AddressInfo).port}`;
  live = await openLive(url, g.tokens.viewer);
  schoolLive = await openLive(url, school.S002);
  fleet = await connectDevice(g.mqttUrl);
});
after(async () => {
  await live?.close();
  await schoolLive?.close();
  await fleet?.endAsync(true);
  await g?.close();
});

const ai = (device: string, kind: string, ts = Date.now(), extra: Record<string, unknown> = {}) =>
  fleet.publishAsync(`campus/v1/${SCHOOL}/${device}/ai`, JSON.stringify({ id: `ai-${randomBytes(6).toString('hex')}`, ts, kind, confidence: 0.9, ...extra }), { qos: 1 });
const casesOf = async (device: string, kind: string, token = g.tokens.viewer) => {
  const res = await g.call('GET', `/api/canteen/cases?school=${SCHOOL}`, { token });
  assert.equal(res.status, 200, res.text);
  return (res.body.cases as { id: string; device?: string; kind?: string; events: number; state: string }[]).filter((c) => c.device === device && c.kind === kind);
};
const act = (id: string, action: string, token: string, body: unknown = {}) => g.call('POST', `/api/canteen/cases/${id}/${action}`, { token, body });

test('an ai event from a canteen storeroom camera opens a case, with a case frame carrying its school', async () => {
  await ai('S001-KC26', 'rodent');
  const frame = await live.next((f) => f.type === 'case' && f.data.device === 'S001-KC26' && f.data.action === 'open', 10_000);
  assert.equal(frame.data.school, SCHOOL);
  assert.equal(frame.data.area, 'storage');
  assert.equal(frame.data.canteen, 'main');
  assert.equal(frame.data.state, 'open');
  assert.equal(frame.data.source, 'ai');
  assert.equal(frame.data.overdue, false);
  // Rodent: 2 h (policy).
  assert.equal(Date.parse(frame.data.deadlineAt) - Date.parse(frame.data.openedAt), 2 * 3_600_000);
  const [c] = await casesOf('S001-KC26', 'rodent');
  assert.equal(c.state, 'open');
  const one = await g.call('GET', `/api/canteen/cases/${c.id}`, { token: school.S001 });
  assert.equal(one.status, 200);
  assert.deepEqual(one.body.history.map((h: { action: string }) => h.action), ['open']);
  assert.deepEqual(one.body.actions, ['notify']);
  // Another school's user neither sees it nor gets its frame.
  assert.equal((await g.call('GET', `/api/canteen/cases/${c.id}`, { token: school.S002 })).status, 403);
  assert.ok(!schoolLive.frames.some((f) => f.type === 'case' && f.data.school === SCHOOL));
  const snap = await g.call('GET', `/api/canteen/cases?state=open&school=${SCHOOL}`, { token: school.S002 });
  assert.equal(snap.status, 403);
});

test('sixty frames of the same rat within the window are one case', async () => {
  const t0 = Date.now();
  for (let k = 0; k < 60; k++) await ai('S001-KC28', 'rodent', t0 + k * 1000);
  const c = await waitFor('sixty events on one case', async () => {
    const list = await casesOf('S001-KC28', 'rodent');
    return list.length === 1 && list[0].events === 60 ? list[0] : undefined;
  });
  assert.equal(c.state, 'open');
  assert.equal(live.frames.filter((f) => f.type === 'case' && f.data.device === 'S001-KC28' && f.data.action === 'open').length, 1);
  // A frame under the rule's confidence is counted, not a case; the same camera's other kind is its own case.
  await ai('S001-KC28', 'intrusion', Date.now(), { confidence: 0.3 });
  await ai('S001-KC28', 'animal');
  await waitFor('the animal case', async () => (await casesOf('S001-KC28', 'animal')).length === 1);
  assert.equal((await casesOf('S001-KC28', 'intrusion')).length, 0);
});

test('the workflow: notify → start → submit (photo) → reject (back to rectifying) → submit → close, with 409, 400 and 403', async () => {
  const [c] = await casesOf('S001-KC26', 'rodent');
  // Out of order: a case that is open cannot be submitted.
  const early = await act(c.id, 'start', g.tokens.operator);
  assert.equal(early.status, 409, early.text);
  assert.deepEqual([early.body.error, early.body.state], ['illegal_transition', 'open']);
  // A viewer of the county may not act; another school's user may not either.
  assert.equal((await act(c.id, 'notify', g.tokens.viewer)).status, 403);
  const other = await act(c.id, 'notify', school.S002);
  assert.equal(other.status, 403);
  assert.equal(other.body.error, 'other_school');

  const notified = await act(c.id, 'notify', g.tokens.operator, { note: '请食安员立即处理' });
  assert.equal(notified.status, 200, notified.text);
  assert.equal(notified.body.state, 'notified');
  const frame = await live.next((f) => f.type === 'case' && f.data.id === c.id && f.data.state === 'notified', 10_000);
  assert.equal(frame.data.previous, 'open');
  assert.equal(frame.data.by, 'operator-1');

  assert.equal((await act(c.id, 'start', school.S001)).body.state, 'rectifying');
  // Submit needs a photo and a measure; a photo that is not an image is refused.
  const noPhoto = await act(c.id, 'submit', school.S001, { measure: '已封堵鼠洞' });
  assert.equal(noPhoto.status, 400, noPhoto.text);
  assert.match(noPhoto.body.message, /photo/);
  const notImage = await act(c.id, 'submit', school.S001, { measure: '已封堵鼠洞', photo: Buffer.from('not an image').toString('base64') });
  assert.equal(notImage.status, 400);
  assert.equal(notImage.body.error, 'photo_not_image');
  const submitted = await act(c.id, 'submit', school.S001, { measure: '已封堵鼠洞，放置粘鼠板', photo: PNG, note: '整改完成' });
  assert.equal(submitted.status, 200, submitted.text);
  assert.equal(submitted.body.state, 'submitted');
  const sub = submitted.body.history.at(-1);
  assert.match(sub.photo, /^[0-9a-f]{64}$/);
  assert.equal(sub.measure, '已封堵鼠洞，放置粘鼠板');
  // The photo is the school's: its user may read it, another school's may not.
  assert.equal((await g.call('GET', `/api/media/${sub.photo}`, { token: school.S001 })).status, 200);
  assert.equal((await g.call('GET', `/api/media/${sub.photo}`, { token: school.S002 })).status, 403);

  // The review is the county's: a school user cannot close or reject; reject needs a note.
  assert.equal((await act(c.id, 'close', school.S001)).status, 403);
  assert.equal((await act(c.id, 'reject', g.tokens.operator)).status, 400);
  const rejected = await act(c.id, 'reject', g.tokens.operator, { note: '照片看不清鼠洞位置' });
  assert.equal(rejected.status, 200, rejected.text);
  assert.equal(rejected.body.state, 'rectifying');
  assert.equal((await act(c.id, 'submit', school.S001, { measure: '重新封堵', photo: PNG })).body.state, 'submitted');
  const closed = await act(c.id, 'close', g.tokens.operator, { note: '验收通过' });
  assert.equal(closed.status, 200);
  assert.equal(closed.body.state, 'closed');
  assert.deepEqual(closed.body.history.map((h: { action: string }) => h.action), ['open', 'notify', 'start', 'submit', 'reject', 'submit', 'close']);
  const again = await act(c.id, 'close', g.tokens.operator);
  assert.equal(again.status, 409);
  assert.equal(again.body.state, 'closed');
  // Closed: the next rat on that camera opens a new case.
  await ai('S001-KC26', 'rodent');
  await waitFor('a new case', async () => (await casesOf('S001-KC26', 'rodent')).some((x) => x.id !== c.id && x.state === 'open'));
  // The audit trail has the steps.
  const audit = await g.call('GET', '/api/audit?action=case.*', { token: g.tokens.admin });
  assert.equal(audit.status, 200, audit.text);
  const steps = JSON.stringify(audit.body);
  for (const a of ['case.notify', 'case.submit', 'case.reject', 'case.close']) assert.ok(steps.includes(a), a);
  assert.ok(steps.includes(c.id));
});

test('a case past its deadline escalates once: a case frame with overdue true', async () => {
  // A rat seen three hours ago: the 2 h deadline has passed when the case opens.
  await ai('S001-KC27', 'rodent', Date.now() - 3 * 3_600_000);
  const opened = await live.next((f) => f.type === 'case' && f.data.device === 'S001-KC27' && f.data.action === 'open', 10_000);
  assert.equal(opened.data.overdue, true);
  const esc = await live.next((f) => f.type === 'case' && f.data.id === opened.data.id && f.data.action === 'overdue', 10_000);
  assert.equal(esc.data.overdue, true);
  assert.equal(esc.data.escalated, true);
  assert.equal(esc.data.school, SCHOOL);
  const overdue = await g.call('GET', `/api/canteen/cases?state=overdue`, { token: g.tokens.viewer });
  assert.ok(overdue.body.cases.some((c: { id: string; escalatedAt?: string }) => c.id === opened.data.id && c.escalatedAt));
});

test('records: a negative weight is refused with its reason and nothing stored; an underweight sample opens a case', async () => {
  const base = { kind: 'sample', school: SCHOOL, dish: '番茄炒蛋', meal: 'lunch', takenAt: new Date().toISOString(), keptUntil: new Date(Date.now() + 49 * 3_600_000).toISOString(), person: '王师傅' };
  const neg = await g.call('POST', '/api/canteen/records', { token: school.S001, body: { ...base, grams: -5 } });
  assert.equal(neg.status, 400, neg.text);
  assert.equal(neg.body.error, 'negative_weight');
  assert.match(neg.body.message, /negative/);
  assert.equal((await g.services.store.find('canteen_records', {})).length, 0);
  const meal = await g.call('POST', '/api/canteen/records', { token: school.S001, body: { ...base, grams: 150, meal: 'supper' } });
  assert.equal(meal.status, 400);
  assert.equal(meal.body.error, 'unknown_meal');
  // Another school's user may not record for this one.
  assert.equal((await g.call('POST', '/api/canteen/records', { token: school.S002, body: { ...base, grams: 150 } })).status, 403);

  const light = await g.call('POST', '/api/canteen/records', { token: school.S001, body: { ...base, grams: 100 } });
  assert.equal(light.status, 201, light.text);
  const frame = await live.next((f) => f.type === 'case' && f.data.source === 'record' && f.data.finding === 'sample_underweight', 10_000);
  assert.equal(frame.data.school, SCHOOL);
  assert.match(frame.data.reason.zh, /100 克/);
  const ok = await g.call('POST', '/api/canteen/records', { token: school.S001, body: { ...base, dish: '米饭', grams: 150 } });
  assert.equal(ok.status, 201);
  assert.equal((await g.services.store.find('canteen_records', {})).length, 2);
  // Judged again on the next record: the same finding opens no second case.
  await waitFor('records judged', async () => (await g.call('GET', `/api/canteen/cases?school=${SCHOOL}`, { token: g.tokens.viewer })).body.cases.filter((c: { finding?: string }) => c.finding === 'sample_underweight').length === 1);
});

test('GET /api/canteen/records: the day\'s records with their times and who entered them; a school user theirs only', async () => {
  const res = await g.call('GET', `/api/canteen/records?date=${today}`, { token: school.S001 });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.date, today);
  const samples = res.body.records.filter((r: { kind: string }) => r.kind === 'sample');
  assert.deepEqual(samples.map((r: { dish: string; grams: number }) => `${r.dish} ${r.grams}`).sort(), ['番茄炒蛋 100', '米饭 150']);
  for (const r of samples) {
    assert.equal(r.school, SCHOOL);
    assert.equal(r.by, 's001-officer');
    assert.ok(!Number.isNaN(Date.parse(r.takenAt)) && !Number.isNaN(Date.parse(r.keptUntil)), JSON.stringify(r));
  }
  assert.equal((await g.call('GET', `/api/canteen/records?school=${SCHOOL}`, { token: school.S002 })).status, 403);
  const theirs = await g.call('GET', `/api/canteen/records?date=${today}`, { token: school.S002 });
  assert.ok(theirs.body.records.every((r: { school: string }) => r.school === 'S002'));
});

test('records of a past school day: its meals without a leader or a sample each open one case', async () => {
  // Yesterday is a school day in this policy; S002 records only its lunch sample, late (entered today).
  const yesterday = localDay(Date.now() - 86_400_000);
  const takenAt = `${yesterday}T11:50:00+08:00`;
  const body = { kind: 'sample', school: 'S002', dish: '米饭', meal: 'lunch', grams: 150, takenAt, keptUntil: new Date(Date.parse(takenAt) + 49 * 3_600_000).toISOString(), person: '李师傅' };
  const res = await g.call('POST', '/api/canteen/records', { token: school.S002, body });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.day, yesterday);
  const frame = await live.next((f) => f.type === 'case' && f.data.school === 'S002' && f.data.finding === 'accompany_missing', 10_000);
  assert.match(frame.data.id, new RegExp(`^rec-S002-${yesterday}-`));
  const s002 = (await g.call('GET', '/api/canteen/cases?school=S002', { token: school.S002 })).body.cases as { finding?: string; reason: { en: string } }[];
  assert.ok(!s002.some((c) => c.finding === 'sample_missing' && /Lunch/.test(c.reason.en)), 'lunch was sampled');
  // The school's own user got the frames of its school.
  await schoolLive.next((f) => f.type === 'case' && f.data.school === 'S002' && f.data.finding === 'accompany_missing', 10_000);
  // Another record of that day judges it again: no second case for the same finding.
  assert.equal((await g.call('POST', '/api/canteen/records', { token: school.S002, body: { ...body, dish: '青菜', id: 'veg-1' } })).status, 201);
  await waitFor('judged again', async () => (await g.services.store.find('canteen_records', { where: [['school', '=', 'S002']] })).length === 2);
  const again = (await g.call('GET', '/api/canteen/cases?school=S002', { token: school.S002 })).body.cases as { finding?: string }[];
  assert.equal(again.filter((c) => c.finding === 'accompany_missing').length, s002.filter((c) => c.finding === 'accompany_missing').length);
});

test('the summary: per school coverage, AI events today by kind, open and overdue cases, meals', async () => {
  const res = await g.call('GET', `/api/canteen/summary?date=${today}`, { token: school.S001 });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.schools.map((s: { school: string }) => s.school), [SCHOOL]);
  const s = res.body.schools[0];
  assert.ok(s.aiEvents.rodent >= 62, JSON.stringify(s.aiEvents));
  assert.ok(s.cases.open >= 3);
  assert.ok(s.cases.overdue >= 1);
  assert.ok(s.coverage.required > 0);
  assert.deepEqual(s.meals, [], 'today is a holiday in this policy');
  const county = await g.call('GET', '/api/canteen/summary', { token: g.tokens.viewer });
  assert.ok(county.body.schools.length > 1);
});
