/**
 * Configuration, in process: every kind of fault gives its own message naming the variable or
 * file, the place and the fault; secrets are never quoted back; every variable reaches the
 * config; defaults and units are what the README (generated from the schema) says; the ONVIF
 * credentials file is validated with the place of the bad field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, REPO_ROOT, loadConfig, type GatewayConfig } from '../gateway/config.js';
import { DOCS_END, DOCS_START, configTable } from '../gateway/config/docs.js';
import { ConfigSchema, declaration } from '../gateway/config/variables.js';
import { onvifTargets } from '../gateway/ingest/camera-watch.js';
import { indexRegistry, type Registry } from '../gateway/registry.js';

/** The ConfigError that `env` causes; fails the test when there is none. */
function fault(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail(`no ConfigError for ${JSON.stringify(env)}`);
}

function expectFault(env: Record<string, string>, source: string, where: string, problem: RegExp): void {
  const e = fault(env);
  assert.equal(e.source, source, e.message);
  assert.equal(e.where, where, e.message);
  assert.match(e.problem, problem);
  assert.equal(e.message, `${source} at ${where}: ${e.problem}`);
}

test('not a whole number: named with the value as given (units are in the name, not the value)', () => {
  expectFault({ GATEWAY_PORT: 'eighty' }, 'GATEWAY_PORT', 'value', /^"eighty" is not a whole number$/);
  expectFault({ ONVIF_TIMEOUT_MS: '5s' }, 'ONVIF_TIMEOUT_MS', 'value', /^"5s" is not a whole number$/);
  expectFault({ ACK_TIMEOUT_SEC: '1.5' }, 'ACK_TIMEOUT_SEC', 'value', /^"1\.5" is not a whole number$/);
});

test('out of range: named with the range', () => {
  expectFault({ ACK_TIMEOUT_SEC: '0' }, 'ACK_TIMEOUT_SEC', 'value', /^0 is outside 1\.\.3600$/);
  expectFault({ GATEWAY_PORT: '65536' }, 'GATEWAY_PORT', 'value', /^65536 is outside 0\.\.65535$/);
  expectFault({ WS_MAX_BUFFERED_BYTES: '1024' }, 'WS_MAX_BUFFERED_BYTES', 'value', /^1024 is outside 65536\.\.1073741824$/);
  expectFault({ MISSED_HEARTBEATS: '-1' }, 'MISSED_HEARTBEATS', 'value', /^-1 is outside 1\.\.100$/);
});

test('a value not among the allowed ones: the list is named; case does not matter', () => {
  expectFault({ LEDGER_SYNC: 'fast' }, 'LEDGER_SYNC', 'value', /^"fast" must be one of full, normal$/);
  expectFault({ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL', 'value', /^"verbose" must be one of fatal, error, warn, info, debug, trace, silent \(pino levels\)$/);
  assert.equal(loadConfig({ LEDGER_SYNC: 'NORMAL' }).ledgerSync, 'normal');
  assert.equal(loadConfig({ LOG_LEVEL: 'Debug' }).logLevel, 'debug');
});

test('a bad URL or scheme: which of the two, and what to use', () => {
  expectFault({ MQTT_URL: 'http://broker:1883' }, 'MQTT_URL', 'scheme', /^"http:" is not supported \(use mqtt:\/\/ or mqtts:\/\/\)$/);
  expectFault({ MQTT_URL: 'broker:1883' }, 'MQTT_URL', 'scheme', /^"broker:" is not supported/);
  expectFault({ MQTT_URL: 'not a url' }, 'MQTT_URL', 'value', /^"not a url" is not a URL \(expected mqtt:\/\/host:port or mqtts:\/\/host:port\)$/);
  expectFault({ INFLUX_URL: 'ftp://db:8086', INFLUX_BUCKET: 'b' }, 'INFLUX_URL', 'scheme', /^"ftp:" is not supported \(use http:\/\/ or https:\/\/\)$/);
  for (const ok of ['mqtt://b:1883', 'mqtts://b:8883', 'ws://b/mqtt', 'wss://b/mqtt']) assert.equal(loadConfig({ MQTT_URL: ok }).mqttUrl, ok);
});

test('INFLUX_URL without INFLUX_BUCKET names the missing variable', () => {
  expectFault({ INFLUX_URL: 'http://db:8086' }, 'INFLUX_BUCKET', 'value', /^must be set when INFLUX_URL is \(for InfluxDB 1\.8: database\/retention-policy\)$/);
  assert.deepEqual(loadConfig({ INFLUX_URL: 'http://db:8086', INFLUX_BUCKET: 'campus', INFLUX_TOKEN: 'tok', INFLUX_ORG: 'bureau' }).influx, {
    url: 'http://db:8086',
    token: 'tok',
    org: 'bureau',
    bucket: 'campus',
  });
  assert.equal(loadConfig({ INFLUX_BUCKET: 'campus' }).influx, undefined, 'no export without INFLUX_URL');
});

test('TLS variables that only work together: each missing partner is named', () => {
  expectFault({ TLS_CERT_FILE: 'c.pem' }, 'TLS_KEY_FILE', 'value', /^must be set when TLS_CERT_FILE is \(the certificate and its key go together\)$/);
  expectFault({ TLS_KEY_FILE: 'k.pem' }, 'TLS_CERT_FILE', 'value', /^must be set when TLS_KEY_FILE is/);
  expectFault({ TLS_CA_FILE: 'ca.pem' }, 'TLS_CA_FILE', 'value', /^needs TLS_CERT_FILE and TLS_KEY_FILE/);
  expectFault({ MQTT_PLAIN: 'false' }, 'MQTT_PLAIN', 'value', /^false needs TLS_CERT_FILE and TLS_KEY_FILE: .*listen nowhere$/);
  const tls = { TLS_CERT_FILE: 'c.pem', TLS_KEY_FILE: 'k.pem' };
  expectFault({ ...tls, MQTT_PORT: '1883', MQTT_TLS_PORT: '1883' }, 'MQTT_TLS_PORT', 'value', /^1883 is MQTT_PORT too/);
  expectFault({ MQTT_URL: 'mqtt://b:1883', MQTT_CA_FILE: 'ca.pem' }, 'MQTT_CA_FILE', 'value', /only for an external broker over TLS/);
  expectFault({ MQTT_CA_FILE: 'ca.pem' }, 'MQTT_CA_FILE', 'value', /only for an external broker over TLS/);
  assert.deepEqual(loadConfig({}).tls, { files: undefined, mqttTlsPort: 8883, mqttPlain: true, mqttCaFile: undefined });
  assert.deepEqual(loadConfig({ ...tls, TLS_CA_FILE: 'ca.pem', MQTT_PLAIN: 'false' }).tls, {
    files: { certFile: 'c.pem', keyFile: 'k.pem', caFile: 'ca.pem' },
    mqttTlsPort: 8883,
    mqttPlain: false,
    mqttCaFile: undefined,
  });
  assert.equal(loadConfig({ MQTT_URL: 'mqtts://b:8883', MQTT_CA_FILE: 'ca.pem' }).tls.mqttCaFile, 'ca.pem');
});

test('MQTT_SHARE_GROUP is refused, pointing to the scale-out work, and is no longer part of the config', () => {
  expectFault({ MQTT_SHARE_GROUP: 'gateways' }, 'MQTT_SHARE_GROUP', 'value', /^is not supported until gateway state is shared .*\(scale-out, issue 14\).*offline falsely/);
  assert.equal(declaration('MQTT_SHARE_GROUP'), undefined);
  assert.ok(!('mqttShareGroup' in loadConfig({})));
  loadConfig({ MQTT_SHARE_GROUP: '' }); // empty is unset, as for every variable
});

test('a bad host:port list names the item', () => {
  expectFault({ ONVIF_DISCOVERY_UNICAST: '10.0.0.5:3702,camera-7' }, 'ONVIF_DISCOVERY_UNICAST', 'item 2', /^"camera-7" is not host:port \(port 0\.\.65535\)$/);
  expectFault({ ONVIF_DISCOVERY_UNICAST: 'a:65536' }, 'ONVIF_DISCOVERY_UNICAST', 'item 1', /^"a:65536" is not host:port/);
  expectFault({ ONVIF_DISCOVERY_UNICAST: 'a:1,,b:2' }, 'ONVIF_DISCOVERY_UNICAST', 'item 2', /^"" is not host:port/);
  assert.deepEqual(loadConfig({ ONVIF_DISCOVERY_UNICAST: ' 10.0.0.5:3702, cams.local:65535 ' }).onvif.discoveryUnicast, [
    { host: '10.0.0.5', port: 3702 },
    { host: 'cams.local', port: 65535 },
  ]);
});

test('a bad boolean names the accepted words', () => {
  expectFault({ ONVIF_EVENTS: 'maybe' }, 'ONVIF_EVENTS', 'value', /^"maybe" is not true or false \(nor 1\/0, yes\/no, on\/off\)$/);
  for (const [text, value] of [['0', false], ['off', false], ['No', false], ['TRUE', true], ['1', true], ['yes', true]] as const)
    assert.equal(loadConfig({ ONVIF_DISCOVERY_MULTICAST: text }).onvif.discoveryMulticast, value, text);
});

test('other string rules: topic prefix, password length', () => {
  expectFault({ MQTT_TOPIC_PREFIX: 'campus/#' }, 'MQTT_TOPIC_PREFIX', 'value', /^"campus\/#" must be topic levels without wildcards or a trailing slash$/);
  expectFault({ MQTT_TOPIC_PREFIX: 'campus/v1/' }, 'MQTT_TOPIC_PREFIX', 'value', /trailing slash/);
  expectFault({ MQTT_TOPIC_PREFIX: 'campus v1' }, 'MQTT_TOPIC_PREFIX', 'value', /without wildcards/);
  assert.equal(loadConfig({ MQTT_TOPIC_PREFIX: 'county/7/v1' }).topicPrefix, 'county/7/v1');
  expectFault({ GATEWAY_ADMIN_PASSWORD: 'short' }, 'GATEWAY_ADMIN_PASSWORD', 'value', /^must be at least 8 characters$/);
});

test('secrets are never quoted back in a message', () => {
  const secrets: [Record<string, string>, string][] = [
    [{ GATEWAY_ADMIN_PASSWORD: 'hunter2' }, 'hunter2'],
    [{ ONVIF_PASSWORD: `cam-${'x'.repeat(300)}` }, 'cam-xxx'],
    [{ MQTT_URL: 'mqtt://gw:s3cret-pw@broker host:1883' }, 's3cret-pw'],
  ];
  for (const [env, secret] of secrets) {
    const e = fault(env);
    assert.ok(!e.message.includes(secret), `${e.message} quotes the secret`);
  }
  assert.match(fault({ ONVIF_PASSWORD: 'p'.repeat(300) }).message, /^ONVIF_PASSWORD at value: must be at most 256 characters$/);
});

test('ONVIF credentials from the environment reach the config (and nothing else reads them)', () => {
  assert.deepEqual(loadConfig({ ONVIF_USERNAME: 'admin', ONVIF_PASSWORD: 'cam-pw' }).onvif.credentials, { username: 'admin', password: 'cam-pw' });
  assert.deepEqual(loadConfig({}).onvif.credentials, { username: undefined, password: undefined });
  const src = fs.readFileSync(path.join(REPO_ROOT, 'gateway/ingest/camera-watch.ts'), 'utf8');
  assert.ok(!src.includes('process.env') && !src.includes('env.ONVIF_'), 'camera-watch.ts reads no environment');
});

test('MQTT_PASSWORD_FILE: read at start, one trailing newline trimmed; unreadable, empty or several lines named with the file, never quoted', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-pw-'));
  const file = path.join(dir, 'gateway.password');
  fs.writeFileSync(file, 's3cret-broker-pw\n');
  const c = loadConfig({ MQTT_URL: 'mqtt://b:1883', MQTT_USERNAME: 'campus-gateway', MQTT_PASSWORD_FILE: file });
  assert.equal(c.mqttUsername, 'campus-gateway');
  assert.equal(c.mqttPassword, 's3cret-broker-pw');
  expectFault({ MQTT_USERNAME: 'gw', MQTT_PASSWORD_FILE: path.join(dir, 'missing') }, path.join(dir, 'missing'), '(file)', /cannot read .*MQTT_PASSWORD_FILE \(ENOENT\)/);
  fs.writeFileSync(file, '\n');
  expectFault({ MQTT_USERNAME: 'gw', MQTT_PASSWORD_FILE: file }, file, '(file)', /is empty/);
  fs.writeFileSync(file, 's3cret-broker-pw\nsecond\n');
  const e = fault({ MQTT_USERNAME: 'gw', MQTT_PASSWORD_FILE: file });
  assert.match(e.problem, /one line/);
  assert.ok(!e.message.includes('s3cret'), e.message);
  expectFault({ MQTT_USERNAME: 'gw' }, 'MQTT_PASSWORD_FILE', 'value', /must be set when MQTT_USERNAME is/);
  expectFault({ MQTT_PASSWORD_FILE: file }, 'MQTT_USERNAME', 'value', /must be set when MQTT_PASSWORD_FILE is/);
});

test('CANTEEN_WEBHOOK_SECRET_FILE: read at start; short, unreadable or missing refused, never quoted', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hook-'));
  const file = path.join(dir, 'webhook.secret');
  fs.writeFileSync(file, 'a-long-enough-hook-secret\n', { mode: 0o600 });
  const url = 'https://hooks.example/{school}';
  assert.deepEqual(loadConfig({ CANTEEN_WEBHOOK_URL: url, CANTEEN_WEBHOOK_SECRET_FILE: file }).canteenWebhook, { url, secret: 'a-long-enough-hook-secret', timeoutMs: 10_000, maxBackoffMs: 60_000 });
  fs.writeFileSync(file, 'short-secret\n');
  const e = fault({ CANTEEN_WEBHOOK_URL: url, CANTEEN_WEBHOOK_SECRET_FILE: file });
  assert.match(e.problem, /at least 16 characters/);
  assert.ok(!e.message.includes('short-secret'), e.message);
  expectFault({ CANTEEN_WEBHOOK_URL: url, CANTEEN_WEBHOOK_SECRET_FILE: path.join(dir, 'missing') }, path.join(dir, 'missing'), '(file)', /cannot read .*CANTEEN_WEBHOOK_SECRET_FILE \(ENOENT\)/);
  expectFault({ CANTEEN_WEBHOOK_URL: url }, 'CANTEEN_WEBHOOK_SECRET_FILE', 'value', /must be set when CANTEEN_WEBHOOK_URL is/);
});

// GatewayConfig field of each variable, written out independently of the schema, so a variable
// that is parsed but wired to the wrong field (or to none) is caught.
const FIELD: Record<string, (c: GatewayConfig) => unknown> = {
  GATEWAY_PORT: (c) => c.port,
  GATEWAY_HOST: (c) => c.host,
  MQTT_URL: (c) => c.mqttUrl,
  MQTT_PORT: (c) => c.mqttPort,
  MQTT_HOST: (c) => c.mqttHost,
  MQTT_CLIENT_ID: (c) => c.mqttClientId,
  MQTT_SHARED_GROUP: (c) => c.mqttSharedGroup,
  MQTT_INGEST_WINDOW: (c) => c.mqttIngestWindow,
  MQTT_PROTOCOL_VERSION: (c) => String(c.mqttProtocolVersion),
  MQTT_USERNAME: (c) => c.mqttUsername,
  MQTT_PASSWORD_FILE: (c) => c.mqttPassword,
  MQTT_TOPIC_PREFIX: (c) => c.topicPrefix,
  DATA_DIR: (c) => c.dataDir,
  STORE_URL: (c) => c.storeUrl,
  REGISTRY: (c) => c.registryPath,
  POLICY: (c) => c.policyPath,
  DASHBOARD_DIR: (c) => c.dashboardDir,
  INFLUX_URL: (c) => c.influx?.url,
  INFLUX_TOKEN: (c) => c.influx?.token,
  INFLUX_ORG: (c) => c.influx?.org,
  INFLUX_BUCKET: (c) => c.influx?.bucket,
  GATEWAY_ADMIN_PASSWORD: (c) => c.adminPassword,
  LOG_LEVEL: (c) => c.logLevel,
  TLS_CERT_FILE: (c) => c.tls.files?.certFile,
  TLS_KEY_FILE: (c) => c.tls.files?.keyFile,
  TLS_CA_FILE: (c) => c.tls.files?.caFile,
  MQTT_TLS_PORT: (c) => c.tls.mqttTlsPort,
  MQTT_PLAIN: (c) => c.tls.mqttPlain,
  MQTT_CA_FILE: (c) => c.tls.mqttCaFile,
  ACK_TIMEOUT_SEC: (c) => c.ackTimeoutSec,
  ALARM_FLOOD_COUNT: (c) => c.alarmFlood.count,
  ALARM_FLOOD_WINDOW_SEC: (c) => c.alarmFlood.windowMs / 1000,
  ALARM_FLOOD_END_COUNT: (c) => c.alarmFlood.endCount,
  TOKEN_TTL_SEC: (c) => c.tokenTtlSec,
  CLOCK_SKEW_TOLERANCE_MS: (c) => c.clockSkewToleranceMs,
  LEDGER_SYNC: (c) => c.ledgerSync,
  FEED_RETAIN_FRAMES: (c) => c.feedRetainFrames,
  WS_MAX_BUFFERED_BYTES: (c) => c.wsMaxBufferedBytes,
  WS_RESUME_GRACE_MS: (c) => c.wsResumeGraceMs,
  EXPORT_BATCH_SIZE: (c) => c.export.batchSize,
  EXPORT_MAX_BATCH_AGE_MS: (c) => c.export.maxBatchAgeMs,
  INFLUX_TIMEOUT_MS: (c) => c.export.timeoutMs,
  EXPORT_MIN_BACKOFF_MS: (c) => c.export.minBackoffMs,
  EXPORT_MAX_BACKOFF_MS: (c) => c.export.maxBackoffMs,
  EXPORT_LAG_WARN_SEC: (c) => c.export.lagWarnSec,
  LEDGER_RAW_RETENTION_DAYS: (c) => c.rawRetentionDays,
  MISSED_HEARTBEATS: (c) => c.missedHeartbeats,
  BACKUP_DIR: (c) => c.backup.dir,
  BACKUP_INTERVAL_HOURS: (c) => c.backup.intervalHours,
  BACKUP_KEEP: (c) => c.backup.keep,
  CANTEEN_WEBHOOK_URL: (c) => c.canteenWebhook.url,
  CANTEEN_WEBHOOK_SECRET_FILE: (c) => c.canteenWebhook.secret,
  CANTEEN_WEBHOOK_TIMEOUT_MS: (c) => c.canteenWebhook.timeoutMs,
  CANTEEN_WEBHOOK_MAX_BACKOFF_MS: (c) => c.canteenWebhook.maxBackoffMs,
  MAINTENANCE_FLAP_HOLD_SEC: (c) => c.maintenanceFlapHoldSec,
  ONVIF_USERNAME: (c) => c.onvif.credentials.username,
  ONVIF_PASSWORD: (c) => c.onvif.credentials.password,
  ONVIF_PROBE_INTERVAL_SEC: (c) => c.onvif.probeIntervalSec,
  ONVIF_TIMEOUT_MS: (c) => c.onvif.timeoutMs,
  ONVIF_CONCURRENCY: (c) => c.onvif.concurrency,
  ONVIF_DETAILS_EVERY: (c) => c.onvif.detailsEveryN,
  ONVIF_EVENTS: (c) => c.onvif.events,
  ONVIF_DISCOVERY_MULTICAST: (c) => c.onvif.discoveryMulticast,
  ONVIF_DISCOVERY_UNICAST: (c) => c.onvif.discoveryUnicast.map((t) => `${t.host}:${t.port}`).join(','),
  ONVIF_DISCOVERY_INTERVAL_SEC: (c) => c.onvif.discoveryIntervalSec,
  COUNTY_ID: (c) => c.city?.county,
  CITY_MQTT_URL: (c) => c.city?.url,
  CITY_MQTT_USERNAME: (c) => c.city?.username,
  CITY_MQTT_PASSWORD_FILE: (c) => c.city?.password,
  CITY_MQTT_CA_FILE: (c) => c.city?.caFile,
  CITY_COUNTIES_FILE: (c) => c.cityHub?.countiesFile,
  CITY_INGEST_MQTT_URL: (c) => c.cityHub?.url,
  CITY_INGEST_USERNAME: (c) => c.cityHub?.username,
  CITY_INGEST_PASSWORD_FILE: (c) => c.cityHub?.password,
  CITY_INGEST_CA_FILE: (c) => c.cityHub?.caFile,
  CITY_UPLINK_BATCH_SIZE: (c) => c.cityUplink.batchSize,
  CITY_UPLINK_PUBACK_TIMEOUT_MS: (c) => c.cityUplink.pubackTimeoutMs,
};

test('every declared variable reaches its config field, and nothing undeclared is read', () => {
  assert.deepEqual(Object.keys(ConfigSchema.properties).sort(), Object.keys(FIELD).sort());
  // Variables that need a partner to be valid get it here.
  const pwFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-pw-')), 'gateway.password');
  fs.writeFileSync(pwFile, 'pw-from-file\n');
  const hookFile = path.join(path.dirname(pwFile), 'webhook.secret');
  fs.writeFileSync(hookFile, 'webhook-secret-from-file\n', { mode: 0o600 });
  const base = { INFLUX_URL: 'http://db:8086', INFLUX_BUCKET: 'b', TLS_CERT_FILE: 'c.pem', TLS_KEY_FILE: 'k.pem', MQTT_URL: 'mqtts://b:8883', MQTT_USERNAME: 'gw', MQTT_PASSWORD_FILE: pwFile, CANTEEN_WEBHOOK_URL: 'https://hooks:8443/{school}', CANTEEN_WEBHOOK_SECRET_FILE: hookFile };
  for (const name of Object.keys(FIELD)) {
    const d = declaration(name)!;
    const [text, expected]: [string, unknown] =
      d.envKind === 'int' ? [String(d.default === d.minimum ? d.maximum : d.minimum), d.default === d.minimum ? d.maximum : d.minimum]
      : d.envKind === 'bool' ? [String(!d.default), !d.default]
      : d.envKind === 'enum' ? [(d.anyOf as { const: string }[]).find((s) => s.const !== d.default)!.const, (d.anyOf as { const: string }[]).find((s) => s.const !== d.default)!.const]
      : d.envKind === 'url' ? Array(2).fill(name === 'MQTT_URL' || name === 'CITY_MQTT_URL' || name === 'CITY_INGEST_MQTT_URL' ? 'mqtts://elsewhere:8883' : name === 'STORE_URL' ? 'postgres://gw@elsewhere:5432/ledger' : 'https://elsewhere:8086') as [string, string]
      : d.envKind === 'hostports' ? ['h1:1,h2:2', 'h1:1,h2:2']
      : ['DATA_DIR', 'REGISTRY', 'POLICY', 'DASHBOARD_DIR'].includes(name) ? ['some/where', path.resolve('some/where')]
      : name === 'MQTT_PASSWORD_FILE' || name === 'CITY_MQTT_PASSWORD_FILE' || name === 'CITY_INGEST_PASSWORD_FILE' ? [pwFile, 'pw-from-file']
      : name === 'CITY_COUNTIES_FILE' ? ['some/counties.json', path.resolve('some/counties.json')]
      : name === 'COUNTY_ID' ? ['county-7', 'county-7']
      : name === 'CANTEEN_WEBHOOK_SECRET_FILE' ? [hookFile, 'webhook-secret-from-file']
      : name === 'MQTT_TOPIC_PREFIX' ? ['other/v2', 'other/v2']
      : ['some-value-1234', 'some-value-1234'];
    // A shared subscription also needs the shared ledger (STORE_URL), which BACKUP_DIR refuses: given here alone.
    // The city uplink's variables only show in the config with the whole uplink (decision 0010).
    const partner =
      name === 'MQTT_SHARED_GROUP' ? { STORE_URL: 'postgres://gw@db:5432/ledger' }
      : name.startsWith('CITY_COUNTIES') || name.startsWith('CITY_INGEST') ? { CITY_COUNTIES_FILE: 'counties.json', CITY_INGEST_MQTT_URL: 'mqtt://city:1883', CITY_INGEST_USERNAME: 'city', CITY_INGEST_PASSWORD_FILE: pwFile }
      : name === 'COUNTY_ID' || name.startsWith('CITY_') ? { COUNTY_ID: 'east', CITY_MQTT_URL: 'mqtt://city:1883', CITY_MQTT_USERNAME: 'county-east', CITY_MQTT_PASSWORD_FILE: pwFile }
      : {};
    assert.equal(FIELD[name](loadConfig({ ...base, ...partner, [name]: text })), expected, name);
  }
});

/** The README's generated table as { variable: { default, allowed } }. */
function readmeRows(): Map<string, { def: string; allowed: string; plus: boolean }> {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const block = readme.slice(readme.indexOf(DOCS_START) + DOCS_START.length, readme.indexOf(DOCS_END));
  const rows = new Map<string, { def: string; allowed: string; plus: boolean }>();
  for (const line of block.split('\n').slice(3, -1)) {
    const [name, def, allowed] = line.split(' | ').map((c) => c.replace(/^\| /, ''));
    rows.set(name.replace(/[` ＋]/g, ''), { def, allowed, plus: name.endsWith('＋') });
  }
  return rows;
}

test("the README's configuration table is the one generated from the schema (npm run config-docs -- --write)", () => {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(DOCS_START);
  const end = readme.indexOf(DOCS_END);
  assert.ok(start >= 0 && end > start, 'README.md has the config markers');
  assert.equal(readme.slice(start + DOCS_START.length, end).trim(), configTable(), 'README.md is out of date: run npm run config-docs -- --write');
  assert.ok(!readme.slice(start, end).includes('MQTT_SHARE_GROUP'));
});

test('defaults are what the README says', () => {
  const c = loadConfig({});
  const rows = readmeRows();
  assert.equal(rows.size, Object.keys(FIELD).length);
  for (const [name, row] of rows) {
    const actual = FIELD[name](c);
    const literal = /^`(.*)`$/.exec(row.def)?.[1];
    if (['DATA_DIR', 'REGISTRY', 'POLICY', 'DASHBOARD_DIR'].includes(name)) {
      // Paths: the default is relative to the working directory (data) or to the installation.
      assert.equal(actual, path.resolve(name === 'DATA_DIR' ? process.cwd() : REPO_ROOT, literal!), name);
    } else if (literal !== undefined) {
      assert.equal(String(actual), literal, name);
    } else {
      assert.ok(actual === undefined || actual === '', `${name}: README says "${row.def}", config has ${String(actual)}`);
    }
  }
  assert.equal(c.onvif.probeIntervalSec, 30);
  assert.equal(c.ackTimeoutSec, 30);
  assert.equal(c.ledgerSync, 'full');
});

test('a set path is relative to the working directory, a default one to the installation', () => {
  assert.equal(loadConfig({}).registryPath, path.join(REPO_ROOT, 'config', 'county.json'));
  assert.equal(loadConfig({ REGISTRY: 'county.json' }).registryPath, path.resolve(process.cwd(), 'county.json'));
  assert.equal(loadConfig({ DATA_DIR: '/var/lib/gw' }).dataDir, '/var/lib/gw');
  assert.equal(loadConfig({}).policyPath, path.join(REPO_ROOT, 'config', 'policy.json'));
  assert.equal(loadConfig({}).policyIsDefault, true);
  assert.equal(loadConfig({ POLICY: 'policy.json' }).policyPath, path.resolve(process.cwd(), 'policy.json'));
  assert.equal(loadConfig({ POLICY: 'policy.json' }).policyIsDefault, false);
});

test('units: each number declares the unit its name carries, and the README shows it with the range', () => {
  const rows = readmeRows();
  const SUFFIX: Record<string, string> = { _SEC: 's', _MS: 'ms', _BYTES: 'bytes', _DAYS: 'days' };
  for (const name of Object.keys(ConfigSchema.properties)) {
    const d = declaration(name)!;
    if (d.envKind !== 'int') continue;
    const suffix = Object.keys(SUFFIX).find((s) => name.endsWith(s));
    if (suffix) assert.equal(d.unit, SUFFIX[suffix], `${name} is in ${SUFFIX[suffix]}`);
    if (!name.endsWith('_PORT')) assert.ok(d.unit, `${name} declares a unit`);
    assert.equal(rows.get(name)!.allowed, `${d.minimum}..${d.maximum}${d.unit ? ` ${d.unit}` : ''}`, name);
  }
  // The unit is applied where the value is used: seconds stay seconds in the config's name.
  assert.equal(loadConfig({ MAINTENANCE_FLAP_HOLD_SEC: '7' }).maintenanceFlapHoldSec, 7);
  assert.equal(loadConfig({ CLOCK_SKEW_TOLERANCE_MS: '2000' }).clockSkewToleranceMs, 2000);
});

test('＋ marks exactly the variables that are not in contract §5', (t) => {
  const contract = path.resolve(REPO_ROOT, '../shared/CONTRACT.md');
  if (!fs.existsSync(contract)) return t.skip(`${contract} is not beside this checkout`);
  const text = fs.readFileSync(contract, 'utf8');
  const section = text.slice(text.indexOf('## 5.'), text.indexOf('## 6.'));
  const inContract = new Set([...section.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]));
  for (const [name, row] of readmeRows()) assert.equal(row.plus, !inContract.has(name), `${name}: ＋ means "not in contract §5"`);
});

// --- the ONVIF credentials file -----------------------------------------------------------

function registryWith(credentialsFile: string | undefined, dir: string) {
  const reg: Registry = {
    version: 1,
    county: { id: 'c1', name: 'Test county', region: 'r' },
    defaults: { heartbeatIntervalSec: { alarm_button: 30, camera: 60, gate: 60, checkin_terminal: 60 } },
    schools: [
      {
        id: 's1',
        name: 'School 1',
        type: 'primary',
        students: 100,
        region: 'r',
        devices: [
          { id: 'cam-a', kind: 'camera', name: 'A', zone: 'campus', onvif: 'http://10.0.0.1/onvif/device_service' },
          { id: 'cam-b', kind: 'camera', name: 'B', zone: 'campus', onvif: 'http://10.0.0.2/onvif/device_service' },
          { id: 'cam-c', kind: 'camera', name: 'C', zone: 'campus' },
          { id: 'btn-1', kind: 'alarm_button', name: 'Button' },
        ],
      },
    ],
    ...(credentialsFile ? { onvifCredentials: credentialsFile } : {}),
  };
  return indexRegistry(reg, path.join(dir, 'county.json'));
}

function withCredentialsFile(content: string | undefined): { registry: ReturnType<typeof registryWith>; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onvif-cred-'));
  const file = path.join(dir, 'secrets', 'onvif.json');
  if (content !== undefined) {
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, content);
  }
  return { registry: registryWith('secrets/onvif.json', dir), file };
}

function credentialsFault(content: string | undefined): ConfigError {
  const { registry } = withCredentialsFile(content);
  try {
    onvifTargets(registry, { username: 'env-user', password: 'env-pw' });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('no ConfigError');
}

test('credentials: a camera entry, else the default entry, else the environment; a field missing from an entry comes from the environment', () => {
  const fallback = { username: 'env-user', password: 'env-pw' };
  const none = registryWith(undefined, os.tmpdir());
  assert.deepEqual(onvifTargets(none, fallback), [
    { id: 'cam-a', url: 'http://10.0.0.1/onvif/device_service', username: 'env-user', password: 'env-pw' },
    { id: 'cam-b', url: 'http://10.0.0.2/onvif/device_service', username: 'env-user', password: 'env-pw' },
  ]);
  const { registry } = withCredentialsFile(JSON.stringify({ default: { username: 'dflt', password: 'dflt-pw' }, cameras: { 'cam-b': { password: 'b-pw' } } }));
  assert.deepEqual(
    onvifTargets(registry, fallback).map((t) => [t.id, t.username, t.password]),
    [
      ['cam-a', 'dflt', 'dflt-pw'],
      ['cam-b', 'env-user', 'b-pw'],
    ],
  );
});

test('credentials file: missing, not JSON, or of the wrong shape, named with the place and the fault', () => {
  const missing = credentialsFault(undefined);
  assert.match(missing.source, /secrets\/onvif\.json$/);
  assert.equal(missing.where, '(file)');
  assert.match(missing.problem, /^cannot read the ONVIF credentials file named by .*county\.json \/onvifCredentials \(ENOENT\)$/);

  const notJson = credentialsFault('{\n  "default": {"username": "a", "password": "b"},\n}');
  assert.equal(notJson.where, 'line 3 column 1');
  assert.match(notJson.problem, /is not valid JSON/);

  const cases: [unknown, string, RegExp][] = [
    [{ cameras: { 'cam-a': { username: 'a', pasword: 'topsecret' } } }, '/cameras/cam-a/pasword', /^unknown field "pasword"$/],
    [{ default: { username: 42, password: 'topsecret' } }, '/default/username', /^must be a string$/],
    [{ default: { username: '', password: 'topsecret' } }, '/default/username', /^must not be empty$/],
    [{ default: {} }, '/default', /^is empty: \{"username": "…", "password": "…"\}$/],
    [{ default: 'admin:topsecret' }, '/default', /^must be an object: \{"username": "…", "password": "…"\}$/],
    [{ defaults: { username: 'a' } }, '/defaults', /^unknown field "defaults"$/],
    [['topsecret'], '(root)', /^must be an object: /],
    [{ cameras: { 'cam-x': { username: 'a', password: 'topsecret' } } }, '/cameras/cam-x', /^"cam-x" is not a camera in the registry .*county\.json$/],
    [{ cameras: { 'btn-1': { username: 'a', password: 'topsecret' } } }, '/cameras/btn-1', /is not a camera/],
  ];
  for (const [content, where, problem] of cases) {
    const e = credentialsFault(JSON.stringify(content));
    assert.match(e.source, /secrets\/onvif\.json$/);
    assert.equal(e.where, where, e.message);
    assert.match(e.problem, problem, e.message);
    assert.ok(!e.message.includes('topsecret'), `${e.message} quotes a password`);
  }
});

test('STORE_URL: postgres:// or postgresql:// selects PostgreSQL; another scheme, or BACKUP_DIR beside it, is refused', () => {
  assert.equal(loadConfig({}).storeUrl, undefined, 'unset: SQLite');
  assert.equal(loadConfig({ STORE_URL: 'postgresql://gw@db/ledger?sslmode=require' }).storeUrl, 'postgresql://gw@db/ledger?sslmode=require');
  assert.throws(() => loadConfig({ STORE_URL: 'mysql://gw:secret@db/ledger' }), (err: Error) => err instanceof ConfigError && /STORE_URL/.test(err.message) && /postgres:\/\//.test(err.message) && !/secret/.test(err.message));
  assert.throws(() => loadConfig({ STORE_URL: 'postgres://db/ledger', BACKUP_DIR: '/backups' }), (err: Error) => err instanceof ConfigError && /BACKUP_DIR/.test(err.message) && /pg_dump/.test(err.message));
});

test('MQTT_SHARED_GROUP: one topic level, only with an external broker and a PostgreSQL ledger', () => {
  const both = { MQTT_URL: 'mqtt://broker:1883', STORE_URL: 'postgres://db/ledger' };
  assert.equal(loadConfig({}).mqttSharedGroup, undefined, 'unset: one gateway');
  assert.equal(loadConfig({ ...both, MQTT_SHARED_GROUP: 'region-7' }).mqttSharedGroup, 'region-7');
  for (const bad of ['a/b', 'g#', 'g+', 'a b'])
    assert.throws(() => loadConfig({ ...both, MQTT_SHARED_GROUP: bad }), (err: Error) => err instanceof ConfigError && /MQTT_SHARED_GROUP/.test(err.message) && /one topic level/.test(err.message), bad);
  assert.throws(() => loadConfig({ STORE_URL: both.STORE_URL, MQTT_SHARED_GROUP: 'g' }), (err: Error) => err instanceof ConfigError && /MQTT_URL/.test(err.message));
  assert.throws(() => loadConfig({ MQTT_URL: both.MQTT_URL, MQTT_SHARED_GROUP: 'g' }), (err: Error) => err instanceof ConfigError && /STORE_URL/.test(err.message));
});

test('the city uplink (decision 0010): a county id, a login, a SQLite ledger; each gap refused by name', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-pw-'));
  const pw = path.join(dir, 'county.password');
  fs.writeFileSync(pw, 'county-secret-123\n', { mode: 0o600 });
  const uplink = { COUNTY_ID: 'east', CITY_MQTT_URL: 'mqtts://city:8883', CITY_MQTT_USERNAME: 'county-east', CITY_MQTT_PASSWORD_FILE: pw };
  assert.equal(loadConfig({}).city, undefined, 'unset: a single county, no uplink');
  assert.deepEqual(loadConfig(uplink).city, { county: 'east', url: 'mqtts://city:8883', username: 'county-east', password: 'county-secret-123', caFile: undefined });
  const refused = (env: Record<string, string>, name: string, why: RegExp) =>
    assert.throws(() => loadConfig(env), (err: Error) => err instanceof ConfigError && err.message.includes(name) && why.test(err.message) && !err.message.includes('county-secret-123'), `${name} ${why}`);
  refused({ ...uplink, COUNTY_ID: '' }, 'CITY_MQTT_URL', /set COUNTY_ID/);
  refused({ ...uplink, COUNTY_ID: 'East/1' }, 'COUNTY_ID', /one topic level/);
  refused({ ...uplink, CITY_MQTT_USERNAME: '' }, 'CITY_MQTT_USERNAME', /must be set when CITY_MQTT_URL is/);
  refused({ ...uplink, CITY_MQTT_PASSWORD_FILE: '' }, 'CITY_MQTT_PASSWORD_FILE', /must be set when CITY_MQTT_USERNAME is/);
  refused({ ...uplink, CITY_MQTT_URL: 'http://city:80' }, 'CITY_MQTT_URL', /mqtt:\/\//);
  refused({ ...uplink, CITY_MQTT_PASSWORD_FILE: path.join(dir, 'missing') }, 'CITY_MQTT_PASSWORD_FILE', /ENOENT/);
  fs.writeFileSync(pw, '\n');
  refused(uplink, 'CITY_MQTT_PASSWORD_FILE', /is empty/);
});
