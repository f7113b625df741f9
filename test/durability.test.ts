/**
 * "Nothing lost": an alarm, once a device's broker has it, survives a gateway kill -9 and a
 * broker restart — on a real Mosquitto with a persistent session, and on the embedded default.
 * Each test would fail if an alarm were acknowledged before the ledger held it, or if a
 * redelivery created a second alarm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { api, login, REPO_ROOT, startGateway } from './support/gateway.js';
import { startMosquitto } from './support/mosquitto.js';
import { connectDevice, waitForMessage } from './support/mqtt.js';
import { waitFor } from './support/wait.js';
import { loadRegistry } from '../gateway/registry.js';

const registry = loadRegistry(path.join(REPO_ROOT, 'config/county.json'));
const buttons = [...registry.devices.values()].filter((d) => d.kind === 'alarm_button').slice(0, 20);
const alarmTopic = (i: number) => `campus/v1/${buttons[i % buttons.length].school}/${buttons[i % buttons.length].id}/alarm`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function alarmsBySource(url: string, token: string, prefix: string): Promise<Map<string, number>> {
  const res = await api(url, token, 'GET', '/api/alarms?state=all&limit=1000');
  assert.equal(res.status, 200);
  const counts = new Map<string, number>();
  for (const a of res.body.alarms as { sourceId: string; device: string }[])
    if (a.sourceId.startsWith(prefix)) counts.set(`${a.device}/${a.sourceId}`, (counts.get(`${a.device}/${a.sourceId}`) ?? 0) + 1);
  return counts;
}

function expectExactlyOnce(counts: Map<string, number>, expected: string[]): void {
  const missing = expected.filter((k) => !counts.has(k));
  const twice = [...counts].filter(([, n]) => n > 1).map(([k]) => k);
  assert.deepEqual(missing, [], `${missing.length} alarms lost`);
  assert.deepEqual(twice, [], 'alarms stored twice');
}

test('Mosquitto: kill -9 the gateway during a burst, restart it: every alarm is there exactly once', async () => {
  const broker = await startMosquitto({ persistence: true });
  const gw = await startGateway({ mqttUrl: broker.url, env: { MQTT_CLIENT_ID: `gw-${Date.now()}` } });
  const device = await connectDevice(broker.url);
  try {
    const token = await login(gw.url, 'admin', gw.adminPassword);
    const N = 400;
    const prefix = `burst-${Date.now()}-`;
    const expected: string[] = [];
    const publishes: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) {
      const id = `${prefix}${i}`;
      expected.push(`${buttons[i % buttons.length].id}/${id}`);
      publishes.push(device.publishAsync(alarmTopic(i), JSON.stringify({ id, ts: Date.now(), kind: 'panic' }), { qos: 1 }));
      if (i === 150) await gw.kill9(); // mid-burst, while the gateway has messages in flight
      if (i % 10 === 0) await sleep(5);
    }
    await Promise.all(publishes); // the broker has them all
    await gw.restart();
    await waitFor(`${N} alarms after restart`, async () => (await alarmsBySource(gw.url, token, prefix)).size >= N, { timeoutMs: 60_000, intervalMs: 200 });
    expectExactlyOnce(await alarmsBySource(gw.url, token, prefix), expected);
  } finally {
    await device.endAsync();
    await gw.stop();
    await broker.stop();
  }
});

test('Mosquitto: alarms queued for a stopped gateway survive a broker restart, and the gateway reconnects by itself', async () => {
  const broker = await startMosquitto({ persistence: true });
  const gw = await startGateway({ mqttUrl: broker.url, env: { MQTT_CLIENT_ID: `gw-${Date.now()}` } });
  try {
    const token = await login(gw.url, 'admin', gw.adminPassword);
    const prefix = `queued-${Date.now()}-`;
    const expected: string[] = [];
    await gw.kill9();
    let device = await connectDevice(broker.url);
    // The gateway's last will tells other tools it is gone (contract §2).
    const status = await waitForMessage(device, 'campus/v1/_gateway/status', (_t, p) => p.toString() === 'offline');
    assert.equal(status.payload.toString(), 'offline');
    for (let i = 0; i < 50; i++) {
      const id = `${prefix}${i}`;
      expected.push(`${buttons[i % buttons.length].id}/${id}`);
      await device.publishAsync(alarmTopic(i), JSON.stringify({ id, ts: Date.now(), kind: 'intrusion' }), { qos: 1 });
    }
    await device.endAsync();
    await broker.restart(); // the queue lives only in the broker's persistence now
    await gw.restart();
    await waitFor('queued alarms', async () => (await alarmsBySource(gw.url, token, prefix)).size >= 50, { timeoutMs: 30_000, intervalMs: 200 });
    expectExactlyOnce(await alarmsBySource(gw.url, token, prefix), expected);

    // Broker restart while the gateway runs: health says so, then it reconnects and takes alarms again.
    await broker.stop();
    await waitFor('/health 503 without a broker', async () => (await api(gw.url, '', 'GET', '/health')).status === 503, { timeoutMs: 10_000, intervalMs: 200 });
    await broker.restart();
    await waitFor('/health 200 after reconnect', async () => (await api(gw.url, '', 'GET', '/health')).status === 200, { timeoutMs: 20_000, intervalMs: 200 });
    device = await connectDevice(broker.url);
    const late = `${prefix}late`;
    await device.publishAsync(alarmTopic(0), JSON.stringify({ id: late, ts: Date.now(), kind: 'panic' }), { qos: 1 });
    await device.endAsync();
    await waitFor('an alarm after the broker came back', async () => (await alarmsBySource(gw.url, token, late)).size === 1, { timeoutMs: 10_000, intervalMs: 200 });
  } finally {
    await gw.stop();
    await broker.stop();
  }
});

test('embedded broker: kill -9 during a burst loses no alarm the device had PUBACK for', async () => {
  const gw = await startGateway();
  const device = await connectDevice(gw.mqttUrl, { clean: false, clientId: `dev-${Date.now()}` });
  try {
    const token = await login(gw.url, 'admin', gw.adminPassword);
    const prefix = `emb-${Date.now()}-`;
    const acked: string[] = [];
    const all: string[] = [];
    const publishes: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) {
      const id = `${prefix}${i}`;
      const key = `${buttons[i % buttons.length].id}/${id}`;
      all.push(key);
      publishes.push(
        device.publishAsync(alarmTopic(i), JSON.stringify({ id, ts: Date.now(), kind: 'panic' }), { qos: 1 }).then(() => acked.push(key)),
      );
      if (i === 120) await gw.kill9();
      if (i % 10 === 0) await sleep(5);
    }
    const ackedBeforeRestart = [...acked];
    assert.ok(ackedBeforeRestart.length > 0, 'some alarms were acknowledged before the kill');
    await gw.restart();
    // Everything acknowledged before the kill is there, without the device sending anything again…
    const afterRestart = await alarmsBySource(gw.url, token, prefix);
    const lost = ackedBeforeRestart.filter((k) => !afterRestart.has(k));
    assert.deepEqual(lost, [], `${lost.length} PUBACKed alarms lost`);
    // …and once the device has reconnected and resent its unacknowledged ones, all are there once.
    await Promise.all(publishes);
    await waitFor('every alarm after the device resent', async () => (await alarmsBySource(gw.url, token, prefix)).size >= all.length, { timeoutMs: 30_000, intervalMs: 200 });
    expectExactlyOnce(await alarmsBySource(gw.url, token, prefix), all);
  } finally {
    await device.endAsync();
    await gw.stop();
  }
});
