/** Contract §3–4: HTTP shapes and live-feed frames. The dashboard imports these types too. */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ErrorBody, ID_PATTERN, lit } from './common.js';
import { ALARM_KINDS, CAMERA_ZONES, DEVICE_KINDS, type DeviceKind } from './mqtt.js';


export const ROLES = ['viewer', 'maintenance', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const Role = lit(ROLES);

/**
 * Objects the contract says may grow ("more fields may be added"). Fastify serializes replies
 * with fast-json-stringify, which drops every property a schema does not declare unless the
 * object is open: so every reply object below is open, and nothing the gateway sends is lost.
 */
const OPEN = { additionalProperties: true } as const;

export const ALARM_STATES = ['raised', 'acknowledged', 'dispatched', 'resolved'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];
export const ALARM_ACTIONS = ['ack', 'dispatch', 'resolve'] as const;
export type AlarmAction = (typeof ALARM_ACTIONS)[number];
/** What a resolved alarm turned out to be (optional on resolve; the statistics count `false` and `test` apart). */
export const ALARM_OUTCOMES = ['real', 'false', 'test'] as const;
export type AlarmOutcome = (typeof ALARM_OUTCOMES)[number];

export const HistoryEntry = Type.Object({
  state: lit(ALARM_STATES),
  at: Type.String(),
  by: Type.Optional(Type.String()),
  note: Type.Optional(Type.String()),
  outcome: Type.Optional(lit(ALARM_OUTCOMES)),
  /** `note`: a note on its own (POST /api/alarms/{id}/note), no change of state; `state` is the alarm's state when it was written. */
  action: Type.Optional(Type.Literal('note')),
}, OPEN);

/**
 * A picture taken when the alarm was raised (alarm-linked video, 报警联动): one per chosen camera,
 * `pending` from the raise, then `fetched` (the picture at GET /api/media/{sha256}) or `failed`
 * (why, in words). `by`: how the camera was chosen (`linked` in the registry, at the same `place`,
 * or a `campus` camera of the school, gatehouse and gate first).
 */
export const AlarmSnapshot = Type.Object({
  camera: Type.String(),
  cameraName: Type.String(),
  cameraNameEn: Type.Optional(Type.String()),
  by: Type.Union([Type.Literal('linked'), Type.Literal('place'), Type.Literal('campus')]),
  state: Type.Union([Type.Literal('pending'), Type.Literal('fetched'), Type.Literal('failed')]),
  sha256: Type.Optional(Type.String()),
  error: Type.Optional(Type.String()),
  /** When the picture was taken, or the failure recorded. */
  at: Type.Optional(Type.String()),
}, OPEN);
export type AlarmSnapshot = Static<typeof AlarmSnapshot>;

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
  /** Set by a resolve that named it: `real`, `false` (a false alarm) or `test` (a test or drill). */
  outcome: Type.Optional(lit(ALARM_OUTCOMES)),
  history: Type.Array(HistoryEntry),
  /** Pictures of the place's cameras taken when it was raised; absent when the school has no camera to take one from. */
  snapshots: Type.Optional(Type.Array(AlarmSnapshot)),
}, OPEN);
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
  maintenance: Type.Optional(Type.Object({ id: Type.String(), openedAt: Type.String(), reason: Type.String(), flaps: Type.Number() }, OPEN)),
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
    }, OPEN),
  ),
}, OPEN);
export type Device = Static<typeof Device>;

export const SchoolStatus = Type.Object({
  id: Type.String(),
  name: Type.String(),
  nameEn: Type.Optional(Type.String()),
  type: Type.String(),
  students: Type.Number(),
  region: Type.String(),
  devices: Type.Object({ total: Type.Number(), online: Type.Number() }, OPEN),
  openAlarms: Type.Number(),
  /** Its place on the schematic county map (0–100 grid), when the registry gives one. */
  map: Type.Optional(Type.Object({ x: Type.Number(), y: Type.Number() }, OPEN)),
}, OPEN);
export type SchoolStatus = Static<typeof SchoolStatus>;

export const LoginBody = Type.Object(
  { user: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false },
);
/** `school`: only for a user bound to a school (contract §7), so a console knows whose it is. */
export const LoginReply = Type.Object({ token: Type.String(), role: Role, expiresAt: Type.String(), user: Type.String(), school: Type.Optional(Type.String()), county: Type.Optional(Type.String()) }, OPEN);

export const ActionBody = Type.Object(
  { note: Type.Optional(Type.String({ maxLength: 2000 })) },
  { additionalProperties: false },
);
/** A note on its own (no change of state): required, and something other than blanks. */
export const NoteBody = Type.Object(
  { note: Type.String({ minLength: 1, maxLength: 2000, description: 'the note, 1–2000 characters, not only blanks' }) },
  { additionalProperties: false },
);

/** Resolve may also say what the alarm was; absent, the statistics go by the press's `test` flag. */
export const ResolveBody = Type.Object(
  {
    note: Type.Optional(Type.String({ maxLength: 2000 })),
    outcome: Type.Optional({ ...lit(ALARM_OUTCOMES), description: '`real`, `false` (a false alarm: no emergency) or `test` (a test or drill)' }),
  },
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
  /** Only the devices that are not online (offline or unknown): a registered device not listed is online. */
  devices: Record<string, { online: boolean; status: 'online' | 'offline' | 'unknown'; lastSeen: string | null; since?: string | null }>;
  schools: SchoolStatus[];
  /** Open maintenance alarms (offline alarm buttons and cameras). */
  maintenance: MaintenanceAlarmView[];
  /** The 6 × 100% targets (contract §7): the county's rates, and each school's status per target. */
  targets?: { rates: TargetRateView[]; schools: Record<string, Partial<Record<string, 'met' | 'not_met' | 'unknown'>>> };
}

export interface TargetRateView {
  id: string;
  name: string;
  nameEn: string;
  rate: number | null;
  met: number;
  notMet: number;
  unknown: number;
  inScope: number;
}

/** A maintenance alarm: an alarm button or camera gone offline (domain/maintenance.ts). */
export const MaintenanceAlarmView = Type.Object(
  {
    id: Type.String(),
    device: Type.String(),
    deviceName: Type.String(),
    deviceKind: lit(DEVICE_KINDS),
    school: Type.String(),
    zone: Type.Optional(Type.String()),
    state: lit(['open', 'cleared'] as const),
    openedAt: Type.String(),
    /** Why it went offline: silent, last_will, never_seen. */
    reason: Type.String({ description: 'why it went offline: silent, last_will, never_seen' }),
    clearedAt: Type.Optional(Type.String()),
    /** Total time offline, over every flap, when cleared. */
    downMs: Type.Optional(Type.Number({ description: 'total time offline over every flap, when cleared' })),
    flaps: Type.Number(),
  },
  OPEN,
);
export type MaintenanceAlarmView = Static<typeof MaintenanceAlarmView>;

/** GET /api/cameras/uptime (contract §3): figures over the window; unknown time is left out of `ratio`. */
const uptimeFigures = {
  /** up / (up + down); null when nothing is known. */
  ratio: Type.Union([Type.Number(), Type.Null()], { description: 'up / (up + down); null when nothing is known' }),
  upMs: Type.Number(),
  downMs: Type.Number(),
  unknownMs: Type.Number(),
  /** Outages that began in the window. */
  outages: Type.Number({ description: 'outages that began in the window' }),
  longestOutageMs: Type.Number(),
  /** Mean time to repair (outages that ended in the window), null when none ended. */
  mttrMs: Type.Union([Type.Number(), Type.Null()], { description: 'mean time to repair of the outages that ended in the window; null when none ended' }),
};
export const UptimeFiguresView = Type.Object(uptimeFigures, OPEN);
export type UptimeFiguresView = Static<typeof UptimeFiguresView>;

export const CameraUptime = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    school: Type.String(),
    zone: Type.Optional(Type.String()),
    ...uptimeFigures,
    down: Type.Boolean(),
    downSince: Type.Union([Type.String(), Type.Null()]),
  },
  OPEN,
);
export type CameraUptime = Static<typeof CameraUptime>;

export const GroupUptime = Type.Object({ id: Type.String(), devices: Type.Number(), down: Type.Number(), ...uptimeFigures }, OPEN);
export type GroupUptime = Static<typeof GroupUptime>;

export const UptimeReport = Type.Object(
  {
    window: lit(['24h', '7d', '30d'] as const),
    from: Type.String(),
    to: Type.String(),
    gatewayDownMs: Type.Number(),
    /** Worst first. */
    cameras: Type.Array(CameraUptime, { description: 'worst first' }),
    schools: Type.Array(GroupUptime),
    zones: Type.Array(GroupUptime),
  },
  OPEN,
);
export type UptimeReport = Static<typeof UptimeReport>;

// ---- Replies of the HTTP routes (contract §3), as their response schemas declare them. ----

/** `security` of a route that needs a bearer token (OpenAPI security scheme `bearerAuth`). */
export const BEARER = [{ bearerAuth: [] }];

/** Contract §3 errors: `{"error": code, "message": words}`; more fields may follow (a 409's state). */
export const errorReply = (description: string) => Type.Object(ErrorBody.properties, { ...OPEN, description });

/** The refusals every route with a token shares: no or bad token, too weak a role. */
export const AUTH_ERRORS = {
  401: errorReply('no token, or the token is not valid (`unauthorized`), has expired (`token_expired`), its user was changed or deleted (`token_revoked`), or its kiosk was revoked (`kiosk_revoked`)'),
  403: errorReply('the role of the token is too weak for this route (`forbidden`), a kiosk (wall screen) tried anything but GET (`kiosk_read_only`), or a user bound to one county of a city called anything but the city API or another county (`other_county`)'),
};
export const BAD_REQUEST = { 400: errorReply('the query, path or body does not match the schema (`bad_request`), with what is wrong') };
export const INTERNAL = { 500: errorReply('internal error; the message never shows internals (see the gateway log)') };

/** Contract §7: a user bound to one school sees and records for that school only. */
const UserSchool = Type.Optional(Type.String({ pattern: ID_PATTERN, description: 'the school this user is bound to (sees and records for it only); absent: the whole county' }));
/** Decision 0010: at a city gateway, a user bound to one of its counties sees that county only. */
const UserCounty = Type.Optional(Type.String({ pattern: ID_PATTERN, description: "at a city gateway, the county this user is bound to (sees it only, through the city API); absent: every county" }));
export const UserView = Type.Object({ user: Type.String(), role: Role, school: UserSchool, county: UserCounty, createdAt: Type.String() }, OPEN);
export const UsersReply = Type.Object({ users: Type.Array(UserView) }, OPEN);
export const UserSaved = Type.Object({ user: Type.String(), role: Role, school: UserSchool, county: UserCounty }, { ...OPEN, description: 'the account was created or replaced' });
export const UserName = Type.String({ pattern: '^[A-Za-z0-9_.@-]{1,64}$' });
export const UserBody = Type.Object(
  { user: UserName, password: Type.String({ minLength: 8, maxLength: 256 }), role: Role, school: UserSchool, county: UserCounty },
  { additionalProperties: false },
);
export const UserParams = Type.Object({ user: UserName }, { additionalProperties: false });
export const UserDeleted = Type.Object(
  { user: Type.String(), deleted: Type.Literal(true) },
  { ...OPEN, description: 'the account is gone; its tokens ended and its live sockets were closed' },
);

const Seconds = Type.Union([Type.Number(), Type.Null()]);
const Percentiles = Type.Object(
  { n: Type.Integer({ description: 'alarms measured' }), p50: Seconds, p90: Seconds },
  { ...OPEN, description: 'seconds from the raise, nearest rank; null when no alarm was measured' },
);
const AlarmFigures = {
  total: Type.Integer({ description: 'every alarm raised: real + false + tests' }),
  real: Type.Integer({ description: 'real alarms (not a test press, not resolved as `false` or `test`; open ones too)' }),
  false: Type.Integer({ description: 'resolved with outcome `false`' }),
  tests: Type.Integer({ description: 'test presses (`test: true`) and alarms resolved with outcome `test`' }),
  escalations: Type.Integer({ description: 'alarms escalated because nobody acknowledged them within ACK_TIMEOUT_SEC' }),
  ackSec: Percentiles,
  dispatchSec: Percentiles,
};
export const AlarmStatsQuery = Type.Object(
  {
    days: Type.Optional(Type.Integer({ minimum: 1, maximum: 31, description: 'local days ending today (default 7; 1 = today)' })),
    school: Type.Optional(Type.String({ pattern: ID_PATTERN })),
  },
  { additionalProperties: false },
);
export const AlarmStatsReply = Type.Object(
  {
    from: Type.String({ description: 'first local date (YYYY-MM-DD), inclusive' }),
    to: Type.String({ description: 'last local date: today' }),
    days: Type.Integer(),
    county: Type.Object(AlarmFigures, OPEN),
    townships: Type.Array(Type.Object({ region: Type.String(), ...AlarmFigures }, OPEN), { description: 'every township (registry `region`), zeros included' }),
    byDay: Type.Array(Type.Object({ day: Type.String(), ...AlarmFigures }, OPEN), { description: 'one entry per local day, oldest first' }),
  },
  OPEN,
);

export const AlarmsReply = Type.Object({ alarms: Type.Array(Alarm, { description: 'newest first' }) }, OPEN);
export const IllegalTransitionReply = Type.Object(
  {
    ...ErrorBody.properties,
    state: lit(ALARM_STATES),
    alarm: Alarm,
  },
  { ...OPEN, description: 'the action is not allowed in the alarm\'s current state (`illegal_transition`); `state` and `alarm` are the current ones' },
);

export const SchoolsReply = Type.Object(
  {
    county: Type.Object(
      {
        id: Type.String(),
        name: Type.String(),
        nameEn: Type.Optional(Type.String()),
        region: Type.String(),
        townships: Type.Optional(
          Type.Array(Type.Object({ name: Type.String(), nameEn: Type.Optional(Type.String()), x: Type.Number(), y: Type.Number() }, OPEN), {
            description: 'the townships\' centres on the schematic county map (0–100 grid), when the registry gives them',
          }),
        ),
      },
      OPEN,
    ),
    schools: Type.Array(SchoolStatus),
  },
  OPEN,
);
const CountByKind = Type.Record(Type.String(), Type.Number());
export const StatsReply = Type.Object(
  {
    messagesLastMinute: Type.Record(Type.String(), Type.Number(), { description: 'accepted MQTT messages of the last minute, per topic type' }),
    devices: Type.Object({ total: CountByKind, online: CountByKind }, { ...OPEN, description: 'devices per kind, and how many are online' }),
    alarms: Type.Object({ open: Type.Number({ description: 'open real (not test) alarms' }), escalated: Type.Number() }, OPEN),
  },
  OPEN,
);
export const DevicesReply = Type.Object({ devices: Type.Array(Device) }, OPEN);
export const MaintenanceReply = Type.Object({ alarms: Type.Array(MaintenanceAlarmView) }, OPEN);

export const DiscoveryReply = Type.Object(
  {
    at: Type.String(),
    cameras: Type.Array(
      Type.Object(
        {
          xaddrs: Type.Array(Type.String()),
          scopes: Type.Array(Type.String()),
          urn: Type.Optional(Type.String()),
          registered: Type.Union([Type.String(), Type.Null()], { description: 'the registry id of the camera, null when the registry does not know it' }),
        },
        OPEN,
      ),
    ),
    unregistered: Type.Number(),
  },
  OPEN,
);

export const HealthReply = Type.Object(
  {
    status: lit(['ok', 'degraded'] as const),
    mqtt: Type.Object(
      { mode: Type.Optional(Type.String()), connected: Type.Optional(Type.Boolean()) },
      { ...OPEN, description: 'the broker (embedded: port, clients; external: redacted url, client id)' },
    ),
    ledger: Type.Object({ ok: Type.Boolean(), feedSeq: Type.Number(), events: Type.Number(), sizeBytes: Type.Number() }, OPEN),
    influx: Type.Object(
      {
        enabled: Type.Boolean(),
        lagging: Type.Boolean(),
        state: Type.Optional(Type.String()),
        url: Type.Optional(Type.String({ description: 'without credentials' })),
        bucket: Type.Optional(Type.String()),
        backlog: Type.Optional(Type.Number()),
        lagSec: Type.Optional(Type.Number()),
        lagWarnSec: Type.Optional(Type.Number()),
        quarantined: Type.Optional(Type.Number()),
        exported: Type.Optional(Type.Number()),
        lastSuccessAt: Type.Optional(Type.Union([Type.String(), Type.Null()])),
        lastError: Type.Optional(Type.Union([Type.String(), Type.Null()])),
        nextAttemptAt: Type.Optional(Type.Union([Type.String(), Type.Null()])),
      },
      { ...OPEN, description: 'the time-series export; only `enabled` and `lagging` when no InfluxDB is configured' },
    ),
    cityUplink: Type.Optional(
      Type.Object(
        {
          enabled: Type.Boolean(),
          county: Type.String(),
          url: Type.String({ description: 'without credentials' }),
          connected: Type.Boolean(),
          backlog: Type.Number({ description: 'feed frames not yet acknowledged by the city broker' }),
          lagSec: Type.Number(),
          lastForwardedSeq: Type.Number({ description: 'county feed seq of the last acknowledged frame (0: none since start)' }),
          forwarded: Type.Number(),
          lastError: Type.Union([Type.String(), Type.Null()]),
        },
        { ...OPEN, description: 'the county → city uplink (decision 0010); only present with `CITY_MQTT_URL`. Lost: `degraded`, the county keeps working' },
      ),
    ),
    live: Type.Object({ clients: Type.Number() }, OPEN),
    uptimeSec: Type.Number(),
  },
  OPEN,
);

/** The same schema with a description (OpenAPI shows it as the response's description). */
export const described = <T extends TSchema>(schema: T, description: string): T => ({ ...schema, description });
