/**
 * Every environment variable the gateway reads, declared once: name, type, default, range, unit
 * and meaning. `loadConfig` parses, validates and fills defaults from this schema alone, and the
 * README's configuration table is generated from it (`npm run config-docs`), so the three cannot
 * drift apart. Contract §5 variables carry `contract: true`; the rest are the gateway's additions
 * (marked ＋ in the README).
 *
 * The schema is plain TypeBox; the extra keys below (`envKind`, `unit`, `doc`…) are ignored by
 * the validator and read by the parser, the error messages and the docs generator.
 */
import { FormatRegistry, Type, type Static, type TLiteral, type TSchema } from '@sinclair/typebox';

/** How a variable's text becomes a value before the schema checks it. */
export type EnvKind = 'int' | 'bool' | 'string' | 'enum' | 'url' | 'hostports';

export interface VarMeta {
  /** What it does, in markdown (one README cell). */
  description: string;
  /** Listed in contract §5 (the public interface); else an addition of this gateway. */
  contract?: true;
  unit?: 's' | 'ms' | 'bytes' | 'days' | 'hours' | 'frames' | 'points' | 'intervals' | 'probes' | 'characters' | 'backups' | 'alarms' | 'messages';
  /** README default cell when the value itself is not the right thing to show. */
  doc?: string;
  /** Never logged and never echoed in an error message. */
  secret?: true;
  /** Must be set when this other variable is; the text says why. */
  requiredWith?: { name: string; why: string };
  /** The default is a path inside the installation, not the working directory. */
  defaultInRepo?: true;
  /** Said after the quoted value when `pattern` does not match. */
  patternMessage?: string;
  /** Said after the list when an `enum` value is not allowed. */
  enumHint?: string;
  /** `url`: the schemes accepted (`mqtt:`), and what to suggest. */
  schemes?: string[];
  schemeHint?: string;
  urlExample?: string;
}

type Meta = VarMeta & { envKind: EnvKind };

const int = (def: number, minimum: number, maximum: number, meta: VarMeta) =>
  Type.Integer({ default: def, minimum, maximum, envKind: 'int', ...meta });
const bool = (def: boolean, meta: VarMeta) => Type.Boolean({ default: def, envKind: 'bool', ...meta });
const text = (def: string, meta: VarMeta & { minLength?: number; maxLength?: number; pattern?: string }) =>
  Type.String({ default: def, minLength: 1, maxLength: 1024, envKind: 'string', ...meta });
const optionalText = (meta: VarMeta & { minLength?: number; maxLength?: number; pattern?: string }) =>
  Type.Optional(Type.String({ minLength: 1, maxLength: 1024, envKind: 'string', ...meta }));
const oneOf = <const T extends readonly string[]>(values: T, def: T[number], meta: VarMeta) =>
  Type.Union(values.map((v) => Type.Literal(v)) as TLiteral<T[number]>[], { default: def, envKind: 'enum', ...meta });
const url = (schemes: string[], meta: VarMeta) =>
  Type.Optional(
    Type.String({
      format: 'url',
      // The scheme check as a pattern, so the schema alone decides what is valid.
      pattern: `^(${schemes.map((s) => s.replace(/:$/, '')).join('|')})://`,
      maxLength: 2048,
      envKind: 'url',
      schemes,
      ...meta,
    }),
  );

// host:port with a port 0..65535, no spaces or commas (items of a comma-separated list).
const HOST_PORT = '^[^:\\s,]+:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$';
const hostPorts = (meta: VarMeta) =>
  Type.Array(Type.String({ pattern: HOST_PORT }), { default: [], maxItems: 256, envKind: 'hostports', ...meta });

FormatRegistry.Set('url', (v) => URL.canParse(v));

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The one configuration schema. Property order is the README's row order. */
export const ConfigSchema = Type.Object({
  GATEWAY_PORT: int(8080, 0, 65535, { contract: true, description: 'HTTP and WebSocket port (`0`: any free port)' }),
  GATEWAY_HOST: text('0.0.0.0', { description: 'HTTP listen address' }),
  MQTT_URL: url(['mqtt:', 'mqtts:', 'ws:', 'wss:'], {
    contract: true,
    doc: 'unset: embedded broker',
    schemeHint: 'use mqtt:// or mqtts://',
    urlExample: 'mqtt://host:port or mqtts://host:port',
    description: '`mqtt://` or `mqtts://` URL of an external broker (`ws://`, `wss://` also work)',
  }),
  MQTT_PORT: int(1883, 0, 65535, { contract: true, description: 'port of the embedded broker' }),
  MQTT_HOST: text('0.0.0.0', { description: 'listen address of the embedded broker' }),
  MQTT_CLIENT_ID: text('campus-gateway', { maxLength: 256, description: 'fixed client id of the persistent session on an external broker' }),
  MQTT_INGEST_WINDOW: int(100, 1, 65_535, {
    unit: 'messages',
    description:
      'QoS 1 messages from an external broker awaiting their commit at once (their PUBACKs sent in arrival order after it); the broker may allow fewer (Mosquitto `max_inflight_messages`, default 20). `1`: one at a time',
  }),
  MQTT_PROTOCOL_VERSION: oneOf(['4', '5'], '4', {
    description: 'MQTT version towards an external broker: `4` (3.1.1) or `5` (announces `MQTT_INGEST_WINDOW` as Receive Maximum)',
  }),
  MQTT_SHARED_GROUP: optionalText({
    maxLength: 64,
    pattern: '^[^/#+\\s]+$',
    patternMessage: 'must be one topic level without wildcards',
    description:
      'several gateways on one external broker and one PostgreSQL `STORE_URL` (issue #14): each subscribes to `$share/<group>/{prefix}/#`, so each device message goes to one of them; every gateway still shows every event (decision 0009). Give each gateway its own `MQTT_CLIENT_ID`',
  }),
  MQTT_USERNAME: optionalText({
    contract: true,
    maxLength: 256,
    // MQTT 3.1.1 allows no password without a user name, and broker-config gives its user one.
    requiredWith: { name: 'MQTT_PASSWORD_FILE', why: 'a password needs a user name' },
    description: "the gateway's own login at an external broker (`npm run broker-config` makes `campus-gateway`, the default `MQTT_CLIENT_ID`: Mosquitto then uses it as client id)",
  }),
  MQTT_PASSWORD_FILE: optionalText({
    contract: true,
    requiredWith: { name: 'MQTT_USERNAME', why: 'the broker asks the user for a password' },
    description: "file holding the password of `MQTT_USERNAME` (read at start, trailing newline trimmed; e.g. broker-config's `gateway.password`)",
  }),
  MQTT_TOPIC_PREFIX: text('campus/v1', {
    contract: true,
    // No wildcard, no whitespace, no trailing slash: the prefix is joined with `/{school}/{device}/{type}`.
    pattern: '^[^#+\\s]*[^#+\\s/]$',
    patternMessage: 'must be topic levels without wildcards or a trailing slash',
    description: 'first topic levels of every device topic',
  }),
  DATA_DIR: text('./data', { contract: true, description: 'ledger, users file, token secret' }),
  STORE_URL: url(['postgres:', 'postgresql:'], {
    doc: 'unset: SQLite in `DATA_DIR`',
    schemeHint: 'use postgres:// (unset: the embedded SQLite ledger)',
    urlExample: 'postgres://user@host:5432/database',
    description:
      'the ledger on PostgreSQL instead of SQLite: `postgres://user@host:port/database` (libpq-style parameters such as `?sslmode=` work; keep the password out of the URL: `PGPASSWORD` is read when the URL has none). Core tables are migrated at start: [docs/decisions/0007-postgresql-store.md](docs/decisions/0007-postgresql-store.md)',
  }),
  REGISTRY: text('config/county.json', { contract: true, defaultInRepo: true, description: 'the school/device registry' }),
  POLICY: text('config/policy.json', {
    contract: true,
    defaultInRepo: true,
    description:
      "the county's policy: target thresholds and scope, school calendar, open and peak windows: [docs/policy.md](docs/policy.md). Unset with another `REGISTRY`, the demo county's school overrides are ignored with a warning",
  }),
  DASHBOARD_DIR: text('dist/dashboard', { defaultInRepo: true, description: 'the built wall screen the gateway serves (`npm run build`)' }),
  INFLUX_URL: url(['http:', 'https:'], {
    contract: true,
    doc: 'unset: no export',
    schemeHint: 'use http:// or https://',
    urlExample: 'http://host:8086',
    description:
      'time-series export to InfluxDB 2.x/3.x (or 1.8+ via its v2 API): [docs/influxdb.md](docs/influxdb.md), schema in [docs/influx-schema.md](docs/influx-schema.md)',
  }),
  INFLUX_TOKEN: optionalText({ contract: true, secret: true, description: 'InfluxDB API token (1.8: `user:password`)' }),
  INFLUX_ORG: optionalText({ contract: true, description: 'InfluxDB organization (ignored by 1.8)' }),
  INFLUX_BUCKET: optionalText({
    contract: true,
    requiredWith: { name: 'INFLUX_URL', why: 'for InfluxDB 1.8: database/retention-policy' },
    description: 'InfluxDB bucket (1.8: `database/retention-policy`)',
  }),
  GATEWAY_ADMIN_PASSWORD: optionalText({
    contract: true,
    secret: true,
    minLength: 8,
    doc: 'random, printed once',
    description: 'password of `admin` when the users file is first created',
  }),
  LOG_LEVEL: oneOf(LOG_LEVELS, 'info', { contract: true, enumHint: 'pino levels', description: 'pino level' }),
  // TLS (contract §5, §6), one block: HTTPS and mqtts share the certificate; docs/tls.md.
  TLS_CERT_FILE: optionalText({
    contract: true,
    doc: 'unset: plain TCP',
    requiredWith: { name: 'TLS_KEY_FILE', why: 'the certificate and its key go together' },
    description: 'PEM certificate (chain) of the gateway: HTTPS (and `wss` for `/live`) on `GATEWAY_PORT`, `mqtts` on `MQTT_TLS_PORT`: [docs/tls.md](docs/tls.md)',
  }),
  TLS_KEY_FILE: optionalText({
    contract: true,
    requiredWith: { name: 'TLS_CERT_FILE', why: 'the certificate and its key go together' },
    description: 'PEM private key of `TLS_CERT_FILE` (unencrypted)',
  }),
  TLS_CA_FILE: optionalText({
    contract: true,
    description: 'PEM CA of device client certificates: a device may log in over `mqtts` with a certificate whose CN is its id, without a secret; needs `TLS_CERT_FILE`',
  }),
  MQTT_TLS_PORT: int(8883, 0, 65535, { contract: true, description: 'port of the embedded broker for `mqtts`, when `TLS_CERT_FILE` is set' }),
  MQTT_PLAIN: bool(true, { description: 'the embedded broker also listens without TLS on `MQTT_PORT`; `false` (with `TLS_CERT_FILE`): `mqtts` only' }),
  MQTT_CA_FILE: optionalText({ description: 'PEM CA that signed the certificate of the external broker of an `mqtts://` `MQTT_URL` (default: the system CAs)' }),
  // County → city (issue #14, decision 0010): this county's feed forwarded to the city's broker.
  COUNTY_ID: optionalText({
    maxLength: 64,
    pattern: '^[a-z0-9][a-z0-9_-]{0,63}$',
    patternMessage: 'must be lower-case letters, digits, `-` or `_` (one topic level)',
    description: "this county's id at the city: its uplink topic is `city/v1/<COUNTY_ID>/feed` (decision 0010)",
  }),
  CITY_MQTT_URL: url(['mqtt:', 'mqtts:'], {
    doc: 'unset: no city uplink',
    schemeHint: 'use mqtt:// or mqtts://',
    urlExample: 'mqtts://city-broker:8883',
    description:
      "the city's broker: every committed feed frame is queued in the ledger's city outbox and published there (QoS 1, in order, deleted after PUBACK), so an uplink outage only delays it: [docs/decisions/0010-county-city.md](docs/decisions/0010-county-city.md). Either ledger (SQLite, or PostgreSQL where the region's gateways share the outbox)",
  }),
  CITY_MQTT_USERNAME: optionalText({
    maxLength: 256,
    requiredWith: { name: 'CITY_MQTT_URL', why: 'the county logs in to the city broker (no anonymous uplink)' },
    description: "this county's login at the city broker (its ACL allows writing `city/v1/<COUNTY_ID>/#` only)",
  }),
  CITY_MQTT_PASSWORD_FILE: optionalText({
    requiredWith: { name: 'CITY_MQTT_USERNAME', why: 'the city broker asks the county for its password' },
    description: 'file holding the password of `CITY_MQTT_USERNAME` (read at start, trailing newline trimmed; never logged)',
  }),
  CITY_MQTT_CA_FILE: optionalText({ description: 'PEM CA of the city broker\'s certificate for an `mqtts://` `CITY_MQTT_URL` (default: the system CAs)' }),
  CITY_UPLINK_BATCH_SIZE: int(500, 1, 65_535, { unit: 'frames', description: 'feed frames claimed from the city outbox and published before their PUBACKs are awaited' }),
  CITY_UPLINK_PUBACK_TIMEOUT_MS: int(10_000, 100, 600_000, { unit: 'ms', description: 'a batch whose PUBACKs have not all come by then is given back and published again (the city drops the repeats)' }),
  CITY_COUNTIES_FILE: optionalText({
    doc: 'unset: not a city',
    requiredWith: { name: 'CITY_INGEST_MQTT_URL', why: 'the city must know its counties to accept their feeds' },
    description:
      'this gateway is a city: JSON `{"counties": [{"id", "name", "registry"}]}` (registry paths relative to the file); it reads `city/v1/+/feed` and serves `/api/city/…` (decision 0010)',
  }),
  CITY_INGEST_MQTT_URL: url(['mqtt:', 'mqtts:'], {
    requiredWith: { name: 'CITY_COUNTIES_FILE', why: 'a city reads its counties\' feeds from their broker' },
    schemeHint: 'use mqtt:// or mqtts://',
    urlExample: 'mqtts://city-broker:8883',
    description: "the broker the counties forward to, read by the city with a persistent session (client id `city-gateway`); PUBACK after the city's commit",
  }),
  CITY_INGEST_USERNAME: optionalText({
    maxLength: 256,
    requiredWith: { name: 'CITY_INGEST_MQTT_URL', why: 'the city logs in to its broker (no anonymous login)' },
    description: "the city's login at its broker (its ACL reads `city/v1/#`)",
  }),
  CITY_INGEST_PASSWORD_FILE: optionalText({
    requiredWith: { name: 'CITY_INGEST_USERNAME', why: 'the broker asks the city for its password' },
    description: 'file holding the password of `CITY_INGEST_USERNAME` (read at start, trailing newline trimmed; never logged)',
  }),
  CITY_INGEST_CA_FILE: optionalText({ description: "PEM CA of the city broker's certificate for an `mqtts://` `CITY_INGEST_MQTT_URL` (default: the system CAs)" }),
  ACK_TIMEOUT_SEC: int(30, 1, 3600, { unit: 's', description: 'an alarm not acknowledged by then is escalated' }),
  ALARM_FLOOD_COUNT: int(10, 1, 10_000, { unit: 'alarms', description: 'ISA-18.2 alarm flood: more than this many alarms (test presses not counted) county-wide within `ALARM_FLOOD_WINDOW_SEC` starts one' }),
  ALARM_FLOOD_WINDOW_SEC: int(600, 1, 86_400, { unit: 's', description: 'the sliding window of the alarm flood rate' }),
  ALARM_FLOOD_END_COUNT: int(5, 1, 10_000, { unit: 'alarms', description: 'a flood ends when fewer than this many alarms fall in the window (hysteresis; at most `ALARM_FLOOD_COUNT`)' }),
  TOKEN_TTL_SEC: int(12 * 3600, 1, 30 * 86_400, { unit: 's', description: 'how long a login lasts' }),
  CLOCK_SKEW_TOLERANCE_MS: int(5 * 60_000, 1000, 7 * 86_400_000, { unit: 'ms', description: 'device clocks further off are flagged (never refused)' }),
  LEDGER_SYNC: oneOf(['full', 'normal'], 'full', { description: 'SQLite `synchronous`: `full` survives power loss, `normal` only a process crash (on PostgreSQL every commit is `synchronous_commit=on`)' }),
  FEED_RETAIN_FRAMES: int(100_000, 100, 100_000_000, { unit: 'frames', description: 'live-feed frames kept for screens that resume' }),
  WS_MAX_BUFFERED_BYTES: int(8 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024, {
    unit: 'bytes',
    description: 'a screen further behind than this is sent `resync` and closed',
  }),
  WS_RESUME_GRACE_MS: int(150, 0, 10_000, { unit: 'ms', description: 'how long a new screen may take to send `resume` before it gets a snapshot' }),
  EXPORT_BATCH_SIZE: int(5000, 1, 100_000, { unit: 'points', description: 'points per InfluxDB write request' }),
  EXPORT_MAX_BATCH_AGE_MS: int(1000, 0, 600_000, { unit: 'ms', description: 'a partial batch waits at most this long for more points' }),
  INFLUX_TIMEOUT_MS: int(10_000, 100, 600_000, { unit: 'ms', description: 'a write request taking longer counts as failed (a hung database)' }),
  EXPORT_MIN_BACKOFF_MS: int(1000, 10, 600_000, { unit: 'ms', description: 'first retry delay after a failed write (then exponential, with jitter)' }),
  EXPORT_MAX_BACKOFF_MS: int(60_000, 10, 3_600_000, { unit: 'ms', description: 'retry delay cap' }),
  EXPORT_LAG_WARN_SEC: int(300, 1, 30 * 86_400, {
    unit: 's',
    description: 'unexported points older than this: `/health` says `degraded`, the wall screen shows a warning',
  }),
  LEDGER_RAW_RETENTION_DAYS: int(30, 1, 3650, {
    unit: 'days',
    description: 'raw device events (availability, camera, ai, gate, checkin; heartbeats are never written) are deleted from the ledger after this (alarms never)',
  }),
  BACKUP_DIR: optionalText({
    doc: 'unset: no scheduled backups',
    description: 'directory for scheduled online backups of the ledger (`ledger-<UTC time>.sqlite`): [docs/backup.md](docs/backup.md)',
  }),
  // At most a week: the scheduler arms one timer, and setTimeout's limit is 24.8 days anyway.
  BACKUP_INTERVAL_HOURS: int(24, 1, 168, { unit: 'hours', description: 'time between scheduled backups (the first is due this long after the newest one in `BACKUP_DIR`)' }),
  BACKUP_KEEP: int(7, 1, 1000, { unit: 'backups', description: 'scheduled backups kept in `BACKUP_DIR`; older ones are deleted' }),
  MISSED_HEARTBEATS: int(3, 1, 100, {
    unit: 'intervals',
    description: 'a device is offline after this many heartbeat intervals of silence (intervals: registry)',
  }),
  MAINTENANCE_FLAP_HOLD_SEC: int(300, 0, 86_400, { unit: 's', description: 'a device that drops again this soon after returning reopens its maintenance alarm' }),
  CANTEEN_WEBHOOK_URL: url(['http:', 'https:'], {
    doc: 'unset: no webhook',
    schemeHint: 'use http:// or https://',
    urlExample: 'https://host/hooks/{school}',
    requiredWith: { name: 'CANTEEN_WEBHOOK_SECRET_FILE', why: 'every notification is signed' },
    description:
      'where canteen case notifications are POSTed (open, every step, overdue), signed with HMAC-SHA256 and delivered from a durable outbox; a `{school}` in it is replaced by the school id (one receiver per school): [docs/canteen-notify.md](docs/canteen-notify.md)',
  }),
  CANTEEN_WEBHOOK_SECRET_FILE: optionalText({
    requiredWith: { name: 'CANTEEN_WEBHOOK_URL', why: 'the secret signs the webhook' },
    description: 'file holding the HMAC-SHA256 secret of `CANTEEN_WEBHOOK_URL` (read at start, trailing newline trimmed, at least 16 characters; keep it `0600`; never logged)',
  }),
  CANTEEN_WEBHOOK_TIMEOUT_MS: int(10_000, 100, 600_000, { unit: 'ms', description: 'a webhook delivery taking longer counts as failed and is retried' }),
  CANTEEN_WEBHOOK_MAX_BACKOFF_MS: int(60_000, 10, 3_600_000, { unit: 'ms', description: 'retry delay cap of a failed webhook delivery (from 1 s, doubling, with jitter)' }),
  ONVIF_USERNAME: optionalText({ maxLength: 256, description: "user for the cameras the gateway probes, unless the registry's `onvifCredentials` file names one" }),
  ONVIF_PASSWORD: optionalText({ maxLength: 256, secret: true, description: "password for the cameras the gateway probes, unless the registry's `onvifCredentials` file names one" }),
  ONVIF_PROBE_INTERVAL_SEC: int(30, 1, 3600, {
    unit: 's',
    description: 'liveness probe (`GetSystemDateAndTime`) of each camera with an `onvif` address, ±10 % jitter',
  }),
  ONVIF_TIMEOUT_MS: int(5000, 100, 60_000, { unit: 'ms', description: 'probe timeout' }),
  ONVIF_CONCURRENCY: int(32, 1, 1000, { unit: 'probes', description: 'probes in flight at once (never more than one per camera)' }),
  ONVIF_DETAILS_EVERY: int(20, 1, 10_000, { unit: 'probes', description: 'every Nth probe also checks credentials, profiles and snapshot URI' }),
  ONVIF_EVENTS: bool(true, { description: 'PullPoint subscriptions for tampering and health events' }),
  ONVIF_DISCOVERY_MULTICAST: bool(true, { description: 'WS-Discovery by multicast (239.255.255.250:3702)' }),
  ONVIF_DISCOVERY_UNICAST: hostPorts({ doc: 'unset', description: 'extra `host:port,…` to probe by unicast' }),
  ONVIF_DISCOVERY_INTERVAL_SEC: int(3600, 0, 7 * 86_400, {
    unit: 's',
    description: 'scheduled discovery (`0`: on demand only, `GET /api/onvif/discover?refresh=true`)',
  }),
});

export type ConfigValues = Static<typeof ConfigSchema>;
export type ConfigVariable = keyof ConfigValues;

/** The declaration of one variable (its schema with the metadata above). */
export function declaration(name: string): (TSchema & Meta) | undefined {
  return (ConfigSchema.properties as unknown as Record<string, TSchema & Meta>)[name];
}

/**
 * Variables that stop the gateway when set, with the reason. Not in the schema (nothing reads
 * them) nor in the README table.
 */
export const REFUSED: Record<string, string> = {
  // MQTT.js also connects with protocol 4, where `$share/` is only an EMQX/HiveMQ extension.
  MQTT_SHARE_GROUP:
    "is not supported until gateway state is shared between gateways (scale-out, issue 14): with a shared subscription each gateway sees only part of each device's heartbeats and would mark devices offline falsely; unset it and run one gateway per broker",
};
