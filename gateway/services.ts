/** The running parts of one gateway, as the routes see them. */
import type { GatewayConfig } from './config.js';
import type { Bus } from './ingest/bus.js';
import type { Ledger } from './ledger/ledger.js';
import type { Metrics } from './metrics.js';
import type { Pipeline } from './pipeline.js';
import type { LiveHub } from './push/hub.js';
import type { RegistryIndex } from './registry.js';
import type { UserStore } from './auth/users.js';
import type { Role } from './contract/api.js';
import type { InfluxExporter } from './export/influx-exporter.js';

export interface Services {
  config: GatewayConfig;
  registry: RegistryIndex;
  ledger: Ledger;
  metrics: Metrics;
  pipeline: Pipeline;
  bus: Bus;
  hub: LiveHub;
  users: UserStore;
  exporter?: InfluxExporter;
  startedAt: number;
}

export interface Principal {
  user: string;
  role: Role;
}

declare module 'fastify' {
  interface FastifyInstance {
    gw: Services;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}
