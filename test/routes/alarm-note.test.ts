/**
 * POST /api/alarms/{id}/note (issue #12): a note without a change of state, on an alarm in any
 * state (resolved too), in the history, audited, and on the live feed; each refusal with its code.
 * One real gateway (in process, listening on loopback for /live); alarms come in over real MQTT.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { connectDevice } from '../support/mqtt.js';
import { waitFor } from '../support/wait.js';
import { openLive, type LiveClient } from '../support/ws.js';
import { buildInProcess, type InProcessGateway } from './harness.js';

let gw: InProcessGateway;
let device: MqttClient;
let live: LiveClient;

before(async () => {
  gw = await buildInProcess();
  await gw.app.listen({ host: '127.0.0.1', port: 0 });
  live = await openLive(`http://127.0.0.1:${(gw.app.server.address() as AddressInfo).port}`, gw.tokens.viewer);
  device = await connectDevice(gw.mqttUrl);
});
after(async () => {
  await live?.close();
  await device?.endAsync();
  await gw?.close();
});

const button = () => [...gw.services.registry.devices.values()].find((d) => d.kind === 'alarm_button')!;

async function raiseAlarm(): Promise<{ id: string; school: string }> {
  const b = button();
  const sourceId = `note-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  await device.publishAsync(`campus/v1/${b.school}/${b.id}/alarm`, JSON.stringify({ id: sourceId, ts: Date.now(), kind: 'panic' }), { qos: 1 });
  return waitFor(`alarm ${sourceId}`, async () => {
    const res = await gw.call('GET', '/api/alarms?state=open&limit=1000', { token: gw.tokens.viewer });
    return (res.body.alarms as { id: string; school: string; sourceId: string }[]).find((a) => a.sourceId === sourceId);
  });
}

function assertError(res: { status: number; body: { error?: unknown; message?: unknown } }, status: number, code: string, message?: RegExp): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error, code);
  assert.equal(typeof res.body.message, 'string');
  if (message) assert.match(res.body.message as string, message);
}

test('a note on a raised alarm: in the history, state unchanged, on the live feed, audited', async () => {
  const { id } = await raiseAlarm();
  const res = await gw.call('POST', `/api/alarms/${id}/note`, { token: gw.tokens.operator, body: { note: '  已电话联系门卫 called the gatehouse  ' } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.state, 'raised', 'a note is not an acknowledgement');
  const last = res.body.history.at(-1);
  assert.deepEqual({ state: last.state, by: last.by, note: last.note, action: last.action }, { state: 'raised', by: 'operator-1', note: '已电话联系门卫 called the gatehouse', action: 'note' });

  const frame = await live.next((f) => f.type === 'alarm' && f.data.id === id && f.data.history.some((h: { action?: string }) => h.action === 'note'));
  assert.equal(frame.data.state, 'raised');

  const again = await gw.call('GET', `/api/alarms/${id}`, { token: gw.tokens.viewer });
  assert.equal(again.body.history.at(-1).note, '已电话联系门卫 called the gatehouse');

  const audit = await gw.call('GET', '/api/audit?action=alarm.note&limit=100', { token: gw.tokens.admin });
  assert.equal(audit.status, 200, audit.text);
  const entry = (audit.body.entries as { target?: string; user: string; status: number; detail?: { note?: string } }[]).find((e) => e.target === id);
  assert.ok(entry, 'the note is audited with its alarm');
  assert.equal(entry.user, 'operator-1');
  assert.equal(entry.status, 200);
});

test('a note on a resolved alarm is taken; the alarm stays resolved and its later actions are unchanged', async () => {
  const { id } = await raiseAlarm();
  for (const action of ['ack', 'resolve']) assert.equal((await gw.call('POST', `/api/alarms/${id}/${action}`, { token: gw.tokens.operator, body: {} })).status, 200);
  const res = await gw.call('POST', `/api/alarms/${id}/note`, { token: gw.tokens.admin, body: { note: '事后复盘 reviewed afterwards' } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.state, 'resolved');
  assert.deepEqual(res.body.history.map((h: { state: string; action?: string }) => `${h.state}${h.action ? `:${h.action}` : ''}`), ['raised', 'acknowledged', 'resolved', 'resolved:note']);
  // Still resolved: a state change is still refused as before.
  assertError(await gw.call('POST', `/api/alarms/${id}/ack`, { token: gw.tokens.operator, body: {} }), 409, 'illegal_transition');
  const listed = await gw.call('GET', '/api/alarms?state=all&limit=1000', { token: gw.tokens.viewer });
  assert.equal(listed.body.alarms.find((a: { id: string }) => a.id === id).history.length, 4, 'the stored alarm has the note');
});

test('refusals: empty, blank, oversize, extra field, unknown alarm, viewer, no token, another school', async () => {
  const { id, school } = await raiseAlarm();
  const url = `/api/alarms/${id}/note`;
  assertError(await gw.call('POST', url, { token: gw.tokens.operator, body: {} }), 400, 'bad_request', /note/);
  assertError(await gw.call('POST', url, { token: gw.tokens.operator, body: { note: '' } }), 400, 'bad_request', /note/);
  assertError(await gw.call('POST', url, { token: gw.tokens.operator, body: { note: ' \n\t ' } }), 400, 'empty_note', /blanks/);
  assertError(await gw.call('POST', url, { token: gw.tokens.operator, body: { note: 'x'.repeat(2001) } }), 400, 'bad_request', /note/);
  assertError(await gw.call('POST', url, { token: gw.tokens.operator, body: { note: 'x', by: 'someone-else' } }), 400, 'bad_request', /additional properties/);
  assertError(await gw.call('POST', '/api/alarms/no-such-alarm/note', { token: gw.tokens.operator, body: { note: 'x' } }), 404, 'not_found', /no-such-alarm/);
  assertError(await gw.call('POST', url, { token: gw.tokens.viewer, body: { note: 'x' } }), 403, 'forbidden', /operator/);
  assertError(await gw.call('POST', url, { token: gw.tokens.maintenance, body: { note: 'x' } }), 403, 'forbidden');
  assertError(await gw.call('POST', url, { body: { note: 'x' } }), 401, 'unauthorized');

  const other = [...gw.services.registry.schools.keys()].find((s) => s !== school)!;
  const password = randomBytes(12).toString('base64url');
  assert.equal((await gw.call('POST', '/api/users', { token: gw.tokens.admin, body: { user: 'note-other-school', password, role: 'operator', school: other } })).status, 201);
  const login = await gw.call('POST', '/api/login', { body: { user: 'note-other-school', password } });
  assertError(await gw.call('POST', url, { token: login.body.token, body: { note: 'x' } }), 403, 'other_school');

  const still = await gw.call('GET', `/api/alarms/${id}`, { token: gw.tokens.viewer });
  assert.equal(still.body.history.length, 1, 'no refused request wrote to the history');
});
