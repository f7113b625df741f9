/**
 * Builds the gateway: every service, the Fastify app and its routes. `server.ts` is the only file
 * that listens or exits; tests build the same app. Services start in dependency order and stop
 * in reverse (ARCHITECTURE "distilled" 4).
 */
import fs from 'node:fs';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyJwt from '@fastify/jwt';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import { UserStore, loadOrCreateSecret } from './auth/users.js';
import type { GatewayConfig } from './config.js';
import { topics } from './contract/mqtt.js';
import { snapshot } from './domain/views.js';
import { HttpError } from './errors.js';
import { EmbeddedBroker } from './ingest/embedded-broker.js';
import { MqttClientBus } from './ingest/mqtt-client.js';
import { onvifTargets, startCameraWatch } from './ingest/camera-watch.js';
import type { CameraPayload } from './contract/mqtt.js';
import { onvifRoutes } from './routes/onvif.js';
import type { Bus } from './ingest/bus.js';
import { SqliteLedger } from './ledger/sqlite-ledger.js';
import { InfluxExporter } from './export/influx-exporter.js';
import { createMetrics } from './metrics.js';
import { Pipeline } from './pipeline.js';
import { LiveHub } from './push/hub.js';
import { loadRegistry } from './registry.js';
import { alarmRoutes } from './routes/alarms.js';
import { authRoutes } from './routes/auth.js';
import { healthRoutes } from './routes/health.js';
import { liveRoutes } from './routes/live.js';
import { registryRoutes } from './routes/registry.js';
import { maintenanceRoutes } from './routes/maintenance.js';
import type { Services } from './services.js';

export interface BuiltGateway {
  app: FastifyInstance;
  services: Services;
  /** Set when the users file was created with a generated admin password (print it once). */
  generatedAdminPassword?: string;
}

export async function buildGateway(config: GatewayConfig, log: Logger): Promise<BuiltGateway> {
  const registry = loadRegistry(config.registryPath);
  const users = new UserStore(config.dataDir);
  const created = await users.init(config.adminPassword);
  const metrics = createMetrics();
  const ledger = new SqliteLedger({ dataDir: config.dataDir, sync: config.ledgerSync });
  const topicNames = topics(config.topicPrefix);

  const cameraTargets = onvifTargets(registry, process.env);
  const onvifIds = new Set(cameraTargets.map((t) => t.id));
  const exporter = config.influx
    ? new InfluxExporter({ influx: config.influx, ledger, log: log.child({ module: 'export' }), metrics, ...config.export })
    : undefined;
  let hub: LiveHub | undefined;
  const pipeline = new Pipeline({
    ledger,
    registry,
    metrics,
    log: log.child({ module: 'pipeline' }),
    topicPrefix: config.topicPrefix,
    ackTimeoutSec: config.ackTimeoutSec,
    clockSkewToleranceMs: config.clockSkewToleranceMs,
    missedHeartbeats: config.missedHeartbeats,
    // Cameras the gateway probes itself are expected to answer every probe interval.
    intervalSec: (id) => (onvifIds.has(id) ? config.onvif.probeIntervalSec : registry.heartbeatIntervalSec(id)),
    maintenanceFlapHoldMs: config.maintenanceFlapHoldSec * 1000,
    onFeed: () => hub?.poke(),
    timeSeries: exporter !== undefined,
    onOutbox: () => exporter?.poke(),
  });
  hub = new LiveHub({
    ledger,
    snapshot: () => snapshot(registry, pipeline.devices, pipeline.openAlarms, pipeline.maintenance),
    log: log.child({ module: 'live' }),
    metrics,
    resumeGraceMs: config.wsResumeGraceMs,
    maxBufferedBytes: config.wsMaxBufferedBytes,
  });

  const bus: Bus = config.mqttUrl
    ? new MqttClientBus({
        url: config.mqttUrl,
        clientId: config.mqttClientId,
        filter: config.mqttShareGroup ? `$share/${config.mqttShareGroup}/${topicNames.deviceFilter}` : topicNames.deviceFilter,
        statusTopic: topicNames.status,
        log: log.child({ module: 'mqtt' }),
      })
    : new EmbeddedBroker({ host: config.mqttHost, port: config.mqttPort, statusTopic: topicNames.status, log: log.child({ module: 'broker' }) });

  const services: Services = { config, registry, ledger, metrics, pipeline, bus, hub, users, exporter, startedAt: Date.now() };

  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
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

  await app.register(fastifyJwt, { secret: loadOrCreateSecret(config.dataDir) });
  await app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024 } });
  await app.register((await import('./routes/openapi.js')).openapiRoutes); // before the routes: it collects them
  await app.register(healthRoutes);
  await app.register(authRoutes);
  await app.register(alarmRoutes);
  await app.register(registryRoutes);
  await app.register(maintenanceRoutes);
  await app.register(onvifRoutes);
  await app.register(liveRoutes);
  if (fs.existsSync(config.dashboardDir)) {
    await app.register(fastifyStatic, { root: config.dashboardDir, prefix: '/', index: 'index.html' });
  } else {
    log.warn({ dir: config.dashboardDir }, 'wall screen not built (npm run build); serving the API only');
  }

  // Start order: ledger (opened above) → projections → transport. Stop: the reverse.
  pipeline.start(bus);
  exporter?.start();
  await bus.start(pipeline.accept);
  // ONVIF results take the path an edge NVR's MQTT message would: on an external broker they are
  // published and come back through our subscription; on the embedded one (whose own publishes
  // do not pass the ingest hook) they are handed to the pipeline and published for other tools.
  const deliverCamera = (school: string, device: string, payload: CameraPayload) => {
    const topic = topicNames.device(school, device, 'camera');
    const body = Buffer.from(JSON.stringify(payload));
    if (bus.mode === 'embedded') pipeline.accept({ topic, payload: body, qos: 1 }, () => undefined);
    bus.publish(topic, body, { qos: 1 });
  };
  const watcher = startCameraWatch({
    registry,
    targets: cameraTargets,
    ...config.onvif,
    log: log.child({ module: 'onvif' }),
    deliver: deliverCamera,
    alive: (device, atMs) => pipeline.signOfLife(device, atMs),
  });
  // Keep the live feed's replay window bounded (a screen away for longer gets a snapshot), and
  // raw device events to their retention: they are in the time-series database (alarms and
  // operators' actions are kept for good).
  const pruner = setInterval(() => {
    try {
      ledger.pruneFeed(config.feedRetainFrames);
      ledger.pruneEvents(['heartbeat', 'availability', 'camera', 'ai', 'gate', 'checkin'], Date.now() - config.rawRetentionDays * 86_400_000, 50_000);
    } catch (err) {
      log.warn({ err }, 'ledger pruning failed');
    }
  }, 60_000);
  pruner.unref();
  app.addHook('onClose', async () => {
    clearInterval(pruner);
    await watcher?.stop();
    hub.close();
    await bus.stop();
    await exporter?.stop();
    pipeline.stop();
    ledger.close();
  });

  return { app, services, generatedAdminPassword: created.generatedPassword };
}

function codeFor(status: number): string {
  return ({ 400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed', 409: 'conflict', 413: 'payload_too_large', 415: 'unsupported_media_type', 429: 'too_many_requests' } as Record<number, string>)[status] ?? 'error';
}
