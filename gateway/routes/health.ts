import type { FastifyPluginAsync } from 'fastify';
import { HealthReply, INTERNAL, described } from '../contract/api.js';

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
    const { bus, dispatcher, store, hub, startedAt, modules } = app.gw;
    const ledgerOk = dispatcher.healthy();
    const { fault, writeFailures } = store.health();
    const stats = await store.stats();
    const canTakeAlarms = bus.connected() && ledgerOk;
    let degraded = false;
    const parts: Record<string, unknown> = {};
    for (const m of modules) {
      if (!m.health) continue;
      const { degraded: d, ...rest } = await m.health();
      degraded ||= d === true;
      Object.assign(parts, rest);
    }
    const body = {
      // 503 only when alarms cannot be taken; a lagging export is "degraded" but keeps 200.
      status: canTakeAlarms && !degraded ? 'ok' : 'degraded',
      mqtt: bus.describe(),
      // `fault` says why (file replaced, run marks failing); `writeFailures` counts every failed write, commits and the rest.
      ledger: { ok: ledgerOk, feedSeq: stats.feedSeq, events: stats.events, sizeBytes: stats.sizeBytes, ...(fault ? { fault } : {}), writeFailures },
      ...parts,
      live: { clients: hub.size },
      uptimeSec: Math.round((Date.now() - startedAt) / 1000),
    };
    return reply.code(canTakeAlarms ? 200 : 503).send(body);
  });

  app.get('/metrics', { schema: metricsSchema }, async (_req, reply) => {
    const { metrics, bus, store, modules } = app.gw;
    metrics.mqttConnected.set(bus.connected() ? 1 : 0);
    metrics.ledgerBytes.set((await store.stats()).sizeBytes);
    for (const m of modules) await m.collect?.();
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};
