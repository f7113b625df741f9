/**
 * Contract §5: configuration from the environment, merged and validated once at start.
 * Option names carry their units (ARCHITECTURE "distilled" 2).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './config-error.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), fileURLToPath(import.meta.url).includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');

export interface InfluxConfig {
  url: string;
  token?: string;
  org?: string;
  bucket?: string;
}

export interface GatewayConfig {
  host: string;
  port: number;
  /** External broker; undefined → embedded aedes. */
  mqttUrl?: string;
  mqttPort: number;
  mqttHost: string;
  mqttClientId: string;
  /** MQTT 5 shared-subscription group for several gateways on one broker cluster (unset: plain subscription). */
  mqttShareGroup?: string;
  topicPrefix: string;
  dataDir: string;
  registryPath: string;
  influx?: InfluxConfig;
  adminPassword?: string;
  logLevel: string;
  ackTimeoutSec: number;
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
  };
  /** A device is offline after this many heartbeat intervals without a sign of life. */
  missedHeartbeats: number;
  maintenanceFlapHoldSec: number;
  /** Raw heartbeat/availability/camera events older than this leave the ledger (alarms never do). */
  rawRetentionDays: number;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, 'value', `"${raw}" is not a whole number`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, 'value', `${n} is outside ${min}..${max}`);
  return n;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return def;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, 'value', `"${env[name]}" is not true or false`);
}

function hostPorts(env: Env, name: string): { host: string; port: number }[] {
  const raw = env[name]?.trim();
  if (!raw) return [];
  return raw.split(',').map((item, i) => {
    const m = /^([^:\s]+):(\d{1,5})$/.exec(item.trim());
    if (!m || Number(m[2]) > 65535) throw new ConfigError(name, `item ${i + 1}`, `"${item}" is not host:port`);
    return { host: m[1], port: Number(m[2]) };
  });
}

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

const PREFIX_RE = /^[^#+\s]+(\/[^#+\s/]+)*$/;

export function loadConfig(env: Env = process.env): GatewayConfig {
  const mqttUrl = str(env, 'MQTT_URL');
  if (mqttUrl !== undefined) {
    let u: URL;
    try {
      u = new URL(mqttUrl);
    } catch {
      throw new ConfigError('MQTT_URL', 'value', `"${mqttUrl}" is not a URL (expected mqtt://host:port or mqtts://host:port)`);
    }
    if (!['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(u.protocol))
      throw new ConfigError('MQTT_URL', 'scheme', `"${u.protocol}" is not supported (use mqtt:// or mqtts://)`);
  }
  const topicPrefix = str(env, 'MQTT_TOPIC_PREFIX') ?? 'campus/v1';
  if (!PREFIX_RE.test(topicPrefix) || topicPrefix.endsWith('/'))
    throw new ConfigError('MQTT_TOPIC_PREFIX', 'value', `"${topicPrefix}" must be topic levels without wildcards or a trailing slash`);
  const influxUrl = str(env, 'INFLUX_URL');
  if (influxUrl !== undefined) {
    let u: URL;
    try {
      u = new URL(influxUrl);
    } catch {
      throw new ConfigError('INFLUX_URL', 'value', `"${influxUrl}" is not a URL (expected http://host:8086)`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError('INFLUX_URL', 'scheme', `"${u.protocol}" is not supported (use http:// or https://)`);
    if (!str(env, 'INFLUX_BUCKET')) throw new ConfigError('INFLUX_BUCKET', 'value', 'must be set when INFLUX_URL is (for InfluxDB 1.8: database/retention-policy)');
  }
  const ledgerSync = (str(env, 'LEDGER_SYNC') ?? 'full').toLowerCase();
  if (ledgerSync !== 'full' && ledgerSync !== 'normal')
    throw new ConfigError('LEDGER_SYNC', 'value', `"${ledgerSync}" must be full or normal`);
  const logLevel = str(env, 'LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel))
    throw new ConfigError('LOG_LEVEL', 'value', `"${logLevel}" is not a pino level (fatal, error, warn, info, debug, trace, silent)`);
  const adminPassword = str(env, 'GATEWAY_ADMIN_PASSWORD');
  if (adminPassword !== undefined && adminPassword.length < 8)
    throw new ConfigError('GATEWAY_ADMIN_PASSWORD', 'value', 'must be at least 8 characters');
  const shareGroup = str(env, 'MQTT_SHARE_GROUP');
  if (shareGroup !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(shareGroup))
    throw new ConfigError('MQTT_SHARE_GROUP', 'value', `"${shareGroup}" must match [A-Za-z0-9_-]{1,64}`);

  return {
    host: str(env, 'GATEWAY_HOST') ?? '0.0.0.0',
    port: int(env, 'GATEWAY_PORT', 8080, 0, 65535),
    mqttUrl,
    mqttPort: int(env, 'MQTT_PORT', 1883, 0, 65535),
    mqttHost: str(env, 'MQTT_HOST') ?? '0.0.0.0',
    mqttClientId: str(env, 'MQTT_CLIENT_ID') ?? 'campus-gateway',
    mqttShareGroup: shareGroup,
    topicPrefix,
    dataDir: path.resolve(str(env, 'DATA_DIR') ?? './data'),
    registryPath: path.resolve(str(env, 'REGISTRY') ?? path.join(REPO_ROOT, 'config', 'county.json')),
    influx: influxUrl
      ? { url: influxUrl, token: str(env, 'INFLUX_TOKEN'), org: str(env, 'INFLUX_ORG'), bucket: str(env, 'INFLUX_BUCKET') }
      : undefined,
    adminPassword,
    logLevel,
    ackTimeoutSec: int(env, 'ACK_TIMEOUT_SEC', 30, 1, 3600),
    tokenTtlSec: int(env, 'TOKEN_TTL_SEC', 12 * 3600, 1, 30 * 86400),
    clockSkewToleranceMs: int(env, 'CLOCK_SKEW_TOLERANCE_MS', 5 * 60_000, 1000, 7 * 86_400_000),
    ledgerSync,
    feedRetainFrames: int(env, 'FEED_RETAIN_FRAMES', 100_000, 100, 100_000_000),
    wsMaxBufferedBytes: int(env, 'WS_MAX_BUFFERED_BYTES', 8 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
    wsResumeGraceMs: int(env, 'WS_RESUME_GRACE_MS', 150, 0, 10_000),
    export: {
      batchSize: int(env, 'EXPORT_BATCH_SIZE', 5000, 1, 100_000),
      maxBatchAgeMs: int(env, 'EXPORT_MAX_BATCH_AGE_MS', 1000, 0, 600_000),
      timeoutMs: int(env, 'INFLUX_TIMEOUT_MS', 10_000, 100, 600_000),
      minBackoffMs: int(env, 'EXPORT_MIN_BACKOFF_MS', 1000, 10, 600_000),
      maxBackoffMs: int(env, 'EXPORT_MAX_BACKOFF_MS', 60_000, 10, 3_600_000),
      lagWarnSec: int(env, 'EXPORT_LAG_WARN_SEC', 300, 1, 30 * 86_400),
    },
    onvif: {
      probeIntervalSec: int(env, 'ONVIF_PROBE_INTERVAL_SEC', 30, 1, 3600),
      timeoutMs: int(env, 'ONVIF_TIMEOUT_MS', 5000, 100, 60_000),
      concurrency: int(env, 'ONVIF_CONCURRENCY', 32, 1, 1000),
      detailsEveryN: int(env, 'ONVIF_DETAILS_EVERY', 20, 1, 10_000),
      events: bool(env, 'ONVIF_EVENTS', true),
      discoveryUnicast: hostPorts(env, 'ONVIF_DISCOVERY_UNICAST'),
      discoveryMulticast: bool(env, 'ONVIF_DISCOVERY_MULTICAST', true),
      discoveryIntervalSec: int(env, 'ONVIF_DISCOVERY_INTERVAL_SEC', 3600, 0, 7 * 86_400),
    },
    missedHeartbeats: int(env, 'MISSED_HEARTBEATS', 3, 1, 100),
    maintenanceFlapHoldSec: int(env, 'MAINTENANCE_FLAP_HOLD_SEC', 300, 0, 86_400),
    rawRetentionDays: int(env, 'LEDGER_RAW_RETENTION_DAYS', 30, 1, 3650),
    dashboardDir: path.resolve(str(env, 'DASHBOARD_DIR') ?? path.join(REPO_ROOT, 'dist', 'dashboard')),
  };
}
