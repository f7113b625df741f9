/**
 * The gateway watching ONVIF cameras (the simulator, over real HTTP and UDP): up, down within
 * missedHeartbeats × probeIntervalSec + timeout, back after 2 good probes, a wrong password told
 * apart from offline, clock skew reported, a tamper event on the screen, discovery of a camera the
 * registry does not know.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, api, login, startGateway, type GatewayProc } from '../support/gateway.js';
import { openLive, type LiveClient } from '../support/ws.js';
import { waitFor } from '../support/wait.js';
import { startOnvifSim, type OnvifSim } from '../../scripts/onvif-sim/index.js';

const county = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'config/county.json'), 'utf8'));
const school = county.schools[0];
const cams = school.devices.filter((d: { kind: string }) => d.kind === 'camera').slice(0, 3) as { id: string; onvif?: string }[];
const [down, badPw, skewed] = cams;

let sim: OnvifSim;
let gw: GatewayProc;
let token: string;
let screen: LiveClient;

before(async () => {
  sim = await startOnvifSim({ cameras: cams.map((c) => ({ id: c.id })), username: 'admin', password: 'cam-secret', discovery: { port: 0 } });
  for (const c of cams) c.onvif = sim.deviceUrl(c.id);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'onvif-reg-')), 'county.json');
  fs.writeFileSync(file, JSON.stringify(county));
  gw = await startGateway({
    env: {
      REGISTRY: file,
      ONVIF_USERNAME: 'admin',
      ONVIF_PASSWORD: 'cam-secret',
      ONVIF_PROBE_INTERVAL_SEC: '1',
      ONVIF_TIMEOUT_MS: '500',
      ONVIF_DETAILS_EVERY: '2',
      MISSED_HEARTBEATS: '3',
      ONVIF_DISCOVERY_UNICAST: `127.0.0.1:${sim.discoveryPort}`,
      ONVIF_DISCOVERY_MULTICAST: 'false',
    },
  });
  token = await login(gw.url, 'admin', gw.adminPassword);
  screen = await openLive(gw.url, token);
});
after(async () => {
  await screen?.close();
  await gw?.stop();
  await sim?.close();
});

const view = async (id: string) =>
  ((await api(gw.url, token, 'GET', `/api/devices?school=${school.id}&kind=camera`)).body.devices as Record<string, any>[]).find((d) => d.id === id)!;

test('probed cameras come online; one taken down is offline within 3 × 1 s + the timeout, and back after 2 good probes', async () => {
  // The first probes may finish before the screen connected: the snapshot or a delta says online.
  const snapshot = await screen.next((f) => f.type === 'snapshot');
  for (const c of cams) if (snapshot.data.devices[c.id] !== undefined) await screen.next((f) => f.type === 'device' && f.data.id === c.id && f.data.online, 8000);
  const t0 = Date.now();
  sim.setDown(down.id, 'blackhole');
  const off = await screen.next((f) => f.type === 'device' && f.data.id === down.id && !f.data.online, 10_000);
  const took = Date.now() - t0;
  assert.ok(took <= 3 * 1000 + 500 + 1500, `offline after ${took} ms (3 × 1 s probes + 0.5 s timeout, + jitter and tick)`);
  // Whichever comes first: the liveness deadline (3 missed probe intervals: `silent`) or the
  // watcher's own verdict after 3 failed probes (`reported_down`, contract §1).
  assert.ok(['silent', 'reported_down'].includes(off.data.reason), off.data.reason);
  const report = await view(down.id);
  assert.equal(report.camera.online, false);
  assert.match(report.camera.error, /^timeout/);
  await screen.next((f) => f.type === 'maintenance' && f.data.device === down.id && f.data.state === 'open');
  sim.setDown(down.id, false);
  const back = await screen.next((f) => f.type === 'device' && f.data.id === down.id && f.data.online, 10_000);
  assert.equal(back.data.reason, 'heartbeat_resumed');
});

test('a wrong password is reported as such, and the camera stays online', async () => {
  sim.setCredentials(badPw.id, 'admin', 'rotated-on-the-camera');
  const f = await screen.next((fr) => fr.type === 'camera' && fr.data.device === badPw.id && /^auth/.test(fr.data.error ?? ''), 10_000);
  assert.equal(f.data.online, true);
  const v = await view(badPw.id);
  assert.equal(v.status, 'online');
  assert.match(v.camera.error ?? '', /^auth/);
  assert.ok(!screen.frames.some((fr) => fr.type === 'device' && fr.data.id === badPw.id && !fr.data.online), 'never marked offline');
});

test('clock skew is reported', async () => {
  sim.setClockSkew(skewed.id, 90_000);
  let skew: number | undefined;
  await waitFor(() => `a clock skew over 80 s (last: ${skew} ms)`, async () => {
    skew = (await view(skewed.id)).camera?.clockSkewMs;
    return skew !== undefined && skew > 80_000;
  }, { timeoutMs: 8000, intervalMs: 250 });
  assert.ok(skew !== undefined && Math.abs(skew - 90_000) < 2000, `skew ${skew} ms`);
});

test('a tamper event reaches the wall screen', async () => {
  const topic = 'tns1:VideoSource/GlobalSceneChange/ImagingService';
  // The PullPoint subscription may still be being set up: emit until a subscription takes it.
  await waitFor('a PullPoint subscription that takes the tamper event', () => sim.emitEvent(skewed.id, topic) > 0, { timeoutMs: 10_000, intervalMs: 200 });
  const f = await screen.next((fr) => fr.type === 'camera' && fr.data.device === skewed.id && fr.data.event === topic, 10_000);
  assert.equal(f.data.school, school.id);
});

test('discovery lists a camera on the network that the registry does not know', async () => {
  sim.addCamera({ id: 'UNREGISTERED-CAM' });
  const res = await api(gw.url, token, 'GET', '/api/onvif/discover?refresh=true&timeoutMs=1500');
  assert.equal(res.status, 200);
  const unknown = res.body.cameras.filter((c: { registered: string | null }) => c.registered === null);
  assert.ok(unknown.some((c: { xaddrs: string[] }) => c.xaddrs.some((x) => x.includes('/onvif/UNREGISTERED-CAM/'))));
  assert.ok(res.body.cameras.some((c: { registered: string | null }) => c.registered === down.id), 'registered cameras are matched to their ids');
  assert.ok(!gw.logs().includes('cam-secret'), 'credentials never logged');
});
