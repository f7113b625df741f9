/**
 * Case `drain` (issue 13, target 1): a burst of QoS 1 alarms published as fast as the publishers
 * go, and the time until the consumer has processed all of it — the bare MQTT.js subscriber
 * (baseline) and the real gateway with `LEDGER_SYNC=full` on the same external broker, in the same
 * run. The gateway is measured with `MQTT_INGEST_WINDOW=1` (one QoS 1 message per commit, as
 * before decision 0008) and with its default window, under MQTT 3.1.1 (bounded by Mosquitto's
 * `max_inflight_messages`, 20) and MQTT 5 (Receive Maximum = the window). Each gateway is fresh
 * (empty ledger), has 20 screens on its live feed and VictoriaMetrics attached, and has seen every
 * button once (warm-up) before the burst.
 */
import {
  BareSubscriber,
  Publishers,
  acceptedTotal,
  benchGateway,
  deviceTopics,
  now,
  openCountingScreens,
  readRegistry,
  settleCount,
  sleep,
  type BenchCase,
  type Consumer,
  type Ctx,
  type Row,
} from '../lib.js';

interface DrainResult {
  label: string;
  n: number;
  /** first publish → the consumer's count reached the burst */
  ms: number;
  rate: number;
  /** when the publishers had all their PUBACKs from the broker */
  publishedMs: number;
  processed: number;
}

async function burst(ctx: Ctx, pubs: Publishers, consumer: Consumer, topicsKey: string, n: number, label: string): Promise<DrainResult> {
  const before = await consumer.processed();
  const t0 = now();
  const run = pubs.run({ rate: 0, total: n, qos: 1, kind: 'alarm', topics: topicsKey, idPrefix: `${ctx.runId}-${label.replace(/\W+/g, '_')}-drain` });
  let processed = before;
  let lastChange = now();
  // Poll fast: a 20,000-message burst drains in 1–20 s.
  while (processed < before + n && now() - lastChange < 10_000) {
    await sleep(20);
    const c = await consumer.processed();
    if (c !== processed) (processed = c), (lastChange = now());
  }
  const ms = now() - t0;
  const pub = await run;
  const got = processed - before;
  const result = { label, n, ms, rate: got >= n ? (n / ms) * 1000 : 0, publishedMs: pub.elapsedMs, processed: got };
  ctx.log(`  ${label}: ${got}/${n} in ${ms.toFixed(0)} ms → ${result.rate.toFixed(0)}/s (publishers done at ${pub.elapsedMs.toFixed(0)} ms)`);
  return result;
}

async function warm(pubs: Publishers, consumer: Consumer, key: string, count: number, label: string): Promise<void> {
  const before = await consumer.processed();
  await pubs.run({ rate: 0, total: count, qos: 1, kind: 'alarm', topics: key, idPrefix: `${label}-warm` });
  await settleCount(consumer, before + count);
}

export const drainCase: BenchCase = {
  name: 'drain',
  async run(ctx) {
    const reg = readRegistry();
    // Short mode: a tenth of the 20,000 (on a loaded machine the old gateway takes minutes for the whole burst).
    const n = ctx.mode.full ? 20_000 : 2_000;
    const rounds = ctx.mode.full ? 3 : 1;
    const pubs = await Publishers.start(ctx.broker.url, ctx.mode.publishers, ctx.runId);
    const results: DrainResult[] = [];
    // Window 1 drains a few hundred a second: a tenth of the burst says as much, in a tenth of the time.
    const variants: { label: string; env: Record<string, string>; n?: number }[] = [
      { label: 'gateway, window 1 (before)', env: { MQTT_INGEST_WINDOW: '1' }, n: n / 10 },
      { label: 'gateway, window 100, MQTT 3.1.1', env: { MQTT_INGEST_WINDOW: '100' } },
      { label: 'gateway, window 100, MQTT 5', env: { MQTT_INGEST_WINDOW: '100', MQTT_PROTOCOL_VERSION: '5' } },
      { label: 'gateway, window 1000, MQTT 5', env: { MQTT_INGEST_WINDOW: '1000', MQTT_PROTOCOL_VERSION: '5' } },
    ];
    try {
      for (let round = 0; round < rounds; round++) {
        {
          const prefix = `bench-${ctx.runId}/drain-bare-${round}`;
          const key = `${prefix}-alarm`;
          await pubs.setTopics(key, deviceTopics(reg, prefix, 'alarm', ['alarm_button']));
          const sub = await BareSubscriber.start(ctx.broker.url, `${prefix}/#`, 1, ctx.runId);
          try {
            const consumer: Consumer = { processed: () => sub.count() };
            await warm(pubs, consumer, key, 221, `bare-${round}`);
            results.push(await burst(ctx, pubs, consumer, key, n, 'bare subscriber'));
          } finally {
            await sub.stop();
          }
        }
        for (const [i, v] of variants.entries()) {
          const vm = await ctx.victoria();
          const gw = await benchGateway(ctx, `drain-${round}-${i}`, {
            LEDGER_SYNC: 'full',
            ACK_TIMEOUT_SEC: '3600',
            INFLUX_URL: vm.url,
            INFLUX_TOKEN: 'bench',
            INFLUX_ORG: 'bench',
            INFLUX_BUCKET: 'bench',
            ...v.env,
          });
          const screens = await openCountingScreens(gw.url, gw.token, 20);
          try {
            const key = `${gw.prefix}-alarm`;
            await pubs.setTopics(key, deviceTopics(reg, gw.prefix, 'alarm', ['alarm_button']));
            const consumer: Consumer = { processed: () => acceptedTotal(gw.url, 'alarm') };
            await warm(pubs, consumer, key, 221, `gw-${round}-${i}`);
            results.push(await burst(ctx, pubs, consumer, key, v.n ?? n, v.label));
          } finally {
            await screens.close();
            await gw.stop();
          }
        }
      }
    } finally {
      await pubs.stop();
    }
    const median = (label: string): number => {
      const xs = results.filter((r) => r.label === label).map((r) => r.rate).sort((a, b) => a - b);
      return xs[Math.floor(xs.length / 2)] ?? 0;
    };
    const base = median('bare subscriber');
    const rows: Row[] = variants.map((v) => {
      const gw = median(v.label);
      return {
        case: 'drain',
        metric: `${(v.n ?? n).toLocaleString('en-US')} QoS 1 alarms, drain (LEDGER_SYNC=full), ${v.label}`,
        unit: 'msg/s',
        baseline: Math.round(base),
        gateway: Math.round(gw),
        compare: 'ratio',
        target: '≥ 0.5×',
        met: base > 0 ? gw / base >= 0.5 : null,
      };
    });
    return { rows, details: { results } };
  },
};
