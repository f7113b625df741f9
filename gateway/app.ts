/**
 * Builds the gateway: every service, the Fastify app and its routes. `server.ts` is the only file
 * that listens or exits; tests build the same app. Services start in dependency order and stop
 * in reverse (ARCHITECTURE "distilled" 4).
 */
import fs from 'node:fs';
import path from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyHelmet from '@fastify/helmet';
import fastifyJwt from '@fastify/jwt';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import { UserStore, loadOrCreateSecret } from './auth/users.js';
import { LoginThrottle } from './auth/throttle.js';
import { KioskStore } from './auth/kiosks.js';
import type { GatewayConfig } from './config.js';
import { topics, type DeviceTopic } from './contract/mqtt.js';
import type { Snapshot } from './contract/api.js';
import { Dispatcher } from './core/dispatcher.js';
import { buildModules, type GatewayModule } from './core/module.js';
import type { DeviceInput } from './ingest/parse.js';
import { Scheduler } from './core/scheduler.js';
import { FeedFollower } from './core/follower.js';
import { HttpError } from './errors.js';
import type { Bus, ClientCertificate, MqttIdentity } from './ingest/bus.js';
import { certificateLogin } from './auth/device-cert.js';
import { readCa, readTls } from './config/tls.js';
import type { CityUplinkModule } from './modules/city-uplink/index.js';
import { EmbeddedBroker } from './ingest/embedded-broker.js';
import { MqttClientBus } from './ingest/mqtt-client.js';
import { mqttIngest } from './ingest/mqtt-ingest.js';
import { createMetrics } from './metrics.js';
import { MODULES } from './modules/index.js';
import type { ExportModule } from './modules/export/index.js';
import type { IdentityModule } from './modules/identity/index.js';
import { subscribeAllowed } from './ingest/mqtt-acl.js';
import { roleRank } from './auth/users.js';
import { LiveHub } from './push/hub.js';
import { loadPolicy } from './policy.js';
import { loadRegistry } from './registry.js';
import { authRoutes } from './routes/auth.js';
import { kioskRoutes } from './routes/kiosks.js';
import { auditOnSend } from './modules/audit/hook.js';
import type { AuditModule } from './modules/audit/index.js';
import { healthRoutes } from './routes/health.js';
import { liveRoutes } from './routes/live.js';
import type { Services } from './services.js';
import { scheduleBackups } from './store/backup.js';
import { SqliteStore } from './store/sqlite-store.js';
import { PostgresStore } from './store/postgres-store.js';
import type { Store } from './store/store.js';

/** The pruning job's lease: shorter than its minute, so that the next minute's run may be anyone's. */
const PRUNE_LEASE_MS = 50_000;
/** Job leases over for this long are deleted: every job they held is long done or taken again. */
const JOB_LEASE_RETAIN_MS = 86_400_000;

export interface BuiltGateway {
  app: FastifyInstance;
  services: Services;
  /** Set when the users file was created with a generated admin password (print it once). */
  generatedAdminPassword?: string;
}

/** Raw device events (and `ai_snapshot`, which follows its `ai`) leave the store after LEDGER_RAW_RETENTION_DAYS (they are in the time-series database); alarms and operators' actions stay. */
/** Inputs whose raw event is not written at all: a heartbeat lives on as the device's state and its time-series point (#13). */
const UNSTORED_EVENT_TYPES: ReadonlySet<string> = new Set(['heartbeat']);
const RAW_EVENT_TYPES = ['heartbeat', 'availability', 'camera', 'ai', 'ai_snapshot', 'gate', 'checkin'];

export async function buildGateway(config: GatewayConfig, log: Logger): Promise<BuiltGateway> {
  const registry = loadRegistry(config.registryPath);
  const policy = loadPolicy(config.policyPath, registry, { unknownSchools: config.policyIsDefault ? 'ignore' : 'refuse' });
  for (const w of policy.warnings) log.warn(w);
  const users = new UserStore(config.dataDir);
  const created = await users.init(config.adminPassword);
  const kiosks = new KioskStore(config.dataDir);
  kiosks.load();
  const metrics = createMetrics();
  const loginThrottle = new LoginThrottle();
  // STORE_URL=postgres://… puts the ledger on PostgreSQL (issue #14); unset, SQLite in DATA_DIR.
  const sqlite = config.storeUrl ? undefined : new SqliteStore({ dataDir: config.dataDir, sync: config.ledgerSync, log: log.child({ module: 'store' }), copyFeedToCity: config.city !== undefined });
  const store: Store = sqlite ?? new PostgresStore({ url: config.storeUrl!, dataDir: config.dataDir, log: log.child({ module: 'store' }), copyFeedToCity: config.city !== undefined });
  const topicNames = topics(config.topicPrefix);
  // Read at start, so a missing or mismatched file stops the gateway before it listens.
  const tls = config.tls.files ? readTls(config.tls.files) : undefined;

  let hub: LiveHub | undefined;
  let follower: FeedFollower | undefined;
  let exporter: ExportModule | undefined;
  let cityUplink: CityUplinkModule | undefined;
  const dispatcher = new Dispatcher({
    store,
    metrics,
    log: log.child({ module: 'dispatcher' }),
    timeSeries: config.influx !== undefined,
    unstoredTypes: UNSTORED_EVENT_TYPES,
    onFeed: (frames) => {
      follower?.committed(frames);
      hub?.poke();
      cityUplink?.poke();
    },
    onOutbox: () => exporter?.poke(),
  });
  const scheduler = new Scheduler(log.child({ module: 'scheduler' }));
  const bus: Bus = config.mqttUrl
    ? new MqttClientBus({
        url: config.mqttUrl,
        clientId: config.mqttClientId,
        window: config.mqttIngestWindow,
        protocolVersion: config.mqttProtocolVersion,
        username: config.mqttUsername,
        password: config.mqttPassword,
        // Several gateways (MQTT_SHARED_GROUP): the broker hands each message to one of them (decision 0009).
        filter: config.mqttSharedGroup ? `$share/${config.mqttSharedGroup}/${topicNames.deviceFilter}` : topicNames.deviceFilter,
        statusTopic: topicNames.status,
        ca: config.tls.mqttCaFile === undefined ? undefined : readCa(config.tls.mqttCaFile, 'MQTT_CA_FILE'),
        log: log.child({ module: 'mqtt' }),
      })
    : new EmbeddedBroker({
        host: config.mqttHost,
        port: config.mqttPort,
        plain: config.tls.mqttPlain,
        tls: tls && { port: config.tls.mqttTlsPort, ...tls },
        statusTopic: topicNames.status,
        log: log.child({ module: 'broker' }),
        auth: {
          authenticate: (clientId, username, password, cert) => mqttLogin(clientId, username, password, cert),
          canSubscribe: (who, filter) => subscribeAllowed(config.topicPrefix, who, filter, (id) => registry.devices.get(id)?.kind),
        },
      });

  /** A device logs in as itself with its own secret or certificate; a tool as a gateway user of role maintenance or above (contract §6). */
  async function mqttLogin(clientId: string, username: string | undefined, password: Buffer | undefined, cert?: ClientCertificate): Promise<MqttIdentity | { refused: string; badCredentials: boolean }> {
    const byCertificate = certificateLogin(registry, clientId, username, password, cert);
    if (byCertificate) return byCertificate;
    if (!username || password === undefined) return { refused: 'anonymous: log in with the device id and its secret', badCredentials: true };
    const device = registry.devices.get(username);
    if (device) {
      if (clientId !== username) return { refused: `client id "${clientId.slice(0, 80)}" must be the device id "${username}"`, badCredentials: false };
      if (!identity.verify(device.id, password)) return { refused: `wrong secret for device "${device.id}", or none made yet (POST /api/devices/${device.id}/credentials)`, badCredentials: true };
      return { kind: 'device', device: device.id, school: device.school };
    }
    if (registry.devices.has(clientId)) return { refused: `client id "${clientId}" is a device's: only that device may use it`, badCredentials: false };
    // A tool's login is an operator's login (contract §6: audited, like HTTP's); a device's is not.
    const audited = (status: number, error?: string) =>
      module<AuditModule>('audit').record({ user: username.slice(0, 64), from: 'mqtt', action: 'login', status, detail: { via: 'mqtt', clientId: clientId.slice(0, 64), error } }).catch((err) => log.error({ err }, 'audit entry not written'));
    const wait = loginThrottle.retryAfterSec(username);
    if (wait > 0) {
      void audited(429, 'too_many_attempts');
      return { refused: `too many failed logins for "${username.slice(0, 80)}": try again in ${wait} s`, badCredentials: false };
    }
    const verified = await users.verify(username, password.toString('utf8'));
    const role = verified?.role ?? null;
    if (role === null) loginThrottle.failed(username);
    else loginThrottle.succeeded(username);
    if (role === null) {
      void audited(401, 'bad_credentials');
      return { refused: `unknown device or user "${username.slice(0, 80)}", or wrong password`, badCredentials: true };
    }
    if (roleRank(role) < roleRank('maintenance')) {
      void audited(403, 'forbidden');
      return { refused: `user "${username}" is a ${role}: MQTT tool logins need maintenance or above`, badCredentials: false };
    }
    void audited(200);
    return { kind: 'user', user: username };
  }

  const modules = buildModules(MODULES, { config, registry, policy, store, dispatcher, scheduler, bus, metrics, log, now: Date.now });
  const byName = new Map(modules.map((m) => [m.name, m]));
  const module = <T,>(name: string): T => {
    const m = byName.get(name);
    if (!m) throw new Error(`no module "${name}"`);
    return m as T;
  };
  exporter = module<ExportModule>('export');
  if (config.city) cityUplink = module<CityUplinkModule>('city-uplink');
  const identity = module<IdentityModule>('identity');
  dispatcher.use(modules);
  await store.open(modules.flatMap((m) => m.tables ?? []));

  // On PostgreSQL, other gateways may share the ledger: apply their commits too (decision 0009).
  if (store.feedHead && store.watchFeed)
    follower = new FeedFollower({ store: store as ConstructorParameters<typeof FeedFollower>[0]['store'], dispatcher, modules, log: log.child({ module: 'follower' }), onApplied: () => hub?.poke() });
  const applied = follower;
  hub = new LiveHub({
    // Screens get frames up to what this gateway's projections hold (all of its own, on SQLite).
    store: applied
      ? {
          lastFeedSeq: () => applied.applied,
          feedSince: async (seq, limit) => (await store.feedSince(seq, limit))?.filter((f) => f.seq <= applied.applied) ?? null,
        }
      : store,
    // Each module's part of the snapshot (contract §4: alarms, devices, schools, maintenance, …).
    snapshot: (school) => Object.assign({}, ...modules.map((m) => m.snapshot?.(school) ?? {})) as Snapshot,
    log: log.child({ module: 'live' }),
    metrics,
    resumeGraceMs: config.wsResumeGraceMs,
    maxBufferedBytes: config.wsMaxBufferedBytes,
  });

  // Changing or deleting a user ends its tokens (verifyToken) and, here, its open live sockets.
  users.onRevoke((user, why) => hub!.endUser(user, why === 'deleted' ? 'user deleted' : 'user changed'));
  kiosks.onRevoke((id) => hub!.endUser(`kiosk:${id}`, 'kiosk revoked'));
  // `npm run user` (or an edit) while we run: seen within a second, audited, tokens ended.
  const unwatchUsers = users.watch(
    (user, change, role) => {
      log.warn({ user, change, role, file: users.file }, 'users file changed outside the gateway');
      void module<AuditModule>('audit')
        .record({ user: 'users-file', from: 'users-file', action: change === 'deleted' ? 'user.delete' : 'user.save', target: user, status: 200, detail: { role, change } })
        .catch((err) => log.error({ err }, 'audit entry not written'));
    },
    (err) => log.error({ err: err.message, file: users.file }, 'users file changed but cannot be read: the accounts stay as they were'),
  );

  const services: Services = { config, registry, policy, store, dispatcher, metrics, bus, hub, users, kiosks, loginThrottle, modules, module, startedAt: Date.now() };

  const app = Fastify({
    // HTTPS replaces HTTP on GATEWAY_PORT (contract §5); /live is then wss on the same server.
    ...(tls ? { https: { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' as const } } : {}),
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
    // A client that trickles its request cannot hold a socket for long: headers and body within
    // 15 s, an idle socket (keep-alive or never sending anything) closed after 10 s.
    connectionTimeout: 10_000,
    requestTimeout: 15_000,
    keepAliveTimeout: 5_000,
    // Per-request lines would drown what matters on a wall-screen gateway; routes log their own actions.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.decorate('gw', services);

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof HttpError) return reply.code(err.statusCode).send({ error: err.code, message: err.message, ...err.extra });
    const e = err as { validation?: unknown; statusCode?: number; message: string; code?: string };
    if (e.validation) return reply.code(400).send({ error: 'bad_request', message: e.message });
    const status = e.statusCode && e.statusCode >= 400 ? e.statusCode : 500;
    if (status < 500) return reply.code(status).send({ error: codeFor(status), message: e.message });
    // A 5xx never shows internals (contract §3).
    req.log.error({ err }, 'request failed');
    return reply.code(status).send({ error: 'internal', message: 'internal error; see the gateway log' });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` }));

  await app.register(fastifyHelmet, securityHeaders);
  await app.register(fastifyJwt, { secret: loadOrCreateSecret(config.dataDir) });
  await app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024 } });
  await app.register((await import('./routes/openapi.js')).openapiRoutes); // before the routes: it collects them
  // Before the routes, so that every audited route (its `config.audit`) is recorded.
  app.addHook('onSend', auditOnSend(module<AuditModule>('audit')));
  await app.register(healthRoutes);
  await app.register(authRoutes);
  await app.register(kioskRoutes);
  for (const m of modules) if (m.routes) await app.register(m.routes);
  await app.register(liveRoutes);
  if (fs.existsSync(config.dashboardDir)) {
    await app.register(fastifyStatic, { root: config.dashboardDir, prefix: '/', index: 'index.html' });
    // The operator console (issue #12): the same bundle as the wall (`/`), which reads its path and
    // runs as the console there. `/console/` would resolve the page's relative assets under it.
    app.get('/console', { schema: { hide: true } }, (_req, reply) => reply.sendFile('index.html'));
    app.get('/console/', { schema: { hide: true } }, (_req, reply) => reply.redirect('/console'));
  } else {
    log.warn({ dir: config.dashboardDir }, 'wall screen not built (npm run build); serving the API only');
  }

  // Start order: store (opened above) → projections → modules → transport. Stop: the reverse.
  for (const m of modules) await m.load?.();
  for (const m of modules) await m.start?.();
  await follower?.start();
  const runId = await store.startRun(Date.now());
  // Our own run is marked alive every second: uptime reports count time after the last mark as
  // "gateway down" (unknown), so the mark's resolution is the report's.
  // A failing mark is logged once by the store and, repeated, turns /health 503 (store.health()).
  scheduler.every('core:run-mark', 1000, () => store.touchRun(runId, Date.now()).catch(() => undefined));
  if (config.backup.dir && sqlite)
    scheduleBackups({ scheduler, backup: (file) => sqlite.backup(file), dir: path.resolve(config.backup.dir), intervalMs: config.backup.intervalHours * 3_600_000, keep: config.backup.keep, log: log.child({ module: 'backup' }) });
  // Topics a module turns into its own events (the canteen's `record`): one claim per topic.
  const claims = new Map<string, NonNullable<NonNullable<GatewayModule['deviceInputs']>[DeviceTopic]>>();
  for (const m of modules)
    for (const [topic, fn] of Object.entries(m.deviceInputs ?? {})) {
      if (claims.has(topic)) throw new Error(`device topic "${topic}" is claimed by two modules`);
      claims.set(topic, fn!);
    }
  const refine = (input: DeviceInput) => claims.get(input.topic)?.(input);
  await bus.start(mqttIngest({ registry, topicPrefix: config.topicPrefix, dispatcher, bus, refine, log: log.child({ module: 'ingest' }) }));
  // Keep the live feed's replay window bounded (a screen away for longer gets a snapshot), and
  // raw device events to their retention.
  scheduler.every('core:prune', 60_000, async () => {
    try {
      await store.pruneFeed(config.feedRetainFrames); // every gateway: it also trims its own feed cache
      // Several gateways on one ledger (decision 0009): one of them deletes old rows each minute.
      if (store.claimJob && !(await store.claimJob('core:prune', PRUNE_LEASE_MS))) return;
      await store.pruneEvents(RAW_EVENT_TYPES, Date.now() - config.rawRetentionDays * 86_400_000, 50_000);
      await store.pruneJobLeases?.(JOB_LEASE_RETAIN_MS);
    } catch (err) {
      log.warn({ err }, 'ledger pruning failed');
    }
  });
  app.addHook('onClose', async () => {
    unwatchUsers();
    hub.close();
    await bus.stop();
    await follower?.stop();
    for (const m of [...modules].reverse()) await m.stop?.();
    await dispatcher.stop();
    scheduler.stop();
    await store.touchRun(runId, Date.now()).catch(() => undefined);
    await store.close();
  });

  return { app, services, generatedAdminPassword: created.generatedPassword };
}

/**
 * Headers on every answer (the wall screen's too): the screen loads nothing but the gateway's
 * own files (its bundle, its font, a data: favicon; blob: images are photos it fetched itself) and talks only to the gateway (HTTP and the
 * /live WebSocket of the same host), so the CSP allows exactly that. No
 * `upgrade-insecure-requests` and no HSTS: the gateway is often reached over plain HTTP on a LAN.
 */
const securityHeaders = {
  global: true,
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      'default-src': ["'self'"],
      'script-src': ["'self'"],
      'style-src': ["'self'"],
      // blob:: inspection photos (contract §7), fetched with the bearer token and shown through an object URL made by the page itself.
      'img-src': ["'self'", 'data:', 'blob:'],
      'font-src': ["'self'"],
      // 'self' covers ws:/wss: of the same host in CSP 3 browsers; older ones need it spelled out.
      'connect-src': ["'self'", (req: { headers: { host?: string } }) => sameHostSockets(req.headers.host)],
      'object-src': ["'none'"],
      'base-uri': ["'none'"],
      'form-action': ["'self'"],
      'frame-ancestors': ["'none'"],
    },
  },
  frameguard: { action: 'deny' as const },
  referrerPolicy: { policy: 'no-referrer' as const },
  strictTransportSecurity: false,
  crossOriginEmbedderPolicy: false,
};

/** `ws://host wss://host` for a Host header that is a plain host[:port]; nothing for anything else (it goes into a header). */
function sameHostSockets(host: string | undefined): string {
  return host && /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host) ? `ws://${host} wss://${host}` : '';
}

function codeFor(status: number): string {
  return ({ 400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed', 409: 'conflict', 413: 'payload_too_large', 415: 'unsupported_media_type', 429: 'too_many_requests' } as Record<number, string>)[status] ?? 'error';
}
