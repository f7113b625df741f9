/**
 * Alarm-linked pictures (报警联动) end to end: the in-process gateway with its real embedded broker
 * and /live, and the ONVIF simulator's cameras over real HTTP, their snapshots behind HTTP Digest.
 * A press on a button linked to four cameras: the alarm's frame, PUBACK and `received` lamp come at
 * once while one camera's picture hangs; then each camera's outcome is on the alarm (its picture at
 * GET /api/media/{sha256}, the very bytes the camera served; or why not: a hang, a page that is not
 * a picture); another school's user cannot have the picture; a picture that lands after the alarm
 * was resolved is kept; one cut short by a restart is taken after it, one owed past a minute is
 * not taken (and says why); the cameras' password is nowhere the gateway keeps.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { DomainEvent } from '../../gateway/core/events.js';
import type { AlarmsModule } from '../../gateway/modules/alarms/index.js';
import { buildInProcess, type InProcessGateway } from '../routes/harness.js';
import { REPO_ROOT } from '../support/gateway.js';
import { connectDevice, waitForMessage, type MqttClient } from '../support/mqtt.js';
import { makeTempDir } from '../support/procs.js';
import { openLive, type LiveClient } from '../support/ws.js';
import { waitFor } from '../support/wait.js';
import { startOnvifSim, type OnvifSim } from '../../scripts/onvif-sim/index.js';

const SCHOOL = 'S001';
const BUTTON = 'S001-AB01';
const [OK, NVR, HANGS, TEXT] = ['S001-CAM01', 'S001-CAM05', 'S001-CAM02', 'S001-CAM04'];
const CAM_PASSWORD = 'cam-Secret-7731';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Snap {
  camera: string;
  cameraName: string;
  by: string;
  state: 'pending' | 'fetched' | 'failed';
  sha256?: string;
  error?: string;
  at?: string;
}

let sim: OnvifSim;
let registryFile: string;
let g: InProcessGateway;
let fleet: MqttClient;
let live: LiveClient;
let env: Record<string, string>;

before(async () => {
  sim = await startOnvifSim({ cameras: [OK, NVR, HANGS, TEXT].map((id) => ({ id })), username: 'admin', password: CAM_PASSWORD, snapshotAuth: 'digest', discovery: false });
  const county = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'config/county.json'), 'utf8'));
  const devices = county.schools.find((s: { id: string }) => s.id === SCHOOL).devices as Record<string, unknown>[];
  for (const d of devices) {
    if ([OK, HANGS, TEXT].includes(d.id as string)) d.onvif = sim.deviceUrl(d.id as string);
    // An NVR channel's picture URL: no ONVIF asked, the same login.
    if (d.id === NVR) d.snapshotUrl = sim.camera(NVR).snapshotUrl;
    if (d.id === BUTTON) d.linkedCameras = [OK, NVR, HANGS, TEXT];
  }
  registryFile = path.join(await makeTempDir('alarm-snap-reg-'), 'county.json');
  fs.writeFileSync(registryFile, JSON.stringify(county));
  // The camera watcher's details probe (which also asks GetSnapshotUri) runs at its first probe only.
  // First probes are spread over one interval: 2 s, so the first details probe comes soon.
  env = { REGISTRY: registryFile, ONVIF_USERNAME: 'admin', ONVIF_PASSWORD: CAM_PASSWORD, ONVIF_DETAILS_EVERY: '10000', ONVIF_PROBE_INTERVAL_SEC: '2' };
  g = await buildInProcess(env);
  await g.app.listen({ host: '127.0.0.1', port: 0 });
  live = await openLive(`http://127.0.0.1:${(g.app.server.address() as AddressInfo).port}`, g.tokens.viewer);
  fleet = await connectDevice(g.mqttUrl);
});
after(async () => {
  await live?.close();
  await fleet?.endAsync(true);
  await g?.close();
  await sim?.close();
});

const press = async (id: string) => {
  const t0 = Date.now();
  await fleet.publishAsync(`campus/v1/${SCHOOL}/${BUTTON}/alarm`, JSON.stringify({ id, ts: Date.now(), kind: 'panic' }), { qos: 1 });
  return Date.now() - t0;
};
const alarmBySource = async (sourceId: string) => {
  const res = await g.call('GET', `/api/alarms?state=all&school=${SCHOOL}&limit=50`, { token: g.tokens.viewer });
  assert.equal(res.status, 200, res.text);
  return (res.body.alarms as { id: string; sourceId: string }[]).find((a) => a.sourceId === sourceId);
};
const alarmReply = async (id: string) => {
  const res = await g.call('GET', `/api/alarms/${id}`, { token: g.tokens.viewer });
  assert.equal(res.status, 200, res.text);
  return res.body as { id: string; state: string; history: unknown[]; snapshots: Snap[] };
};
const settled = (id: string, timeoutMs = 15_000) =>
  waitFor(`every picture of alarm ${id} fetched or failed`, async () => {
    const a = await alarmReply(id);
    return a.snapshots.every((s) => s.state !== 'pending') ? a : undefined;
  }, { timeoutMs, intervalMs: 200 });
const of = (a: { snapshots: Snap[] }, camera: string) => a.snapshots.find((s) => s.camera === camera)!;

let firstAlarm: string;

test('a press: PUBACK, the alarm frame and the `received` lamp come at once while a camera hangs; then each camera\'s picture or why not is on the alarm', async () => {
  sim.setSnapshot(HANGS, 'hang');
  sim.setSnapshot(TEXT, 'text');
  // The camera watcher's details probe has found OK's snapshot URI: the alarm's picture starts from it.
  await waitFor('the watcher\'s details probe of the first camera', () => (sim.camera(OK).requests.GetSnapshotUri ?? 0) === 1, { timeoutMs: 10_000 });
  const sourceId = `press-${randomBytes(4).toString('hex')}`;
  const lamp = waitForMessage(fleet, `campus/v1/${SCHOOL}/${BUTTON}/alarm/state`, (_t, p) => JSON.parse(p.toString()).id === sourceId);
  const t0 = Date.now();
  const pubackMs = await press(sourceId);
  const frame = await live.next((f) => f.type === 'alarm' && f.data.sourceId === sourceId, 3000);
  const fb = JSON.parse((await lamp).payload.toString());
  const tookMs = Date.now() - t0;
  assert.equal(fb.state, 'received');
  assert.ok(pubackMs < 1000 && tookMs < 2000, `PUBACK after ${pubackMs} ms, frame and lamp after ${tookMs} ms`);
  // The first frame already says which cameras' pictures are coming.
  assert.deepEqual(
    (frame.data.snapshots as Snap[]).map((s) => [s.camera, s.by, s.state]),
    [OK, NVR, HANGS, TEXT].map((c) => [c, 'linked', 'pending']),
  );
  assert.equal(of(frame.data, OK).cameraName, '正门摄像机');
  firstAlarm = frame.data.id;

  // The hanging camera holds its picture request open, and the alarm did not wait for it.
  await waitFor('the hanging snapshot request to reach the camera', () => (sim.camera(HANGS).requests.snapshot ?? 0) > 0, { timeoutMs: 5000 });
  assert.equal(of(await alarmReply(firstAlarm), HANGS).state, 'pending', 'the picture is still awaited');

  const a = await settled(firstAlarm);
  assert.equal(a.state, 'raised', 'pictures do not move the alarm');
  assert.equal(a.history.length, 1);
  assert.deepEqual([of(a, OK).state, of(a, OK).sha256], ['fetched', sha(sim.snapshotBytes(OK))]);
  assert.deepEqual([of(a, NVR).state, of(a, NVR).sha256], ['fetched', sha(sim.snapshotBytes(NVR))]);
  assert.equal(of(a, TEXT).state, 'failed');
  assert.match(of(a, TEXT).error!, /not a JPEG or PNG/);
  assert.equal(of(a, HANGS).state, 'failed');
  assert.match(of(a, HANGS).error!, /no answer within 5000 ms/);
  for (const s of a.snapshots) assert.ok(s.at && Date.parse(s.at) >= Date.parse(frame.data.raisedAt), `${s.camera} has its time`);

  // The snapshot URI came from ONVIF GetSnapshotUri, the registry's NVR URL needed none, and both pictures sat behind HTTP Digest.
  assert.equal(sim.camera(OK).requests.GetSnapshotUri, 1, 'the URI the watcher found was used, not asked again');
  assert.equal(sim.camera(NVR).requests.GetSnapshotUri ?? 0, 0);
  assert.ok((sim.camera(OK).requests.snapshotUnauthorized ?? 0) >= 1 && (sim.camera(NVR).requests.snapshotUnauthorized ?? 0) >= 1, 'a Digest challenge was answered');

  // The screen saw the picture arrive on the alarm's own frame.
  const withPicture = await live.next((f) => f.type === 'alarm' && f.data.id === firstAlarm && of(f.data, OK).state === 'fetched', 5000);
  assert.equal(of(withPicture.data, OK).sha256, sha(sim.snapshotBytes(OK)));

  // The picture is the one the camera served.
  const pic = await g.app.inject({ method: 'GET', url: `/api/media/${of(a, OK).sha256}`, headers: { authorization: `Bearer ${g.tokens.viewer}` } });
  assert.equal(pic.statusCode, 200);
  assert.equal(pic.headers['content-type'], 'image/jpeg');
  assert.deepEqual(pic.rawPayload, sim.snapshotBytes(OK));

  const health = (await g.call('GET', '/health')).body;
  assert.ok(health.alarmSnapshots.fetched >= 2 && health.alarmSnapshots.failed >= 2, JSON.stringify(health.alarmSnapshots));
});

test('a user of another school cannot have the picture (403); a user of the school can', async () => {
  const a = await alarmReply(firstAlarm);
  const url = `/api/media/${of(a, OK).sha256}`;
  const pw = randomBytes(12).toString('base64url');
  const mk = async (user: string, school: string) => {
    const made = await g.call('POST', '/api/users', { token: g.tokens.admin, body: { user, password: pw, role: 'viewer', school } });
    assert.equal(made.status, 201, made.text);
    return (await g.call('POST', '/api/login', { body: { user, password: pw } })).body.token as string;
  };
  const other = await g.call('GET', url, { token: await mk('s002-guard', 'S002') });
  assert.equal(other.status, 403);
  assert.equal(other.body.error, 'other_school');
  assert.equal((await g.call('GET', `/api/alarms/${firstAlarm}`, { token: await mk('s002-guard2', 'S002') })).status, 403);
  assert.equal((await g.call('GET', url, { token: await mk('s001-guard', SCHOOL) })).status, 200);
});

test('the cameras\' password is nowhere the gateway keeps or shows: ledger, media, health, the alarm', async () => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) (e.isDirectory() ? walk : (f: string) => files.push(f))(path.join(dir, e.name));
  };
  walk(g.services.config.dataDir);
  assert.ok(files.some((f) => /\.(db|sqlite)/.test(f)), `the ledger is among ${files.length} files`);
  for (const f of files) assert.ok(!fs.readFileSync(f).includes(CAM_PASSWORD), `${f} holds the camera password`);
  assert.ok(!(await g.call('GET', '/health')).text.includes(CAM_PASSWORD));
  assert.ok(!JSON.stringify(await alarmReply(firstAlarm)).includes(CAM_PASSWORD));
});

test('a picture that lands after the alarm was resolved is still kept on it; the camera\'s snapshot URI is asked once', async () => {
  sim.setSnapshot(HANGS, 'jpeg');
  sim.setSnapshot(TEXT, 'jpeg');
  sim.setDelay(NVR, 1200); // the NVR answers slowly: the operator resolves first
  const urisAsked = sim.camera(OK).requests.GetSnapshotUri;
  try {
    const sourceId = `press-${randomBytes(4).toString('hex')}`;
    await press(sourceId);
    const alarm = await waitFor('the alarm', () => alarmBySource(sourceId));
    for (const action of ['ack', 'resolve']) assert.equal((await g.call('POST', `/api/alarms/${alarm.id}/${action}`, { token: g.tokens.operator, body: { note: '误报' } })).status, 200);
    assert.equal(of(await alarmReply(alarm.id), NVR).state, 'pending', 'resolved before the slow picture came');
    const a = await settled(alarm.id);
    assert.equal(a.state, 'resolved');
    assert.deepEqual(a.snapshots.map((s) => s.state), ['fetched', 'fetched', 'fetched', 'fetched']);
    assert.equal(of(a, NVR).sha256, sha(sim.snapshotBytes(NVR)));
    assert.equal(sim.camera(OK).requests.GetSnapshotUri, urisAsked, 'the URI is cached per camera');
  } finally {
    sim.setDelay(NVR, 0);
  }
});

test('a picture cut short by a restart is taken after it', async () => {
  const dataDir = await makeTempDir('alarm-snap-restart-');
  const env2 = { ...env, DATA_DIR: dataDir, GATEWAY_ADMIN_PASSWORD: 'alarm-snap-restart-pw' };
  sim.setSnapshot(HANGS, 'hang');
  const g1 = await buildInProcess(env2);
  const sourceId = `r-${randomBytes(4).toString('hex')}`;
  const now = Date.now();
  const hangsBefore = sim.camera(HANGS).requests.snapshot ?? 0;
  const e = { type: 'alarm', school: SCHOOL, device: BUTTON, sourceId, atMs: now, receivedAtMs: now, data: { id: sourceId, ts: now, kind: 'panic' } } as DomainEvent;
  await new Promise<void>((resolve, reject) => g1.services.dispatcher.submit(e, (err) => (err ? reject(err) : resolve())));
  await waitFor('the hanging picture request', () => (sim.camera(HANGS).requests.snapshot ?? 0) > hangsBefore, { timeoutMs: 5000 });
  await g1.close();

  sim.setSnapshot(HANGS, 'jpeg'); // the camera answers again
  const g2 = await buildInProcess(env2);
  try {
    const alarms = g2.services.module<AlarmsModule>('alarms');
    const a = alarms.bySource(BUTTON, sourceId)!;
    const done = await waitFor('the picture after the restart', async () => {
      const x = await alarms.get(a.id);
      const s = x?.snapshots?.find((y) => y.camera === HANGS);
      return s && s.state !== 'pending' ? s : undefined;
    }, { timeoutMs: 10_000 });
    assert.equal(done.state, 'fetched', done.error);
    assert.equal(done.sha256, sha(sim.snapshotBytes(HANGS)));
  } finally {
    await g2.close();
  }
});

test('a picture owed for longer than a minute (a restart long after the raise) is not taken: the alarm says why', async () => {
  const sourceId = `old-${randomBytes(4).toString('hex')}`;
  const raisedMs = Date.now() - 120_000; // as a row left pending by a gateway that was down for two minutes
  const before = sim.camera(OK).requests.snapshot ?? 0;
  const e = { type: 'alarm', school: SCHOOL, device: BUTTON, sourceId, atMs: raisedMs, receivedAtMs: raisedMs, data: { id: sourceId, ts: raisedMs, kind: 'panic' } } as DomainEvent;
  await new Promise<void>((resolve, reject) => g.services.dispatcher.submit(e, (err) => (err ? reject(err) : resolve())));
  const alarm = await waitFor('the alarm', () => alarmBySource(sourceId));
  const a = await settled(alarm.id);
  for (const s of a.snapshots) {
    assert.equal(s.state, 'failed');
    assert.match(s.error!, /picture not taken: 12\d s after the alarm .* would not show the alarm's moment/);
  }
  assert.equal(sim.camera(OK).requests.snapshot ?? 0, before, 'no camera was asked');
});
