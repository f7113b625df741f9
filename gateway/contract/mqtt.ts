/**
 * Contract §1–2: every MQTT topic the gateway reads or writes, and its payload schema.
 * One typed table from topic suffix to payload (the zigbee2mqtt habit), used by the ingest
 * adapter, the simulator and the tests alike.
 */
import { CanteenRecord } from './canteen-records.js';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { WireTime, lit } from './common.js';

export const ALARM_KINDS = ['panic', 'duress', 'intrusion', 'fire', 'medical'] as const;
/**
 * Contract §1 and §8: a canteen (明厨亮灶) camera's analytics kinds, the categories vendors ship:
 * 未戴厨师帽, 未戴口罩, 未穿工服, 老鼠, 抽烟, 玩手机, then 未戴手套, 赤膊, 垃圾桶未盖, 动火离人, 离岗/睡岗,
 * 区域入侵, 猫狗.
 */
export const AI_KINDS = [
  'no_hat', 'no_mask', 'no_uniform', 'rodent', 'smoking', 'phone', 'other',
  'no_gloves', 'bare_chested', 'bin_uncovered', 'fire_unattended', 'off_post', 'intrusion', 'animal',
] as const;
export const DEVICE_KINDS = ['alarm_button', 'camera', 'gate', 'checkin_terminal', 'nvr', 'canteen_terminal'] as const;
/** Contract §7: who may report on duty at a post. */
export const CHECKIN_ROLES = ['guard', 'parent_volunteer', 'police', 'teacher'] as const;
/** Contract §7: the platforms a school's NVR reports its link to. */
export const UPLINK_TARGETS = ['police', 'county'] as const;
export type CheckinRole = (typeof CHECKIN_ROLES)[number];
export const CAMERA_ZONES = ['campus', 'dining', 'kitchen', 'storage'] as const;
/** The canteen zones of CAMERA_ZONES: a camera in one of them may name its canteen and area (contract §8). */
export const CANTEEN_ZONES = ['dining', 'kitchen', 'storage'] as const;
/**
 * Contract §8: a canteen's areas: 加工制作 (processing and cooking), 专间 (special room: cold dishes,
 * pastry decoration), 备餐 (serving preparation), 洗消 (washing and disinfection), 库房 (storage),
 * 留样 (food samples), 就餐 (dining).
 */
export const CANTEEN_AREAS = ['processing', 'special_room', 'serving', 'washing', 'storage', 'sample', 'dining'] as const;
export type CanteenArea = (typeof CANTEEN_AREAS)[number];
export type AlarmKind = (typeof ALARM_KINDS)[number];
export type AiKind = (typeof AI_KINDS)[number];
export type DeviceKind = (typeof DEVICE_KINDS)[number];
export type CameraZone = (typeof CAMERA_ZONES)[number];


export const AlarmPayload = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128 }),
  ts: WireTime,
  kind: lit(ALARM_KINDS),
  zone: Type.Optional(Type.String({ maxLength: 128 })),
  test: Type.Optional(Type.Boolean()),
});
export const HeartbeatPayload = Type.Object({
  ts: WireTime,
  battery: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
  rssi: Type.Optional(Type.Number()),
});
export const CameraPayload = Type.Object({
  ts: WireTime,
  online: Type.Boolean(),
  rttMs: Type.Optional(Type.Number({ minimum: 0 })),
  error: Type.Optional(Type.String({ maxLength: 1024 })),
  /** Addition: camera clock − gateway clock, from ONVIF GetSystemDateAndTime. */
  clockSkewMs: Type.Optional(Type.Number()),
  /** Addition: an ONVIF event topic (tampering, health), e.g. `tns1:VideoSource/GlobalSceneChange/ImagingService`. */
  event: Type.Optional(Type.String({ maxLength: 256 })),
});
export const AiPayload = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128 }),
  ts: WireTime,
  kind: lit(AI_KINDS),
  confidence: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  snapshotUrl: Type.Optional(Type.String({ maxLength: 2048, description: 'a JPEG or PNG the gateway fetches once after the event is stored (http/https, 5 s, 2 MiB) and attaches to the canteen case' })),
});
export const GatePayload = Type.Object({ ts: WireTime, state: lit(['open', 'closed'] as const) });
export const CheckinPayload = Type.Object({
  ts: WireTime,
  role: lit(CHECKIN_ROLES),
  /** A post of the school in the registry: a gate's post, or `gatehouse` (门卫室). */
  post: Type.String({ minLength: 1, maxLength: 128 }),
  /** Who: an id; for a guard, the licence id. */
  person: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
});
export const UplinkPayload = Type.Object({ ts: WireTime, target: lit(UPLINK_TARGETS), up: Type.Boolean() });

export type AlarmPayload = Static<typeof AlarmPayload>;
export type HeartbeatPayload = Static<typeof HeartbeatPayload>;
export type CameraPayload = Static<typeof CameraPayload>;
export type AiPayload = Static<typeof AiPayload>;
export type GatePayload = Static<typeof GatePayload>;
export type CheckinPayload = Static<typeof CheckinPayload>;
export type UplinkPayload = Static<typeof UplinkPayload>;
export type Availability = 'online' | 'offline';

/** Topic suffix → payload schema (`null`: plain text), and which device kinds may publish it. */
export const DEVICE_TOPICS = {
  alarm: { schema: AlarmPayload, kinds: ['alarm_button'] },
  heartbeat: { schema: HeartbeatPayload, kinds: ['alarm_button', 'camera', 'gate', 'checkin_terminal', 'nvr', 'canteen_terminal'] },
  availability: { schema: null, kinds: ['alarm_button', 'camera', 'gate', 'checkin_terminal', 'nvr', 'canteen_terminal'] },
  camera: { schema: CameraPayload, kinds: ['camera'] },
  ai: { schema: AiPayload, kinds: ['camera'] },
  gate: { schema: GatePayload, kinds: ['gate'] },
  checkin: { schema: CheckinPayload, kinds: ['checkin_terminal'] },
  uplink: { schema: UplinkPayload, kinds: ['nvr'] },
  /** Contract §8: a canteen terminal's record, the body of `POST /api/canteen/records` (its time is its own `takenAt`/`at`, not `ts`). */
  record: { schema: CanteenRecord, kinds: ['canteen_terminal'] },
} as const satisfies Record<string, { schema: TSchema | null; kinds: readonly DeviceKind[] }>;
export type DeviceTopic = keyof typeof DEVICE_TOPICS;

export interface PayloadOf {
  alarm: AlarmPayload;
  heartbeat: HeartbeatPayload;
  availability: Availability;
  camera: CameraPayload;
  ai: AiPayload;
  gate: GatePayload;
  checkin: CheckinPayload;
  uplink: UplinkPayload;
  record: CanteenRecord;
}

/** Contract §1: payloads over 16 KiB are refused. */
export const MAX_PAYLOAD_BYTES = 16 * 1024;

export const ALARM_FEEDBACK_STATES = ['received', 'acknowledged', 'dispatched', 'resolved'] as const;
export const AlarmFeedback = Type.Object({
  id: Type.String(),
  state: lit(ALARM_FEEDBACK_STATES),
  ts: Type.String(),
  by: Type.Optional(Type.String()),
});
export type AlarmFeedback = Static<typeof AlarmFeedback>;

export const Rejection = Type.Object({ topic: Type.String(), reason: Type.String(), receivedAt: Type.String() });
export type Rejection = Static<typeof Rejection>;

export const topics = (prefix: string) => ({
  /** What the gateway subscribes to on an external broker: everything below the prefix, so that a
   *  topic with too few or too many levels is refused on `_gateway/rejected`, not ignored (contract §1). */
  deviceFilter: `${prefix}/#`,
  device: (school: string, device: string, type: DeviceTopic) => `${prefix}/${school}/${device}/${type}`,
  alarmState: (school: string, device: string) => `${prefix}/${school}/${device}/alarm/state`,
  status: `${prefix}/_gateway/status`,
  /**
   * A school's canteen case notifications (QoS 1): under `_gateway/`, so ingest never takes them for
   * a device's message, and per school, so a school's canteen terminals read their own school's only.
   */
  canteenCase: (school: string) => `${prefix}/_gateway/${school}/canteen/case`,
  rejected: `${prefix}/_gateway/rejected`,
});
