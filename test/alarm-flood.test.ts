/**
 * An alarm flood (ISA-18.2) end to end on the real gateway (in process, real ledger, real embedded
 * broker, real WebSocket screens), with a 4 s window so its end comes quickly: 11 presses from four
 * schools start a flood whose frame groups every open alarm by school; nothing is hidden or dropped;
 * a school's own screen is not shown the county's flood; it ends on its own; it survives a restart.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { buildInProcess, type InProcessGateway } from './routes/harness.js';
import { connectDevice, type MqttClient } from './support/mqtt.js';
import { openLive, type LiveFrame } from './support/ws.js';
import { REPO_ROOT } from './support/gateway.js';
import { loadRegistry } from '../gateway/registry.js';

const registry = loadRegistry(path.join(REPO_ROOT, 'config/county.json'));
const button = (school: string) => registry.schools.get(school)!.devices.find((d) => d.kind === 'alarm_button')!;
const WINDOW_SEC = 4;

let gw: InProcessGateway;
let url: string;
let device: MqttClient;

before(async () => {
  gw = await buildInProcess({ ALARM_FLOOD_COUNT: '10', ALARM_FLOOD_WINDOW_SEC: String(WINDOW_SEC), ALARM_FLOOD_END_COUNT: '5' });
  await gw.app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(gw.app.server.address() as AddressInfo).port}`;
  device = await connectDevice(gw.mqttUrl);
});
after(async () => {
  await device?.endAsync();
  await gw?.close();
});

const press = (school: string, id: string) =>
  device.publishAsync(`campus/v1/${school}/${button(school).id}/alarm`, JSON.stringify({ id, ts: Date.now(), kind: 'panic' }), { qos: 1 });

test('11 presses in the window: a flood frame groups every open alarm by school; all 11 stay listed; it ends by itself', async () => {
  const pw = 'school-password-s001';
  assert.equal((await gw.call('POST', '/api/users', { token: gw.tokens.admin, body: { user: 'flood-s001', password: pw, role: 'viewer', school: 'S001' } })).status, 201);
  const schoolToken = (await gw.call('POST', '/api/login', { body: { user: 'flood-s001', password: pw } })).body.token;

  const screen = await openLive(url, gw.tokens.viewer);
  const first = await screen.next((f) => f.type === 'snapshot');
  assert.deepEqual([first.data.flood.active, first.data.flood.count, first.data.flood.threshold], [false, 0, 10]);
  const schoolScreen = await openLive(url, schoolToken);
  const schoolSnap = await schoolScreen.next((f) => f.type === 'snapshot');
  assert.equal(schoolSnap.data.flood, undefined, "a school's screen is not shown the county's flood");

  const plan = [...Array(4).fill('S001'), ...Array(3).fill('S031'), ...Array(2).fill('S046'), ...Array(2).fill('S051')] as string[];
  const ids = plan.map((_, k) => `flood-${k}`);
  await Promise.all(plan.map((s, k) => press(s, ids[k])));

  const flood = await screen.next((f) => f.type === 'flood' && f.data.active, 10_000);
  const alarmFrames = screen.frames.filter((f) => f.type === 'alarm' && ids.includes(f.data.sourceId));
  assert.equal(alarmFrames.length, 11, 'every press has its own alarm frame');
  // 10 in the window was no flood: the first flood frame comes with the 11th alarm, none before it.
  assert.equal(flood.seq, Math.max(...alarmFrames.map((f) => f.seq)) + 1);
  assert.equal(screen.frames.filter((f) => f.type === 'flood' && f.seq < flood.seq).length, 0);
  assert.equal(flood.data.count, 11);
  assert.equal(flood.data.windowSec, WINDOW_SEC);
  assert.ok(Date.parse(flood.data.since) > 0);
  const groups = flood.data.bySchool as { school: string; count: number; newest: string; alarms?: string[] }[];
  assert.deepEqual(groups.map((g) => [g.school, g.count]), [['S001', 4], ['S031', 3], ...groups.slice(2).map((g) => [g.school, 2])], 'most alarms first');
  assert.deepEqual(groups.slice(2).map((g) => g.school).sort(), ['S046', 'S051']);
  assert.equal(groups.reduce((n, g) => n + g.count, 0), 11, 'every open alarm counted in its school');
  assert.ok(groups.every((g) => g.alarms === undefined), 'frames stay as small as the county: no id lists');
  const alarmIds = alarmFrames.map((f) => f.data.id).sort();
  for (const g of groups) assert.equal(g.newest, alarmFrames.filter((f) => f.data.school === g.school).map((f) => f.data.raisedAt as string).sort().at(-1));

  // Nothing hidden: the list and a new screen's snapshot carry all 11, the snapshot says flood.
  const listed = (await gw.call('GET', '/api/alarms?state=open&limit=1000', { token: gw.tokens.viewer })).body.alarms as { id: string }[];
  assert.deepEqual(listed.map((a) => a.id).sort(), alarmIds);
  const late = await openLive(url, gw.tokens.viewer);
  const snap = await late.next((f) => f.type === 'snapshot');
  assert.deepEqual(snap.data.alarms.map((a: { id: string }) => a.id).sort(), alarmIds);
  assert.equal(snap.data.flood.active, true);
  assert.deepEqual(snap.data.flood.bySchool.flatMap((g: { alarms: string[] }) => g.alarms).sort(), alarmIds, 'the snapshot: every open alarm in exactly one group');
  await late.close();

  // The school's screen gets its own school's alarm frames, never the county's flood frames.
  await press('S001', 'flood-after');
  const more = await screen.next((f) => f.type === 'flood' && f.data.bySchool.some((g: { school: string; count: number }) => g.school === 'S001' && g.count === 5), 10_000);
  assert.equal(more.data.since, flood.data.since, 'the same flood, regrouped');
  await schoolScreen.next((f) => f.type === 'alarm' && f.data.sourceId === 'flood-after' && f.seq < more.seq);
  // Frames arrive in seq order: once a later S001 alarm is there, any flood frame sent to it would be too.
  await press('S001', 'flood-after-2');
  await schoolScreen.next((f: LiveFrame) => f.type === 'alarm' && f.data.sourceId === 'flood-after-2' && f.seq > more.seq, 10_000);
  assert.equal(schoolScreen.frames.filter((f) => f.type === 'flood').length, 0);
  assert.ok(schoolScreen.frames.every((f) => f.type === 'snapshot' || f.data.school === 'S001'), 'its own school only');

  // It ends by itself once fewer than 5 remain in the window; every alarm is still open and listed.
  const ended = await screen.next((f) => f.type === 'flood' && !f.data.active, (WINDOW_SEC + 10) * 1000);
  assert.equal(ended.data.since, flood.data.since);
  assert.ok(Date.parse(ended.data.endedAt) - Date.parse(flood.data.since) >= 0);
  assert.deepEqual(ended.data.bySchool, []);
  const after = (await gw.call('GET', '/api/alarms?state=open&limit=1000', { token: gw.tokens.viewer })).body.alarms as { sourceId: string }[];
  assert.deepEqual(after.map((a) => a.sourceId).sort(), [...ids, 'flood-after', 'flood-after-2'].sort());
  await screen.close();
  await schoolScreen.close();
});

test('a flood survives a restart: rebuilt from the ledger, with every open alarm grouped', async () => {
  const env = { ALARM_FLOOD_COUNT: '10', ALARM_FLOOD_WINDOW_SEC: '600', GATEWAY_ADMIN_PASSWORD: 'flood-restart-admin' };
  let g = await buildInProcess(env);
  let dev = await connectDevice(g.mqttUrl);
  try {
    const ids = Array.from({ length: 11 }, (_, k) => `restart-${k}`);
    await Promise.all(ids.map((id, k) => dev.publishAsync(`campus/v1/S00${(k % 3) + 1}/${button(`S00${(k % 3) + 1}`).id}/alarm`, JSON.stringify({ id, ts: Date.now(), kind: 'panic' }), { qos: 1 })));
    const open = async () => ((await g.call('GET', '/api/alarms?state=open&limit=1000', { token: g.tokens.viewer })).body.alarms as { id: string }[]).map((a) => a.id).sort();
    const stored = await open();
    assert.equal(stored.length, 11, 'QoS 1 acknowledged: all 11 are durable');
    await dev.endAsync();
    const { dataDir } = g.services.config;
    await g.close();
    g = await buildInProcess({ ...env, DATA_DIR: dataDir });
    dev = await connectDevice(g.mqttUrl);
    await g.app.listen({ port: 0, host: '127.0.0.1' });
    const screen = await openLive(`http://127.0.0.1:${(g.app.server.address() as AddressInfo).port}`, g.tokens.viewer);
    const snap = await screen.next((f) => f.type === 'snapshot');
    assert.equal(snap.data.flood.active, true);
    assert.equal(snap.data.flood.count, 11);
    assert.deepEqual(snap.data.flood.bySchool.flatMap((x: { alarms: string[] }) => x.alarms).sort(), stored);
    assert.deepEqual(await open(), stored);
    await screen.close();
  } finally {
    await dev.endAsync();
    await g.close();
  }
});
