/**
 * Contract §5: configuration from the environment, merged and validated once at start against
 * the one schema in `config/variables.ts`. Option names carry their units (ARCHITECTURE
 * "distilled" 2).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from './config-error.js';
import { fileURLToPath } from 'node:url';
import { parseEnv, type Env } from './config/parse.js';
import { declaration } from './config/variables.js';
import { tlsSettings, type TlsSettings } from './config/tls.js';

export { ConfigError } from './config-error.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), fileURLToPath(import.meta.url).includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');

export interface InfluxConfig {
  url: string;
  token?: string;
  org?: string;
  bucket?: string;
}

/** Camera login; the password is a secret (never logged, never in an error message). */
export interface OnvifCredentials {
  username?: string;
  password?: string;
}

export interface GatewayConfig {
  host: string;
  port: number;
  /** External broker; undefined → embedded aedes. */
  mqttUrl?: string;
  mqttPort: number;
  mqttHost: string;
  mqttClientId: string;
  /** MQTT_SHARED_GROUP: ingest through `$share/<group>/…` with other gateways (issue #14, decision 0009). */
  mqttSharedGroup?: string;
  /** QoS 1 messages awaiting their commit at once on an external broker (decision 0008). */
  mqttIngestWindow: number;
  mqttProtocolVersion: 4 | 5;
  /** The gateway's own login at an external broker; the password is a secret (never logged). */
  mqttUsername?: string;
  mqttPassword?: string;
  topicPrefix: string;
  /** Certificates for HTTPS and mqtts, device CA, external broker CA: docs/tls.md. */
  tls: TlsSettings;
  dataDir: string;
  /** STORE_URL: the ledger on PostgreSQL; undefined → SQLite in `dataDir`. */
  storeUrl?: string;
  registryPath: string;
  /** The county's policy (contract §7). */
  policyPath: string;
  /** POLICY was not set: the demo county's policy (its school entries are ignored if the registry lacks those schools). */
  policyIsDefault: boolean;
  influx?: InfluxConfig;
  adminPassword?: string;
  logLevel: string;
  ackTimeoutSec: number;
  /** ISA-18.2 alarm flood: starts above `count` alarms in `windowMs`, ends below `endCount`. */
  alarmFlood: { count: number; windowMs: number; endCount: number };
  tokenTtlSec: number;
  /** How far a device clock may be off before its events are flagged. */
  clockSkewToleranceMs: number;
  /** SQLite `synchronous`: FULL survives power loss, NORMAL only a process crash. */
  ledgerSync: 'full' | 'normal';
  /** Live feed frames kept for `resume` after a disconnect. */
  feedRetainFrames: number;
  /** A WebSocket client with more unsent bytes than this is sent `resync` and closed. */
  wsMaxBufferedBytes: number;
  /** How long a new WebSocket waits for a `resume` frame before sending a snapshot. */
  wsResumeGraceMs: number;
  dashboardDir: string;
  export: {
    batchSize: number;
    maxBatchAgeMs: number;
    timeoutMs: number;
    minBackoffMs: number;
    maxBackoffMs: number;
    /** Export lag past which /health says degraded and the wall screen shows a warning. */
    lagWarnSec: number;
  };
  onvif: {
    probeIntervalSec: number;
    timeoutMs: number;
    concurrency: number;
    detailsEveryN: number;
    events: boolean;
    /** Unicast WS-Discovery targets (host:port), besides multicast. */
    discoveryUnicast: { host: string; port: number }[];
    discoveryMulticast: boolean;
    /** Scheduled discovery (0: only on demand). */
    discoveryIntervalSec: number;
    /** ONVIF_USERNAME / ONVIF_PASSWORD: for cameras the registry's credentials file does not cover. */
    credentials: OnvifCredentials;
  };
  /** A device is offline after this many heartbeat intervals without a sign of life. */
  missedHeartbeats: number;
  maintenanceFlapHoldSec: number;
  /** Raw heartbeat/availability/camera events older than this leave the ledger (alarms never do). */
  rawRetentionDays: number;
  /** Canteen case notifications by webhook (docs/canteen-notify.md); no `url`: none (`url` and `secret` come together). */
  canteenWebhook: { url?: string; secret?: string; timeoutMs: number; maxBackoffMs: number };
  /** Scheduled online backups of the ledger (`dir` unset: none; a relative path is from the working directory). */
  backup: { dir?: string; intervalHours: number; keep: number };
  /** CITY_MQTT_URL: this county's feed is forwarded to the city's broker (decision 0010). */
  city?: CityUplinkConfig;
  cityUplink: { batchSize: number; pubackTimeoutMs: number };
  /** CITY_COUNTIES_FILE: this gateway is a city reading its counties' feeds (decision 0010). */
  cityHub?: { countiesFile: string; url: string; username: string; password: string; caFile?: string };
}

/**
 * The environment, validated by the one schema in `config/variables.ts` (parsing, ranges and
 * defaults all come from there), shaped for the services. Throws ConfigError on any fault.
 */
export interface CityUplinkConfig {
  county: string;
  url: string;
  username: string;
  password: string;
  caFile?: string;
}

export function loadConfig(env: Env = process.env): GatewayConfig {
  const { values: v, set } = parseEnv(env);
  // Scheduled backups copy the SQLite file; a PostgreSQL ledger is backed up by PostgreSQL's own tools.
  if (v.STORE_URL !== undefined && v.BACKUP_DIR !== undefined)
    throw new ConfigError('BACKUP_DIR', 'value', 'scheduled backups copy the SQLite ledger; with STORE_URL (PostgreSQL) back up with pg_dump or pg_basebackup instead, and leave BACKUP_DIR unset');
  // Sharing the ingest needs a broker that shares (not the embedded one) and a ledger the gateways share (decision 0009).
  if (v.MQTT_SHARED_GROUP !== undefined && v.MQTT_URL === undefined)
    throw new ConfigError('MQTT_SHARED_GROUP', 'value', 'a shared subscription needs an external broker: set MQTT_URL too (the embedded broker serves one gateway)');
  if (v.MQTT_SHARED_GROUP !== undefined && v.STORE_URL === undefined)
    throw new ConfigError('MQTT_SHARED_GROUP', 'value', 'gateways sharing the ingest must share the ledger: set STORE_URL to their PostgreSQL database (each SQLite ledger would hold a part of the alarms)');
  // The city uplink (decision 0010): whose feed it is.
  if (v.CITY_MQTT_URL !== undefined && v.COUNTY_ID === undefined)
    throw new ConfigError('CITY_MQTT_URL', 'value', 'the city needs to know which county is forwarding: set COUNTY_ID too');
  // A path someone sets is relative to where they are; some defaults live in the installation.
  const where = (name: 'DATA_DIR' | 'REGISTRY' | 'POLICY' | 'DASHBOARD_DIR') =>
    !set.has(name) && declaration(name)!.defaultInRepo ? path.resolve(REPO_ROOT, v[name]) : path.resolve(v[name]);
  return {
    host: v.GATEWAY_HOST,
    port: v.GATEWAY_PORT,
    mqttUrl: v.MQTT_URL,
    mqttPort: v.MQTT_PORT,
    mqttHost: v.MQTT_HOST,
    mqttClientId: v.MQTT_CLIENT_ID,
    mqttSharedGroup: v.MQTT_SHARED_GROUP,
    mqttIngestWindow: v.MQTT_INGEST_WINDOW,
    mqttProtocolVersion: v.MQTT_PROTOCOL_VERSION === '5' ? 5 : 4,
    mqttUsername: v.MQTT_USERNAME,
    mqttPassword: v.MQTT_PASSWORD_FILE !== undefined ? readPasswordFile(path.resolve(v.MQTT_PASSWORD_FILE)) : undefined,
    topicPrefix: v.MQTT_TOPIC_PREFIX,
    tls: tlsSettings(v),
    dataDir: where('DATA_DIR'),
    storeUrl: v.STORE_URL,
    registryPath: where('REGISTRY'),
    policyPath: where('POLICY'),
    policyIsDefault: !set.has('POLICY'),
    influx: v.INFLUX_URL !== undefined ? { url: v.INFLUX_URL, token: v.INFLUX_TOKEN, org: v.INFLUX_ORG, bucket: v.INFLUX_BUCKET } : undefined,
    adminPassword: v.GATEWAY_ADMIN_PASSWORD,
    logLevel: v.LOG_LEVEL,
    ackTimeoutSec: v.ACK_TIMEOUT_SEC,
    alarmFlood: { count: v.ALARM_FLOOD_COUNT, windowMs: v.ALARM_FLOOD_WINDOW_SEC * 1000, endCount: Math.min(v.ALARM_FLOOD_END_COUNT, v.ALARM_FLOOD_COUNT) },
    tokenTtlSec: v.TOKEN_TTL_SEC,
    clockSkewToleranceMs: v.CLOCK_SKEW_TOLERANCE_MS,
    ledgerSync: v.LEDGER_SYNC,
    feedRetainFrames: v.FEED_RETAIN_FRAMES,
    wsMaxBufferedBytes: v.WS_MAX_BUFFERED_BYTES,
    wsResumeGraceMs: v.WS_RESUME_GRACE_MS,
    export: {
      batchSize: v.EXPORT_BATCH_SIZE,
      maxBatchAgeMs: v.EXPORT_MAX_BATCH_AGE_MS,
      timeoutMs: v.INFLUX_TIMEOUT_MS,
      minBackoffMs: v.EXPORT_MIN_BACKOFF_MS,
      maxBackoffMs: v.EXPORT_MAX_BACKOFF_MS,
      lagWarnSec: v.EXPORT_LAG_WARN_SEC,
    },
    onvif: {
      probeIntervalSec: v.ONVIF_PROBE_INTERVAL_SEC,
      timeoutMs: v.ONVIF_TIMEOUT_MS,
      concurrency: v.ONVIF_CONCURRENCY,
      detailsEveryN: v.ONVIF_DETAILS_EVERY,
      events: v.ONVIF_EVENTS,
      discoveryUnicast: v.ONVIF_DISCOVERY_UNICAST.map((item) => {
        const i = item.lastIndexOf(':');
        return { host: item.slice(0, i), port: Number(item.slice(i + 1)) };
      }),
      discoveryMulticast: v.ONVIF_DISCOVERY_MULTICAST,
      discoveryIntervalSec: v.ONVIF_DISCOVERY_INTERVAL_SEC,
      credentials: { username: v.ONVIF_USERNAME, password: v.ONVIF_PASSWORD },
    },
    missedHeartbeats: v.MISSED_HEARTBEATS,
    maintenanceFlapHoldSec: v.MAINTENANCE_FLAP_HOLD_SEC,
    rawRetentionDays: v.LEDGER_RAW_RETENTION_DAYS,
    canteenWebhook: {
      url: v.CANTEEN_WEBHOOK_URL,
      secret: v.CANTEEN_WEBHOOK_SECRET_FILE !== undefined ? readWebhookSecret(path.resolve(v.CANTEEN_WEBHOOK_SECRET_FILE)) : undefined,
      timeoutMs: v.CANTEEN_WEBHOOK_TIMEOUT_MS,
      maxBackoffMs: v.CANTEEN_WEBHOOK_MAX_BACKOFF_MS,
    },
    city:
      v.CITY_MQTT_URL !== undefined && v.COUNTY_ID !== undefined
        ? {
            county: v.COUNTY_ID,
            url: v.CITY_MQTT_URL,
            username: v.CITY_MQTT_USERNAME!,
            password: readPasswordFile(path.resolve(v.CITY_MQTT_PASSWORD_FILE!), 'CITY_MQTT_PASSWORD_FILE'),
            caFile: v.CITY_MQTT_CA_FILE,
          }
        : undefined,
    cityHub:
      v.CITY_COUNTIES_FILE !== undefined && v.CITY_INGEST_MQTT_URL !== undefined
        ? {
            countiesFile: path.resolve(v.CITY_COUNTIES_FILE),
            url: v.CITY_INGEST_MQTT_URL,
            username: v.CITY_INGEST_USERNAME!,
            password: readPasswordFile(path.resolve(v.CITY_INGEST_PASSWORD_FILE!), 'CITY_INGEST_PASSWORD_FILE'),
            caFile: v.CITY_INGEST_CA_FILE,
          }
        : undefined,
    cityUplink: { batchSize: v.CITY_UPLINK_BATCH_SIZE, pubackTimeoutMs: v.CITY_UPLINK_PUBACK_TIMEOUT_MS },
    backup: { dir: v.BACKUP_DIR, intervalHours: v.BACKUP_INTERVAL_HOURS, keep: v.BACKUP_KEEP },
    dashboardDir: where('DASHBOARD_DIR'),
  };
}

/** The one password in `file`, read once at start (a trailing newline trimmed; never quoted in an error). */
function readPasswordFile(file: string, variable = 'MQTT_PASSWORD_FILE'): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(file, '(file)', `cannot read the MQTT password file named by ${variable} (${e.code ?? e.message})`);
  }
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new ConfigError(file, '(file)', `the MQTT password file named by ${variable} is empty`);
  if (/[\r\n]/.test(password)) throw new ConfigError(file, '(file)', `the MQTT password file named by ${variable} must hold one line`);
  return password;
}

/** The webhook's HMAC secret, read once at start (a trailing newline trimmed; never quoted in an error). */
function readWebhookSecret(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(file, '(file)', `cannot read the webhook secret file named by CANTEEN_WEBHOOK_SECRET_FILE (${e.code ?? e.message})`);
  }
  const secret = text.replace(/\r?\n$/, '');
  // 16 characters at least: a guessable secret lets anyone forge a notification.
  if (secret.length < 16) throw new ConfigError(file, '(file)', 'the webhook secret file named by CANTEEN_WEBHOOK_SECRET_FILE must hold a secret of at least 16 characters');
  if (/[\r\n]/.test(secret)) throw new ConfigError(file, '(file)', 'the webhook secret file named by CANTEEN_WEBHOOK_SECRET_FILE must hold one line');
  return secret;
}
