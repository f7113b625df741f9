/**
 * A TrustIVS-style analytics platform's `sendAIRecordByCompany` push: one AI record per request,
 * naming the school by its 统一社会信用代码 and the camera by its NVR's serial and channel (the way
 * these platforms see a canteen: a company, its recorder, its channels). Field mapping in
 * docs/vendors.md. Pure.
 *
 *   {
 *     "recordId": "20261202083015AI000123",       → ai.id / sourceId "trustivs:<recordId>"
 *     "companyCode": "12150199133477881N",        → school (registry creditCode)
 *     "companyName": "示范县第二中学",             (ignored: the registry's name is the one shown)
 *     "deviceSerial": "CFXLXFACAXMRB8C",          → camera, with channelNo (registry vendorRef)
 *     "channelNo": 3,                             (a number or a string of digits)
 *     "channelName": "食堂烹饪区",                 (ignored)
 *     "alarmType": "1002",                        → ai.kind (the vendor's code, or its Chinese name)
 *     "alarmTypeName": "未戴口罩",                 (used when alarmType is absent)
 *     "alarmTime": "2026-12-02 08:30:15",         → ai.ts (local time in the county's offset; ISO or epoch also taken)
 *     "score": 92,                                → ai.confidence = score / 100
 *     "picBase64": "/9j/4AAQ…",                   → the snapshot, stored with the event
 *     "picUrl": "https://…/8a2f.jpg"              → ai.snapshotUrl (fetched once) when no picBase64; a path needs the vendor's base URL
 *   }
 */
import { Type } from '@sinclair/typebox';
import { iso } from '../../contract/common.js';
import type { AiKind, AiPayload } from '../../contract/mqtt.js';
import type { RegistryIndex } from '../../registry.js';
import { MAX_SNAPSHOT_BYTES, decodeSnapshot, parseVendorTime, refuse, shapeChecker, snapshotAddress, type VendorAi, type VendorOptions, type VendorResult } from './common.js';

/** The vendor's type codes and names → contract AI kinds. */
export const TRUSTIVS_TYPES: readonly { code: string; name: string; kind: AiKind }[] = [
  { code: '1001', name: '未戴厨师帽', kind: 'no_hat' },
  { code: '1002', name: '未戴口罩', kind: 'no_mask' },
  { code: '1003', name: '未穿工服', kind: 'no_uniform' },
  { code: '1004', name: '未戴手套', kind: 'no_gloves' },
  { code: '1005', name: '赤膊', kind: 'bare_chested' },
  { code: '1006', name: '抽烟', kind: 'smoking' },
  { code: '1007', name: '玩手机', kind: 'phone' },
  { code: '1008', name: '老鼠', kind: 'rodent' },
  { code: '1009', name: '猫狗', kind: 'animal' },
  { code: '1010', name: '垃圾桶未盖', kind: 'bin_uncovered' },
  { code: '1011', name: '动火离人', kind: 'fire_unattended' },
  { code: '1012', name: '离岗睡岗', kind: 'off_post' },
  { code: '1013', name: '区域入侵', kind: 'intrusion' },
];
const BY_TYPE = new Map(TRUSTIVS_TYPES.flatMap((t) => [[t.code, t.kind], [t.name, t.kind]] as const));
BY_TYPE.set('离岗', 'off_post').set('睡岗', 'off_post').set('离岗/睡岗', 'off_post').set('猫', 'animal').set('狗', 'animal');

const Str = (max: number) => Type.String({ minLength: 1, maxLength: max });
export const TrustIvsRecord = Type.Object({
  recordId: Type.Union([Type.String({ minLength: 1, maxLength: 100, pattern: '^[\\x21-\\x7e]+$' }), Type.Integer({ minimum: 0 })]),
  companyCode: Str(32),
  companyName: Type.Optional(Type.String({ maxLength: 256 })),
  deviceSerial: Str(64),
  channelNo: Type.Union([Type.Integer({ minimum: 0, maximum: 100_000 }), Type.String({ pattern: '^[0-9]{1,6}$' })]),
  channelName: Type.Optional(Type.String({ maxLength: 256 })),
  alarmType: Type.Optional(Type.Union([Str(32), Type.Integer()])),
  alarmTypeName: Type.Optional(Type.String({ maxLength: 64 })),
  alarmTime: Type.Union([Str(64), Type.Number()]),
  score: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
  picBase64: Type.Optional(Type.String()),
  picUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
});
type TrustIvsRecord = import('@sinclair/typebox').Static<typeof TrustIvsRecord>;
const shape = shapeChecker<TrustIvsRecord>(TrustIvsRecord);

export function mapTrustIvs(body: unknown, registry: RegistryIndex, o: VendorOptions): VendorResult {
  const s = shape(body);
  if (!s.ok) return refuse('bad_payload', s.reason);
  const r = s.value;

  const code = r.companyCode.trim().toUpperCase();
  const school = registry.schoolByCreditCode(code);
  if (!school) return refuse('unknown_school', `companyCode "${r.companyCode.slice(0, 40)}": no school in the registry has this 统一社会信用代码`);
  const channel = Number(r.channelNo);
  const camera = registry.cameraByVendorRef(r.deviceSerial, channel);
  if (!camera) return refuse('unknown_channel', `deviceSerial "${r.deviceSerial.slice(0, 64)}" channel ${channel}: no camera in the registry has this NVR serial and channel`);
  if (camera.school !== school.id)
    return refuse('camera_not_in_school', `deviceSerial "${r.deviceSerial}" channel ${channel} is camera ${camera.id} of school ${camera.school}, not of ${school.id} (companyCode ${code})`);

  const type = r.alarmType !== undefined ? String(r.alarmType).trim() : r.alarmTypeName?.trim();
  if (!type) return refuse('bad_payload', 'alarmType: required field is missing (or alarmTypeName)');
  const kind = BY_TYPE.get(type);
  if (!kind) return refuse('unknown_event_type', `alarmType "${type.slice(0, 40)}" is not a type the gateway knows (${TRUSTIVS_TYPES.map((t) => `${t.code} ${t.name}`).join(', ')})`);

  const t = parseVendorTime(r.alarmTime, o.offsetMs, 'alarmTime');
  if (!t.ok) return refuse('bad_time', t.reason);

  const id = `trustivs:${r.recordId}`;
  const data: AiPayload = { id, ts: iso(t.ms), kind };
  if (r.score !== undefined) data.confidence = Math.round(r.score * 100) / 10_000;
  const event: VendorAi = { school: school.id, device: camera.id, sourceId: id, atMs: t.ms, data };
  if (r.picBase64 !== undefined && r.picBase64 !== '') {
    const snap = decodeSnapshot(r.picBase64, o.maxSnapshotBytes ?? MAX_SNAPSHOT_BYTES, 'picBase64');
    if (!('bytes' in snap)) return snap;
    event.snapshot = { bytes: snap.bytes, type: snap.type };
  } else if (r.picUrl !== undefined) {
    const a = snapshotAddress(r.picUrl, o.mediaBaseUrl, 'picUrl');
    if (!('url' in a)) return a;
    data.snapshotUrl = a.url;
  }
  return { ok: true, event };
}
