/**
 * Contract §6 on an external broker: the REAL Mosquitto 2, run with exactly the files
 * `npm run broker-config -- mosquitto` writes, and a real gateway logged in to it. The flow is an
 * operator's: a first run makes the gateway's broker password, the gateway starts (broker not up
 * yet), devices are provisioned over HTTP, broker-config writes the files, Mosquitto starts. Each
 * attack below works on an open broker; each assertion fails if its protection is missing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { connectAsync, type MqttClient } from 'mqtt';
import { REPO_ROOT, api, login, startGateway, type GatewayProc } from '../support/gateway.js';
import { startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { collect } from '../support/mqtt.js';
import { freePort } from '../support/ports.js';
import { makeTempDir } from '../support/procs.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);
const P = 'campus/v1';
const A = { school: 'S001', button: 'S001-AB01', other: 'S001-AB02', third: 'S001-AB03', camera: 'S001-CAM01' };
const B = { school: 'S002', button: 'S002-AB01' };

let dir: string;
let port: number;
let gw: GatewayProc;
let broker: Mosquitto | undefined;
let token: string;
const secrets = new Map<string, string>();
const opened: MqttClient[] = [];

function brokerConfig(gatewayUrl: string, adminPassword: string) {
  return run(process.execPath, ['--import', 'tsx', 'scripts/broker-config.ts', 'mosquitto', '--out', dir, '--port', String(port), '--bind', '127.0.0.1'], {
    cwd: REPO_ROOT,
    env: { ...process.env, GATEWAY_URL: gatewayUrl, GATEWAY_USER: 'admin', GATEWAY_PASSWORD: adminPassword, MQTT_TOPIC_PREFIX: '' },
  });
}

async function provision(body: Record<string, unknown>): Promise<void> {
  const res = await api<{ credentials: { device: string; password: string }[] }>(gw.url, token, 'POST', '/api/devices/credentials', body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  for (const c of res.body.credentials) secrets.set(c.device, c.password);
}

/** One connection with exactly these credentials; no retry, so a refusal is the answer. */
async function connect(opts: { clientId?: string; username?: string; password?: string }): Promise<MqttClient> {
  const c = await connectAsync(broker!.url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, clientId: opts.clientId ?? `t-${randomBytes(4).toString('hex')}`, username: opts.username, password: opts.password });
  opened.push(c);
  return c;
}
const asDevice = (id: string, clientId = id) => connect({ clientId, username: id, password: secrets.get(id) });

async function alarms(): Promise<{ device: string; zone?: string }[]> {
  const res = await api<{ alarms: { device: string; zone?: string }[] }>(gw.url, token, 'GET', '/api/alarms?state=all&limit=1000');
  assert.equal(res.status, 200);
  return res.body.alarms;
}
const alarm = (zone: string) => JSON.stringify({ id: `${zone}-${randomBytes(3).toString('hex')}`, ts: Date.now(), kind: 'panic', zone });

async function rejectedTotal(): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  return [...text.matchAll(/^campus_gateway_messages_rejected_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

before(async () => {
  dir = await makeTempDir('broker-config-');
  port = await freePort();
  // 1. A first run before the gateway is up: it cannot read any credentials, but leaves the
  //    gateway's broker password for MQTT_PASSWORD_FILE.
  await assert.rejects(brokerConfig('http://127.0.0.1:1', 'x'));
  const pwFile = path.join(dir, 'gateway.password');
  assert.equal(fs.statSync(pwFile).mode & 0o777, 0o600);
  const gatewayPassword = fs.readFileSync(pwFile, 'utf8');

  // 2. The gateway, logging in to a broker that is not there yet.
  gw = await startGateway({ mqttUrl: `mqtt://127.0.0.1:${port}`, ready: 'listening', env: { MQTT_USERNAME: 'campus-gateway', MQTT_PASSWORD_FILE: pwFile } });
  token = await login(gw.url, 'admin', gw.adminPassword);
  // 3. Devices get their secrets; 4. the broker's files are written from their hashes.
  await provision({});
  const out = await brokerConfig(gw.url, gw.adminPassword);
  assert.match(out.stdout, /devices and "campus-gateway" written/);
  assert.equal(fs.readFileSync(pwFile, 'utf8'), gatewayPassword, 'a second run keeps the gateway password');
  for (const f of ['password_file', 'gateway.password']) assert.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, f);
  // 5. Mosquitto with exactly those files (the harness only adds its log file).
  broker = await startMosquitto({ port, configFile: path.join(dir, 'mosquitto.conf') });
  await waitFor('the gateway logged in to Mosquitto', async () => (await fetch(`${gw.url}/health`)).status === 200, { timeoutMs: 20_000 });
});

after(async () => {
  for (const c of opened) await c.endAsync(true).catch(() => undefined);
  await gw?.stop();
  await broker?.stop();
});

test('the generated files are what Mosquitto 2 loads: no anonymous client, no wrong secret; a device\'s own alarm is stored', async () => {
  await assert.rejects(connect({}), /Not authorized/i, 'anonymous');
  await assert.rejects(connect({ clientId: A.button, username: A.button, password: 'guess' }), /Not authorized|Bad username or password/i, 'wrong secret');
  await assert.rejects(connect({ clientId: A.button, username: 'campus-gateway', password: 'guess' }), /Not authorized|Bad username or password/i, 'wrong gateway password');

  const own = await asDevice(A.button);
  await own.publishAsync(`${P}/${A.school}/${A.button}/alarm`, alarm('own'), { qos: 1 });
  await waitFor('the alarm in /api/alarms', async () => (await alarms()).some((a) => a.device === A.button && a.zone === 'own'));
});

/**
 * One QoS 1 publish on its own connection, done when the broker answered it: PUBACK, or closing
 * the connection (Mosquitto 2.0.11 with `max_queued_messages 0` disconnects a client whose QoS 1
 * publish it denied; later versions PUBACK it). Either way the broker has dealt with it.
 */
async function publishAs(device: string, topic: string, payload: string, retain = false): Promise<void> {
  const c = await asDevice(device);
  await new Promise<void>((resolve) => {
    c.once('close', () => resolve());
    c.publish(topic, payload, { qos: 1, retain }, () => resolve());
  });
  await c.endAsync(true);
}

test("a device cannot press another device's button, nor publish in another school", async () => {
  const rejectedBefore = await rejectedTotal();
  // Each of these the gateway alone could not tell from the real thing (an external broker does
  // not say who published): the broker must drop them.
  await publishAs(A.button, `${P}/${A.school}/${A.other}/alarm`, alarm('forged-same-school'));
  await publishAs(A.button, `${P}/${B.school}/${B.button}/alarm`, alarm('forged-other-school'));
  // This one the gateway would refuse (and count): it must not even get there.
  await publishAs(A.button, `${P}/${B.school}/${A.button}/alarm`, alarm('wrong-school'));
  await publishAs(A.button, `${P}/_gateway/status`, 'offline', true);
  // A camera may not raise an alarm, not even on its own topic.
  await publishAs(A.camera, `${P}/${A.school}/${A.camera}/alarm`, alarm('camera'));
  // The marker, sent after the broker dealt with the others: once it is stored, they would have been too.
  await publishAs(A.button, `${P}/${A.school}/${A.button}/alarm`, alarm('marker'));
  await waitFor('the marker alarm', async () => (await alarms()).some((a) => a.zone === 'marker'));
  const zones = (await alarms()).map((a) => a.zone);
  for (const z of ['forged-same-school', 'forged-other-school', 'camera']) assert.ok(!zones.includes(z), `${z} reached the gateway`);
  assert.equal(await rejectedTotal(), rejectedBefore, 'a refused topic reached the gateway');
  const health = (await (await fetch(`${gw.url}/health`)).json()) as { status: string };
  assert.equal(health.status, 'ok', 'the gateway status was not overwritten');
});

test("a device cannot take another's client id, nor subscribe to another's alarm/state or '#'", async () => {
  const victim = await asDevice(A.other);
  // use_username_as_clientid: the id A.other asks for is replaced by its user name, so it cannot
  // take over A.button's session (which would disconnect A.button).
  const real = await asDevice(A.button);
  let kicked = false;
  real.on('close', () => (kicked = true));
  const impostor = await asDevice(B.button, A.button);
  assert.equal(impostor.connected, true);

  const spy = await asDevice(A.third);
  const granted = await spy.subscribeAsync([`${P}/${A.school}/${A.other}/alarm/state`, '#', `${P}/#`], { qos: 1 });
  const spied: string[] = [];
  spy.on('message', (topic) => spied.push(topic));
  const feedback = collect(victim, `${P}/${A.school}/${A.other}/alarm/state`);
  await feedback.ready;

  // The victim presses: the gateway tells it "received", and only it.
  await victim.publishAsync(`${P}/${A.school}/${A.other}/alarm`, alarm('victim'), { qos: 1 });
  await waitFor('"received" at the victim', () => feedback.messages.length > 0);
  // Its own feedback reached the victim; give any copy for the spy the same chance plus a margin.
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(spied, [], `the spy received ${spied.join(', ')} (granted ${JSON.stringify(granted.map((g) => g.qos))})`);
  assert.equal(kicked, false, 'a device took over another device\'s client id');
  assert.equal(real.connected, true);
});

test("the demo county's canteen terminals, with the generated files: a record is taken, a school's cases come to its terminal and not another school's", async () => {
  const sample = (school: string, canteen: string) => {
    const taken = Date.now() - 10 * 60_000;
    return JSON.stringify({ kind: 'sample', school, canteen, id: `bc-${randomBytes(4).toString('hex')}`, dish: '清炒时蔬', meal: 'lunch', grams: 90, takenAt: new Date(taken).toISOString(), keptUntil: new Date(taken + 49 * 3_600_000).toISOString(), person: '王师傅' });
  };
  const listen = async (device: string, topics: string[]) => {
    const c = await asDevice(device);
    const got: { school: string; finding?: string; action: string }[] = [];
    c.on('message', (_t, buf) => got.push(JSON.parse(buf.toString('utf8'))));
    await c.subscribeAsync(topics, { qos: 1 });
    return { c, got };
  };
  // S001's terminal also asks for S002's topic (Mosquitto grants the SUBSCRIBE and filters by the ACL at delivery).
  const a = await listen('S001-CT1', [`${P}/_gateway/S001/canteen/case`, `${P}/_gateway/S002/canteen/case`]);
  const b = await listen('S002-CT1', [`${P}/_gateway/S002/canteen/case`]);
  // An underweight sample, as each terminal's record over MQTT (contract §8), opens a case at each school.
  await a.c.publishAsync(`${P}/S001/S001-CT1/record`, sample('S001', 'main'), { qos: 1 });
  await b.c.publishAsync(`${P}/S002/S002-CT1/record`, sample('S002', 'c1'), { qos: 1 });
  const opened = (got: typeof a.got, school: string) => got.find((n) => n.school === school && n.finding === 'sample_underweight' && n.action === 'open');
  await waitFor('S001\'s case at S001\'s terminal', () => opened(a.got, 'S001'));
  await waitFor('S002\'s case at S002\'s terminal', () => opened(b.got, 'S002'));
  await new Promise((r) => setTimeout(r, 500)); // any copy for S001's terminal had the same chance, plus a margin
  assert.deepEqual(a.got.filter((n) => n.school !== 'S001').map((n) => n.school), [], 'S001\'s terminal heard of another school\'s case');
});

test('a packet over 64 KiB is refused by the broker: the connection is closed', async () => {
  const c = await asDevice(A.button);
  const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
  c.publish(`${P}/${A.school}/${A.button}/heartbeat`, Buffer.alloc(70 * 1024, 'x'), { qos: 0 });
  await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('still connected 5 s after a 70 KiB publish')), 5000))]);
});

test('after re-provisioning, broker-config and SIGHUP: the old secret is refused, the new one admitted, the gateway unaffected', async () => {
  const old = secrets.get(A.button)!;
  await provision({ school: A.school, kind: 'alarm_button' });
  await brokerConfig(gw.url, gw.adminPassword);
  await broker!.reload();
  await assert.rejects(connect({ clientId: A.button, username: A.button, password: old }), /Not authorized|Bad username or password/i, 'the old secret');
  const c = await asDevice(A.button);
  await c.publishAsync(`${P}/${A.school}/${A.button}/alarm`, alarm('after-reload'), { qos: 1 });
  await waitFor('the alarm after the reload', async () => (await alarms()).some((a) => a.zone === 'after-reload'));
});
