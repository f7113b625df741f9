/**
 * Case `replicas` (issue #14, decision 0009): two gateways against one, on the same broker and a
 * PostgreSQL database of their own each time (a throwaway cluster, test/support/postgres.ts), in
 * the same run. Both set-ups take the alarms on one shared subscription (`MQTT_SHARED_GROUP`),
 * window 100 over MQTT 5, and feed 20 screens in all (split evenly over the gateways: every screen
 * gets every alarm from the ledger's feed, whichever gateway took it).
 *
 * - drain: a burst of QoS 1 alarms published as fast as the publishers go; the time until every
 *   one of the 20 screens has had a frame of every alarm (the slowest screen's own arrival time);
 * - latency: one alarm every 100 ms, carrying its publish time in its id; publish → `alarm` frame
 *   at the same 20 screens (opened again, parsing what they get).
 *
 * The figures are ratios and differences, two gateways against one. On this 2-core machine the
 * broker, the database, the publishers and the screens share the cores with the gateways, so two
 * gateways cannot show a machine's worth of gain: the case says what a second replica costs or
 * brings on the same hardware, and that both stay correct under a burst.
 */
import * as hdr from 'hdr-histogram-js';
import type { MqttClient } from 'mqtt';
import { connectDevice } from '../../../test/support/mqtt.js';
import { startPostgres } from '../../../test/support/postgres.js';
import { openLive, type LiveClient } from '../../../test/support/ws.js';
import { Publishers, benchGateway, deviceTopics, now, openCountingScreens, readRegistry, settleCount, sleep, type BenchCase, type BenchGateway, type CountingScreens, type Row } from '../lib.js';

const SCREENS = 20;
const ALARMS_PER_SEC = 10;

interface SetupResult {
  gateways: number;
  n: number;
  drainMs: number;
  rate: number;
  delivered: number;
  latency: { count: number; p50: number; p99: number; max: number };
  /** alarms each gateway took (its `messages_accepted` for alarms) */
  acceptedBy: number[];
}

async function alarmsAccepted(gw: BenchGateway): Promise<number> {
  const m = /^campus_gateway_messages_accepted_total\{type="alarm"\}\s+(\S+)/m.exec(await (await fetch(`${gw.url}/metrics`)).text());
  return m ? Number(m[1]) : 0;
}

/** Distinct alarms the slowest of all screens has had, and when the slowest had the k-th. */
function allScreens(sets: CountingScreens[]) {
  return {
    processed: async () => Math.min(...sets.flatMap((s) => s.alarms())),
    reachedAt(k: number): number | undefined {
      const at = sets.map((s) => s.alarmAt(k));
      return at.some((t) => t === undefined) ? undefined : Math.max(...(at as number[]));
    },
  };
}

async function runSetup(ctx: Parameters<BenchCase['run']>[0], pubs: Publishers, storeUrl: string, count: number, n: number, durationS: number): Promise<SetupResult> {
  const reg = readRegistry();
  const prefix = `bench-${ctx.runId}/replicas-${count}`;
  const gws: BenchGateway[] = [];
  const screenSets: CountingScreens[] = [];
  const latencyScreens: LiveClient[] = [];
  let presser: MqttClient | undefined;
  const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  try {
    for (let i = 0; i < count; i++) {
      gws.push(
        await benchGateway(ctx, `replicas-${count}-${i}`, {
          STORE_URL: storeUrl,
          MQTT_SHARED_GROUP: `bench-${ctx.runId}-r${count}`,
          MQTT_TOPIC_PREFIX: prefix,
          MQTT_INGEST_WINDOW: '100',
          MQTT_PROTOCOL_VERSION: '5',
          ACK_TIMEOUT_SEC: '3600',
        }),
      );
    }
    for (const gw of gws) screenSets.push(await openCountingScreens(gw.url, gw.token, SCREENS / count));
    const screens = allScreens(screenSets);
    const key = `${prefix}-alarm`;
    await pubs.setTopics(key, deviceTopics(reg, prefix, 'alarm', ['alarm_button']));
    // Every button once, on every screen: the burst then measures alarms, not first sight.
    await pubs.run({ rate: 0, total: 221, qos: 1, kind: 'alarm', topics: key, idPrefix: `replicas-${count}-warm` });
    await settleCount(screens, 221);

    const acceptedBefore = await Promise.all(gws.map(alarmsAccepted));
    const t0 = now();
    const run = pubs.run({ rate: 0, total: n, qos: 1, kind: 'alarm', topics: key, idPrefix: `${ctx.runId}-replicas-${count}-drain` });
    const delivered = (await settleCount(screens, 221 + n, 120_000)) - 221;
    const drainMs = (screens.reachedAt(221 + n) ?? now()) - t0;
    await run;
    const acceptedBy = (await Promise.all(gws.map(alarmsAccepted))).map((a, i) => a - acceptedBefore[i]);
    ctx.log(`  ${count} gateway(s): ${delivered}/${n} on all ${SCREENS} screens in ${drainMs.toFixed(0)} ms → ${((n / drainMs) * 1000).toFixed(0)}/s; taken by ${acceptedBy.join(' + ')}`);

    // The same 20 screens for the latency (a user may hold 20 live sockets): these parse the frames.
    await Promise.all(screenSets.splice(0).map((s) => s.close()));
    for (const gw of gws) {
      for (let i = 0; i < SCREENS / count; i++) {
        const s = await openLive(gw.url, gw.token);
        await s.next((f) => f.type === 'snapshot', 20_000);
        s.ws.on('message', (raw) => {
          const text = raw.toString();
          if (!text.includes('"type":"alarm"') || !text.includes('"lat-')) return;
          const id = (JSON.parse(text) as { data?: { sourceId?: string } }).data?.sourceId;
          if (id?.startsWith('lat-') && text.includes('"state":"raised"')) hist.recordValue(Math.max(1, Number((process.hrtime.bigint() - BigInt(id.slice(4))) / 1000n)));
        });
        latencyScreens.push(s);
      }
    }
    presser = await connectDevice(ctx.broker.url, { clean: true });
    const buttons = deviceTopics(reg, prefix, 'alarm', ['alarm_button']);
    const alarms = durationS * ALARMS_PER_SEC;
    const start = Date.now();
    for (let i = 0; i < alarms; i++) {
      const due = start + (i * 1000) / ALARMS_PER_SEC;
      if (due > Date.now()) await sleep(due - Date.now());
      presser.publish(buttons[i % buttons.length], JSON.stringify({ id: `lat-${process.hrtime.bigint()}`, ts: Date.now(), kind: 'panic' }), { qos: 1 });
    }
    const deadline = Date.now() + 10_000;
    while (hist.totalCount < alarms * SCREENS && Date.now() < deadline) await sleep(100);
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      gateways: count,
      n,
      drainMs,
      rate: delivered >= n ? (n / drainMs) * 1000 : 0,
      delivered,
      latency: { count: hist.totalCount, p50: ms(hist.getValueAtPercentile(50)), p99: ms(hist.getValueAtPercentile(99)), max: ms(hist.maxValue) },
      acceptedBy,
    };
  } finally {
    await Promise.all(latencyScreens.map((s) => s.close()));
    await presser?.endAsync().catch(() => undefined);
    await Promise.all(screenSets.map((s) => s.close()));
    for (const gw of gws) await gw.stop();
  }
}

export const replicasCase: BenchCase = {
  name: 'replicas',
  async run(ctx) {
    const n = ctx.mode.full ? 20_000 : 2_000;
    const durationS = ctx.mode.full ? 60 : 10;
    const pg = await startPostgres();
    const pubs = await Publishers.start(ctx.broker.url, ctx.mode.publishers, ctx.runId);
    try {
      const one = await runSetup(ctx, pubs, await pg.createDatabase(), 1, n, durationS);
      const two = await runSetup(ctx, pubs, await pg.createDatabase(), 2, n, durationS);
      const note = `2 gateways took ${two.acceptedBy.join(' + ')} of the burst; PostgreSQL ${pg.url.replace(/\/[^/]*$/, '')}, same broker`;
      const rows: Row[] = [
        {
          case: 'replicas',
          metric: `${n.toLocaleString('en-US')} QoS 1 alarms to 20 screens, drain: 1 gateway (baseline) vs 2 replicas`,
          unit: 'msg/s',
          baseline: Math.round(one.rate),
          gateway: Math.round(two.rate),
          compare: 'ratio',
          target: '—',
          met: null,
          note: two.delivered < n || one.delivered < n ? `delivered: 1 gateway ${one.delivered}/${n}, 2 gateways ${two.delivered}/${n}` : note,
        },
        ...(['p50', 'p99'] as const).map(
          (p): Row => ({
            case: 'replicas',
            metric: `alarm publish → screen ${p}, ${ALARMS_PER_SEC}/s: 1 gateway (baseline) vs 2 replicas`,
            unit: 'ms',
            baseline: one.latency[p],
            gateway: two.latency[p],
            compare: 'diff',
            target: '—',
            met: null,
          }),
        ),
      ];
      return { rows, details: { one, two } };
    } finally {
      await pubs.stop();
      await pg.stop();
    }
  },
};
