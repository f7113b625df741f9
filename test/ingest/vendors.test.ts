import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadRegistry } from '../../gateway/registry.js';
import { MAX_SNAPSHOT_BYTES, VENDOR_ADAPTERS, parseVendorTime, type VendorResult } from '../../gateway/ingest/vendors/index.js';
import { TRUSTIVS_TYPES, mapTrustIvs } from '../../gateway/ingest/vendors/trustivs.js';
import { mapWebhook } from '../../gateway/ingest/vendors/webhook.js';
import { AI_KINDS, AiPayload } from '../../gateway/contract/mqtt.js';
import { Value } from '@sinclair/typebox/value';

const registry = loadRegistry(fileURLToPath(new URL('../../config/county.json', import.meta.url)));
const O = { offsetMs: 8 * 3_600_000 };
const S001 = registry.schools.get('S001')!;
const cam = registry.devices.get('S001-KC03')!; // a kitchen camera with a vendorRef and a GB/T 28181 id
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 7)]);
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(100, 1)]);
const T = Date.parse('2026-12-02T08:30:15+08:00');

const trust = (over: Record<string, unknown> = {}) => ({
  recordId: '20261202083015AI000123', companyCode: S001.creditCode, companyName: S001.name,
  deviceSerial: cam.vendorRef!.nvrSerial, channelNo: cam.vendorRef!.channel, channelName: cam.place,
  alarmType: '1008', alarmTypeName: '老鼠', alarmTime: '2026-12-02 08:30:15', score: 92, picBase64: JPEG.toString('base64'), ...over,
});
const hook = (over: Record<string, unknown> = {}) => ({ stream_id: cam.gb28181Id, event_type: 'rat', timestamp: T / 1000, image_base64: PNG.toString('base64'), ...over });
const refused = (r: VendorResult, code: string, reason: RegExp) => {
  assert.ok(!r.ok, `expected refusal ${code}, got ${JSON.stringify(r.ok && r.event.data)}`);
  assert.equal(r.code, code);
  assert.match(r.reason, reason);
};

test('TrustIVS sendAIRecordByCompany → the same ai event an MQTT camera sends, with its snapshot', () => {
  const r = mapTrustIvs(trust(), registry, O);
  assert.ok(r.ok);
  const { snapshot, ...event } = r.event;
  assert.deepEqual(event, {
    school: 'S001', device: 'S001-KC03', sourceId: 'trustivs:20261202083015AI000123', atMs: T,
    data: { id: 'trustivs:20261202083015AI000123', ts: '2026-12-02T00:30:15.000Z', kind: 'rodent', confidence: 0.92 },
  });
  assert.ok(Value.Check(AiPayload, r.event.data), 'the data is a valid MQTT ai payload');
  assert.deepEqual(snapshot, { bytes: JPEG, type: 'image/jpeg' });
  // Channel as a string, type by its Chinese name, time as ISO and as epoch ms, a data: prefix.
  const r2 = mapTrustIvs(trust({ channelNo: String(cam.vendorRef!.channel), alarmType: undefined, alarmTypeName: '未戴口罩', alarmTime: T, score: undefined, picBase64: `data:image/jpeg;base64,${JPEG.toString('base64')}` }), registry, O);
  assert.ok(r2.ok && r2.event.data.kind === 'no_mask' && r2.event.atMs === T && r2.event.data.confidence === undefined && r2.event.snapshot);
  assert.ok(mapTrustIvs(trust({ alarmTime: '2026-12-02T08:30:15+08:00', recordId: 77 }), registry, O).ok);
  // Every vendor type maps to a contract kind.
  for (const t of TRUSTIVS_TYPES) assert.ok((AI_KINDS as readonly string[]).includes(t.kind));
  for (const t of TRUSTIVS_TYPES) assert.equal((mapTrustIvs(trust({ alarmType: t.code }), registry, O) as { event: { data: { kind: string } } }).event.data.kind, t.kind);
  // A snapshot by URL, or by path with the vendor's base.
  const u = mapTrustIvs(trust({ picBase64: undefined, picUrl: 'https://ivs.example.cn/pic/2026/12/02/a.jpg' }), registry, O);
  assert.ok(u.ok && u.event.data.snapshotUrl === 'https://ivs.example.cn/pic/2026/12/02/a.jpg' && !u.event.snapshot);
  const p = mapTrustIvs(trust({ picBase64: '', picUrl: '/pic/a.jpg' }), registry, { ...O, mediaBaseUrl: 'http://10.1.2.3:8080' });
  assert.ok(p.ok && p.event.data.snapshotUrl === 'http://10.1.2.3:8080/pic/a.jpg');
  // No snapshot at all is still an event.
  assert.ok(mapTrustIvs(trust({ picBase64: undefined }), registry, O).ok);
});

test('TrustIVS refusals say what was wrong', () => {
  refused(mapTrustIvs(trust({ companyCode: '91350100M000100Y43' }), registry, O), 'unknown_school', /companyCode "91350100M000100Y43": no school in the registry has this 统一社会信用代码/);
  refused(mapTrustIvs(trust({ channelNo: 999 }), registry, O), 'unknown_channel', /channel 999: no camera in the registry has this NVR serial and channel/);
  refused(mapTrustIvs(trust({ deviceSerial: 'NOPE' }), registry, O), 'unknown_channel', /deviceSerial "NOPE"/);
  refused(mapTrustIvs(trust({ companyCode: registry.schools.get('S002')!.creditCode }), registry, O), 'camera_not_in_school', /is camera S001-KC03 of school S001, not of S002/);
  refused(mapTrustIvs(trust({ alarmType: '9999' }), registry, O), 'unknown_event_type', /alarmType "9999" is not a type the gateway knows \(1001 未戴厨师帽/);
  refused(mapTrustIvs(trust({ alarmType: undefined, alarmTypeName: undefined }), registry, O), 'bad_payload', /alarmType: required/);
  refused(mapTrustIvs(trust({ alarmTime: '2026-13-02 08:30:15' }), registry, O), 'bad_time', /alarmTime "2026-13-02 08:30:15" is not a real date and time/);
  refused(mapTrustIvs(trust({ alarmTime: '02/12/2026 08:30' }), registry, O), 'bad_time', /alarmTime: "02\/12\/2026 08:30" is not ISO-8601/);
  refused(mapTrustIvs(trust({ picBase64: Buffer.from('GIF89a not a jpeg').toString('base64') }), registry, O), 'snapshot_not_image', /picBase64: the snapshot is not a JPEG or PNG/);
  refused(mapTrustIvs(trust({ picBase64: 'not base64!' }), registry, O), 'snapshot_not_base64', /picBase64: the snapshot is not base64/);
  const big = Buffer.concat([JPEG, Buffer.alloc(MAX_SNAPSHOT_BYTES)]).toString('base64');
  refused(mapTrustIvs(trust({ picBase64: big }), registry, O), 'snapshot_too_large', /picBase64: the snapshot is over 2048 KiB/);
  refused(mapTrustIvs(trust({ picBase64: JPEG.toString('base64') }), registry, { ...O, maxSnapshotBytes: 1024 }), 'snapshot_too_large', /over 1 KiB/);
  refused(mapTrustIvs(trust({ picBase64: undefined, picUrl: '/pic/a.jpg' }), registry, O), 'snapshot_bad_url', /is a path, and no media base URL is configured/);
  refused(mapTrustIvs(trust({ picBase64: undefined, picUrl: 'file:///etc/passwd' }), registry, O), 'snapshot_bad_url', /only http and https/);
  refused(mapTrustIvs(trust({ channelNo: 'three' }), registry, O), 'bad_payload', /channelNo:/);
  refused(mapTrustIvs(trust({ companyCode: undefined }), registry, O), 'bad_payload', /companyCode: required field is missing/);
  refused(mapTrustIvs(trust({ score: 120 }), registry, O), 'bad_payload', /score:/);
  refused(mapTrustIvs('nope', registry, O), 'bad_payload', /body:/);
});

test('generic webhook → the same ai event; stream_id by GB/T 28181 id or registry id', () => {
  const r = mapWebhook(hook(), registry, O);
  assert.ok(r.ok);
  assert.deepEqual({ ...r.event, snapshot: undefined }, {
    school: 'S001', device: 'S001-KC03', sourceId: `webhook:${cam.gb28181Id}:rodent:${T}`, atMs: T, snapshot: undefined,
    data: { id: `webhook:${cam.gb28181Id}:rodent:${T}`, ts: '2026-12-02T00:30:15.000Z', kind: 'rodent' },
  });
  assert.equal(r.event.snapshot?.type, 'image/png');
  assert.ok(Value.Check(AiPayload, r.event.data));
  // The same post again is the same event (dedupe key).
  assert.equal((mapWebhook(hook(), registry, O) as typeof r).event.sourceId, r.event.sourceId);
  const byId = mapWebhook(hook({ stream_id: 'S001-KC03', event_type: 'No-Mask', timestamp: T, event_id: 'evt-1', confidence: 0.8, image_base64: undefined }), registry, O);
  assert.ok(byId.ok);
  assert.deepEqual(byId.event.data, { id: 'webhook:evt-1', ts: '2026-12-02T00:30:15.000Z', kind: 'no_mask', confidence: 0.8 });
  assert.equal(byId.event.snapshot, undefined);
  for (const [type, kind] of [['mouse', 'rodent'], ['dog', 'animal'], ['shirtless', 'bare_chested'], ['fire_unattended', 'fire_unattended'], ['PLAYING_PHONE', 'phone']])
    assert.equal((mapWebhook(hook({ event_type: type }), registry, O) as typeof r).event.data.kind, kind, type);
  for (const ts of ['2026-12-02 08:30:15', '2026-12-02T08:30:15+08:00', String(T), String(T / 1000), T])
    assert.equal((mapWebhook(hook({ timestamp: ts }), registry, O) as typeof r).event.atMs, T, String(ts));
});

test('generic webhook refusals', () => {
  refused(mapWebhook(hook({ stream_id: '15019900111317999999' }), registry, O), 'unknown_stream', /no camera in the registry has this GB\/T 28181 id/);
  refused(mapWebhook(hook({ stream_id: 'cam-7' }), registry, O), 'unknown_stream', /has this id \(a GB\/T 28181 id is 20 digits\)/);
  refused(mapWebhook(hook({ stream_id: 'S001-AB01' }), registry, O), 'not_a_camera', /device S001-AB01 of kind alarm_button, not a camera/);
  refused(mapWebhook(hook({ event_type: 'unicorn' }), registry, O), 'unknown_event_type', /event_type "unicorn" is not a kind the gateway knows/);
  refused(mapWebhook(hook({ timestamp: 'yesterday' }), registry, O), 'bad_time', /timestamp: "yesterday" is not ISO-8601/);
  refused(mapWebhook(hook({ timestamp: 1e15 }), registry, O), 'bad_time', /outside 2000\.\.2100/);
  refused(mapWebhook(hook({ image_base64: Buffer.from('<svg/>').toString('base64') }), registry, O), 'snapshot_not_image', /image_base64: the snapshot is not a JPEG or PNG/);
  refused(mapWebhook(hook({ stream_id: undefined }), registry, O), 'bad_payload', /stream_id: required field is missing/);
  refused(mapWebhook(hook({ confidence: 1.2 }), registry, O), 'bad_payload', /confidence:/);
});

test('adapters by vendor name; vendor times', () => {
  assert.deepEqual(Object.keys(VENDOR_ADAPTERS).sort(), ['trustivs', 'webhook']);
  assert.deepEqual(parseVendorTime('2026-12-02 08:30:15.5', O.offsetMs, 't'), { ok: true, ms: T + 500 });
  assert.deepEqual(parseVendorTime('2026-02-29 08:30:15', O.offsetMs, 't'), { ok: false, reason: 't "2026-02-29 08:30:15" is not a real date and time' });
  assert.equal(parseVendorTime(1_764_635_415, O.offsetMs, 't').ok, true, 'epoch seconds');
});
