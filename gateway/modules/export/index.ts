/**
 * Time-series export: the outbox the other modules' points go to (in their events' own commits)
 * is moved into InfluxDB by `InfluxExporter`. Off unless INFLUX_URL is set; then its state is part
 * of GET /health (a lagging export is `degraded`, never 503) and of the metrics.
 */
import type { GatewayModule, ModuleContext } from '../../core/module.js';
import { InfluxExporter, type ExporterStatus } from './influx-exporter.js';
import { scrubSecrets } from '../../redact.js';

export interface ExportModule extends GatewayModule {
  readonly exporter?: InfluxExporter;
  /** New outbox rows were committed. */
  poke(): void;
  status(): Promise<(ExporterStatus & { lagWarnSec: number }) | { enabled: false }>;
}

export function exportModule(ctx: ModuleContext): ExportModule {
  const { config, store, metrics } = ctx;
  const exporter = config.influx ? new InfluxExporter({ influx: config.influx, store, log: ctx.log, metrics, ...config.export }) : undefined;
  // /health is public: an error message that quotes the token or the URL's credentials loses them.
  const secrets = config.influx ? [config.influx.token, ...urlCredentials(config.influx.url)] : [];
  const status = async () => {
    if (!exporter) return { enabled: false as const };
    const s = await exporter.status();
    return { ...s, lastError: s.lastError === null ? null : scrubSecrets(s.lastError, secrets), lagWarnSec: config.export.lagWarnSec };
  };
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

function urlCredentials(url: string): string[] {
  try {
    const u = new URL(url);
    return [decodeURIComponent(u.username), decodeURIComponent(u.password), u.username, u.password];
  } catch {
    return [];
  }
}
