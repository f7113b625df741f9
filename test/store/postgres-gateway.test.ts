/**
 * The real gateway on PostgreSQL (`STORE_URL`, issue #14): an alarm a device had PUBACK for
 * survives kill -9, stored once, in PostgreSQL and not in a SQLite file; the database going away
 * turns /health 503 and its return brings the gateway back without a restart.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { api, login, REPO_ROOT, startGateway } from '../support/gateway.js';
import { connectDevice } from '../support/mqtt.js';
import { startPostgres, type Postgres } from '../support/postgres.js';
import { waitFor } from '../support/wait.js';
import { loadRegistry } from '../../gateway/registry.js';

const registry = loadRegistry(path.join(REPO_ROOT, 'config/county.json'));
const buttons = [...registry.devices.values()].filter((d) => d.kind === 'alarm_button').slice(0, 20);
const alarmTopic = (i: number) => `campus/v1/${buttons[i % buttons.length].school}/${buttons[i % buttons.length].id}/alarm`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A gateway on PostgreSQL also migrates and opens its tables over the network: more room to start on a busy machine. */
const START = { startTimeoutMs: 90_000 };

let server: Postgres;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

async function alarmsBySource(url: string, token: string, prefix: string): Promise<Map<string, number>> {
  const res = await api(url, token, 'GET', '/api/alarms?state=all&limit=1000');
  assert.equal(res.status, 200);
  const counts = new Map<string, number>();
  for (const a of res.body.alarms as { sourceId: string; device: string }[])
    if (a.sourceId.startsWith(prefix)) counts.set(`${a.device}/${a.sourceId}`, (counts.get(`${a.device}/${a.sourceId}`) ?? 0) + 1);
  return counts;
}

async function sql<T extends pg.QueryResultRow>(url: string, text: string, values?: unknown[]): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

test('PostgreSQL: kill -9 during a burst loses no alarm the device had PUBACK for, and stores each once', async () => {
  const url = await server.createDatabase();
  const gw = await startGateway({ ...START, env: { STORE_URL: url } });
  const device = await connectDevice(gw.mqttUrl, { clean: false, clientId: `dev-${Date.now()}` });
  try {
    const token = await login(gw.url, 'admin', gw.adminPassword);
    const prefix = `pg-${Date.now()}-`;
    const acked: string[] = [];
    const all: string[] = [];
    const publishes: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      const id = `${prefix}${i}`;
      const key = `${buttons[i % buttons.length].id}/${id}`;
      all.push(key);
      publishes.push(device.publishAsync(alarmTopic(i), JSON.stringify({ id, ts: Date.now(), kind: 'panic' }), { qos: 1 }).then(() => acked.push(key)));
      if (i === 80) {
        // Mid-burst, with messages in flight, once some are acknowledged (PostgreSQL commits take a
        // few ms more than SQLite's: a kill at a fixed count could come before any PUBACK).
        await waitFor('some alarms acknowledged', () => acked.length >= 20, { timeoutMs: 20_000 });
        await gw.kill9();
      }
      if (i % 10 === 0) await sleep(5);
    }
    const ackedBeforeRestart = [...acked];
    assert.ok(ackedBeforeRestart.length > 0, 'some alarms were acknowledged before the kill');
    await gw.restart();
    const afterRestart = await alarmsBySource(gw.url, token, prefix);
    const lost = ackedBeforeRestart.filter((k) => !afterRestart.has(k));
    assert.deepEqual(lost, [], `${lost.length} PUBACKed alarms lost`);
    // The device resends what was not acknowledged; a redelivery of an alarm already stored is absorbed.
    await Promise.all(publishes);
    await waitFor('every alarm after the device resent', async () => (await alarmsBySource(gw.url, token, prefix)).size >= all.length, { timeoutMs: 30_000, intervalMs: 200 });
    const counts = await alarmsBySource(gw.url, token, prefix);
    assert.deepEqual(all.filter((k) => !counts.has(k)), [], 'alarms lost');
    assert.deepEqual([...counts].filter(([, n]) => n > 1).map(([k]) => k), [], 'alarms stored twice');

    // It is PostgreSQL that holds them: each event once, and no SQLite ledger beside the gateway.
    const events = await sql<{ n: number; distinct_ids: number }>(
      url,
      `SELECT count(*)::int AS n, count(DISTINCT (device, source_id))::int AS distinct_ids FROM events WHERE type = 'alarm' AND source_id LIKE $1`,
      [`${prefix}%`],
    );
    assert.deepEqual(events[0], { n: all.length, distinct_ids: all.length });
    assert.equal(fs.existsSync(path.join(gw.dataDir, 'ledger.sqlite')), false, 'no SQLite ledger was made');
    const runs = await sql<{ n: number }>(url, 'SELECT count(*)::int AS n FROM gateway_runs');
    assert.equal(runs[0].n, 2, 'both runs are recorded in PostgreSQL');
  } finally {
    await device.endAsync();
    await gw.stop();
  }
});

test('PostgreSQL: the database going away turns /health 503; its return brings alarms in again without a restart', async () => {
  const url = await server.createDatabase();
  const gw = await startGateway({ ...START, env: { STORE_URL: url } });
  try {
    const token = await login(gw.url, 'admin', gw.adminPassword);
    await server.stop();
    const down = await waitFor(
      '/health 503 with the database stopped',
      async () => {
        const res = await api(gw.url, '', 'GET', '/health');
        return res.status === 503 ? res : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    assert.match(down.body.ledger.fault ?? '', /PostgreSQL .* out of reach|run mark failed/);
    assert.doesNotMatch(JSON.stringify(down.body), /password/i);
    await server.restart();
    await waitFor('/health 200 with the database back', async () => (await api(gw.url, '', 'GET', '/health')).status === 200, { timeoutMs: 30_000, intervalMs: 200 });
    const device = await connectDevice(gw.mqttUrl);
    const id = `pg-back-${Date.now()}`;
    await device.publishAsync(alarmTopic(0), JSON.stringify({ id, ts: Date.now(), kind: 'panic' }), { qos: 1 });
    await device.endAsync();
    await waitFor('the alarm raised after the database came back', async () => (await alarmsBySource(gw.url, token, id)).size === 1, { timeoutMs: 10_000, intervalMs: 200 });
  } finally {
    await gw.stop();
  }
});

test('PostgreSQL: a gateway pointed at another (new, empty) database than the one it used refuses to start', async () => {
  const first = await server.createDatabase();
  const gw = await startGateway({ ...START, env: { STORE_URL: first } });
  await gw.stop();
  const other = await server.createDatabase();
  await assert.rejects(startGateway({ ...START, dataDir: gw.dataDir, env: { STORE_URL: other } }), /refusing to start on the wrong ledger/);
});
