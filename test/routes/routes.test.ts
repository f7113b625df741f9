/**
 * Every HTTP route in process (`app.inject`), beside the end-to-end tests: the success shape,
 * refusals without a token (401) and with too weak a role (403), bad input (400 with what is
 * wrong), 404, and the alarm 409. One gateway for the file; alarms come in over real MQTT.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { connectDevice } from '../support/mqtt.js';
import { waitFor } from '../support/wait.js';
import { buildInProcess, type InProcessGateway } from './harness.js';

let gw: InProcessGateway;
let device: MqttClient;

before(async () => {
  gw = await buildInProcess();
  device = await connectDevice(gw.mqttUrl);
});
after(async () => {
  await device?.endAsync();
  await gw?.close();
});

const firstOf = (kind: string) => [...gw.services.registry.devices.values()].find((d) => d.kind === kind)!;

/** Presses a real alarm button over MQTT and waits for the alarm the API shows. */
async function raiseAlarm(): Promise<{ id: string; state: string }> {
  const button = firstOf('alarm_button');
  const sourceId = `press-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  await device.publishAsync(`campus/v1/${button.school}/${button.id}/alarm`, JSON.stringify({ id: sourceId, ts: Date.now(), kind: 'panic' }), { qos: 1 });
  return waitFor(`alarm ${sourceId} in GET /api/alarms`, async () => {
    const res = await gw.call('GET', '/api/alarms?state=open&limit=1000', { token: gw.tokens.viewer });
    return (res.body.alarms as { id: string; sourceId: string; state: string }[]).find((a) => a.sourceId === sourceId);
  });
}

function assertError(res: { status: number; body: { error?: unknown; message?: unknown } }, status: number, code: string, message?: RegExp): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error, code);
  assert.equal(typeof res.body.message, 'string');
  if (message) assert.match(res.body.message as string, message);
}

describe('anyone', () => {
  test('GET /health: ok with every part described', async () => {
    const res = await gw.call('GET', '/health');
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'ok');
    assert.equal(res.body.mqtt.mode, 'embedded');
    assert.equal(res.body.mqtt.connected, true);
    assert.equal(typeof res.body.mqtt.port, 'number', 'broker fields beyond the declared ones are kept');
    assert.equal(res.body.ledger.ok, true);
    assert.equal(typeof res.body.ledger.feedSeq, 'number');
    assert.deepEqual(res.body.influx, { enabled: false, lagging: false });
    assert.equal(typeof res.body.live.clients, 'number');
    assert.equal(typeof res.body.uptimeSec, 'number');
  });

  test('GET /metrics: Prometheus text', async () => {
    const res = await gw.call('GET', '/metrics');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    assert.match(res.text, /^campus_gateway_mqtt_connected 1$/m);
  });

  test('an unknown route is 404 with its method and path', async () => {
    assertError(await gw.call('GET', '/api/nowhere?x=1'), 404, 'not_found', /GET \/api\/nowhere$/);
  });
});

describe('POST /api/login', () => {
  test('a token, its role, user and expiry', async () => {
    const res = await gw.call('POST', '/api/login', { body: { user: 'admin', password: 'wrong-password' } });
    assertError(res, 401, 'bad_credentials', /wrong user name or password/);
    // the harness logged in for real; check the shape of that answer through a fresh account
    const pw = 'a-good-password';
    await gw.call('POST', '/api/users', { token: gw.tokens.admin, body: { user: 'shape', password: pw, role: 'viewer' } });
    const ok = await gw.call('POST', '/api/login', { body: { user: 'shape', password: pw } });
    assert.equal(ok.status, 200);
    assert.deepEqual(Object.keys(ok.body).sort(), ['expiresAt', 'role', 'token', 'user']);
    assert.equal(ok.body.role, 'viewer');
    assert.equal(ok.body.user, 'shape');
    assert.ok(Date.parse(ok.body.expiresAt) > Date.now());
    assert.match(ok.body.token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  test('a user bound to a school is told its school (the console shows that school and hides the review)', async () => {
    const pw = 'a-school-password';
    const made = await gw.call('POST', '/api/users', { token: gw.tokens.admin, body: { user: 'school-shape', password: pw, role: 'viewer', school: 'S001' } });
    assert.equal(made.status, 201, made.text);
    const ok = await gw.call('POST', '/api/login', { body: { user: 'school-shape', password: pw } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.school, 'S001');
    assert.deepEqual(Object.keys(ok.body).sort(), ['expiresAt', 'role', 'school', 'token', 'user']);
  });

  test('a body without a password is 400 naming it', async () => {
    assertError(await gw.call('POST', '/api/login', { body: { user: 'admin' } }), 400, 'bad_request', /password/);
  });
});

describe('users (admin)', () => {
  test('GET /api/users lists accounts without secrets', async () => {
    const res = await gw.call('GET', '/api/users', { token: gw.tokens.admin });
    assert.equal(res.status, 200);
    const admin = res.body.users.find((u: { user: string }) => u.user === 'admin');
    assert.deepEqual(Object.keys(admin).sort(), ['createdAt', 'role', 'user']);
    assert.equal(admin.role, 'admin');
  });

  test('POST /api/users creates an account (201)', async () => {
    const res = await gw.call('POST', '/api/users', { token: gw.tokens.admin, body: { user: 'new-op', password: 'long-enough-pw', role: 'operator' } });
    assert.equal(res.status, 201);
    assert.deepEqual(res.body, { user: 'new-op', role: 'operator' });
  });

  test('a short password or an unknown role is 400 naming the field', async () => {
    assertError(await gw.call('POST', '/api/users', { token: gw.tokens.admin, body: { user: 'x', password: 'short', role: 'viewer' } }), 400, 'bad_request', /password/);
    assertError(await gw.call('POST', '/api/users', { token: gw.tokens.admin, body: { user: 'x', password: 'long-enough-pw', role: 'root' } }), 400, 'bad_request', /role/);
  });

  test('401 without a token, 403 below admin', async () => {
    assertError(await gw.call('GET', '/api/users'), 401, 'unauthorized', /log in first/);
    assertError(await gw.call('GET', '/api/users', { token: 'not.a.token' }), 401, 'unauthorized', /not valid/);
    assertError(await gw.call('GET', '/api/users', { token: gw.tokens.operator }), 403, 'forbidden', /needs the admin role; you are operator/);
    assertError(await gw.call('POST', '/api/users', { token: gw.tokens.operator, body: { user: 'x', password: 'long-enough-pw', role: 'admin' } }), 403, 'forbidden');
  });
});

describe('registry (viewer+)', () => {
  test('GET /api/schools: the county and every school with live status', async () => {
    const res = await gw.call('GET', '/api/schools', { token: gw.tokens.viewer });
    assert.equal(res.status, 200);
    assert.equal(res.body.county.id, gw.services.registry.registry.county.id);
    assert.equal(res.body.schools.length, gw.services.registry.registry.schools.length);
    const s = res.body.schools[0];
    for (const k of ['id', 'name', 'type', 'students', 'region', 'devices', 'openAlarms']) assert.ok(k in s, `school.${k}`);
    assert.equal(typeof s.devices.total, 'number');
    assertError(await gw.call('GET', '/api/schools'), 401, 'unauthorized');
  });

  test('GET /api/stats: messages, devices per kind, open alarms', async () => {
    const res = await gw.call('GET', '/api/stats', { token: gw.tokens.viewer });
    assert.equal(res.status, 200);
    assert.equal(typeof res.body.messagesLastMinute, 'object');
    assert.ok(res.body.devices.total.alarm_button > 0, 'counts per kind survive serialization');
    assert.equal(typeof res.body.devices.online.camera, 'number');
    assert.deepEqual(Object.keys(res.body.alarms).sort(), ['escalated', 'open']);
    assertError(await gw.call('GET', '/api/stats'), 401, 'unauthorized');
  });

  test('GET /api/devices: each device with its state, camera report and maintenance', async () => {
    const cam = firstOf('camera');
    await device.publishAsync(`campus/v1/${cam.school}/${cam.id}/camera`, JSON.stringify({ ts: Date.now(), online: true, rttMs: 12 }), { qos: 1 });
    const view = await waitFor(`camera report of ${cam.id}`, async () => {
      const res = await gw.call('GET', `/api/devices?kind=camera&school=${cam.school}`, { token: gw.tokens.viewer });
      assert.equal(res.status, 200);
      assert.ok(res.body.devices.every((d: { kind: string; school: string }) => d.kind === 'camera' && d.school === cam.school));
      return res.body.devices.find((d: { id: string; camera?: unknown }) => d.id === cam.id && d.camera);
    });
    assert.equal(view.camera.online, true);
    assert.equal(view.camera.rttMs, 12);
    for (const k of ['id', 'school', 'kind', 'zone', 'name', 'online', 'status', 'lastSeen', 'since']) assert.ok(k in view, `device.${k}`);
  });

  test('GET /api/devices: a bad filter is 400 naming it; no token is 401', async () => {
    assertError(await gw.call('GET', '/api/devices?kind=toaster', { token: gw.tokens.viewer }), 400, 'bad_request', /kind/);
    assertError(await gw.call('GET', '/api/devices?colour=red', { token: gw.tokens.viewer }), 400, 'bad_request', /additional properties/);
    assertError(await gw.call('GET', '/api/devices'), 401, 'unauthorized');
  });
});

describe('alarms', () => {
  test('GET /api/alarms/{id}: the alarm with its history; unknown id is 404', async () => {
    const { id } = await raiseAlarm();
    const res = await gw.call('GET', `/api/alarms/${id}`, { token: gw.tokens.viewer });
    assert.equal(res.status, 200);
    for (const k of ['id', 'sourceId', 'school', 'schoolName', 'device', 'deviceName', 'kind', 'test', 'state', 'raisedAt', 'deviceTs', 'clockSkewMs', 'clockSuspect', 'escalated', 'history'])
      assert.ok(k in res.body, `alarm.${k}`);
    assert.equal(res.body.state, 'raised');
    assert.deepEqual(res.body.history.map((h: { state: string }) => h.state), ['raised']);
    assertError(await gw.call('GET', '/api/alarms/no-such-alarm', { token: gw.tokens.viewer }), 404, 'not_found', /no-such-alarm/);
    assertError(await gw.call('GET', `/api/alarms/${id}`), 401, 'unauthorized');
  });

  test('GET /api/alarms: filters; a bad `since` or `state` is 400 saying why', async () => {
    const res = await gw.call('GET', '/api/alarms?state=all&limit=5', { token: gw.tokens.viewer });
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(res.body.alarms));
    assertError(await gw.call('GET', '/api/alarms?since=yesterday', { token: gw.tokens.viewer }), 400, 'bad_request', /^since: value "yesterday" is not ISO-8601/);
    assertError(await gw.call('GET', '/api/alarms?state=closed', { token: gw.tokens.viewer }), 400, 'bad_request', /state/);
    assertError(await gw.call('GET', '/api/alarms?limit=0', { token: gw.tokens.viewer }), 400, 'bad_request', /limit/);
    assertError(await gw.call('GET', '/api/alarms'), 401, 'unauthorized');
  });

  test('ack → dispatch → resolve by an operator, each with who and the note in the history', async () => {
    const { id } = await raiseAlarm();
    const ack = await gw.call('POST', `/api/alarms/${id}/ack`, { token: gw.tokens.operator, body: { note: 'on it' } });
    assert.equal(ack.status, 200);
    assert.equal(ack.body.state, 'acknowledged');
    assert.deepEqual(ack.body.history.at(-1).by, 'operator-1');
    assert.deepEqual(ack.body.history.at(-1).note, 'on it');
    assert.equal((await gw.call('POST', `/api/alarms/${id}/dispatch`, { token: gw.tokens.operator, body: {} })).body.state, 'dispatched');
    const resolved = await gw.call('POST', `/api/alarms/${id}/resolve`, { token: gw.tokens.operator, body: {} });
    assert.equal(resolved.status, 200);
    assert.deepEqual(resolved.body.history.map((h: { state: string }) => h.state), ['raised', 'acknowledged', 'dispatched', 'resolved']);

    // An illegal transition: 409 with the current state and the alarm as it stands.
    const again = await gw.call('POST', `/api/alarms/${id}/ack`, { token: gw.tokens.operator, body: {} });
    assertError(again, 409, 'illegal_transition');
    assert.equal(again.body.state, 'resolved');
    assert.equal(again.body.alarm.id, id);
    assert.equal(again.body.alarm.history.length, 4, 'the nested alarm keeps its history');
  });

  test('actions: 403 below operator, 401 without a token, 404 for an unknown alarm, 400 for a bad body', async () => {
    const { id } = await raiseAlarm();
    assertError(await gw.call('POST', `/api/alarms/${id}/ack`, { token: gw.tokens.maintenance, body: {} }), 403, 'forbidden', /needs the operator role; you are maintenance/);
    assertError(await gw.call('POST', `/api/alarms/${id}/ack`, { token: gw.tokens.viewer, body: {} }), 403, 'forbidden');
    assertError(await gw.call('POST', `/api/alarms/${id}/ack`, { body: {} }), 401, 'unauthorized');
    assertError(await gw.call('POST', '/api/alarms/no-such-alarm/ack', { token: gw.tokens.operator, body: {} }), 404, 'not_found', /no-such-alarm/);
    assertError(await gw.call('POST', `/api/alarms/${id}/ack`, { token: gw.tokens.operator, body: { note: 'x'.repeat(2001) } }), 400, 'bad_request', /note/);
    assertError(await gw.call('POST', `/api/alarms/${id}/ack`, { token: gw.tokens.operator, body: { by: 'someone-else' } }), 400, 'bad_request', /additional properties/);
    const still = await gw.call('GET', `/api/alarms/${id}`, { token: gw.tokens.viewer });
    assert.equal(still.body.state, 'raised', 'no refused request changed the alarm');
  });
});

describe('maintenance', () => {
  test('GET /api/maintenance (viewer+): open maintenance alarms, or history; bad state is 400', async () => {
    const open = await gw.call('GET', '/api/maintenance', { token: gw.tokens.viewer });
    assert.equal(open.status, 200);
    assert.ok(Array.isArray(open.body.alarms));
    const all = await gw.call('GET', '/api/maintenance?state=all&limit=10', { token: gw.tokens.viewer });
    assert.equal(all.status, 200);
    assertError(await gw.call('GET', '/api/maintenance?state=closed', { token: gw.tokens.viewer }), 400, 'bad_request', /state/);
    assertError(await gw.call('GET', '/api/maintenance'), 401, 'unauthorized');
  });

  test('GET /api/cameras/uptime (maintenance+): report per camera, school and zone', async () => {
    const res = await gw.call('GET', '/api/cameras/uptime?window=7d', { token: gw.tokens.maintenance });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.equal(res.body.window, '7d');
    for (const k of ['from', 'to', 'gatewayDownMs', 'cameras', 'schools', 'zones']) assert.ok(k in res.body, `report.${k}`);
    const cameras = [...gw.services.registry.devices.values()].filter((d) => d.kind === 'camera');
    assert.equal(res.body.cameras.length, cameras.length);
    const c = res.body.cameras[0];
    for (const k of ['id', 'name', 'school', 'ratio', 'upMs', 'downMs', 'unknownMs', 'outages', 'longestOutageMs', 'mttrMs', 'down', 'downSince']) assert.ok(k in c, `camera.${k}`);
    for (const k of ['id', 'devices', 'down', 'ratio']) assert.ok(k in res.body.schools[0], `school.${k}`);
  });

  test('GET /api/cameras/uptime?format=csv: a CSV attachment', async () => {
    const res = await gw.call('GET', '/api/cameras/uptime?format=csv&zone=kitchen', { token: gw.tokens.maintenance });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/csv/);
    assert.match(String(res.headers['content-disposition']), /attachment; filename="camera-uptime-24h-kitchen\.csv"/);
    assert.match(res.text.split('\n')[0], /^\uFEFF?id,name,school,zone,uptime_ratio/);
  });

  test('GET /api/cameras/uptime: 403 for a viewer, 400 for an unknown window', async () => {
    assertError(await gw.call('GET', '/api/cameras/uptime', { token: gw.tokens.viewer }), 403, 'forbidden', /needs the maintenance role; you are viewer/);
    assertError(await gw.call('GET', '/api/cameras/uptime?window=1y', { token: gw.tokens.maintenance }), 400, 'bad_request', /window/);
    assertError(await gw.call('GET', '/api/cameras/uptime'), 401, 'unauthorized');
  });
});

describe('ONVIF discovery (maintenance+)', () => {
  test('a fresh discovery with nothing to find is an empty list', async () => {
    const res = await gw.call('GET', '/api/onvif/discover?refresh=true&timeoutMs=100', { token: gw.tokens.maintenance });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.cameras, []);
    assert.equal(res.body.unregistered, 0);
    assert.ok(Date.parse(res.body.at) > 0);
  });

  test('403 for a viewer, 400 for a timeout out of range', async () => {
    assertError(await gw.call('GET', '/api/onvif/discover', { token: gw.tokens.viewer }), 403, 'forbidden');
    assertError(await gw.call('GET', '/api/onvif/discover?timeoutMs=5', { token: gw.tokens.maintenance }), 400, 'bad_request', /timeoutMs/);
    assertError(await gw.call('GET', '/api/onvif/discover'), 401, 'unauthorized');
  });
});
