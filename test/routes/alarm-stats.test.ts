/**
 * GET /api/stats/alarms on the real gateway (in process, real ledger, real embedded broker): presses
 * over MQTT, operators' actions over HTTP (resolve with `outcome`), figures per township and day,
 * a school's own user sees that school only, and the figures come back the same after a restart.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { buildInProcess, type InProcessGateway } from './harness.js';
import { connectDevice, type MqttClient } from '../support/mqtt.js';
import { waitFor } from '../support/wait.js';
import { REPO_ROOT } from '../support/gateway.js';
import { loadRegistry } from '../../gateway/registry.js';

const registry = loadRegistry(path.join(REPO_ROOT, 'config/county.json'));
const button = (school: string) => registry.schools.get(school)!.devices.find((d) => d.kind === 'alarm_button')!;
const today = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10); // the demo policy is +08:00

let gw: InProcessGateway;
let device: MqttClient;
let n = 0;
const ADMIN_PASSWORD = 'stats-admin-password';

before(async () => {
  gw = await buildInProcess({ GATEWAY_ADMIN_PASSWORD: ADMIN_PASSWORD });
  device = await connectDevice(gw.mqttUrl);
});
after(async () => {
  await device?.endAsync();
  await gw?.close();
});

async function press(school: string, test = false): Promise<string> {
  const id = `stats-${n++}`;
  await device.publishAsync(`campus/v1/${school}/${button(school).id}/alarm`, JSON.stringify({ id, ts: Date.now(), kind: 'panic', ...(test ? { test } : {}) }), { qos: 1 });
  const found = await waitFor(`alarm ${id} stored`, async () => {
    const all = (await gw.call('GET', `/api/alarms?state=all&school=${school}`, { token: gw.tokens.viewer })).body.alarms as { id: string; sourceId: string }[];
    return all.find((a) => a.sourceId === id);
  });
  return found.id;
}
const act = async (id: string, action: string, body: object = {}) => {
  const res = await gw.call('POST', `/api/alarms/${id}/${action}`, { token: gw.tokens.operator, body });
  assert.equal(res.status, 200, res.text);
  return res.body;
};

test('county, township and today: real, false and test presses, times to acknowledge and dispatch', async () => {
  const empty = await gw.call('GET', '/api/stats/alarms?days=1', { token: gw.tokens.viewer });
  assert.equal(empty.status, 200, empty.text);
  assert.deepEqual(empty.body.county.ackSec, { n: 0, p50: null, p90: null });
  assert.equal(empty.body.townships.length, 10, 'every township, even with nothing to count');

  const real = await press('S001'); // 城关镇
  const falseOne = await press('S031'); // 东关镇
  await press('S002', true); // a test press, 城关镇
  await act(real, 'ack');
  await act(real, 'dispatch');
  await act(falseOne, 'ack');
  const resolved = await act(falseOne, 'resolve', { note: '误按', outcome: 'false' });
  assert.equal(resolved.outcome, 'false');
  assert.equal(resolved.history.at(-1).outcome, 'false');

  const res = await gw.call('GET', '/api/stats/alarms?days=7', { token: gw.tokens.viewer });
  assert.equal(res.status, 200, res.text);
  const s = res.body;
  assert.equal(s.to, today());
  assert.equal(s.byDay.length, 7);
  assert.equal(s.byDay.at(-1).day, today());
  assert.deepEqual([s.county.total, s.county.real, s.county.false, s.county.tests], [3, 1, 1, 1]);
  assert.deepEqual([s.byDay.at(-1).total, s.byDay.slice(0, 6).reduce((t: number, d: { total: number }) => t + d.total, 0)], [3, 0]);
  assert.equal(s.county.ackSec.n, 2);
  assert.equal(s.county.dispatchSec.n, 1);
  assert.ok(s.county.ackSec.p50 >= 0 && s.county.ackSec.p90 >= s.county.ackSec.p50);
  const town = (r: string) => s.townships.find((t: { region: string }) => t.region === r);
  assert.deepEqual([town('城关镇').real, town('城关镇').tests, town('东关镇').false, town('西河镇').total], [1, 1, 1, 0]);

  // A wrong outcome is refused, and ack takes none.
  const other = await press('S003');
  assert.equal((await gw.call('POST', `/api/alarms/${other}/ack`, { token: gw.tokens.operator, body: { outcome: 'false' } })).status, 400);
  await act(other, 'ack');
  assert.equal((await gw.call('POST', `/api/alarms/${other}/resolve`, { token: gw.tokens.operator, body: { outcome: 'maybe' } })).status, 400);
});

test('a school-bound user gets their school only; days outside 1..31 is 400', async () => {
  const pw = 'school-password-1';
  assert.equal((await gw.call('POST', '/api/users', { token: gw.tokens.admin, body: { user: 'school-s031', password: pw, role: 'viewer', school: 'S031' } })).status, 201);
  const token = (await gw.call('POST', '/api/login', { body: { user: 'school-s031', password: pw } })).body.token;
  const mine = await gw.call('GET', '/api/stats/alarms', { token });
  assert.equal(mine.status, 200, mine.text);
  assert.deepEqual(mine.body.townships.map((t: { region: string }) => t.region), ['东关镇']);
  assert.deepEqual([mine.body.county.total, mine.body.county.false], [1, 1], 'S031 only, not the county');
  assert.equal((await gw.call('GET', '/api/stats/alarms?school=S001', { token })).status, 403);
  // The header's figures too: its school's devices and open alarms, not the county's.
  const county = (await gw.call('GET', '/api/stats', { token: gw.tokens.viewer })).body;
  const header = (await gw.call('GET', '/api/stats', { token })).body;
  const s031 = [...gw.services.registry.devices.values()].filter((d) => d.school === 'S031');
  assert.equal(Object.values(header.devices.total as Record<string, number>).reduce((a, b) => a + b, 0), s031.length);
  assert.ok(county.devices.total.alarm_button > header.devices.total.alarm_button);
  const openHere = (await gw.call('GET', '/api/alarms', { token })).body.alarms.filter((a: { test?: boolean }) => !a.test).length;
  assert.equal(header.alarms.open, openHere);
  assert.ok(county.alarms.open > header.alarms.open, 'other schools\' alarms are not counted');
  for (const days of ['0', '32', 'x']) assert.equal((await gw.call('GET', `/api/stats/alarms?days=${days}`, { token: gw.tokens.viewer })).status, 400, days);
  assert.equal((await gw.call('GET', '/api/stats/alarms')).status, 401);
});

test('the figures come from the ledger: the same after a restart', async () => {
  const before = (await gw.call('GET', '/api/stats/alarms?days=31', { token: gw.tokens.viewer })).body;
  const { dataDir } = gw.services.config;
  await device.endAsync();
  await gw.close();
  gw = await buildInProcess({ DATA_DIR: dataDir, GATEWAY_ADMIN_PASSWORD: ADMIN_PASSWORD });
  device = await connectDevice(gw.mqttUrl);
  const again = (await gw.call('GET', '/api/stats/alarms?days=31', { token: gw.tokens.viewer })).body;
  assert.deepEqual(again.county, before.county);
  assert.ok(before.county.total >= 4);
});
