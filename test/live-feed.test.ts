/** The live feed's guards: who may connect, what a client may say, and the bound on a slow client. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import WebSocket from 'ws';
import { REPO_ROOT, api, login, startGateway, type GatewayProc } from './support/gateway.js';
import { connectDevice, type MqttClient } from './support/mqtt.js';
import { openLive } from './support/ws.js';
import { loadRegistry } from '../gateway/registry.js';

const registry = loadRegistry(path.join(REPO_ROOT, 'config/county.json'));
const cam = [...registry.devices.values()].find((d) => d.kind === 'camera' && d.zone === 'kitchen')!;

let gw: GatewayProc;
let device: MqttClient;
before(async () => {
  gw = await startGateway({ env: { WS_MAX_BUFFERED_BYTES: String(256 * 1024), TOKEN_TTL_SEC: '20' } });
  device = await connectDevice(gw.mqttUrl);
});
after(async () => {
  await device?.endAsync();
  await gw?.stop();
});

function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => (ws.close(), resolve(101)));
    ws.on('error', () => undefined);
  });
}

test('/live refuses a missing or forged token before the upgrade', async () => {
  const token = await login(gw.url, 'admin', gw.adminPassword); // fresh: tokens here live 20 s
  const base = gw.url.replace('http', 'ws') + '/live';
  assert.equal(await upgradeStatus(base), 401);
  assert.equal(await upgradeStatus(`${base}?token=forged`), 401);
  assert.equal(await upgradeStatus(`${base}?token=${token}`), 101);
});

test('a client frame other than a first resume is answered with a specific error, and the feed goes on', async () => {
  const token = await login(gw.url, 'admin', gw.adminPassword); // fresh: tokens here live 20 s
  const live = await openLive(gw.url, token);
  await live.next((f) => f.type === 'snapshot');
  live.ws.send('not json');
  assert.match((await live.next((f) => f.type === 'error')).data.message, /not JSON/);
  live.send({ type: 'resume', since: 0 });
  assert.match((await live.next((f) => f.type === 'error')).data.message, /first frame/);
  live.send({ type: 'subscribe' });
  assert.match((await live.next((f) => f.type === 'error')).data.message, /only client frame/);
  const bad = await openLive(gw.url, token);
  bad.send({ type: 'resume', since: -3 });
  assert.match((await bad.next((f) => f.type === 'error')).data.message, /non-negative/);
  await bad.close();
  await device.publishAsync(`campus/v1/${cam.school}/${cam.id}/ai`, JSON.stringify({ id: `ok-${Date.now()}`, ts: Date.now(), kind: 'rodent', confidence: 0.91 }), { qos: 1 });
  const ai = await live.next((f) => f.type === 'ai');
  assert.equal(ai.data.kind, 'rodent');
  assert.equal(ai.data.zone, 'kitchen');
  await live.close();
});

test('a client that stops reading is sent resync and closed instead of being buffered without bound', async () => {
  const token = await login(gw.url, 'admin', gw.adminPassword); // fresh: tokens here live 20 s
  const slow = await openLive(gw.url, token);
  await slow.next((f) => f.type === 'snapshot');
  const healthy = await openLive(gw.url, token);
  await healthy.next((f) => f.type === 'snapshot');
  const socket = (slow.ws as unknown as { _socket: import('node:net').Socket })._socket;
  socket.pause(); // the screen's tab is frozen: nothing is read any more

  const url = `http://snapshots.example.invalid/${'x'.repeat(2000)}`;
  const N = 6000;
  const prefix = `flood-${Date.now()}-`;
  for (let i = 0; i < N; i++) {
    device.publish(`campus/v1/${cam.school}/${cam.id}/ai`, JSON.stringify({ id: `${prefix}${i}`, ts: Date.now(), kind: 'no_hat', snapshotUrl: url }), { qos: 0 });
    if (i % 500 === 0) await new Promise((r) => setTimeout(r, 20));
  }
  // The healthy screen gets every one of them.
  const last = await healthy.next((f) => f.type === 'ai' && f.data.id === `${prefix}${N - 1}`, 30_000);
  assert.ok(last);
  assert.equal(healthy.frames.filter((f) => f.type === 'ai' && String(f.data.id).startsWith(prefix)).length, N);
  socket.resume();
  const closed = await slow.closed;
  assert.equal(closed.code, 4001);
  assert.equal(slow.frames.at(-1)?.type, 'resync');
  const health = (await api(gw.url, '', 'GET', '/health')).body;
  assert.equal(health.live.clients, 1, 'the slow client is gone, the healthy one stays');
  await healthy.close();
});

test('tokens expire, and a live socket closes when its token does', async () => {
  const t = await login(gw.url, 'admin', gw.adminPassword);
  assert.equal((await api(gw.url, t, 'GET', '/api/schools')).status, 200);
  const live = await openLive(gw.url, t);
  await live.next((f) => f.type === 'snapshot');
  // The gateway closes the socket at the token's expiry (20 s here: long enough for the slow-client test's flood on a loaded machine): wait for that, not for a time.
  const closed = await live.closed;
  assert.deepEqual(closed, { code: 4002, reason: 'token expired' });
  const res = await api(gw.url, t, 'GET', '/api/schools');
  assert.equal(res.status, 401);
  assert.equal(res.body.error, 'token_expired');
});
