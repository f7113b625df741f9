/**
 * `snapshotUrl` in an MQTT `ai` message (contract §1, §8), end to end in process with the real
 * embedded broker, /live and a real local HTTP server serving the pictures: the picture is fetched
 * after the event's commit and attached to its case (served at GET /api/media/{sha256}); text, a
 * body over 2 MiB and a server that never answers leave the case without one and say why; an alarm
 * published right behind a hanging picture is received while the picture server still hangs; and a
 * fetch cut short by a restart is done after it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { DomainEvent } from '../../gateway/core/events.js';
import type { CanteenModule } from '../../gateway/modules/canteen/index.js';
import { buildInProcess, type InProcessGateway } from '../routes/harness.js';
import { REPO_ROOT } from '../support/gateway.js';
import { connectDevice, type MqttClient } from '../support/mqtt.js';
import { makeTempDir } from '../support/procs.js';
import { openLive, type LiveClient } from '../support/ws.js';
import { waitFor } from '../support/wait.js';

const SCHOOL = 'S001';
const OFFSET_MS = 8 * 3_600_000;
const localDay = (ms: number) => new Date(ms + OFFSET_MS).toISOString().slice(0, 10);
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The picture server: what each path answers; `/hang` answers nothing until released. */
const hanging = new Set<http.ServerResponse>();
let served = 0;
let pngBody = PNG;
/** `/hang-then-png` hangs until this is set (the server "comes back" after a restart). */
let backAgain = false;
const server = http.createServer((req, res) => {
  served++;
  if (req.url?.startsWith('/pic.png') || (req.url === '/hang-then-png' && backAgain)) return void res.writeHead(200, { 'content-type': 'image/png' }).end(pngBody);
  if (req.url === '/text') return void res.writeHead(200, { 'content-type': 'image/png' }).end('<html>login first</html>');
  if (req.url === '/big') {
    // No content-length: refused while reading, past 2 MiB.
    res.writeHead(200, { 'content-type': 'image/png' });
    res.write(PNG);
    const chunk = Buffer.alloc(256 * 1024);
    let n = 0;
    const more = () => {
      while (n++ < 12) if (!res.write(chunk)) return void res.once('drain', more);
      res.end();
    };
    return more();
  }
  if (req.url?.startsWith('/hang')) return void hanging.add(res);
  res.writeHead(404).end();
});
let base: string;

const policyFile = async () => {
  const dir = await makeTempDir('snap-policy-');
  const today = localDay(Date.now());
  const policy = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'config/policy.json'), 'utf8'));
  policy.calendar = { terms: [{ name: 't', from: localDay(Date.now() - 40 * 86_400_000), to: localDay(Date.now() + 40 * 86_400_000) }], weekdays: [1, 2, 3, 4, 5, 6, 7], holidays: [{ name: 'test day', from: today, to: today }], extraSchoolDays: [] };
  const file = path.join(dir, 'policy.json');
  fs.writeFileSync(file, JSON.stringify(policy));
  return file;
};

let g: InProcessGateway;
let fleet: MqttClient;
let live: LiveClient;
let policy: string;

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  policy = await policyFile();
  g = await buildInProcess({ POLICY: policy });
  await g.app.listen({ host: '127.0.0.1', port: 0 });
  live = await openLive(`http://127.0.0.1:${(g.app.server.address() as AddressInfo).port}`, g.tokens.viewer);
  fleet = await connectDevice(g.mqttUrl);
});
after(async () => {
  for (const res of hanging) res.destroy();
  await live?.close();
  await fleet?.endAsync(true);
  await g?.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const ai = (device: string, kind: string, snapshotUrl: string, id = `ai-${randomBytes(6).toString('hex')}`) =>
  fleet.publishAsync(`campus/v1/${SCHOOL}/${device}/ai`, JSON.stringify({ id, ts: Date.now(), kind, confidence: 0.9, snapshotUrl }), { qos: 1 }).then(() => id);
const caseOf = async (device: string, kind: string) => {
  const res = await g.call('GET', `/api/canteen/cases?school=${SCHOOL}`, { token: g.tokens.viewer });
  assert.equal(res.status, 200, res.text);
  return (res.body.cases as { id: string; device?: string; kind?: string; snapshot?: string; snapshotError?: string; events?: number }[]).find((c) => c.device === device && c.kind === kind);
};

test('an MQTT ai naming a PNG by URL: the case gets the picture after the commit, served at /api/media/{sha256}, with a case frame', async () => {
  await ai('S001-KC01', 'no_hat', `${base}/pic.png`);
  const c = await waitFor('the case with its snapshot', async () => {
    const x = await caseOf('S001-KC01', 'no_hat');
    return x?.snapshot ? x : undefined;
  });
  assert.equal(c.snapshot, sha(PNG));
  assert.equal(c.snapshotError, undefined);
  const frame = await live.next((f) => f.type === 'case' && f.data.id === c.id && f.data.action === 'snapshot', 10_000);
  assert.equal(frame.data.snapshot, sha(PNG));
  const pic = await g.app.inject({ method: 'GET', url: `/api/media/${c.snapshot}`, headers: { authorization: `Bearer ${g.tokens.viewer}` } });
  assert.equal(pic.statusCode, 200);
  assert.equal(pic.headers['content-type'], 'image/png');
  assert.deepEqual(pic.rawPayload, PNG);

  // One picture per case: a later frame of the same thing, naming another picture, is not fetched, and the first stays.
  const before = served;
  const skipped = (await g.call('GET', '/health')).body.snapshots.skipped as number;
  pngBody = Buffer.concat([PNG, Buffer.from('another picture')]);
  await ai('S001-KC01', 'no_hat', `${base}/pic.png?2`);
  await waitFor('the second frame counted as skipped', async () => (await g.call('GET', '/health')).body.snapshots.skipped === skipped + 1);
  assert.equal((await caseOf('S001-KC01', 'no_hat'))!.events, 2, 'the frame joined the case');
  assert.equal(served, before, 'the second picture was not fetched');
  pngBody = PNG;
  assert.equal((await caseOf('S001-KC01', 'no_hat'))!.snapshot, sha(PNG));
});

test('a URL serving text, or a body over 2 MiB: the case keeps no snapshot and says why; the health counts it', async () => {
  const failedBefore = (await g.call('GET', '/health')).body.snapshots.failed as number;
  await ai('S001-KC02', 'smoking', `${base}/text`);
  await ai('S001-KC03', 'smoking', `${base}/big`);
  const text = await waitFor('the text case with its reason', async () => (await caseOf('S001-KC02', 'smoking'))?.snapshotError && (await caseOf('S001-KC02', 'smoking')));
  assert.equal(text!.snapshot, undefined);
  assert.match(text!.snapshotError!, /not a JPEG or PNG/);
  const big = await waitFor('the big case with its reason', async () => (await caseOf('S001-KC03', 'smoking'))?.snapshotError && (await caseOf('S001-KC03', 'smoking')));
  assert.equal(big!.snapshot, undefined);
  assert.match(big!.snapshotError!, /over 2097152 bytes/);
  const health = (await g.call('GET', '/health')).body;
  assert.ok(health.snapshots.failed >= failedBefore + 2, JSON.stringify(health.snapshots));
});

test('a picture server that never answers holds nothing: an alarm published right behind it is received while it hangs; the case then says why', async () => {
  const aiId = await ai('S001-KC04', 'phone', `${base}/hang`);
  const alarmId = `hang-${randomBytes(4).toString('hex')}`;
  const t0 = Date.now();
  await fleet.publishAsync(`campus/v1/${SCHOOL}/S001-AB01/alarm`, JSON.stringify({ id: alarmId, ts: Date.now(), kind: 'panic', test: true }), { qos: 1 });
  await live.next((f) => f.type === 'alarm' && f.data.sourceId === alarmId, 4000);
  assert.ok(Date.now() - t0 < 2000, `the alarm took ${Date.now() - t0} ms`);
  // The picture request is still open: the alarm did not wait for it.
  await waitFor('the hanging request to arrive', () => hanging.size > 0, { timeoutMs: 3000 });
  assert.ok([...hanging].every((r) => !r.writableEnded), 'the picture server is still hanging');
  const c = await caseOf('S001-KC04', 'phone');
  assert.ok(c && !c.snapshot && !c.snapshotError, 'the case is there, its picture still awaited');
  assert.ok(aiId);
  const done = await waitFor('the timeout recorded on the case', async () => (await caseOf('S001-KC04', 'phone'))?.snapshotError, { timeoutMs: 10_000 });
  assert.match(done!, /no answer within 5000 ms/);
});

test('a fetch cut short by a restart is done after it: the pending picture is fetched at start', async () => {
  const dataDir = await makeTempDir('snap-restart-');
  const env = { DATA_DIR: dataDir, GATEWAY_ADMIN_PASSWORD: 'snap-restart-pw', POLICY: policy };
  const g1 = await buildInProcess(env);
  const id = `r-${randomBytes(4).toString('hex')}`;
  const atMs = Date.now();
  const hangsBefore = hanging.size;
  // An ai event as the MQTT ingest hands it over, naming a picture that hangs until the gateway is gone.
  const e = { type: 'ai', school: SCHOOL, device: 'S001-KC29', sourceId: id, atMs, receivedAtMs: atMs, data: { id, ts: atMs, kind: 'rodent', confidence: 0.95, snapshotUrl: `${base}/hang-then-png` } } as DomainEvent;
  await new Promise<void>((resolve, reject) => g1.services.dispatcher.submit(e, (err) => (err ? reject(err) : resolve())));
  await waitFor('the fetch to start', () => hanging.size > hangsBefore, { timeoutMs: 3000 });
  await g1.close();

  // The picture server works again; the restarted gateway fetches what it owed.
  backAgain = true;
  const g2 = await buildInProcess({ ...env });
  try {
    const canteen = g2.services.module<CanteenModule>('canteen');
    const c = await waitFor('the case with its snapshot after the restart', async () => {
      const [x] = (await canteen.list({ school: SCHOOL })).filter((k) => k.device === 'S001-KC29' && k.kind === 'rodent');
      return x?.snapshot || x?.snapshotError ? x : undefined;
    }, { timeoutMs: 10_000 });
    assert.equal(c.snapshot, sha(PNG), c.snapshotError);
  } finally {
    await g2.close();
  }
});
