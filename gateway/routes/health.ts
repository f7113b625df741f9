import type { FastifyPluginAsync } from 'fastify';

/** GET /health (contract §3: 503 when the gateway cannot take alarms) and GET /metrics. */
export const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/health', async (_req, reply) => {
    const { bus, pipeline, ledger, config, hub, startedAt } = app.gw;
    const mqtt = bus.describe();
    const ledgerOk = pipeline.healthy();
    const stats = ledger.stats();
    const canTakeAlarms = bus.connected() && ledgerOk;
    const body = {
      status: canTakeAlarms ? 'ok' : 'degraded',
      mqtt,
      ledger: { ok: ledgerOk, feedSeq: stats.feedSeq, events: stats.events, sizeBytes: stats.sizeBytes },
      influx: config.influx ? { enabled: true, state: 'not_implemented' } : { enabled: false },
      live: { clients: hub.size },
      uptimeSec: Math.round((Date.now() - startedAt) / 1000),
    };
    return reply.code(canTakeAlarms ? 200 : 503).send(body);
  });

  app.get('/metrics', async (_req, reply) => {
    const { metrics, bus, registry, pipeline } = app.gw;
    metrics.mqttConnected.set(bus.connected() ? 1 : 0);
    const online: Record<string, number> = { alarm_button: 0, camera: 0, gate: 0, checkin_terminal: 0 };
    for (const d of registry.devices.values()) if (pipeline.devices.get(d.id)?.online) online[d.kind]++;
    for (const [kind, n] of Object.entries(online)) metrics.devicesOnline.set({ kind }, n);
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};
