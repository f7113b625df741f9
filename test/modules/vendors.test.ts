/**
 * Vendor pushes end to end (contract §8, issue 11): an admin makes a vendor's key (shown once,
 * audited), the vendor pushes its own JSON to `POST /api/push/{vendor}`, and the gateway stores the
 * same `ai` event an MQTT camera sends, seen as an `ai` frame on /live with its snapshot served at
 * GET /api/media/{sha256}. Refusals say what was wrong and store nothing; a re-sent record is one event.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { buildInProcess, type InProcessGateway } from '../routes/harness.js';
import { REPO_ROOT } from '../support/gateway.js';
import { openLive, type LiveClient } from '../support/ws.js';
import { waitFor } from '../support/wait.js';
import { keyOf } from '../../gateway/store/store.js';
import { loadRegistry } from '../../gateway/registry.js';

const registry = loadRegistry(path.join(REPO_ROOT, 'config/county.json'));
const S001 = registry.schools.get('S001')!;
const S002 = registry.schools.get('S002')!;
const kitchen = registry.devices.get('S001-KC26')!; // a storeroom camera: NVR serial + channel, and a GB/T 28181 id
const special = registry.devices.get('S001-KC05')!;
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('vendors test jpeg'), Buffer.alloc(500, 7)]);
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('vendors test png'), Buffer.alloc(100, 1)]);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const nowLocal = () => new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');

let g: InProcessGateway;
let live: LiveClient;
let keys: Record<string, string>;
let seq = 0;

const trust = (over: Record<string, unknown> = {}) => ({
  recordId: `T${Date.now()}-${++seq}`, companyCode: S001.creditCode, companyName: S001.name,
  deviceSerial: kitchen.vendorRef!.nvrSerial, channelNo: kitchen.vendorRef!.channel, channelName: kitchen.name,
  alarmType: '1008', alarmTypeName: '老鼠', alarmTime: nowLocal(), score: 91, picBase64: JPEG.toString('base64'), ...over,
});
const hook = (over: Record<string, unknown> = {}) => ({
  stream_id: special.gb28181Id, event_type: 'no-mask', timestamp: Math.floor(Date.now() / 1000), event_id: `W${Date.now()}-${++seq}`, confidence: 0.8, image_base64: PNG.toString('base64'), ...over,
});
async function push(vendor: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${keys[vendor]}` }) {
  const res = await g.app.inject({ method: 'POST', url: `/api/push/${vendor}`, headers, payload: body as object });
  return { status: res.statusCode, body: /json/.test(String(res.headers['content-type'])) ? JSON.parse(res.body) : undefined, text: res.body };
}
const stored = async (device: string, sourceId: string) => (await g.services.store.existing([{ device, type: 'ai', sourceId }])).has(keyOf({ device, type: 'ai', sourceId }));

before(async () => {
  g = await buildInProcess();
  await g.app.listen({ host: '127.0.0.1', port: 0 });
  live = await openLive(`http://127.0.0.1:${(g.app.server.address() as AddressInfo).port}`, g.tokens.viewer);
  // Live from its snapshot on: every later event arrives as a frame.
  await live.next((f) => f.type === 'snapshot', 15_000);
  keys = {};
  for (const vendor of ['trustivs', 'webhook']) {
    const res = await g.call('POST', `/api/vendors/${vendor}/key`, { token: g.tokens.admin });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.url, `/api/push/${vendor}`);
    assert.match(res.body.key, /^cgv_[A-Za-z0-9_-]{32}$/);
    keys[vendor] = res.body.key;
  }
});
after(async () => {
  await live?.close();
  await g?.close();
});

test('a key is made by an admin only, shown once, audited without itself; a new key ends the old one', async () => {
  assert.equal((await g.call('POST', '/api/vendors/trustivs/key', { token: g.tokens.operator })).status, 403);
  assert.equal((await g.call('POST', '/api/vendors/trustivs/key')).status, 401);
  const unknown = await g.call('POST', '/api/vendors/acme/key', { token: g.tokens.admin });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error, 'unknown_vendor');

  const list = await g.call('GET', '/api/vendors', { token: g.tokens.admin });
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.vendors.map((v: { vendor: string; keyMadeAt: string | null }) => [v.vendor, v.keyMadeAt !== null]), [['trustivs', true], ['webhook', true]]);
  assert.doesNotMatch(list.text, new RegExp(keys.trustivs));

  const old = keys.trustivs;
  const made = await g.call('POST', '/api/vendors/trustivs/key', { token: g.tokens.admin });
  assert.equal(made.status, 201);
  keys.trustivs = made.body.key;
  assert.notEqual(keys.trustivs, old);
  const refused = await push('trustivs', trust(), { authorization: `Bearer ${old}` });
  assert.equal(refused.status, 401, 'the old key is over');
  assert.equal(refused.body.error, 'bad_key');

  const audit = await g.call('GET', '/api/audit?action=vendor.key', { token: g.tokens.admin });
  assert.equal(audit.status, 200);
  const entries = audit.body.entries as { user: string; target: string; status: number }[];
  assert.ok(entries.some((e) => e.user === 'admin' && e.target === 'trustivs' && e.status === 201), JSON.stringify(entries));
  assert.ok(entries.some((e) => e.user === 'operator-1' && e.status === 403), 'a refused attempt is recorded too');
  const all = JSON.stringify((await g.call('GET', '/api/audit', { token: g.tokens.admin })).body);
  for (const k of [old, keys.trustivs, keys.webhook]) assert.ok(!all.includes(k), 'no key in the trail');
  const rows = JSON.stringify(await g.services.store.find('vendor_keys', {}));
  assert.ok(!rows.includes(keys.trustivs) && rows.includes(sha(Buffer.from(keys.trustivs))), 'only the hash is stored');
});

test('a TrustIVS record → the ai event of the registry camera on /live, its snapshot served to a viewer', async () => {
  const body = trust();
  const res = await push('trustivs', body);
  assert.equal(res.status, 200, res.text);
  const id = `trustivs:${body.recordId}`;
  assert.deepEqual(res.body, { id, school: 'S001', device: kitchen.id, kind: 'rodent', ts: res.body.ts, snapshot: sha(JPEG), duplicate: false });
  const frame = await live.next((f) => f.type === 'ai' && f.data.id === id);
  assert.equal(frame.data.device, kitchen.id);
  assert.equal(frame.data.school, 'S001');
  assert.equal(frame.data.kind, 'rodent');
  assert.equal(frame.data.confidence, 0.91);
  assert.equal(frame.data.snapshot, sha(JPEG));
  assert.ok(await stored(kitchen.id, id));

  const photo = await g.app.inject({ method: 'GET', url: `/api/media/${sha(JPEG)}`, headers: { authorization: `Bearer ${g.tokens.viewer}` } });
  assert.equal(photo.statusCode, 200);
  assert.equal(photo.headers['content-type'], 'image/jpeg');
  assert.deepEqual(photo.rawPayload, JPEG);

  // The picture belongs to S001: a user of another school cannot read it.
  const made = await g.call('POST', '/api/users', { token: g.tokens.admin, body: { user: 'viewer-s002', password: 'vendors-test-pw', role: 'viewer', school: 'S002' } });
  assert.equal(made.status, 201, made.text);
  const login = await g.call('POST', '/api/login', { body: { user: 'viewer-s002', password: 'vendors-test-pw' } });
  const other = await g.app.inject({ method: 'GET', url: `/api/media/${sha(JPEG)}`, headers: { authorization: `Bearer ${login.body.token}` } });
  assert.equal(other.statusCode, 403);
});

test('a generic webhook (GB/T 28181 stream id, X-Api-Key header) → the ai event with its PNG snapshot', async () => {
  const body = hook();
  const res = await push('webhook', body, { 'x-api-key': keys.webhook });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.device, special.id);
  assert.equal(res.body.kind, 'no_mask');
  assert.equal(res.body.snapshot, sha(PNG));
  const frame = await live.next((f) => f.type === 'ai' && f.data.id === `webhook:${body.event_id}`);
  assert.equal(frame.data.snapshot, sha(PNG));
  const photo = await g.app.inject({ method: 'GET', url: `/api/media/${sha(PNG)}`, headers: { authorization: `Bearer ${g.tokens.viewer}` } });
  assert.equal(photo.statusCode, 200);
  assert.equal(photo.headers['content-type'], 'image/png');
});

test('a missing or wrong key, or an operator token instead of the key: 401 bad_key and nothing stored; an unknown vendor: 401 unknown_vendor that lists no adapters', async () => {
  const body = trust();
  const id = `trustivs:${body.recordId}`;
  for (const headers of [{}, { authorization: 'Bearer cgv_wrong' }, { 'x-api-key': keys.webhook }, { authorization: `Bearer ${g.tokens.admin}` }, { authorization: `Bearer ${keys.webhook}` }]) {
    const res = await push('trustivs', body, headers as Record<string, string>);
    assert.equal(res.status, 401, JSON.stringify(headers));
    assert.equal(res.body.error, 'bad_key');
    assert.match(res.body.message, /Authorization: Bearer/);
  }
  for (const headers of [{ authorization: `Bearer ${keys.trustivs}` }, {}] as Record<string, string>[]) {
    const unknown = await push('acme', body, headers);
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.error, 'unknown_vendor');
    assert.match(unknown.body.message, /vendor "acme"/);
    assert.doesNotMatch(unknown.body.message, /trustivs|webhook/, 'an unauthenticated caller is not told which vendors exist');
  }
  assert.equal(await stored(kitchen.id, id), false);
});

test('refusals tell the vendor what was wrong and store nothing', async () => {
  const cases: [string, unknown, string, RegExp][] = [
    ['trustivs', trust({ companyCode: '91110000000000000X' }), 'unknown_school', /companyCode "91110000000000000X"/],
    ['trustivs', trust({ channelNo: 999 }), 'unknown_channel', /channel 999/],
    ['trustivs', trust({ companyCode: S002.creditCode }), 'camera_not_in_school', /not of S002/],
    ['trustivs', trust({ alarmTime: '2026-02-30 08:00:00' }), 'bad_time', /alarmTime/],
    ['trustivs', trust({ picBase64: Buffer.from('GIF89a not an image we take').toString('base64') }), 'snapshot_not_image', /picBase64: the snapshot is not a JPEG or PNG/],
    ['trustivs', trust({ alarmType: '9999' }), 'unknown_event_type', /alarmType "9999"/],
    ['trustivs', trust({ recordId: undefined }), 'bad_payload', /recordId/],
    ['webhook', hook({ stream_id: '15019900111317999999' }), 'unknown_stream', /stream_id/],
    ['webhook', hook({ image_base64: 'not base64!' }), 'snapshot_not_base64', /image_base64/],
  ];
  for (const [vendor, body, code, message] of cases) {
    const res = await push(vendor, body);
    assert.equal(res.status, 400, `${code}: ${res.text}`);
    assert.equal(res.body.error, code);
    assert.match(res.body.message, message);
    const b = body as { recordId?: string; event_id?: string };
    const id = b.recordId ? `trustivs:${b.recordId}` : `webhook:${b.event_id}`;
    for (const device of [kitchen.id, special.id]) assert.equal(await stored(device, id), false, `${code}: nothing stored`);
  }
  const notJson = await g.app.inject({ method: 'POST', url: '/api/push/trustivs', headers: { authorization: `Bearer ${keys.trustivs}`, 'content-type': 'application/json' }, payload: '[1,2]' });
  assert.equal(notJson.statusCode, 400);
});

test('a snapshot over 2 MiB: 400 snapshot_too_large within the body limit, 413 beyond it (refused before it is read whole)', async () => {
  const over = await push('trustivs', trust({ picBase64: Buffer.concat([JPEG, Buffer.alloc(2 * 1024 * 1024, 1)]).toString('base64') }));
  assert.equal(over.status, 400, over.text);
  assert.equal(over.body.error, 'snapshot_too_large');
  const big = Buffer.concat([JPEG, Buffer.alloc(3 * 1024 * 1024, 1)]);
  const res = await push('trustivs', trust({ picBase64: big.toString('base64') }));
  assert.equal(res.status, 413);
});

test('the same record pushed twice is one event; the second answer says duplicate', async () => {
  const body = trust({ alarmType: '1006' });
  const id = `trustivs:${body.recordId}`;
  const first = await push('trustivs', body);
  assert.equal(first.status, 200);
  assert.equal(first.body.duplicate, false);
  const second = await push('trustivs', body);
  assert.equal(second.status, 200);
  assert.equal(second.body.duplicate, true);
  assert.equal(second.body.id, id);
  // Both at once: still one event, and exactly one of the answers is not a duplicate.
  const twin = trust({ alarmType: '1006' });
  const both = await Promise.all([push('trustivs', twin), push('trustivs', twin)]);
  assert.deepEqual(both.map((r) => r.body.duplicate).sort(), [false, true]);
  // A later event's frame proves the earlier ones have all been sent.
  const marker = trust({ alarmType: '1002' });
  assert.equal((await push('trustivs', marker)).status, 200);
  await live.next((f) => f.type === 'ai' && f.data.id === `trustivs:${marker.recordId}`);
  assert.equal(live.frames.filter((f) => f.type === 'ai' && f.data.id === id).length, 1);
  assert.equal(live.frames.filter((f) => f.type === 'ai' && f.data.id === `trustivs:${twin.recordId}`).length, 1);
});

test('a snapshot named by URL (picUrl) is fetched once into the media store; one that cannot be had leaves the event without it', async () => {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    if (req.url === '/pic.jpg') res.writeHead(200, { 'content-type': 'image/jpeg' }).end(JPEG);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const ok = await push('trustivs', trust({ picBase64: undefined, picUrl: `${base}/pic.jpg` }));
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.snapshot, sha(JPEG));
    assert.equal(hits, 1);
    const frame = await live.next((f) => f.type === 'ai' && f.data.id === ok.body.id);
    assert.equal(frame.data.snapshot, sha(JPEG));
    assert.equal(frame.data.snapshotUrl, `${base}/pic.jpg`);

    const missing = await push('trustivs', trust({ picBase64: undefined, picUrl: `${base}/gone.jpg` }));
    assert.equal(missing.status, 200, missing.text);
    assert.equal(missing.body.snapshot, undefined);
    assert.match(missing.body.snapshotError, /HTTP 404/);
    await waitFor('the event without its snapshot', () => stored(kitchen.id, missing.body.id));
  } finally {
    server.close();
  }
});
