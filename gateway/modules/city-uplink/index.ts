/**
 * County → city (issue #14, decision 0010): this county's committed feed, forwarded to the city's
 * broker by `CityForwarder` from the ledger's `city` outbox. Off unless CITY_MQTT_URL is set; then
 * its state is part of GET /health (a lost uplink is `degraded`, never 503: the county keeps
 * working) and of the metrics (backlog, last forwarded seq).
 */
import type { GatewayModule, ModuleContext } from '../../core/module.js';
import { readCa } from '../../config/tls.js';
import { CityForwarder } from './forwarder.js';

export interface CityUplinkModule extends GatewayModule {
  /** New feed frames were committed. */
  poke(): void;
}

export function cityUplinkModule(ctx: ModuleContext): CityUplinkModule {
  const { config, store, metrics } = ctx;
  const city = config.city;
  const forwarder = city
    ? new CityForwarder({ city, tuning: config.cityUplink, ca: city.caFile === undefined ? undefined : readCa(city.caFile, 'CITY_MQTT_CA_FILE'), store, log: ctx.log, metrics })
    : undefined;
  return {
    name: 'city-uplink',
    poke: () => forwarder?.poke(),
    start() {
      forwarder?.start();
    },
    async stop() {
      await forwarder?.stop();
    },
    async health() {
      if (!forwarder) return {}; // a single county's /health is as before
      const s = await forwarder.status();
      return { cityUplink: s, degraded: !s.connected };
    },
    async collect() {
      if (!forwarder) return;
      const s = await forwarder.status();
      metrics.cityUplinkBacklog.set(s.backlog);
      metrics.cityUplinkLagSeconds.set(s.lagSec);
    },
  };
}
