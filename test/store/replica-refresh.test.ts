/**
 * State that an operator changes through one gateway is the state of the other (issue #14,
 * decision 0009: `refresh` of the modules beyond alarms): two real gateway processes on one
 * Mosquitto (shared subscription) and one PostgreSQL. A canteen case opened by an AI event
 * (ingested by either), moved on through B's HTTP, is where B left it in A's API, and A can take
 * the next step; B then sees A's step. A case already overdue is escalated once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { api } from '../support/gateway.js';
import { startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { connectDevice, type MqttClient } from '../support/mqtt.js';
import { startReplica, type Replica } from '../support/replica.js';
import { startPostgres, type Postgres } from '../support/postgres.js';
import { waitFor } from '../support/wait.js';

/** A storeroom camera of the demo county's canteen (an AI `rodent` there opens a case). */
const SCHOOL = 'S001';
const CAMERA = 'S001-KC26';

let db: Postgres;
let broker: Mosquitto;
before(async () => {
  db = await startPostgres();
  broker = await startMosquitto();
});
after(async () => {
  await broker?.stop();
  await db?.stop();
});

const startRefreshReplica = (url: string, name: string): Promise<Replica> => startReplica({ brokerUrl: broker.url, storeUrl: url, group: 'refresh', name });

test('two gateways: a canteen case moved on through B is in that state in A’s API, A takes the next step, and B sees it', async () => {
  const url = await db.createDatabase();
  const a = await startRefreshReplica(url, 'a');
  const b = await startRefreshReplica(url, 'b');
  let device: MqttClient | undefined;
  try {
    device = await connectDevice(broker.url, { clientId: `dev-refresh-${Date.now()}` });
    await device.publishAsync(`campus/v1/${SCHOOL}/${CAMERA}/ai`, JSON.stringify({ id: `ai-${randomBytes(6).toString('hex')}`, ts: Date.now(), kind: 'rodent', confidence: 0.9 }), { qos: 1 });
    const caseId = await waitFor('the case opened', async () => {
      const res = await api(b.gw.url, b.token, 'GET', `/api/canteen/cases?school=${SCHOOL}`);
      assert.equal(res.status, 200);
      return (res.body.cases as { id: string; device?: string; kind?: string }[]).find((c) => c.device === CAMERA && c.kind === 'rodent')?.id;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    const stateOn = async (r: Replica) => {
      const res = await api(r.gw.url, r.token, 'GET', `/api/canteen/cases/${caseId}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.state as string;
    };
    // Whichever gateway ingested it, both hold the open case.
    await waitFor('the case open on A', async () => (await stateOn(a)) === 'open', { timeoutMs: 30_000, intervalMs: 200 });

    const notified = await api(b.gw.url, b.token, 'POST', `/api/canteen/cases/${caseId}/notify`, { note: 'from B' });
    assert.equal(notified.status, 200, JSON.stringify(notified.body));
    await waitFor('B’s notify in A’s API', async () => (await stateOn(a)) === 'notified', { timeoutMs: 30_000, intervalMs: 200 });
    // A's own state moved too: notifying again through A is refused as a step from `notified`,
    // and the next step is taken.
    const again = await api(a.gw.url, a.token, 'POST', `/api/canteen/cases/${caseId}/notify`, {});
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.equal(again.body.state, 'notified');
    const started = await api(a.gw.url, a.token, 'POST', `/api/canteen/cases/${caseId}/start`, { note: 'from A' });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const next = started.body.state as string;
    await waitFor('A’s step in B’s API', async () => (await stateOn(b)) === next, { timeoutMs: 30_000, intervalMs: 200 });
    const history = (await api(b.gw.url, b.token, 'GET', `/api/canteen/cases/${caseId}`)).body.history as { action: string }[];
    assert.deepEqual(history.map((h) => h.action), ['open', 'notify', 'start']);

    // A case already past its deadline (its event 2 h 10 s old; rodent: 2 h): both gateways hold
    // it and arm its overdue escalation; it is escalated once (a lease), checked once the lease is over.
    const overdueCamera = 'S001-KC28';
    await device.publishAsync(`campus/v1/${SCHOOL}/${overdueCamera}/ai`, JSON.stringify({ id: `ai-${randomBytes(6).toString('hex')}`, ts: Date.now() - 2 * 3_600_000 - 10_000, kind: 'rodent', confidence: 0.9 }), { qos: 1 });
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const overdueFrames = async () =>
        (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM feed WHERE type = 'case' AND data->>'device' = $1 AND data->>'action' = 'overdue'`, [overdueCamera])).rows[0].n;
      await waitFor('the overdue escalation recorded', async () => (await overdueFrames()) >= 1, { timeoutMs: 30_000, intervalMs: 200 });
      await waitFor('its lease over', async () => (await c.query(`SELECT 1 FROM job_leases WHERE key LIKE 'canteen:overdue:%' AND until >= clock_timestamp()`)).rowCount === 0, { timeoutMs: 30_000, intervalMs: 200 });
      for (const r of [a, b])
        await waitFor('the escalated case in both APIs', async () => {
          const res = await api(r.gw.url, r.token, 'GET', `/api/canteen/cases?school=${SCHOOL}`);
          return (res.body.cases as { device?: string; escalatedAt?: string }[]).some((x) => x.device === overdueCamera && x.escalatedAt);
        }, { timeoutMs: 30_000, intervalMs: 200 });
      assert.equal(await overdueFrames(), 1, 'escalated once');
    } finally {
      await c.end();
    }
  } finally {
    await device?.endAsync();
    await a.gw.stop();
    await b.gw.stop();
  }
});
