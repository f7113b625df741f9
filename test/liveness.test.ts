/**
 * Device liveness end to end on a real gateway: silence → offline with a maintenance alarm,
 * return after two signs of life, never-seen devices, state kept across a kill -9, and the
 * camera uptime report (with the gateway's own downtime as unknown).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, api, login, startGateway, type GatewayProc } from './support/gateway.js';
import { connectDevice, type MqttClient } from './support/mqtt.js';
import { openLive } from './support/ws.js';
import { waitFor } from './support/wait.js';

// The demo county, with a few devices on a 1 s heartbeat so that a test can watch them die.
const county = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'config/county.json'), 'utf8'));
const school = county.schools[0];
const buttons = school.devices.filter((d: { kind: string }) => d.kind === 'alarm_button');
const cams = school.devices.filter((d: { kind: string; zone?: string }) => d.kind === 'camera' && d.zone === 'kitchen');
const [btnA, btnNever] = buttons;
const [camC] = cams;
for (const d of [btnA, btnNever, camC]) d.heartbeatIntervalSec = 1;
const registryFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'liveness-reg-')), 'county.json');
fs.writeFileSync(registryFile, JSON.stringify(county));

let gw: GatewayProc;
let token: string;
let device: MqttClient;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const beat = (d: { id: string }) => device.publishAsync(`campus/v1/${school.id}/${d.id}/heartbeat`, JSON.stringify({ ts: Date.now() }), { qos: 1 });

before(async () => {
  gw = await startGateway({ env: { REGISTRY: registryFile, MISSED_HEARTBEATS: '3' } });
  token = await login(gw.url, 'admin', gw.adminPassword);
  device = await connectDevice(gw.mqttUrl);
});
after(async () => {
  await device?.endAsync();
  await gw?.stop();
});

async function deviceView(id: string) {
  const list = (await api(gw.url, token, 'GET', `/api/devices?school=${school.id}`)).body.devices as Record<string, any>[];
  return list.find((d) => d.id === id)!;
}

test('a silent camera goes offline after 3 missed heartbeats with a maintenance alarm, and returns after 2 signs of life', async () => {
  const screen = await openLive(gw.url, token);
  await screen.next((f) => f.type === 'snapshot');
  // Online first, however long the start took: a camera first heard after its window has passed
  // is `never_seen` offline and needs two signs of life (hysteresis).
  await waitFor('camera C online', async () => {
    await beat(camC);
    return (await deviceView(camC.id)).online;
  }, { intervalMs: 300 });
  await screen.next((f) => f.type === 'device' && f.data.id === camC.id && f.data.online); // first_seen, or back after never_seen
  const lastBeat = Date.now();
  await sleep(400);
  await beat(camC); // still alive
  const lastSeen = Date.now();
  const down = await screen.next((f) => f.type === 'device' && f.data.id === camC.id && !f.data.online, 8000);
  assert.equal(down.data.reason, 'silent');
  const offlineAfter = Date.parse(down.data.since) - lastSeen;
  assert.ok(offlineAfter >= 2900 && offlineAfter <= 3200, `offline ${offlineAfter} ms after the last heartbeat (3 × 1 s)`);
  assert.ok(Date.now() - lastBeat < 5500, 'detected within the window plus one tick');
  const opened = await screen.next((f) => f.type === 'maintenance' && f.data.device === camC.id && f.data.state === 'open');
  assert.equal(opened.data.deviceKind, 'camera');
  assert.equal(opened.data.zone, 'kitchen');
  const view = await deviceView(camC.id);
  assert.deepEqual([view.online, view.status, view.maintenance?.id], [false, 'offline', opened.data.id]);
  const open = (await api(gw.url, token, 'GET', '/api/maintenance')).body.alarms;
  assert.ok(open.some((m: { id: string }) => m.id === opened.data.id));

  await beat(camC);
  await sleep(200);
  assert.equal((await deviceView(camC.id)).online, false, 'one sign of life is not enough');
  await beat(camC);
  const up = await screen.next((f) => f.type === 'device' && f.data.id === camC.id && f.data.online);
  assert.equal(up.data.reason, 'heartbeat_resumed');
  const cleared = await screen.next((f) => f.type === 'maintenance' && f.data.id === opened.data.id && f.data.state === 'cleared');
  assert.ok(cleared.data.downMs > 0);
  const history = (await api(gw.url, token, 'GET', '/api/maintenance?state=all')).body.alarms;
  assert.equal(history.find((m: { id: string }) => m.id === opened.data.id).state, 'cleared');
  await screen.close();
});

test('a registered alarm button never heard from is reported offline (never_seen) once its window passes', async () => {
  const v = await deviceView(btnNever.id);
  assert.equal(v.status, 'offline', 'the gateway has been up longer than 3 × 1 s');
  assert.equal(v.maintenance.reason, 'never_seen');
  // Buttons on the default 30 s interval are still unknown, not offline: no flood at start.
  const other = buttons.find((b: { id: string }) => b.id !== btnA.id && b.id !== btnNever.id);
  if (other) assert.equal((await deviceView(other.id)).status, 'unknown');
});

test('a screen\'s snapshot lists only the devices that are not online (a province sends its exceptions, not every device)', async () => {
  await waitFor('button A online', async () => {
    await beat(btnA);
    return (await deviceView(btnA.id)).online;
  }, { intervalMs: 300 });
  const screen = await openLive(gw.url, token);
  try {
    const snap = (await screen.next((f) => f.type === 'snapshot')).data;
    assert.equal(snap.devices[btnA.id], undefined, 'an online device is not listed');
    assert.equal(snap.devices[btnNever.id]?.status, 'offline');
    const other = buttons.find((b: { id: string }) => b.id !== btnA.id && b.id !== btnNever.id);
    if (other) assert.equal(snap.devices[other.id]?.status, 'unknown');
    const listed = Object.values(snap.devices as Record<string, { status: string }>);
    assert.ok(listed.length > 0 && listed.every((d) => d.status !== 'online'), 'every listed device is offline or unknown');
    // The counts stay whole: the school's tile still knows how many of its devices are up.
    const tile = (snap.schools as { id: string; devices: { online: number; total: number } }[]).find((x) => x.id === school.id)!;
    assert.ok(tile.devices.online >= 1 && tile.devices.total === school.devices.length, JSON.stringify(tile));
  } finally {
    await screen.close();
  }
});

test('after kill -9 and restart an outage in progress is kept, online devices are not flooded offline, and uptime shows the gap as unknown', async () => {
  // Camera C goes down; button A keeps beating.
  await beat(camC);
  for (let i = 0; i < 8; i++) {
    await beat(btnA);
    await sleep(450);
  }
  assert.equal((await deviceView(camC.id)).status, 'offline');
  const before = (await api(gw.url, token, 'GET', '/api/maintenance')).body.alarms.find((m: { device: string }) => m.device === camC.id);
  assert.ok(before);
  await gw.kill9();
  await sleep(2000);
  await gw.restart();
  token = await login(gw.url, 'admin', gw.adminPassword);
  const a = await deviceView(btnA.id);
  assert.equal(a.status, 'online', 'kept its state; a fresh window from the restart');
  const c = await deviceView(camC.id);
  assert.equal(c.status, 'offline');
  assert.equal(c.maintenance.id, before.id, 'the same outage, not forgotten, not a new one');

  const report = (await api(gw.url, token, 'GET', `/api/cameras/uptime?window=24h&school=${school.id}&zone=kitchen`)).body;
  const row = report.cameras.find((r: { id: string }) => r.id === camC.id);
  assert.ok(row.downMs > 0);
  assert.ok(row.unknownMs >= 1500, `gateway downtime counted as unknown (${row.unknownMs} ms)`);
  assert.ok(row.outages >= 1);
  assert.equal(row.down, true);
  assert.ok(report.gatewayDownMs >= 1500);
  assert.equal(report.cameras[0].id, camC.id, 'worst first');
  assert.deepEqual(report.zones.map((z: { id: string }) => z.id), ['kitchen']);
  const csv = await fetch(`${gw.url}/api/cameras/uptime?window=7d&school=${school.id}&format=csv`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type') ?? '', /text\/csv/);
  const bytes = Buffer.from(await csv.arrayBuffer());
  assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 BOM, so Excel shows the Chinese names');
  const text = bytes.toString('utf8');
  assert.match(text, /^\ufeffid,name,school,zone,uptime_ratio/);
  assert.match(text, new RegExp(`\\n${camC.id},`));
  // Viewers may not see the maintenance report.
  await api(gw.url, token, 'POST', '/api/users', { user: 'v1', password: 'viewer-pass', role: 'viewer' });
  const viewer = await login(gw.url, 'v1', 'viewer-pass');
  assert.equal((await api(gw.url, viewer, 'GET', '/api/cameras/uptime')).status, 403);
});
