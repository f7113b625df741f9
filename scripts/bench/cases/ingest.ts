/**
 * Case 1, ingest throughput. The sustainable rate (search.ts) of heartbeats at QoS 0
 * and one-key alarms at QoS 1, for a bare MQTT.js subscriber (baseline) and for the real gateway
 * on the same broker: validation, ledger commit, projections, live feed to 20 connected screens,
 * outbox for the time-series export (a VictoriaMetrics is attached). Each search has a fresh
 * gateway (empty ledger and outbox) and starts once every device has been seen and the warm-up's
 * points have been exported. The heartbeat search runs twice: counting what the gateway accepted
 * (the headline figure), and again with the export also required to keep up (search.ts
 * `exportMustKeepUp`). Heartbeats are round-robin over all 3,056 registry devices; alarms are
 * real presses with unique ids, round-robin over the 221 alarm buttons; ACK_TIMEOUT_SEC=3600 keeps
 * the escalation timers of thousands of unacknowledged alarms from firing during the measurement.
 */
import type { Registry } from '../../../gateway/contract/registry.js';
import { openLive, type LiveFrame } from '../../../test/support/ws.js';
import {
  BareSubscriber,
  Publishers,
  acceptedTotal,
  benchGateway,
  deviceTopics,
  health,
  openCountingScreens,
  readRegistry,
  settleCount,
  sleep,
  type BenchCase,
  type Consumer,
  type Ctx,
  type Row,
} from '../lib.js';
import { findSustainable, publisherMax, type SearchResult } from '../search.js';

const SCREENS = 20;

/** One search against a consumer, with its topic list loaded into the publishers and a warm-up pass over every device first. */
async function search(
  ctx: Ctx,
  pubs: Publishers,
  reg: Registry,
  consumer: Consumer,
  prefix: string,
  qos: 0 | 1,
  label: string,
  pubMax: number,
  exportMustKeepUp = false,
): Promise<SearchResult> {
  const kind = qos === 0 ? 'heartbeat' : 'alarm';
  const topics = qos === 0 ? deviceTopics(reg, prefix, 'heartbeat') : deviceTopics(reg, prefix, 'alarm', ['alarm_button']);
  const key = `${prefix}-${kind}`;
  await pubs.setTopics(key, topics);
  // Warm-up: every device once (brings them online at the gateway, warms the JIT everywhere).
  const before = await consumer.processed();
  await pubs.run({ rate: 0, total: topics.length, qos, kind, topics: key, idPrefix: `${label}-warm` });
  await settleCount(consumer, before + topics.length);
  await consumer.quiesce?.(); // e.g. the warm-up's points leave the outbox
  ctx.log(`  ${label}: searching`);
  return findSustainable({
    consumer,
    pubs,
    qos,
    kind,
    topics: key,
    idPrefix: `${ctx.runId}-${label}`,
    mode: ctx.mode,
    probeStart: qos === 0 ? 2000 : 200,
    publisherMax: pubMax,
    exportMustKeepUp,
    log: ctx.log,
  });
}

async function bare(ctx: Ctx, pubs: Publishers, reg: Registry, qos: 0 | 1, pubMax: number): Promise<SearchResult> {
  const prefix = `bench-${ctx.runId}/bare-q${qos}`;
  const sub = await BareSubscriber.start(ctx.broker.url, `${prefix}/#`, qos, ctx.runId);
  try {
    return await search(ctx, pubs, reg, { processed: () => sub.count() }, prefix, qos, `bare subscriber QoS ${qos}`, pubMax);
  } finally {
    await sub.stop();
  }
}

interface GatewayRun {
  label: string;
  result: SearchResult;
  screens: { framesPerScreen: number[]; lastSeq: number; closedByServer: number; framesShort: number };
  health: unknown;
}

/**
 * One search against a fresh gateway (a fresh ledger, an empty outbox), with 20 screens on its
 * live feed; then a check that every screen got every frame.
 */
async function gateway(ctx: Ctx, pubs: Publishers, reg: Registry, sync: 'full' | 'normal', qos: 0 | 1, pubMax: number, exportMustKeepUp = false): Promise<GatewayRun> {
  const vm = await ctx.victoria();
  const type = qos === 0 ? 'heartbeat' : 'alarm';
  const gw = await benchGateway(ctx, `ingest-${type}-${sync}${exportMustKeepUp ? '-export' : ''}`, {
    LEDGER_SYNC: sync,
    ACK_TIMEOUT_SEC: '3600',
    INFLUX_URL: vm.url,
    INFLUX_TOKEN: 'bench',
    INFLUX_ORG: 'bench',
    INFLUX_BUCKET: 'bench',
  });
  // 19 screens that only count, and one that reads every frame, to say which ones went missing.
  const screens = await openCountingScreens(gw.url, gw.token, SCREENS - 1);
  const reader = await openLive(gw.url, gw.token);
  try {
    await reader.next((f) => f.type === 'snapshot', 30_000);
    const label = `gateway ${type}s QoS ${qos} (LEDGER_SYNC=${sync})${exportMustKeepUp ? ', export keeping up' : ''}`;
    const consumer: Consumer = {
      processed: () => acceptedTotal(gw.url, type),
      backlog: async () => (await health(gw.url)).body.influx?.backlog ?? 0,
      quiesce: async () => {
        const end = Date.now() + 120_000;
        while ((await health(gw.url)).body.influx?.backlog > 0 && Date.now() < end) await sleep(100);
      },
    };
    const result = await search(ctx, pubs, reg, consumer, gw.prefix, qos, label, pubMax, exportMustKeepUp);
    // Every screen gets its snapshot and then every later frame of the feed (alarms, device changes).
    const h = await health(gw.url);
    const lastSeq = h.body.ledger.feedSeq as number;
    const missing = async (): Promise<number> => {
      const counts = screens.counts();
      const behind = screens.snapshotSeqs().map((seq, i) => lastSeq - seq + 1 - counts[i]);
      return Math.max(lastSeq - reader.frames[0].seq + 1 - reader.frames.length, ...behind);
    };
    await settleCount({ processed: async () => -(await missing()) }, 0, 15_000);
    const short = await missing();
    if (short > 0) ctx.log(`  a screen is ${short} feed frames short (last seq ${lastSeq}); the reading screen: ${describeGaps(reader.frames, lastSeq)}`);
    const framesPerScreen = [...screens.counts(), reader.frames.length];
    return { label, result, screens: { framesPerScreen, lastSeq, closedByServer: screens.closedByServer(), framesShort: short }, health: h.body };
  } finally {
    await screens.close();
    await reader.close();
    await gw.stop();
  }
}

/** Which seqs a screen did not get: gaps, and frames missing at the end. */
function describeGaps(frames: LiveFrame[], lastSeq: number): string {
  const gaps: string[] = [];
  for (let i = 2; i < frames.length; i++) if (frames[i].seq !== frames[i - 1].seq + 1) gaps.push(`${frames[i - 1].seq}→${frames[i].seq}`);
  const last = frames.at(-1)?.seq ?? 0;
  return `${gaps.length} gaps${gaps.length ? ` (${gaps.slice(0, 5).join(', ')})` : ''}, last frame seq ${last} of ${lastSeq}, types ${JSON.stringify(countBy(frames.map((f) => f.type)))}`;
}

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

function rateRow(metric: string, base: SearchResult, gw: SearchResult): Row {
  const ratio = base.rate > 0 ? gw.rate / base.rate : NaN;
  const notes: string[] = [];
  const bound = (r: SearchResult): string => (r.publisherBound ? 'publisher-bound' : 'no step failed');
  if (base.atLeast) notes.push(`baseline ${bound(base)}: a lower bound, so the ratio is an upper bound`);
  if (gw.atLeast) notes.push(`gateway ${bound(gw)}: a lower bound`);
  return {
    case: 'ingest',
    metric,
    unit: 'msg/s',
    baseline: base.rate,
    baselineAtLeast: base.atLeast,
    gateway: gw.rate,
    gatewayAtLeast: gw.atLeast,
    compare: 'ratio',
    target: '≥ 0.5×',
    met: Number.isFinite(ratio) ? ratio >= 0.5 : null,
    note: notes.join('; ') || undefined,
  };
}

export const ingest: BenchCase = {
  name: 'ingest',
  async run(ctx) {
    const reg = readRegistry();
    const pubs = await Publishers.start(ctx.broker.url, ctx.mode.publishers, ctx.runId);
    try {
      // The publishers' own ceiling, on topics nobody subscribes to.
      const nobody = `bench-${ctx.runId}/nobody`;
      await pubs.setTopics('nobody-hb', deviceTopics(reg, nobody, 'heartbeat'));
      await pubs.setTopics('nobody-al', deviceTopics(reg, nobody, 'alarm', ['alarm_button']));
      const max0 = await publisherMax(pubs, 0, 'heartbeat', 'nobody-hb', ctx.mode.full ? 400_000 : 150_000);
      const max1 = await publisherMax(pubs, 1, 'alarm', 'nobody-al', ctx.mode.full ? 100_000 : 40_000);
      ctx.log(`  publishers (${ctx.mode.publishers} processes): QoS 0 ${max0}/s, QoS 1 ${max1}/s`);

      const bare0 = await bare(ctx, pubs, reg, 0, max0);
      const bare1 = await bare(ctx, pubs, reg, 1, max1);
      const hb = await gateway(ctx, pubs, reg, 'full', 0, max0);
      const hbExport = await gateway(ctx, pubs, reg, 'full', 0, max0, true);
      const alarms = await gateway(ctx, pubs, reg, 'full', 1, max1);
      const alarmsNormal = await gateway(ctx, pubs, reg, 'normal', 1, max1);
      const gw0 = hb.result;
      const gw0x = hbExport.result;
      const gw1 = alarms.result;
      const gw1n = alarmsNormal.result;
      ctx.shared.gatewayQos0Rate = gw0.rate;

      const rows: Row[] = [
        rateRow('heartbeats QoS 0, sustainable', bare0, gw0),
        rateRow('heartbeats QoS 0, sustainable with the export keeping up', bare0, gw0x),
        rateRow('alarms QoS 1, sustainable (LEDGER_SYNC=full)', bare1, gw1),
        rateRow('alarms QoS 1, sustainable (LEDGER_SYNC=normal)', bare1, gw1n),
        {
          case: 'ingest',
          metric: `publishers' own max (${ctx.mode.publishers} processes, nobody subscribed)`,
          unit: 'msg/s',
          baseline: null,
          gateway: null,
          compare: 'none',
          target: 'outrun consumers',
          met: ![bare0, bare1, gw0, gw0x, gw1, gw1n].some((r) => r.publisherBound),
          note: `QoS 0 ${max0.toLocaleString('en-US')} · QoS 1 ${max1.toLocaleString('en-US')} msg/s`,
        },
      ];
      // The fan-out is part of the path: say so if screens were cut off or missed frames.
      rows[1].note = [rows[1].note, 'a step also fails if the export outbox ends it over 1.5 s of the rate + one batch'].filter(Boolean).join('; ');
      for (const [row, run] of [[rows[0], hb], [rows[1], hbExport], [rows[2], alarms], [rows[3], alarmsNormal]] as const) {
        const problems = [
          run.screens.closedByServer ? `${run.screens.closedByServer} screens cut off (resync)` : '',
          run.screens.framesShort ? `a screen missed ${run.screens.framesShort} feed frames` : '',
        ].filter(Boolean);
        if (problems.length) row.note = [row.note, ...problems].filter(Boolean).join('; ');
      }
      return {
        rows,
        details: {
          publisherMax: { qos0: max0, qos1: max1 },
          baseline: { qos0: bare0, qos1: bare1 },
          gateway: [hb, hbExport, alarms, alarmsNormal],
        },
      };
    } finally {
      await pubs.stop();
    }
  },
};
