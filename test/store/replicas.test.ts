/**
 * Several gateways, one region (issue #14, decision 0009): two real gateway processes on one
 * Mosquitto (a shared subscription, MQTT_SHARED_GROUP) and one PostgreSQL ledger. Each alarm is
 * ingested by one of them, stored once, and reaches the screens of both — fed from the ledger's
 * feed, not from the ingest call stack; an operator's action on one gateway reaches the other's
 * screen. Then kill -9 of one gateway in a burst: nothing the broker accepted is lost or doubled,
 * and the survivor's screen misses nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import pg from 'pg';
import { api, REPO_ROOT } from '../support/gateway.js';
import { startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { connectDevice, type MqttClient } from '../support/mqtt.js';
import { startReplica, type Replica } from '../support/replica.js';
import { startPostgres, type Postgres } from '../support/postgres.js';
import { openLive, type LiveClient, type LiveFrame } from '../support/ws.js';
import { waitFor } from '../support/wait.js';
import { loadRegistry } from '../../gateway/registry.js';
import { camerasForAlarm, snapshotPlan } from '../../gateway/modules/alarms/linked-cameras.js';

const registry = loadRegistry(path.join(REPO_ROOT, 'config/county.json'));
// Buttons whose alarms plan no picture to fetch: the test is about the alarm's own frames.
const buttons = [...registry.devices.values()]
  .filter((d) => d.kind === 'alarm_button')
  .filter((d) => snapshotPlan(camerasForAlarm(d, registry.schools.get(d.school)!.devices, undefined), registry.devices, 0).every((s) => s.state !== 'pending'))
  .slice(0, 20);
const alarmTopic = (i: number) => `campus/v1/${buttons[i % buttons.length].school}/${buttons[i % buttons.length].id}/alarm`;
const keyOf = (i: number, prefix: string) => `${buttons[i % buttons.length].id}/${prefix}${i}`;

let db: Postgres;
let broker: Mosquitto;
before(async () => {
  assert.ok(buttons.length >= 5, 'the demo county has alarm buttons without pictures to fetch');
  db = await startPostgres();
  broker = await startMosquitto();
});
after(async () => {
  await broker?.stop();
  await db?.stop();
});

/**
 * A gateway of `group`. Each test has its own group: the gateways of an earlier test left their
 * persistent sessions in the broker, and Mosquitto 2.0 goes on handing those (offline) members
 * their share of the group's messages (decision 0009).
 */
const startRegionReplica = (url: string, group: string, name: string, env: Record<string, string> = {}): Promise<Replica> =>
  startReplica({ brokerUrl: broker.url, storeUrl: url, group, name, env });

/** Alarm frames of this burst on a screen, by device/sourceId and state: how many of each. */
function alarmFrames(screen: LiveClient, prefix: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const f of screen.frames as LiveFrame[]) {
    if (f.type !== 'alarm' || !String(f.data.sourceId).startsWith(prefix)) continue;
    const k = `${f.data.device}/${f.data.sourceId}:${f.data.state}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

const raisedOn = (screen: LiveClient, prefix: string) => [...alarmFrames(screen, prefix).keys()].filter((k) => k.endsWith(':raised')).length;

/** The screen's feed seqs strictly increase (no frame twice, none out of order). */
function assertSeqsIncrease(screen: LiveClient): void {
  const seqs = screen.frames.map((f) => f.seq);
  for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `frame seq ${seqs[i]} after ${seqs[i - 1]}`);
}

async function acceptedAlarms(r: Replica): Promise<number> {
  const res = await fetch(`${r.gw.url}/metrics`);
  const m = /^campus_gateway_messages_accepted_total\{type="alarm"\} (\d+)$/m.exec(await res.text());
  return m ? Number(m[1]) : 0;
}

async function eventCounts(url: string, prefix: string): Promise<{ n: number; distinct_ids: number }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (
      await c.query<{ n: number; distinct_ids: number }>(
        `SELECT count(*)::int AS n, count(DISTINCT (device, source_id))::int AS distinct_ids FROM events WHERE type = 'alarm' AND source_id LIKE $1`,
        [`${prefix}%`],
      )
    ).rows[0];
  } finally {
    await c.end();
  }
}

async function alarmsBySource(r: Replica, prefix: string): Promise<Map<string, number>> {
  const res = await api(r.gw.url, r.token, 'GET', '/api/alarms?state=all&limit=1000');
  assert.equal(res.status, 200);
  const counts = new Map<string, number>();
  for (const a of res.body.alarms as { sourceId: string; device: string }[])
    if (a.sourceId.startsWith(prefix)) counts.set(`${a.device}/${a.sourceId}`, (counts.get(`${a.device}/${a.sourceId}`) ?? 0) + 1);
  return counts;
}

test('two gateways, one broker, one PostgreSQL: each alarm once, on both screens; an ack on B reaches A’s screen; kill -9 of A mid-burst loses nothing', async () => {
  const url = await db.createDatabase();
  const a = await startRegionReplica(url, 'burst', 'a');
  const b = await startRegionReplica(url, 'burst', 'b');
  let device: MqttClient | undefined;
  const screens: LiveClient[] = [];
  try {
    const screenA = await openLive(a.gw.url, a.token);
    const screenB = await openLive(b.gw.url, b.token);
    screens.push(screenA, screenB);
    await screenA.next((f) => f.type === 'snapshot', 20_000);
    await screenB.next((f) => f.type === 'snapshot', 20_000);
    device = await connectDevice(broker.url, { clean: false, clientId: `dev-${Date.now()}` });

    // 1. A burst through the shared subscription: both gateways take part, each alarm is stored once
    //    and both screens show every one exactly once.
    const prefix = `rep-${Date.now()}-`;
    const n = 40;
    await Promise.all(Array.from({ length: n }, (_, i) => device!.publishAsync(alarmTopic(i), JSON.stringify({ id: `${prefix}${i}`, ts: Date.now(), kind: 'panic' }), { qos: 1 })));
    for (const screen of [screenA, screenB])
      await waitFor('every alarm of the burst raised on the screen', () => raisedOn(screen, prefix) === n, { timeoutMs: 30_000, intervalMs: 100 });
    const [byA, byB] = [await acceptedAlarms(a), await acceptedAlarms(b)];
    assert.equal(byA + byB, n, 'each alarm was ingested by one gateway');
    assert.ok(byA > 0 && byB > 0, `both gateways took part (A ${byA}, B ${byB})`);
    assert.deepEqual(await eventCounts(url, prefix), { n, distinct_ids: n });
    for (const screen of [screenA, screenB]) {
      assert.deepEqual([...alarmFrames(screen, prefix).values()].filter((c) => c !== 1), [], 'no alarm frame twice');
      assertSeqsIncrease(screen);
    }

    // 2. Every alarm acknowledged through B's HTTP (half of them were ingested by A): A's screen sees each ack.
    const alarms = (await api(b.gw.url, b.token, 'GET', '/api/alarms?state=all&limit=1000')).body.alarms as { id: string; sourceId: string }[];
    const ours = alarms.filter((x) => x.sourceId.startsWith(prefix));
    assert.equal(ours.length, n);
    for (const x of ours) {
      const res = await api(b.gw.url, b.token, 'POST', `/api/alarms/${x.id}/ack`, { note: 'seen on B' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    const acked = (s: LiveClient) => [...alarmFrames(s, prefix).keys()].filter((k) => k.endsWith(':acknowledged')).length;
    await waitFor('every ack made on B on A’s screen', () => acked(screenA) === n, { timeoutMs: 30_000, intervalMs: 100 });
    // A's own state moved too: acknowledging again through A is refused as a transition from acknowledged.
    const again = await api(a.gw.url, a.token, 'POST', `/api/alarms/${ours[0].id}/ack`, {});
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.equal(again.body.state, 'acknowledged');

    // 3. kill -9 of A in the middle of a burst. B's screen stays open throughout.
    const prefix2 = `kill-${Date.now()}-`;
    const m = 200;
    const brokerAcked: number[] = [];
    const publishes: Promise<unknown>[] = [];
    const acceptedBefore = await acceptedAlarms(a);
    for (let i = 0; i < m; i++) {
      publishes.push(device.publishAsync(alarmTopic(i), JSON.stringify({ id: `${prefix2}${i}`, ts: Date.now(), kind: 'panic' }), { qos: 1 }).then(() => brokerAcked.push(i)));
      if (i === 80) {
        // With A committing alarms of this burst, so that some of its messages are in flight.
        await waitFor('A committing alarms of the burst', async () => (await acceptedAlarms(a)) >= acceptedBefore + 10, { timeoutMs: 20_000, intervalMs: 20 });
        await a.gw.kill9();
      }
    }
    await Promise.all(publishes);
    assert.equal(brokerAcked.length, m, 'the broker accepted every message');
    // What the broker had handed to A's session (in flight, or queued for it) waits for A's session:
    // B takes the rest at once. A comes back with its session and delivers its part.
    await waitFor('B ingesting the burst after the kill', () => raisedOn(screenB, prefix2) > 0, { timeoutMs: 30_000, intervalMs: 100 });
    await a.gw.restart();
    await waitFor('every alarm of the burst on the survivor’s screen', () => raisedOn(screenB, prefix2) === m, { timeoutMs: 60_000, intervalMs: 200 });
    const stored = await alarmsBySource(b, prefix2);
    assert.deepEqual(Array.from({ length: m }, (_, i) => keyOf(i, prefix2)).filter((k) => !stored.has(k)), [], 'alarms lost');
    assert.deepEqual([...stored].filter(([, c]) => c > 1).map(([k]) => k), [], 'alarms stored twice');
    assert.deepEqual(await eventCounts(url, prefix2), { n: m, distinct_ids: m });
    assert.deepEqual([...alarmFrames(screenB, prefix2).values()].filter((c) => c !== 1), [], 'an alarm frame twice on the survivor’s screen');
    assertSeqsIncrease(screenB);
  } finally {
    for (const s of screens) await s.close();
    await device?.endAsync();
    await a.gw.stop();
    await b.gw.stop();
  }
});

test('two gateways: each unacknowledged alarm is escalated once, by one of them (a lease on the job), and both screens show it once', async () => {
  const url = await db.createDatabase();
  const a = await startRegionReplica(url, 'escalation', 'a', { ACK_TIMEOUT_SEC: '1' });
  const b = await startRegionReplica(url, 'escalation', 'b', { ACK_TIMEOUT_SEC: '1' });
  let device: MqttClient | undefined;
  const screens: LiveClient[] = [];
  try {
    for (const r of [a, b]) {
      const screen = await openLive(r.gw.url, r.token);
      screens.push(screen);
      await screen.next((f) => f.type === 'snapshot', 20_000);
    }
    device = await connectDevice(broker.url, { clean: false, clientId: `dev-esc-${Date.now()}` });
    const prefix = `esc-${Date.now()}-`;
    const n = 10;
    await Promise.all(Array.from({ length: n }, (_, i) => device!.publishAsync(alarmTopic(i), JSON.stringify({ id: `${prefix}${i}`, ts: Date.now(), kind: 'panic' }), { qos: 1 })));
    // Both gateways hold every open alarm and arm its escalation; each fires at the same deadline.
    const escalatedFrames = (s: LiveClient) => {
      const per = new Map<string, number>();
      for (const f of s.frames) if (f.type === 'alarm' && String(f.data.sourceId).startsWith(prefix) && f.data.escalated === true && f.data.state === 'raised') per.set(f.data.id, (per.get(f.data.id) ?? 0) + 1);
      return per;
    };
    for (const s of screens) await waitFor('every alarm escalated on the screen', () => escalatedFrames(s).size === n, { timeoutMs: 30_000, intervalMs: 100 });
    // Acknowledged (through A), so that no escalation is still due anywhere; then count.
    const ours = ((await api(a.gw.url, a.token, 'GET', '/api/alarms?state=all&limit=1000')).body.alarms as { id: string; sourceId: string }[]).filter((x) => x.sourceId.startsWith(prefix));
    assert.equal(ours.length, n);
    for (const x of ours) assert.equal((await api(a.gw.url, a.token, 'POST', `/api/alarms/${x.id}/ack`, {})).status, 200);
    for (const s of screens)
      await waitFor('every ack on the screen', () => [...alarmFrames(s, prefix).keys()].filter((k) => k.endsWith(':acknowledged')).length === n, { timeoutMs: 30_000, intervalMs: 100 });
    for (const s of screens) assert.deepEqual([...escalatedFrames(s).values()].filter((c) => c !== 1), [], 'an escalation shown twice');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const rows = (await c.query<{ alarm: string; n: number }>(`SELECT data->>'alarm' AS alarm, count(*)::int AS n FROM events WHERE type = 'alarm_escalated' GROUP BY 1`)).rows;
      assert.deepEqual(rows.filter((r) => r.n !== 1), [], 'an escalation recorded twice');
      assert.deepEqual(new Set(rows.map((r) => r.alarm)), new Set(ours.map((x) => x.id)), 'every alarm escalated');
    } finally {
      await c.end();
    }
  } finally {
    for (const s of screens) await s.close();
    await device?.endAsync();
    await a.gw.stop();
    await b.gw.stop();
  }
});

// Last in this file: it stops the shared PostgreSQL server.
test('two gateways: PostgreSQL stopped under a burst turns both unhealthy; once back, every alarm is stored once and both screens get each once', async () => {
  const url = await db.createDatabase();
  const a = await startRegionReplica(url, 'restart', 'a');
  const b = await startRegionReplica(url, 'restart', 'b');
  let device: MqttClient | undefined;
  const screens: LiveClient[] = [];
  try {
    for (const r of [a, b]) {
      const screen = await openLive(r.gw.url, r.token);
      screens.push(screen);
      await screen.next((f) => f.type === 'snapshot', 20_000);
    }
    device = await connectDevice(broker.url, { clean: false, clientId: `dev-pg-${Date.now()}` });
    const prefix = `pgdown-${Date.now()}-`;
    const n = 60;
    const publish = (i: number) => device!.publishAsync(alarmTopic(i), JSON.stringify({ id: `${prefix}${i}`, ts: Date.now(), kind: 'panic' }), { qos: 1 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => publish(i)));
    await db.stop();
    // The rest while the database is away: the broker keeps them, no gateway can commit them.
    await Promise.all(Array.from({ length: n - 20 }, (_, i) => publish(20 + i)));
    for (const r of [a, b])
      await waitFor('/health 503 with the database stopped', async () => (await api(r.gw.url, '', 'GET', '/health')).status === 503, { timeoutMs: 30_000, intervalMs: 200 });
    await db.restart();
    for (const s of screens) await waitFor('every alarm on the screen once the database is back', () => raisedOn(s, prefix) === n, { timeoutMs: 60_000, intervalMs: 200 });
    assert.deepEqual(await eventCounts(url, prefix), { n, distinct_ids: n });
    const stored = await alarmsBySource(a, prefix);
    assert.equal(stored.size, n);
    assert.deepEqual([...stored].filter(([, c]) => c > 1).map(([k]) => k), [], 'alarms stored twice');
    for (const s of screens) {
      assert.deepEqual([...alarmFrames(s, prefix).values()].filter((c) => c !== 1), [], 'an alarm frame twice');
      assertSeqsIncrease(s);
    }
  } catch (err) {
    (err as Error).message += `\n--- gateway a ---\n${a.gw.logs().slice(-6000)}\n--- gateway b ---\n${b.gw.logs().slice(-6000)}`;
    throw err;
  } finally {
    for (const s of screens) await s.close();
    await device?.endAsync();
    await a.gw.stop();
    await b.gw.stop();
  }
});
