import type { FastifyPluginAsync } from 'fastify';
import { HealthReply, INTERNAL, described } from '../contract/api.js';
import { DEVICE_KINDS } from '../contract/mqtt.js';
import { devicesByKind } from '../domain/views.js';

const healthSchema = {
  tags: ['health'],
  summary: 'Whether the gateway can take alarms, and the state of its parts (anyone)',
  response: {
    200: described(HealthReply, 'it can take alarms (`status` is `degraded` when, say, the export lags)'),
    503: described(HealthReply, 'it cannot take alarms: the broker or the ledger is down'),
    ...INTERNAL,
  },
};
const metricsSchema = {
  tags: ['health'],
  summary: 'Prometheus metrics (anyone)',
  response: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...INTERNAL },
};

/** GET /health (contract §3: 503 when the gateway cannot take alarms) and GET /metrics. */
export const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/health', { schema: healthSchema }, async (_req, reply) => {
    const { bus, pipeline, ledger, config, hub, startedAt, exporter } = app.gw;
    const mqtt = bus.describe();
    const ledgerOk = pipeline.healthy();
    const stats = ledger.stats();
    const canTakeAlarms = bus.connected() && ledgerOk;
    const influx = exporter ? { ...exporter.status(), lagWarnSec: config.export.lagWarnSec } : { enabled: false as const };
    const exportLagging = 'lagSec' in influx && influx.lagSec > config.export.lagWarnSec;
    const body = {
      // 503 only when alarms cannot be taken; a lagging export is "degraded" but keeps 200.
      status: canTakeAlarms && !exportLagging ? 'ok' : 'degraded',
      mqtt,
      ledger: { ok: ledgerOk, feedSeq: stats.feedSeq, events: stats.events, sizeBytes: stats.sizeBytes },
      influx: { ...influx, lagging: exportLagging },
      live: { clients: hub.size },
      uptimeSec: Math.round((Date.now() - startedAt) / 1000),
    };
    return reply.code(canTakeAlarms ? 200 : 503).send(body);
  });

  app.get('/metrics', { schema: metricsSchema }, async (_req, reply) => {
    const { metrics, bus, registry, pipeline } = app.gw;
    metrics.mqttConnected.set(bus.connected() ? 1 : 0);
    const { online } = devicesByKind(registry, pipeline.devices);
    for (const kind of DEVICE_KINDS) metrics.devicesOnline.set({ kind }, online[kind] ?? 0);
    metrics.ledgerBytes.set(app.gw.ledger.stats().sizeBytes);
    if (app.gw.exporter) {
      const s = app.gw.exporter.status();
      metrics.exportBacklog.set(s.backlog);
      metrics.exportLagSeconds.set(s.lagSec);
    }
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};
