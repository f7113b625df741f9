/**
 * Case `drain` (issue 13, target 1): a burst of QoS 1 alarms published as fast as the publishers
 * go, and the time until the consumer has delivered all of it — the bare MQTT.js subscriber
 * (baseline), Node-RED 4 (`mqtt in` → `websocket out`, storing nothing; `../node-red.ts`) and the
 * real gateway with `LEDGER_SYNC=full` on the same external broker, in the same run.
 *
 * Completion, the same for every subject: the burst has reached its endpoints — the bare
 * subscriber has received every alarm (its count, polled every 20 ms); each of Node-RED's 20
 * screens has received every alarm message; each of the gateway's 20 screens has received an
 * `alarm` frame of every alarm (distinct alarm ids, read off the frame's first bytes). For the
 * screens the time is the slowest screen's own arrival time of its last alarm. The gateway's
 * "all committed (and so PUBACKed)" time is kept in the details as `acceptedMs`.
 *
 * The gateway The gateway is measured with `MQTT_INGEST_WINDOW=1` (one QoS 1 message per commit, as
 * before decision 0008) and with its default window, under MQTT 3.1.1 (bounded by Mosquitto's
 * `max_inflight_messages`, 20) and MQTT 5 (Receive Maximum = the window). Each gateway is fresh
 * (empty ledger), has 20 screens on its live feed and VictoriaMetrics attached, and has seen every
 * button once (warm-up) before the burst.
 */
import { ensureNodeRed, startNodeRed } from '../node-red.js';
import {
  BareSubscriber,
  Publishers,
  acceptedTotal,
  benchGateway,
  deviceTopics,
  now,
  openCountingScreens,
  openCountingSockets,
  readRegistry,
  settleCount,
  type CountingScreens,
  sleep,
  type BenchCase,
  type Consumer,
  type Ctx,
  type Row,
} from '../lib.js';

const NODE_RED = 'Node-RED 4 (mqtt in → websocket out)';

interface DrainResult {
  label: string;
  n: number;
  /** first publish → the consumer's count reached the burst */
  ms: number;
  rate: number;
  /** when the publishers had all their PUBACKs from the broker */
  publishedMs: number;
  processed: number;
  /** the gateway only: first publish → every alarm of the burst committed (and so PUBACKed), seen by a 100 ms poll */
  acceptedMs?: number;
}

/** A consumer that also knows when it reached a running total (its endpoints' own timestamps). */
type Timed = Consumer & { reachedAt?(total: number): number | undefined; accepted?(): Promise<number>; acceptedAt?(total: number): number | undefined };

/**
 * The gateway as a consumer: distinct alarms every one of its 20 screens has had a frame of, and
 * when the slowest screen got each. /metrics (alarms committed) is read only every 100 ms, for the
 * details: the figure comes from the screens, so the bench does not load the gateway with scrapes.
 */
function gatewayDelivery(url: string, screens: CountingScreens): Timed {
  const samples: { accepted: number; at: number }[] = [];
  let lastScrape = -Infinity;
  const scrape = async (): Promise<number> => {
    lastScrape = now();
    const accepted = await acceptedTotal(url, 'alarm');
    if (samples.at(-1)?.accepted !== accepted) samples.push({ accepted, at: now() });
    return accepted;
  };
  return {
    async processed() {
      if (now() - lastScrape >= 100) await scrape();
      return Math.min(...screens.alarms());
    },
    reachedAt: (total) => screens.alarmAt(total),
    accepted: scrape,
    acceptedAt: (total) => samples.find((s) => s.accepted >= total)?.at,
  };
}

async function burst(ctx: Ctx, pubs: Publishers, consumer: Timed, topicsKey: string, n: number, label: string): Promise<DrainResult> {
  const before = await consumer.processed();
  const acceptedBefore = consumer.accepted ? await consumer.accepted() : 0;
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
  // The endpoints' own time of the last arrival where they keep one, else when the poll saw it.
  const ms = (consumer.reachedAt?.(before + n) ?? now()) - t0;
  const pub = await run;
  const got = processed - before;
  const result: DrainResult = { label, n, ms, rate: got >= n ? (n / ms) * 1000 : 0, publishedMs: pub.elapsedMs, processed: got };
  if (consumer.accepted) await consumer.accepted();
  const acceptedAt = consumer.acceptedAt?.(acceptedBefore + n);
  if (acceptedAt !== undefined) result.acceptedMs = acceptedAt - t0;
  ctx.log(
    `  ${label}: ${got}/${n} in ${ms.toFixed(0)} ms → ${result.rate.toFixed(0)}/s (publishers done at ${pub.elapsedMs.toFixed(0)} ms` +
      `${result.acceptedMs !== undefined ? `, all committed by ${result.acceptedMs.toFixed(0)} ms (100 ms polls)` : ''})`,
  );
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
    // Short mode: a tenth of the issue's 20,000 (on a loaded machine the old gateway takes minutes for the whole burst).
    const n = ctx.mode.full ? 20_000 : 2_000;
    const rounds = ctx.mode.full ? 3 : 1;
    const nodeRed = ensureNodeRed(ctx.log);
    if ('unavailable' in nodeRed) ctx.log(`  Node-RED peer unavailable: ${nodeRed.unavailable}`);
    else ctx.log(`  Node-RED ${nodeRed.version} (${nodeRed.redJs})`);
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
        if (!('unavailable' in nodeRed)) {
          const prefix = `bench-${ctx.runId}/drain-nodered-${round}`;
          const key = `${prefix}-alarm`;
          await pubs.setTopics(key, deviceTopics(reg, prefix, 'alarm', ['alarm_button']));
          const peer = await startNodeRed(nodeRed.redJs, { brokerUrl: ctx.broker.url, clientId: `bench-nodered-${ctx.runId}-${round}`, filter: `${prefix}/#`, qos: 1 });
          const sockets = await openCountingSockets(peer.wsUrl, 20);
          try {
            const consumer: Timed = { processed: async () => Math.min(...sockets.counts()), reachedAt: (total) => sockets.at(total) };
            // Node-RED subscribes after it has started listening: one alarm at a time until the screens see one.
            for (let i = 0; (await consumer.processed()) === 0; i++) {
              if (i >= 60) throw new Error(`Node-RED passed nothing on within 60 probes:\n${peer.logs().slice(-2000)}`);
              await pubs.run({ rate: 0, total: 1, qos: 1, kind: 'alarm', topics: key, idPrefix: `nodered-${round}-probe-${i}` });
              await sleep(500);
            }
            await warm(pubs, consumer, key, 221, `nodered-${round}`);
            results.push(await burst(ctx, pubs, consumer, key, n, NODE_RED));
          } finally {
            await sockets.close();
            await peer.stop();
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
            await warm(pubs, { processed: () => acceptedTotal(gw.url, 'alarm') }, key, 221, `gw-${round}-${i}`);
            const consumer = gatewayDelivery(gw.url, screens);
            if (screens.closedByServer() > 0) ctx.log(`  ${v.label}: ${screens.closedByServer()} screens were closed by the gateway`);
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
    const peerRan = results.some((r) => r.label === NODE_RED);
    const peer = median(NODE_RED);
    const rows: Row[] = [
      {
        case: 'drain',
        metric: `${n.toLocaleString('en-US')} QoS 1 alarms to 20 screens, drain, ${NODE_RED} (peer; stores nothing)`,
        unit: 'msg/s',
        baseline: Math.round(base),
        gateway: peerRan ? Math.round(peer) : null,
        compare: 'ratio',
        target: '',
        met: null,
        note: peerRan ? undefined : `Node-RED unavailable: ${'unavailable' in nodeRed ? nodeRed.unavailable : 'did not run'}`,
      },
      ...variants.map((v): Row => {
        const gw = median(v.label);
        return {
          case: 'drain',
          metric: `${(v.n ?? n).toLocaleString('en-US')} QoS 1 alarms to 20 screens, drain (LEDGER_SYNC=full), ${v.label}`,
          unit: 'msg/s',
          baseline: Math.round(base),
          gateway: Math.round(gw),
          compare: 'ratio',
          target: '≥ 0.5× and ≥ Node-RED',
          met: base > 0 ? gw / base >= 0.5 && (!peerRan || gw >= peer) : null,
          note: peerRan ? `Node-RED 4 in the same run: ${Math.round(peer)}/s; gateway ÷ Node-RED = ${(gw / peer).toFixed(2)}×` : undefined,
        };
      }),
    ];
    return { rows, details: { results } };
  },
};
