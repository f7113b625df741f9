/**
 * Case 4, time-series export. With VictoriaMetrics hung (SIGSTOP: the exporter's request waits,
 * INFLUX_TIMEOUT_MS is 10 min), heartbeats fill the gateway's outbox (GET /health `influx.backlog`);
 * VictoriaMetrics is resumed and the time until the outbox is empty gives points per second (polled
 * every 100 ms; the exporter's own `lastSuccessAt` marks the end). Pausing rather than stopping the
 * database keeps its restart and the exporter's backoff out of the figure: the clock starts when the
 * database can answer. Baseline: the same number of the same line-protocol points written straight
 * into the same VictoriaMetrics with @influxdata/influxdb-client WriteApi (batchSize 5000). Then the
 * catch-up of a 10-minute backlog at the demo county's rate, the same way.
 */
import { InfluxDB } from '@influxdata/influxdb-client';
import { heartbeatPoint } from '../../../gateway/modules/devices/index.js';
import { heartbeatSec, loadRegistry } from '../../../gateway/registry.js';
import { startVictoria, type Victoria } from '../../../test/support/victoria.js';
import {
  COUNTY_PATH,
  Publishers,
  acceptedTotal,
  benchGateway,
  deviceTopics,
  health,
  readRegistry,
  settleCount,
  sleep,
  type BenchCase,
  type BenchGateway,
  type Ctx,
  type Row,
} from '../lib.js';

const BATCH = 5000;
const DEFAULT_FILL_RATE = 5000;

async function backlog(url: string): Promise<{ backlog: number; lastSuccessAt: string | null }> {
  const h = await health(url);
  return { backlog: h.body.influx?.backlog ?? NaN, lastSuccessAt: h.body.influx?.lastSuccessAt ?? null };
}

/** Waits (polling /health every 100 ms) until the backlog is `n` or more / 0; gives up after `ms`. */
async function waitBacklog(url: string, done: (n: number) => boolean, ms: number): Promise<{ backlog: number; lastSuccessAt: string | null }> {
  const end = Date.now() + ms;
  for (;;) {
    const b = await backlog(url);
    if (done(b.backlog) || Date.now() > end) return b;
    await sleep(100);
  }
}

/**
 * VictoriaMetrics hung → `topics` list published `total` times round-robin at `rate` → outbox
 * holds them → VictoriaMetrics resumed → seconds until the outbox is empty.
 */
async function drain(ctx: Ctx, gw: BenchGateway, vm: Victoria, pubs: Publishers, key: string, total: number, rate: number): Promise<{ points: number; seconds: number }> {
  await vm.pause();
  const before = await acceptedTotal(gw.url, 'heartbeat');
  await pubs.run({ rate, total, qos: 0, kind: 'heartbeat', topics: key, idPrefix: 'fill' });
  const got = (await settleCount({ processed: () => acceptedTotal(gw.url, 'heartbeat') }, before + total)) - before;
  if (got < total) throw new Error(`the gateway accepted ${got} of ${total} heartbeats while filling the outbox`);
  const full = await waitBacklog(gw.url, (n) => n >= total, 10_000);
  const t0 = Date.now();
  vm.resume();
  const end = await waitBacklog(gw.url, (n) => n === 0, 600_000);
  if (end.backlog !== 0) throw new Error(`outbox not empty 10 min after the database came back (${end.backlog} left)`);
  const t1 = end.lastSuccessAt ? Date.parse(end.lastSuccessAt) : Date.now();
  ctx.log(`    ${full.backlog} points drained in ${((t1 - t0) / 1000).toFixed(2)} s`);
  return { points: full.backlog, seconds: Math.max(0.001, (t1 - t0) / 1000) };
}

/** The baseline: the same kind of points written straight with the client library's WriteApi. */
async function direct(vm: Victoria, n: number): Promise<number> {
  const index = loadRegistry(COUNTY_PATH);
  const devices = [...index.devices.values()];
  const t = Date.now() - 3_600_000;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const device = devices[i % devices.length];
    lines.push(heartbeatPoint(index, device, { ts: t + i, battery: 50 + (i % 50), rssi: -40 - (i % 40) }, t + i).replace(/^heartbeat,/, 'heartbeat_direct,'));
  }
  // close() only waits for the last partial batch: the full ones were sent as they filled, so
  // the clock stops when writeSuccess has seen every line.
  let confirmed = 0;
  let failure: Error | undefined;
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  const api = new InfluxDB({ url: vm.url, token: 'bench' }).getWriteApi('bench', 'bench', 'ms', {
    batchSize: BATCH,
    writeSuccess: (sent) => {
      confirmed += sent.length;
      if (confirmed >= lines.length) done();
    },
    writeFailed: (err, _lines, attempt) => {
      if (attempt >= 3) (failure = err), done();
    },
  });
  const t0 = performance.now();
  api.writeRecords(lines);
  await api.flush();
  await Promise.race([all, sleep(120_000)]);
  const seconds = (performance.now() - t0) / 1000;
  await api.close().catch(() => undefined);
  if (confirmed < lines.length) throw new Error(`direct write: ${confirmed} of ${lines.length} points confirmed (${failure?.message ?? 'timeout'})`);
  return seconds;
}

export const exportCase: BenchCase = {
  name: 'export',
  async run(ctx) {
    const reg = readRegistry();
    const n = ctx.mode.full ? 200_000 : 20_000;
    // Half the gateway's sustainable heartbeat rate when the ingest case measured it (at most 10,000/s).
    const fillRate = ctx.shared.gatewayQos0Rate ? Math.round(Math.min(10_000, ctx.shared.gatewayQos0Rate * 0.5)) : DEFAULT_FILL_RATE;
    const vm = await startVictoria();
    const gw = await benchGateway(ctx, 'export', {
      INFLUX_URL: vm.url,
      INFLUX_TOKEN: 'bench',
      INFLUX_ORG: 'bench',
      INFLUX_BUCKET: 'bench',
      INFLUX_TIMEOUT_MS: '600000',
      EXPORT_MIN_BACKOFF_MS: '50',
      EXPORT_MAX_BACKOFF_MS: '100',
    });
    const pubs = await Publishers.start(ctx.broker.url, ctx.mode.publishers, ctx.runId);
    try {
      const all = deviceTopics(reg, gw.prefix, 'heartbeat');
      await pubs.setTopics('all', all);
      // Every device online (its device_state point exported) before the outage.
      await pubs.run({ rate: fillRate, total: all.length, qos: 0, kind: 'heartbeat', topics: 'all', idPrefix: 'warm' });
      await settleCount({ processed: () => acceptedTotal(gw.url, 'heartbeat') }, all.length);
      await waitBacklog(gw.url, (b) => b === 0, 60_000);

      ctx.log(`  export rate: ${n} points (filled at ${fillRate}/s)`);
      const g = await drain(ctx, gw, vm, pubs, 'all', n, fillRate);
      const baseS = await direct(vm, g.points);

      // Ten minutes of the county: each device's heartbeats at its interval, round-robin.
      const tenMin: string[] = [];
      for (const s of reg.schools)
        for (const d of s.devices) {
          const interval = heartbeatSec(reg, d);
          for (let k = 0; k < Math.floor(600 / interval); k++) tenMin.push(`${gw.prefix}/${s.id}/${d.id}/heartbeat`);
        }
      await pubs.setTopics('ten', tenMin);
      ctx.log(`  catch-up: 10 min of the county = ${tenMin.length} points`);
      const c = await drain(ctx, gw, vm, pubs, 'ten', tenMin.length, fillRate);
      const baseC = await direct(vm, c.points);

      const rows: Row[] = [
        {
          case: 'export',
          metric: `outbox → database, ${g.points.toLocaleString('en-US')} points`,
          unit: 'points/s',
          baseline: Math.round(g.points / baseS),
          gateway: Math.round(g.points / g.seconds),
          compare: 'ratio',
          target: '—',
          met: null,
          note: 'baseline: the same points written directly by WriteApi (batchSize 5000)',
        },
        {
          case: 'export',
          metric: `catch-up of a 10-min county backlog (${c.points.toLocaleString('en-US')} points)`,
          unit: 's',
          baseline: baseC,
          gateway: c.seconds,
          compare: 'ratio',
          target: '—',
          met: null,
        },
      ];
      return { rows, details: { fillRate, exportRun: { ...g, baselineSeconds: baseS }, catchUp: { ...c, baselineSeconds: baseC } } };
    } finally {
      await pubs.stop();
      await gw.stop();
      await vm.stop();
    }
  },
};
