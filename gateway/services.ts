/** The running parts of one gateway, as the routes see them. */
import type { GatewayConfig } from './config.js';
import type { Dispatcher } from './core/dispatcher.js';
import type { GatewayModule } from './core/module.js';
import type { Bus } from './ingest/bus.js';
import type { Metrics } from './metrics.js';
import type { LiveHub } from './push/hub.js';
import type { PolicyIndex } from './policy.js';
import type { RegistryIndex } from './registry.js';
import type { Store } from './store/store.js';
import type { UserStore } from './auth/users.js';
import type { KioskStore } from './auth/kiosks.js';
import type { LoginThrottle } from './auth/throttle.js';
import type { Role } from './contract/api.js';

export interface Services {
  config: GatewayConfig;
  registry: RegistryIndex;
  /** The county's policy (contract §7). */
  policy: PolicyIndex;
  store: Store;
  dispatcher: Dispatcher;
  metrics: Metrics;
  bus: Bus;
  hub: LiveHub;
  users: UserStore;
  /** Wall screens' view-only credentials (contract-additions "Kiosks"). */
  kiosks: KioskStore;
  /** Failed logins per user name, for HTTP and MQTT tool logins alike (contract §6). */
  loginThrottle: LoginThrottle;
  /** Every module, in dependency order. */
  modules: readonly GatewayModule[];
  /** One module by name (its routes use this to reach its projections). */
  module<T extends GatewayModule>(name: string): T;
  startedAt: number;
}

export interface Principal {
  user: string;
  role: Role;
  /** A user bound to one school (contract §7) sees and records for it only. */
  school?: string;
  /** At a city gateway, a user bound to one county (decision 0010) sees it only, through the city API. */
  county?: string;
  /** Set for a wall screen's session: view-only, only GET (contract-additions "Kiosks"). */
  kiosk?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    gw: Services;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}
