/**
 * Time-series export: the outbox the other modules' points go to (in their events' own commits)
 * is moved into InfluxDB by `InfluxExporter`. Off unless INFLUX_URL is set; then its state is part
 * of GET /health (a lagging export is `degraded`, never 503) and of the metrics.
 */
import type { GatewayModule, ModuleContext } from '../../core/module.js';
import { InfluxExporter, type ExporterStatus } from './influx-exporter.js';

export interface ExportModule extends GatewayModule {
  readonly exporter?: InfluxExporter;
  /** New outbox rows were committed. */
  poke(): void;
  status(): Promise<(ExporterStatus & { lagWarnSec: number }) | { enabled: false }>;
}

export function exportModule(ctx: ModuleContext): ExportModule {
  const { config, store, metrics } = ctx;
  const exporter = config.influx ? new InfluxExporter({ influx: config.influx, store, log: ctx.log, metrics, ...config.export }) : undefined;
  const status = async () => (exporter ? { ...(await exporter.status()), lagWarnSec: config.export.lagWarnSec } : { enabled: false as const });
  return {
    name: 'export',
    exporter,
    poke: () => exporter?.poke(),
    status,
    start() {
      exporter?.start();
    },
    async stop() {
      await exporter?.stop();
    },
    async health() {
      const influx = await status();
      const lagging = 'lagSec' in influx && influx.lagSec > config.export.lagWarnSec;
      return { influx: { ...influx, lagging }, degraded: lagging };
    },
    async collect() {
      const s = await status();
      if (!('lagSec' in s)) return;
      metrics.exportBacklog.set(s.backlog);
      metrics.exportLagSeconds.set(s.lagSec);
    },
  };
}
