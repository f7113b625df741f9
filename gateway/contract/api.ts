/** Contract §3–4: HTTP shapes and live-feed frames. The dashboard imports these types too. */
import { Type, type Static } from '@sinclair/typebox';
import { lit } from './common.js';
import { ALARM_KINDS, CAMERA_ZONES, DEVICE_KINDS, type DeviceKind } from './mqtt.js';


export const ROLES = ['viewer', 'maintenance', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const Role = lit(ROLES);

export const ALARM_STATES = ['raised', 'acknowledged', 'dispatched', 'resolved'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];
export const ALARM_ACTIONS = ['ack', 'dispatch', 'resolve'] as const;
export type AlarmAction = (typeof ALARM_ACTIONS)[number];

export const HistoryEntry = Type.Object({
  state: lit(ALARM_STATES),
  at: Type.String(),
  by: Type.Optional(Type.String()),
  note: Type.Optional(Type.String()),
});

export const Alarm = Type.Object({
  id: Type.String(),
  /** The device's own alarm id (what `alarm/state` feedback carries). */
  sourceId: Type.String(),
  school: Type.String(),
  schoolName: Type.String(),
  device: Type.String(),
  deviceName: Type.String(),
  deviceNameEn: Type.Optional(Type.String()),
  schoolNameEn: Type.Optional(Type.String()),
  place: Type.Optional(Type.String()),
  kind: lit(ALARM_KINDS),
  zone: Type.Optional(Type.String()),
  test: Type.Boolean(),
  state: lit(ALARM_STATES),
  /** When the gateway received it (alarms are ordered by this, never by the device clock). */
  raisedAt: Type.String(),
  /** The device's own timestamp, and how far it is from the receive time (device − gateway). */
  deviceTs: Type.String(),
  clockSkewMs: Type.Number(),
  clockSuspect: Type.Boolean(),
  escalated: Type.Boolean(),
  escalatedAt: Type.Optional(Type.String()),
  history: Type.Array(HistoryEntry),
});
export type Alarm = Static<typeof Alarm>;
export type HistoryEntry = Static<typeof HistoryEntry>;

export const Device = Type.Object({
  id: Type.String(),
  school: Type.String(),
  kind: lit(DEVICE_KINDS),
  zone: Type.Optional(lit(CAMERA_ZONES)),
  name: Type.String(),
  nameEn: Type.Optional(Type.String()),
  place: Type.Optional(Type.String()),
  online: Type.Boolean(),
  /** `unknown`: never heard from since the gateway started watching it. */
  status: lit(['online', 'offline', 'unknown'] as const),
  lastSeen: Type.Union([Type.String(), Type.Null()]),
  /** When the current status began. */
  since: Type.Union([Type.String(), Type.Null()]),
  /** The open maintenance alarm of an offline alarm button or camera. */
  maintenance: Type.Optional(Type.Object({ id: Type.String(), openedAt: Type.String(), reason: Type.String(), flaps: Type.Number() })),
  battery: Type.Optional(Type.Number()),
  rssi: Type.Optional(Type.Number()),
  /** A camera's latest own report (edge NVR or the gateway's ONVIF watcher). */
  camera: Type.Optional(
    Type.Object({
      at: Type.String(),
      online: Type.Boolean(),
      rttMs: Type.Optional(Type.Number()),
      clockSkewMs: Type.Optional(Type.Number()),
      error: Type.Optional(Type.String()),
    }),
  ),
});
export type Device = Static<typeof Device>;

export const SchoolStatus = Type.Object({
  id: Type.String(),
  name: Type.String(),
  nameEn: Type.Optional(Type.String()),
  type: Type.String(),
  students: Type.Number(),
  region: Type.String(),
  devices: Type.Object({ total: Type.Number(), online: Type.Number() }),
  openAlarms: Type.Number(),
});
export type SchoolStatus = Static<typeof SchoolStatus>;

export const LoginBody = Type.Object(
  { user: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false },
);
export const LoginReply = Type.Object({ token: Type.String(), role: Role, expiresAt: Type.String(), user: Type.String() });

export const ActionBody = Type.Object(
  { note: Type.Optional(Type.String({ maxLength: 2000 })) },
  { additionalProperties: false },
);

/** Device online/offline change, as the `device` delta carries it. */
export const DeviceChange = Type.Object({
  id: Type.String(),
  school: Type.String(),
  online: Type.Boolean(),
  lastSeen: Type.Union([Type.String(), Type.Null()]),
  reason: Type.String(),
  since: Type.String(),
});
export type DeviceChange = Static<typeof DeviceChange>;

export type FeedType = 'snapshot' | 'alarm' | 'device' | 'camera' | 'ai' | 'resync';
export interface FeedFrame<T = unknown> {
  seq: number;
  type: FeedType | string;
  data: T;
}
export interface Snapshot {
  alarms: Alarm[];
  devices: Record<string, { online: boolean; status: 'online' | 'offline' | 'unknown'; lastSeen: string | null; since?: string | null }>;
  schools: SchoolStatus[];
  /** Open maintenance alarms (offline alarm buttons and cameras). */
  maintenance: MaintenanceAlarmView[];
}

/** A maintenance alarm: an alarm button or camera gone offline (domain/maintenance.ts). */
export interface MaintenanceAlarmView {
  id: string;
  device: string;
  deviceName: string;
  deviceKind: DeviceKind;
  school: string;
  zone?: string;
  state: 'open' | 'cleared';
  openedAt: string;
  /** Why it went offline: silent, last_will, never_seen. */
  reason: string;
  clearedAt?: string;
  /** Total time offline, over every flap, when cleared. */
  downMs?: number;
  flaps: number;
}

/** GET /api/cameras/uptime (contract §3): figures over the window; unknown time is left out of `ratio`. */
export interface UptimeFiguresView {
  /** up / (up + down); null when nothing is known. */
  ratio: number | null;
  upMs: number;
  downMs: number;
  unknownMs: number;
  /** Outages that began in the window. */
  outages: number;
  longestOutageMs: number;
  /** Mean time to repair (outages that ended in the window), null when none ended. */
  mttrMs: number | null;
}

export interface CameraUptime extends UptimeFiguresView {
  id: string;
  name: string;
  school: string;
  zone?: string;
  down: boolean;
  downSince: string | null;
}

export interface GroupUptime extends UptimeFiguresView {
  id: string;
  devices: number;
  down: number;
}

export interface UptimeReport {
  window: '24h' | '7d' | '30d';
  from: string;
  to: string;
  gatewayDownMs: number;
  /** Worst first. */
  cameras: CameraUptime[];
  schools: GroupUptime[];
  zones: GroupUptime[];
}
