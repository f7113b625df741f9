/**
 * ONVIF probing split across two gateways (issue #14, decision 0009): two real gateway processes on
 * one real PostgreSQL watch twelve simulated cameras (real HTTP). Each camera is watched by one of
 * them (rendezvous hashing over the live members); after kill -9 of one, the survivor takes its
 * cameras before their liveness window runs out, so none goes falsely offline, and a camera taken
 * down afterwards goes offline once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { api, REPO_ROOT } from '../support/gateway.js';
import { startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { offlineRows, startReplica, type Replica } from '../support/replica.js';
import { startPostgres, type Postgres } from '../support/postgres.js';
import { openLive, type LiveClient } from '../support/ws.js';
import { waitFor } from '../support/wait.js';
import { startOnvifSim, type OnvifSim } from '../../scripts/onvif-sim/index.js';

const county = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'config/county.json'), 'utf8'));
type Dev = { id: string; kind: string; onvif?: string };
const allCameras = (county.schools as { devices: Dev[] }[]).flatMap((s) => s.devices).filter((d) => d.kind === 'camera');
for (const c of allCameras) delete c.onvif;
const cams = allCameras.slice(0, 12);
const ids = cams.map((c) => c.id);

let db: Postgres;
let broker: Mosquitto;
let sim: OnvifSim;
let registryFile: string;
before(async () => {
  db = await startPostgres();
  broker = await startMosquitto();
  sim = await startOnvifSim({ cameras: cams.map((c) => ({ id: c.id })), username: 'admin', password: 'cam-secret' });
  for (const c of cams) c.onvif = sim.deviceUrl(c.id);
  registryFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'replica-onvif-')), 'county.json');
  fs.writeFileSync(registryFile, JSON.stringify(county));
});
after(async () => {
  await sim?.close();
  await broker?.stop();
  await db?.stop();
});

// A 2 s probe and 6 missed probes: a 12 s liveness window, membership renewed every 1.2 s and over
// after 3.6 s (membershipTiming), so a dead gateway's cameras are probed again within about 7 s.
const startOnvifReplica = (url: string, name: string): Promise<Replica> =>
  startReplica({
    brokerUrl: broker.url,
    storeUrl: url,
    group: 'onvif',
    name,
    env: { REGISTRY: registryFile, ONVIF_USERNAME: 'admin', ONVIF_PASSWORD: 'cam-secret', ONVIF_PROBE_INTERVAL_SEC: '2', ONVIF_TIMEOUT_MS: '1000', MISSED_HEARTBEATS: '6' },
  });

async function watched(r: Replica): Promise<number> {
  const m = /^campus_gateway_onvif_cameras_watched (\d+)$/m.exec(await (await fetch(`${r.gw.url}/metrics`)).text());
  return m ? Number(m[1]) : -1;
}

/** The cameras a gateway holds online. */
async function online(r: Replica): Promise<Set<string>> {
  const res = await api(r.gw.url, r.token, 'GET', '/api/devices?kind=camera');
  return new Set((res.body.devices as { id: string; online: boolean }[]).filter((d) => d.online && ids.includes(d.id)).map((d) => d.id));
}

test('two gateways split the cameras, each watched by one; after kill -9 of one the other takes its cameras before any is judged offline, and a camera taken down goes offline once', async () => {
  const url = await db.createDatabase();
  const a = await startOnvifReplica(url, 'a');
  const b = await startOnvifReplica(url, 'b');
  let screen: LiveClient | undefined;
  try {
    // The split: both watch some, together all, none twice (12 cameras: a share of 0 is 1 in 2,048).
    let split = [0, 0];
    await waitFor(
      () => `each gateway watching its share (a ${split[0]}, b ${split[1]})`,
      async () => {
        split = [await watched(a), await watched(b)];
        return split[0] > 0 && split[1] > 0 && split[0] + split[1] === ids.length;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    await waitFor('every camera online on both gateways', async () => (await online(a)).size === ids.length && (await online(b)).size === ids.length, { timeoutMs: 30_000, intervalMs: 200 });
    screen = await openLive(b.gw.url, b.token);
    await screen.next((f) => f.type === 'snapshot', 20_000);

    await a.gw.kill9();
    let survivor = split[1];
    await waitFor(() => `the survivor watching every camera (b ${survivor} of ${ids.length}, was ${split[1]})`, async () => (survivor = await watched(b)) === ids.length, { timeoutMs: 30_000, intervalMs: 200 });
    // Longer than one liveness window (12 s) after the kill, no camera went offline: b took a's in time.
    const killedAt = Date.now();
    await waitFor('one liveness window after the kill', () => Date.now() - killedAt > 13_000, { timeoutMs: 20_000, intervalMs: 500 });
    assert.deepEqual(await offlineRows(url, ids), [], 'no camera falsely offline after the takeover');

    const down = ids[0];
    sim.setDown(down, 'blackhole');
    await waitFor(`${down} offline`, async () => (await offlineRows(url, ids)).length > 0, { timeoutMs: 40_000, intervalMs: 250 });
    await screen.next((f) => f.type === 'device' && f.data.id === down && f.data.online === false, 20_000);
    const rows = await offlineRows(url, ids);
    assert.deepEqual(rows.map((r) => r.device), [down], 'only the camera taken down, once');
  } finally {
    await screen?.close();
    await a.gw.kill9();
    await b.gw.stop();
  }
});
