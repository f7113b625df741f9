/**
 * Liveness across two gateways (issue #14, decision 0009): the broker's shared subscription spreads
 * each device's heartbeats over two real gateway processes on one real PostgreSQL, so neither
 * hears all of them. No device goes offline while it beats; one that stops goes offline once (one
 * gateway records it), on both screens; after kill -9 of one gateway the survivor keeps the beating
 * devices online and still sees a silent one go.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { api, REPO_ROOT } from '../support/gateway.js';
import { startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { connectDevice, type MqttClient } from '../support/mqtt.js';
import { offlineRows, startReplica, type Replica } from '../support/replica.js';
import { startPostgres, type Postgres } from '../support/postgres.js';
import { openLive, type LiveClient } from '../support/ws.js';
import { waitFor } from '../support/wait.js';

// The demo county with four buttons on a 1 s heartbeat (a 5 s window with MISSED_HEARTBEATS=5).
// Four, an even number: the broker's round robin then tends to hand each one's heartbeats to the
// same gateway every time, the case where the other gateway would wrongly think it silent.
const county = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'config/county.json'), 'utf8'));
const school = county.schools[0];
const beating: { id: string }[] = school.devices.filter((d: { kind: string }) => d.kind === 'alarm_button').slice(0, 4);
for (const d of beating as { heartbeatIntervalSec?: number }[]) d.heartbeatIntervalSec = 1;
const registryFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'replica-liveness-')), 'county.json');
fs.writeFileSync(registryFile, JSON.stringify(county));

let db: Postgres;
let broker: Mosquitto;
before(async () => {
  assert.equal(beating.length, 4);
  db = await startPostgres();
  broker = await startMosquitto();
});
after(async () => {
  await broker?.stop();
  await db?.stop();
});

const startLivenessReplica = (url: string, name: string): Promise<Replica> =>
  startReplica({ brokerUrl: broker.url, storeUrl: url, group: 'liveness', name, env: { REGISTRY: registryFile, MISSED_HEARTBEATS: '5' } });

async function online(r: Replica): Promise<Map<string, boolean>> {
  const res = await api(r.gw.url, r.token, 'GET', `/api/devices?school=${school.id}`);
  assert.equal(res.status, 200);
  return new Map((res.body.devices as { id: string; online: boolean }[]).map((d) => [d.id, d.online]));
}

async function acceptedHeartbeats(r: Replica): Promise<number> {
  const m = /^campus_gateway_messages_accepted_total\{type="heartbeat"\} (\d+)$/m.exec(await (await fetch(`${r.gw.url}/metrics`)).text());
  return m ? Number(m[1]) : 0;
}

/** Offline frames of this device on the screen, after the first `from` frames. */
const offlineFrames = (s: LiveClient, id: string, from = 0) => s.frames.slice(from).filter((f) => f.type === 'device' && f.data.id === id && f.data.online === false).length;

test('two gateways hearing half each of every device’s heartbeats: none goes offline while it beats; a silent one goes offline once, on both screens; after kill -9 of one the survivor still judges right', async () => {
  const url = await db.createDatabase();
  const a = await startLivenessReplica(url, 'a');
  const b = await startLivenessReplica(url, 'b');
  let device: MqttClient | undefined;
  const screens: LiveClient[] = [];
  let beatingIds = beating.map((d) => d.id);
  let rounds = 0;
  let stopBeats = false;
  let beats: Promise<void> | undefined;
  try {
    for (const r of [a, b]) {
      const screen = await openLive(r.gw.url, r.token);
      screens.push(screen);
      await screen.next((f) => f.type === 'snapshot', 20_000);
    }
    const [screenA, screenB] = screens;
    device = await connectDevice(broker.url, { clientId: `dev-live-${Date.now()}` });
    // Every device beats once a second, in the same order each round.
    beats = (async () => {
      while (!stopBeats) {
        const started = Date.now();
        for (const id of beatingIds) await device!.publishAsync(`campus/v1/${school.id}/${id}/heartbeat`, JSON.stringify({ ts: Date.now() }), { qos: 1 });
        rounds++;
        await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - started))));
      }
    })();
    const afterRounds = (n: number) => {
      const target = rounds + n;
      return waitFor(`${n} more rounds of heartbeats`, () => rounds >= target, { timeoutMs: n * 1000 + 20_000, intervalMs: 100 });
    };

    // 1. Both gateways hear some heartbeats, every device comes online on both (after `never_seen`
    //    if the second gateway took longer to start than a window), and stays so over three windows
    //    (15 heartbeats each).
    for (const r of [a, b])
      await waitFor('every beating device online', async () => {
        const m = await online(r);
        return beatingIds.every((id) => m.get(id) === true);
      }, { timeoutMs: 30_000, intervalMs: 200 });
    const before = (await offlineRows(url, beatingIds)).length;
    assert.deepEqual((await offlineRows(url, beatingIds)).filter((r) => r.reason !== 'never_seen'), [], 'only never-seen transitions before the first heartbeats');
    const from = screens.map((s) => s.frames.length);
    const newOffline = async (ids: string[]) => (await offlineRows(url, ids)).slice(before);
    await afterRounds(15);
    const [byA, byB] = [await acceptedHeartbeats(a), await acceptedHeartbeats(b)];
    assert.ok(byA > 0 && byB > 0, `both gateways took heartbeats (A ${byA}, B ${byB})`);
    assert.deepEqual(await newOffline(beatingIds), [], 'a beating device recorded offline');
    screens.forEach((s, i) => {
      for (const id of beatingIds) assert.equal(offlineFrames(s, id, from[i]), 0, `${id} shown offline while it beats`);
    });
    for (const r of [a, b]) {
      const m = await online(r);
      assert.deepEqual(beatingIds.filter((id) => m.get(id) !== true), [], 'beating devices not online');
    }

    // 2. One device stops: one offline transition stored (one gateway took the job), on both screens.
    const [silent, ...rest] = beatingIds;
    beatingIds = rest;
    screens.forEach((_, i) => (from[i] = screens[i].frames.length));
    const offlineBefore = (await offlineRows(url, [silent, ...beatingIds])).length;
    for (const [i, s] of screens.entries()) await waitFor('the silent device offline on the screen', () => offlineFrames(s, silent, from[i]) === 1, { timeoutMs: 30_000, intervalMs: 100 });
    // Past the lease of that job, when the gateway that did not take it would look again.
    await waitFor('the offline job’s lease over', async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return (await c.query(`SELECT 1 FROM job_leases WHERE key LIKE $1 AND until >= clock_timestamp()`, [`devices:offline:${silent}:%`])).rowCount === 0;
      } finally {
        await c.end();
      }
    }, { timeoutMs: 30_000, intervalMs: 200 });
    await afterRounds(3);
    assert.deepEqual((await offlineRows(url, [silent, ...beatingIds])).slice(offlineBefore), [{ device: silent, reason: 'silent' }], 'one offline transition, of the silent device');
    screens.forEach((s, i) => assert.equal(offlineFrames(s, silent, from[i]), 1, 'the silent device shown offline once'));
    for (const r of [a, b]) assert.equal((await online(r)).get(silent), false);

    // 3. kill -9 of B, taken out of the group (its persistent session removed, as an operator does
    //    for a gateway that is not coming back: Mosquitto 2.0 otherwise goes on handing the dead
    //    session its share of the heartbeats, decision 0009). A keeps every still-beating device
    //    online over three windows, and sees another one stop.
    const fromA = screenA.frames.length;
    const rowsBefore = (await offlineRows(url, beatingIds)).length;
    await b.gw.kill9();
    await (await connectDevice(broker.url, { clientId: b.clientId, clean: true })).endAsync();
    await afterRounds(15);
    assert.deepEqual((await offlineRows(url, beatingIds)).slice(rowsBefore), [], 'a beating device recorded offline after the kill');
    assert.deepEqual(beatingIds.filter((id) => offlineFrames(screenA, id, fromA) > 0), [], 'a beating device shown offline on the survivor’s screen');
    const [silent2, ...rest2] = beatingIds;
    beatingIds = rest2;
    await waitFor('the second silent device offline on the survivor’s screen', () => offlineFrames(screenA, silent2, fromA) === 1, { timeoutMs: 30_000, intervalMs: 100 });
    assert.equal((await online(a)).get(silent2), false);
    assert.deepEqual(beatingIds.filter((id) => offlineFrames(screenA, id, fromA) > 0), [], 'a beating device shown offline on the survivor’s screen');
    void screenB;
  } finally {
    stopBeats = true;
    await beats?.catch(() => undefined);
    for (const s of screens) await s.close().catch(() => undefined);
    await device?.endAsync();
    await a.gw.stop();
    await b.gw.stop();
  }
});
