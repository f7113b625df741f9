/**
 * The alarm spine end to end on the embedded default: a real gateway process, its embedded
 * broker, real MQTT devices and real WebSocket screens.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, login, startGateway, type GatewayProc } from './support/gateway.js';
import { collect, connectDevice, waitForMessage, type MqttClient } from './support/mqtt.js';
import { openLive } from './support/ws.js';
import { waitFor } from './support/wait.js';
import { loadRegistry } from '../gateway/registry.js';
import path from 'node:path';
import { REPO_ROOT } from './support/gateway.js';

const registry = loadRegistry(path.join(REPO_ROOT, 'config/county.json'));
const school = registry.registry.schools[0];
const [button, button2] = school.devices.filter((d) => d.kind === 'alarm_button');
const camera = school.devices.find((d) => d.kind === 'camera')!;
const topic = (d: { id: string }, type: string, s = school.id) => `campus/v1/${s}/${d.id}/${type}`;

let gw: GatewayProc;
let token: string;
let device: MqttClient;
let uniq = 0;
const pressId = () => `press-${Date.now()}-${uniq++}`;

before(async () => {
  gw = await startGateway({ env: { ACK_TIMEOUT_SEC: '2' } });
  token = await login(gw.url, 'admin', gw.adminPassword);
  device = await connectDevice(gw.mqttUrl);
});
after(async () => {
  await device?.endAsync();
  await gw?.stop();
});

test('an alarm published with QoS 1 reaches the screen, and the button hears "received"', async () => {
  const screen = await openLive(gw.url, token);
  const snap = await screen.next((f) => f.type === 'snapshot');
  assert.ok(Array.isArray(snap.data.alarms));
  assert.equal(snap.data.schools.length, registry.schools.size);

  const id = pressId();
  const feedback = waitForMessage(device, topic(button, 'alarm/state'), (_t, p) => JSON.parse(p.toString()).id === id);
  const t0 = Date.now();
  await device.publishAsync(topic(button, 'alarm'), JSON.stringify({ id, ts: new Date().toISOString(), kind: 'panic', zone: '一年级教学楼' }), { qos: 1 });
  const frame = await screen.next((f) => f.type === 'alarm' && f.data.sourceId === id);
  const latencyMs = Date.now() - t0;
  assert.equal(frame.seq, snap.seq + 1, 'seq rises by one per event');
  assert.equal(frame.data.state, 'raised');
  assert.equal(frame.data.school, school.id);
  assert.equal(frame.data.schoolName, school.name);
  assert.equal(frame.data.deviceName, button.name);
  assert.equal(frame.data.zone, '一年级教学楼');
  assert.ok(latencyMs < 1000, `on the screen in ${latencyMs} ms`);
  const fb = JSON.parse((await feedback).payload.toString());
  assert.equal(fb.state, 'received');
  await screen.close();
});

test('the same (device, id) published twice is one alarm, and the button is told its state again', async () => {
  const id = pressId();
  const lamp = collect(device, topic(button, 'alarm/state'));
  await lamp.ready;
  const body = JSON.stringify({ id, ts: Date.now(), kind: 'intrusion' });
  await device.publishAsync(topic(button, 'alarm'), body, { qos: 1 });
  await device.publishAsync(topic(button, 'alarm'), body, { qos: 1 });
  // A different button may reuse the id: that is a different alarm.
  await device.publishAsync(topic(button2, 'alarm'), body, { qos: 1 });
  const all = (await api(gw.url, token, 'GET', '/api/alarms?state=all&limit=1000')).body.alarms as { sourceId: string; device: string }[];
  assert.deepEqual(all.filter((a) => a.sourceId === id).map((a) => a.device).sort(), [button.id, button2.id].sort());
  await waitFor('two alarm/state messages for the alarm', () => lamp.messages.filter((m) => JSON.parse(m.payload.toString()).id === id).length === 2, { timeoutMs: 5000 });
  lamp.stop();
});

test('operators acknowledge, dispatch and resolve with notes; every screen and the button follow; illegal steps are 409', async () => {
  const screenA = await openLive(gw.url, token);
  const screenB = await openLive(gw.url, token);
  await screenA.next((f) => f.type === 'snapshot');
  await screenB.next((f) => f.type === 'snapshot');
  const id = pressId();
  await device.publishAsync(topic(button, 'alarm'), JSON.stringify({ id, ts: Date.now(), kind: 'medical' }), { qos: 1 });
  const raised = await screenA.next((f) => f.type === 'alarm' && f.data.sourceId === id);
  const alarmId = raised.data.id as string;

  await api(gw.url, token, 'POST', '/api/users', { user: 'op1', password: 'op1-password', role: 'operator' });
  await api(gw.url, token, 'POST', '/api/users', { user: 'watcher', password: 'watcher-password', role: 'viewer' });
  const opToken = await login(gw.url, 'op1', 'op1-password');
  const viewerToken = await login(gw.url, 'watcher', 'watcher-password');

  const forbidden = await api(gw.url, viewerToken, 'POST', `/api/alarms/${alarmId}/ack`, {});
  assert.equal(forbidden.status, 403);
  const early = await api(gw.url, opToken, 'POST', `/api/alarms/${alarmId}/resolve`, { note: 'x' });
  assert.equal(early.status, 409);
  assert.equal(early.body.state, 'raised');

  for (const [action, state, note] of [['ack', 'acknowledged', '已联系门卫'], ['dispatch', 'dispatched', '110 已出警'], ['resolve', 'resolved', '学生误触']] as const) {
    const lamp = waitForMessage(device, topic(button, 'alarm/state'), (_t, p) => {
      const m = JSON.parse(p.toString());
      return m.id === id && m.state === state;
    });
    const res = await api(gw.url, opToken, 'POST', `/api/alarms/${alarmId}/${action}`, { note });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    for (const screen of [screenA, screenB]) {
      const f = await screen.next((fr) => fr.type === 'alarm' && fr.data.id === alarmId && fr.data.state === state);
      assert.equal(f.data.history.at(-1).by, 'op1');
    }
    assert.equal(JSON.parse((await lamp).payload.toString()).by, 'op1');
  }
  const again = await api(gw.url, opToken, 'POST', `/api/alarms/${alarmId}/ack`, {});
  assert.equal(again.status, 409);
  assert.equal(again.body.state, 'resolved');

  const full = (await api(gw.url, viewerToken, 'GET', `/api/alarms/${alarmId}`)).body;
  assert.deepEqual(full.history.map((h: { state: string; note?: string }) => [h.state, h.note]), [
    ['raised', undefined],
    ['acknowledged', '已联系门卫'],
    ['dispatched', '110 已出警'],
    ['resolved', '学生误触'],
  ]);
  assert.ok(full.history.every((h: { at: string }) => !Number.isNaN(Date.parse(h.at))));
  const open = (await api(gw.url, viewerToken, 'GET', '/api/alarms?state=open&limit=1000')).body.alarms as { id: string }[];
  assert.ok(!open.some((a) => a.id === alarmId), 'a resolved alarm is not open');
  await screenA.close();
  await screenB.close();
});

test('an alarm nobody acknowledges is escalated on every screen; a latched alarm never clears itself', async () => {
  const screen = await openLive(gw.url, token);
  await screen.next((f) => f.type === 'snapshot');
  const id = pressId();
  await device.publishAsync(topic(button, 'alarm'), JSON.stringify({ id, ts: Date.now(), kind: 'duress' }), { qos: 1 });
  const raised = await screen.next((f) => f.type === 'alarm' && f.data.sourceId === id);
  assert.equal(raised.data.escalated, false);
  const escalated = await screen.next((f) => f.type === 'alarm' && f.data.sourceId === id && f.data.escalated, 6000);
  assert.equal(escalated.data.state, 'raised', 'still raised: only an operator clears it');
  const waitedMs = Date.parse(escalated.data.escalatedAt) - Date.parse(raised.data.raisedAt);
  assert.ok(waitedMs >= 2000 && waitedMs < 3500, `escalated after ${waitedMs} ms (ACK_TIMEOUT_SEC=2)`);
  // A test press is shown but never escalates.
  const testId = pressId();
  await device.publishAsync(topic(button, 'alarm'), JSON.stringify({ id: testId, ts: Date.now(), kind: 'panic', test: true }), { qos: 1 });
  const t = await screen.next((f) => f.type === 'alarm' && f.data.sourceId === testId);
  assert.equal(t.data.test, true);
  await sleep(2600);
  assert.ok(!screen.frames.some((f) => f.type === 'alarm' && f.data.sourceId === testId && f.data.escalated));
  await screen.close();
});

test('a device clock more than 24 h off is still an alarm, ordered by receive time, with the skew shown', async () => {
  const id = pressId();
  const before = Date.now();
  await device.publishAsync(topic(button, 'alarm'), JSON.stringify({ id, ts: '2025-01-01T08:00:00+08:00', kind: 'fire' }), { qos: 1 });
  const list = (await api(gw.url, token, 'GET', '/api/alarms?state=open&limit=5')).body.alarms;
  const a = list.find((x: { sourceId: string }) => x.sourceId === id);
  assert.ok(a, 'accepted');
  assert.equal(list[0].sourceId, id, 'newest first by receive time, though its device time is old');
  assert.ok(Date.parse(a.raisedAt) >= before - 5);
  assert.equal(a.clockSuspect, true);
  assert.ok(a.clockSkewMs < -24 * 3600_000);
});

test('every kind of bad input is refused on _gateway/rejected with a reason, creates no alarm, and the gateway goes on', async () => {
  const other = registry.registry.schools[1];
  const rejected = collect(device, 'campus/v1/_gateway/rejected');
  await rejected.ready;
  const countBefore = (await api(gw.url, token, 'GET', '/api/alarms?state=all&limit=1000')).body.alarms.length;
  const bad: [string, string | Buffer, RegExp][] = [
    [topic(button, 'alarm'), '{not json', /not valid JSON/],
    [topic(button, 'alarm'), JSON.stringify({ id: 1, ts: Date.now(), kind: 'panic' }), /field "id"/],
    [topic(button, 'alarm'), JSON.stringify({ ts: Date.now(), kind: 'panic' }), /missing field "id"/],
    [topic(button, 'alarm'), JSON.stringify({ id: 'k', ts: Date.now(), kind: 'earthquake' }), /field "kind" must be one of/],
    [topic(button, 'alarm'), Buffer.alloc(16 * 1024 + 1, 0x20), /16 KiB/],
    [`campus/v1/${school.id}/${button.id}/alarm-now`, '{}', /unknown message type/],
    // Contract §6: a device speaks only for itself (an unknown device cannot log in at all).
    [`campus/v1/${school.id}/GHOST-9/alarm`, JSON.stringify({ id: 'g', ts: Date.now(), kind: 'panic' }), /may publish only as itself, not as "GHOST-9"/],
    [topic(button, 'alarm', other.id), JSON.stringify({ id: 'o', ts: Date.now(), kind: 'panic' }), /belongs to school/],
    [topic(camera, 'alarm'), JSON.stringify({ id: 'c', ts: Date.now(), kind: 'panic' }), /camera cannot publish "alarm"/],
    [topic(button, 'alarm'), JSON.stringify({ id: 'z', ts: '2026-13-01T00:00:00Z', kind: 'panic' }), /not a real date/],
    // Contract §1: topics with too few or too many levels are refused too, not ignored.
    ['campus/v1/x', '{}', /1 level below campus\/v1, expected 3/],
    [`campus/v1/${school.id}/${button.id}`, '{}', /2 levels below campus\/v1, expected 3/],
    [`${topic(button, 'alarm')}/now`, '{}', /4 levels below campus\/v1, expected 3/],
    [`${topic(button, 'heartbeat')}/a/b`, '{}', /5 levels below campus\/v1, expected 3/],
  ];
  for (const [t, payload] of bad) await device.publishAsync(t, payload, { qos: 1 });
  await waitFor('a rejection for every bad message', () => rejected.messages.length >= bad.length, { timeoutMs: 5000 });
  rejected.stop();
  const reasons = rejected.messages.map((m) => JSON.parse(m.payload.toString()) as { topic: string; reason: string; receivedAt: string });
  bad.forEach(([t, , expected], i) => {
    assert.equal(reasons[i].topic, t);
    assert.match(reasons[i].reason, expected);
    assert.ok(!Number.isNaN(Date.parse(reasons[i].receivedAt)));
  });
  const after = await api(gw.url, token, 'GET', '/api/alarms?state=all&limit=1000');
  assert.equal(after.body.alarms.length, countBefore, 'no alarm created');
  assert.equal((await api(gw.url, '', 'GET', '/health')).status, 200, 'still serving');
  // The same device, right after, is still heard.
  const id = pressId();
  await device.publishAsync(topic(button, 'alarm'), JSON.stringify({ id, ts: Date.now(), kind: 'panic' }), { qos: 1 });
  const list = (await api(gw.url, token, 'GET', '/api/alarms?state=open&limit=5')).body.alarms;
  assert.equal(list[0].sourceId, id);
});

test('a camera reported down by its NVR is offline at once, and back only after two good reports', async () => {
  const screen = await openLive(gw.url, token);
  try {
    const snapshot = await screen.next((f) => f.type === 'snapshot');
    const report = (online: boolean) => device.publishAsync(topic(camera, 'camera'), JSON.stringify({ ts: Date.now(), online, ...(online ? {} : { error: 'no video signal' }) }), { qos: 1 });
    await report(true);
    if (snapshot.data.devices[camera.id] !== undefined) await screen.next((f) => f.type === 'device' && f.data.id === camera.id && f.data.online === true);
    const t0 = Date.now();
    await report(false);
    // Not after missed heartbeats (3 × 30 s): at once, with the NVR's verdict as the reason.
    const off = await screen.next((f) => f.type === 'device' && f.data.id === camera.id && f.data.online === false, 5000);
    assert.equal(off.data.reason, 'reported_down');
    assert.ok(Date.now() - t0 < 5000);
    await screen.next((f) => f.type === 'maintenance' && f.data.device === camera.id && f.data.state === 'open');
    await report(true);
    await report(true);
    const back = await screen.next((f) => f.type === 'device' && f.data.id === camera.id && f.data.online === true, 5000);
    assert.equal(back.data.reason, 'heartbeat_resumed');
  } finally {
    await screen.close();
  }
});

test('HTTP refuses bad tokens, bad bodies and unknown routes with the right status and a code', async () => {
  assert.equal((await api(gw.url, '', 'GET', '/api/alarms')).status, 401);
  const bogus = await api(gw.url, 'not-a-token', 'GET', '/api/alarms');
  assert.equal(bogus.status, 401);
  assert.equal(bogus.body.error, 'unauthorized');
  const wrong = await api(gw.url, '', 'POST', '/api/login', { user: 'admin', password: 'wrong-password' });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error, 'bad_credentials');
  const noBody = await api(gw.url, '', 'POST', '/api/login', { user: 'admin' });
  assert.equal(noBody.status, 400);
  assert.equal(noBody.body.error, 'bad_request');
  const badQuery = await api(gw.url, token, 'GET', '/api/alarms?state=closed');
  assert.equal(badQuery.status, 400);
  const badSince = await api(gw.url, token, 'GET', '/api/alarms?state=all&since=yesterday');
  assert.equal(badSince.status, 400);
  const missing = await api(gw.url, token, 'GET', '/api/alarms/00000000-0000-0000-0000-000000000000');
  assert.equal(missing.status, 404);
  const nowhere = await api(gw.url, token, 'GET', '/api/nowhere');
  assert.equal(nowhere.status, 404);
  assert.equal(nowhere.body.error, 'not_found');
  const noteTooLong = await api(gw.url, token, 'POST', '/api/alarms/x/ack', { note: 'x'.repeat(5000) });
  assert.equal(noteTooLong.status, 400);
  const devices = await api(gw.url, token, 'GET', `/api/devices?school=${school.id}&kind=alarm_button`);
  assert.equal(devices.status, 200);
  assert.deepEqual(devices.body.devices.map((d: { id: string }) => d.id).sort(), school.devices.filter((d) => d.kind === 'alarm_button').map((d) => d.id).sort());
  const metrics = await fetch(`${gw.url}/metrics`).then((r) => r.text());
  assert.match(metrics, /campus_gateway_alarms_raised_total\{kind="panic",test="false"\} \d+/);
});

test('a screen that disconnects, misses events and resumes receives exactly the missed ones', async () => {
  const screen = await openLive(gw.url, token);
  const snap = await screen.next((f) => f.type === 'snapshot');
  const first = pressId();
  await device.publishAsync(topic(button, 'alarm'), JSON.stringify({ id: first, ts: Date.now(), kind: 'panic' }), { qos: 1 });
  const seen = await screen.next((f) => f.type === 'alarm' && f.data.sourceId === first);
  assert.ok(seen.seq > snap.seq);
  await screen.close();

  // While it is away: alarms, and a device going offline and back.
  const missed = [pressId(), pressId(), pressId()];
  for (const id of missed) await device.publishAsync(topic(button, 'alarm'), JSON.stringify({ id, ts: Date.now(), kind: 'panic' }), { qos: 1 });
  await device.publishAsync(topic(button2, 'availability'), 'offline', { qos: 1 });
  // Back online takes two consecutive signs of life (hysteresis).
  await device.publishAsync(topic(button2, 'availability'), 'online', { qos: 1 });
  await device.publishAsync(topic(button2, 'heartbeat'), JSON.stringify({ ts: Date.now() }), { qos: 1 });

  const watcher = await openLive(gw.url, token);
  const now = await watcher.next((f) => f.type === 'snapshot');
  await watcher.close();

  const back = await openLive(gw.url, token, { resumeSince: seen.seq });
  await waitFor('the replay of every missed frame', () => back.frames.length >= now.seq - seen.seq, { timeoutMs: 5000 });
  await sleep(300);
  assert.ok(!back.frames.some((f) => f.type === 'snapshot'), 'no snapshot: a replay');
  // Frames after `now` may be live ones (an older alarm escalating meanwhile); the replay is what came before.
  const replay = back.frames.filter((f) => f.seq <= now.seq);
  assert.deepEqual(replay.map((f) => f.seq), range(seen.seq + 1, now.seq), 'exactly the missed frames, in order');
  assert.deepEqual(replay.filter((f) => f.type === 'alarm' && !f.data.escalated).map((f) => f.data.sourceId), missed);
  assert.deepEqual(replay.filter((f) => f.type === 'device' && f.data.id === button2.id).map((f) => f.data.online), [false, true]);
  await back.close();

  // A resume from further back than the gateway keeps (or from the future) gets a fresh snapshot.
  const future = await openLive(gw.url, token, { resumeSince: now.seq + 1000 });
  assert.equal((await future.next()).type, 'snapshot');
  await future.close();
});

test('heartbeats and availability drive device state; /api/devices and /api/stats show it', async () => {
  const screen = await openLive(gw.url, token);
  await screen.next((f) => f.type === 'snapshot');
  const gate = school.devices.find((d) => d.kind === 'gate')!;
  await device.publishAsync(topic(gate, 'heartbeat'), JSON.stringify({ ts: Date.now(), battery: 87, rssi: -61 }), { qos: 1 });
  const up = await screen.next((f) => f.type === 'device' && f.data.id === gate.id);
  assert.equal(up.data.online, true);
  const seen = (await api(gw.url, token, 'GET', `/api/devices?school=${school.id}&status=online&kind=gate`)).body.devices;
  const mine = seen.find((d: { id: string }) => d.id === gate.id);
  assert.equal(mine.battery, 87);
  assert.ok(Date.now() - Date.parse(mine.lastSeen) < 5000);
  await device.publishAsync(topic(gate, 'availability'), 'offline', { qos: 1 });
  const down = await screen.next((f) => f.type === 'device' && f.data.id === gate.id);
  assert.deepEqual([down.data.online, down.data.reason], [false, 'last_will']);
  const offline = (await api(gw.url, token, 'GET', `/api/devices?school=${school.id}&status=offline&kind=gate`)).body.devices;
  assert.ok(offline.some((d: { id: string }) => d.id === gate.id));
  const stats = (await api(gw.url, token, 'GET', '/api/stats')).body;
  assert.ok(stats.messagesLastMinute.heartbeat >= 1);
  assert.equal(stats.devices.total.alarm_button, [...registry.devices.values()].filter((d) => d.kind === 'alarm_button').length);
  const schools = (await api(gw.url, token, 'GET', '/api/schools')).body.schools;
  assert.equal(schools.find((s: { id: string }) => s.id === school.id).devices.total, school.devices.length);
  await screen.close();
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
