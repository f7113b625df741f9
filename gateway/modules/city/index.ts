/**
 * The city gateway's view of its counties (issue #14, decision 0010): with `CITY_COUNTIES_FILE`
 * it reads every county's forwarded feed (`CityIngest`), stores each frame once by (county, seq),
 * projects per county the open alarms, the six target rates and the canteen cases, and serves
 * them at `/api/city/…`. Off (no routes' data, no connection) without it.
 */
import type { GatewayModule, ModuleContext } from '../../core/module.js';
import { readCa } from '../../config/tls.js';
import { loadCounties, type CityCounty } from './counties.js';
import { CityIngest, type CityFeedData } from './ingest.js';
import { CountyState, itemOf, type CityItem } from './projection.js';
import { cityRoutes } from './routes.js';

declare module '../../core/events.js' {
  interface EventMap {
    /** One frame of a county's feed, forwarded by its gateway (decision 0010). */
    city_feed: CityFeedData;
  }
}

export interface CityModule extends GatewayModule {
  readonly counties: readonly CityCounty[];
  state(county: string): CountyState | undefined;
  /** Frames stored per county (each (county, seq) once). */
  framesFrom(county: string): number;
}

interface ItemRow {
  key: string;
  county: string;
  kind: CityItem['kind'];
  open: number;
  doc: CityItem;
}
interface CountyRow {
  county: string;
  frames: number;
  last_seq: number;
  last_at: number | null;
}

export function cityModule(ctx: ModuleContext): CityModule {
  const { config } = ctx;
  const counties = config.cityHub ? loadCounties(config.cityHub.countiesFile) : [];
  const states = new Map(counties.map((c) => [c.id, new CountyState()]));
  const frames = new Map<string, number>();
  const ingest = config.cityHub
    ? new CityIngest({
        url: config.cityHub.url,
        username: config.cityHub.username,
        password: config.cityHub.password,
        ca: config.cityHub.caFile === undefined ? undefined : readCa(config.cityHub.caFile, 'CITY_INGEST_CA_FILE'),
        counties: new Set(states.keys()),
        dispatcher: ctx.dispatcher,
        metrics: ctx.metrics,
        log: ctx.log,
      })
    : undefined;

  return {
    name: 'city',
    consumes: ['city_feed'],
    tables: [
      { name: 'city_items', key: 'key', columns: { key: 'text', county: 'text', kind: 'text', open: 'integer' }, doc: true, indexes: [{ columns: ['open'] }] },
      { name: 'city_counties', key: 'county', columns: { county: 'text', frames: 'integer', last_seq: 'integer', last_at: 'integer' } },
    ],
    counties,
    state: (county) => states.get(county),
    framesFrom: (county) => frames.get(county) ?? 0,
    routes: cityRoutes,

    async load() {
      if (!ingest) return;
      for (const [id] of states) states.set(id, new CountyState());
      frames.clear();
      for (const r of await ctx.store.find<ItemRow>('city_items', { where: [['open', '=', 1]] })) states.get(r.county)?.set(r.doc);
      for (const r of await ctx.store.find<CountyRow>('city_counties', {})) {
        const s = states.get(r.county);
        if (!s) continue;
        frames.set(r.county, r.frames);
        s.lastSeq = r.last_seq;
        s.lastAt = r.last_at;
      }
    },

    apply(e, tx) {
      if (e.type !== 'city_feed') return;
      const f = e.data as CityFeedData;
      const s = states.get(f.county);
      if (!s) return;
      const item = itemOf(f.county, f.type, f.data);
      if (item) {
        s.set(item);
        tx.put('city_items', { key: item.key, county: f.county, kind: item.kind, open: item.open ? 1 : 0, doc: item });
      }
      // The county publishes in seq order; a batch re-sent after a lost PUBACK may repeat older seqs (dropped before here).
      if (f.seq > s.lastSeq) {
        s.lastSeq = f.seq;
        s.lastAt = f.at;
      }
      const n = (frames.get(f.county) ?? 0) + 1;
      frames.set(f.county, n);
      tx.put('city_counties', { county: f.county, frames: n, last_seq: s.lastSeq, last_at: s.lastAt });
    },

    start() {
      ingest?.start();
    },
    async stop() {
      await ingest?.stop();
    },
    async health() {
      if (!ingest) return {};
      return { city: { counties: counties.length, connected: ingest.connected() }, degraded: !ingest.connected() };
    },
  };
}
