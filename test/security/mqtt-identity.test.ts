/**
 * Who may speak on MQTT (contract §6), against the real embedded broker: each attack that worked
 * before device identity, as a test that fails if it works again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { buildInProcess, type InProcessGateway } from '../routes/harness.js';
import { collect, connectDevice, mqttLoginFor, type MqttLogin } from '../support/mqtt.js';
import { waitFor } from '../support/wait.js';
import type { AlarmsModule } from '../../gateway/modules/alarms/index.js';

let g: InProcessGateway;
let login: MqttLogin;
const opened: MqttClient[] = [];
const A = { school: 'S001', button: 'S001-AB01', camera: 'S001-CAM01' };
const B = { school: 'S002', button: 'S002-AB01' };

before(async () => {
  g = await buildInProcess();
  login = mqttLoginFor(g.mqttUrl)!;
});
after(async () => {
  for (const c of opened) await c.endAsync(true).catch(() => undefined);
  await g.close();
});

/** One real connection with exactly these credentials (no retry: a refusal is the answer). */
async function connect(opts: { clientId?: string; username?: string; password?: string }): Promise<MqttClient> {
  const c = await connectDevice(g.mqttUrl, { reconnectPeriod: 0, connectTimeout: 5000, clientId: opts.clientId ?? `t-${randomBytes(4).toString('hex')}`, username: opts.username ?? '', password: opts.password });
  opened.push(c);
  return c;
}
const asDevice = (id: string) => connect({ clientId: id, username: id, password: login.devices.get(id) });
const asTool = () => connect({ username: login.tool.username, password: login.tool.password });

test('no anonymous client, no wrong secret, no borrowed client id: refused at CONNECT', async () => {
  await assert.rejects(connect({}), /Bad username or password|Not authorized/i, 'anonymous');
  await assert.rejects(connect({ clientId: A.button, username: A.button, password: 'guess' }), /Bad username or password/i, 'wrong secret');
  await assert.rejects(connect({ clientId: 'other-id', username: A.button, password: login.devices.get(A.button) }), /Not authorized/i, 'client id is not the device id');
  await assert.rejects(connect({ clientId: B.button, username: login.tool.username, password: login.tool.password }), /Not authorized/i, "a tool may not take a device's client id");
  // A second client trying a device's id without its secret does not kick the device off.
  const real = await asDevice(A.button);
  await assert.rejects(connect({ clientId: A.button, username: A.button, password: 'guess' }));
  assert.equal(real.connected, true);
});

test("a device cannot press another school's button, nor tell a button that help is coming", async () => {
  const tool = await asTool();
  const rejected = collect(tool, 'campus/v1/_gateway/rejected');
  const everything = collect(tool, 'campus/v1/#');
  await Promise.all([rejected.ready, everything.ready]);
  const victim = await asDevice(B.button);
  const toVictim = collect(victim, `campus/v1/${B.school}/${B.button}/alarm/state`);
  await toVictim.ready;
  const forger = await asDevice(A.button);
  const alarms = g.services.module<AlarmsModule>('alarms');
  const before = alarms.open.size;
  for (let i = 0; i < 20; i++) await forger.publishAsync(`campus/v1/${B.school}/${B.button}/alarm`, JSON.stringify({ id: `forged-${i}`, ts: Date.now(), kind: 'fire' }), { qos: 1 });
  await forger.publishAsync(`campus/v1/${B.school}/${B.button}/alarm/state`, JSON.stringify({ id: 'x', state: 'dispatched', ts: Date.now(), by: 'spoofed' }), { qos: 1 });
  await forger.publishAsync('campus/v1/_gateway/status', 'offline', { qos: 1, retain: true });
  await waitFor('22 refusals', () => rejected.messages.length >= 22);
  const reasons = rejected.messages.map((m) => JSON.parse(m.payload.toString()).reason as string);
  assert.ok(reasons.slice(0, 20).every((r) => /device "S001-AB01" may publish only as itself, not as "S002-AB01"/.test(r)), reasons[0]);
  assert.match(reasons[20], /only the gateway publishes …\/alarm\/state/);
  assert.match(reasons[21], /only the gateway publishes campus\/v1\/_gateway/);
  assert.equal(alarms.open.size, before, 'no forged alarm was stored');
  // Nothing forged reached anyone: not the victim's lamp, not a reader of everything.
  await forger.publishAsync(`campus/v1/${A.school}/${A.button}/heartbeat`, JSON.stringify({ ts: Date.now() }), { qos: 1 });
  await waitFor('the forger’s own heartbeat', () => everything.messages.some((m) => m.topic.endsWith(`${A.button}/heartbeat`)));
  assert.deepEqual(toVictim.messages, []);
  const forged = everything.messages.filter((m) => m.topic.includes(B.button) || (m.topic.endsWith('/_gateway/status') && m.payload.toString() === 'offline'));
  assert.deepEqual(forged.map((m) => m.topic), []);
  // The retained status is still the gateway's own.
  const fresh = await asTool();
  const status = collect(fresh, 'campus/v1/_gateway/status');
  await status.ready;
  await waitFor('the retained status', () => status.messages.length > 0);
  assert.equal(status.messages[0].payload.toString(), 'online');
});

test('a device subscribes only to its own lamp; nobody reads $SYS or everything', async () => {
  const dev = await asDevice(A.button);
  // MQTT.js rejects a SUBACK of 0x80; the granted code is on the error's packet.
  const granted = async (c: MqttClient, filter: string) => {
    try {
      return (await c.subscribeAsync(filter, { qos: 1 }))[0].qos;
    } catch (err) {
      const codes = (err as { packet?: { granted?: number[] } }).packet?.granted;
      if (codes) return codes[0];
      throw err;
    }
  };
  assert.equal(await granted(dev, `campus/v1/${A.school}/${A.button}/alarm/state`), 1);
  assert.equal(await granted(dev, `campus/v1/${B.school}/${B.button}/alarm/state`), 128);
  assert.equal(await granted(dev, 'campus/v1/#'), 128);
  assert.equal(await granted(dev, '#'), 128);
  assert.equal(await granted(dev, '$SYS/#'), 128);
  const tool = await asTool();
  assert.equal(await granted(tool, 'campus/v1/#'), 1);
  assert.equal(await granted(tool, '$SYS/#'), 128);
  assert.equal(await granted(tool, '#'), 128);
});

test('a tool login needs maintenance or above, and may not publish', async () => {
  const pw = randomBytes(9).toString('base64url');
  assert.equal((await g.call('POST', '/api/users', { token: g.tokens.admin, body: { user: 'wall-viewer', password: pw, role: 'viewer' } })).status, 201);
  await assert.rejects(connect({ username: 'wall-viewer', password: pw }), /Not authorized/i);
  const tool = await asTool();
  const rejected = collect(tool, 'campus/v1/_gateway/rejected');
  await rejected.ready;
  await tool.publishAsync(`campus/v1/${A.school}/${A.button}/alarm`, JSON.stringify({ id: 'tool-1', ts: Date.now(), kind: 'panic' }), { qos: 1 });
  await waitFor('the refusal', () => rejected.messages.length > 0);
  assert.match(JSON.parse(rejected.messages[0].payload.toString()).reason, /"admin" is a tool login: it may subscribe, not publish/);
});

test('new credentials end the old ones: the open connection is closed and the old secret refused', async () => {
  const old = login.devices.get(A.camera)!;
  const dev = await asDevice(A.camera);
  const closed = new Promise<void>((resolve) => dev.once('close', () => resolve()));
  const res = await g.call('POST', `/api/devices/${A.camera}/credentials`, { token: g.tokens.admin });
  assert.equal(res.status, 201);
  assert.deepEqual(Object.keys(res.body).sort(), ['clientId', 'password', 'username']);
  assert.equal(res.body.username, A.camera);
  assert.ok(res.body.password.length >= 22, '≥ 128 bits');
  await closed;
  await assert.rejects(connect({ clientId: A.camera, username: A.camera, password: old }), /Bad username or password/i);
  const again = await connect({ clientId: A.camera, username: A.camera, password: res.body.password });
  assert.equal(again.connected, true);
  login.devices.set(A.camera, res.body.password);
  assert.equal((await g.call('POST', `/api/devices/${A.camera}/credentials`, { token: g.tokens.operator })).status, 403);
  assert.equal((await g.call('POST', '/api/devices/NOPE-1/credentials', { token: g.tokens.admin })).status, 404);
  const csv = await g.call('POST', '/api/devices/credentials?format=csv', { token: g.tokens.admin, body: { school: 'S003', kind: 'camera' } });
  assert.equal(csv.status, 201);
  const lines = csv.text.trim().split('\r\n');
  assert.equal(lines[0], 'device,school,kind,username,password,clientId');
  assert.ok(lines.length > 1 && lines.slice(1).every((l) => /^S003-[^,]+,S003,camera,/.test(l)));
});
