/**
 * Case 2, alarm latency under load. Background heartbeats at half the gateway's sustainable QoS 0
 * rate (from the ingest case when it ran in this run), one-key alarms at 10/s, each carrying its
 * publish time in its id (`lat-<hrtime ns>`). Measured at once, on the same broker and in the
 * same bench process: publish → `alarm` frame at each of 20 wall screens (openLive), and
 * publish → a bare MQTT.js subscriber of the alarm topics (the baseline: what the broker and the
 * bench's own event loop cost).
 */
import * as hdr from 'hdr-histogram-js';
import type { MqttClient } from 'mqtt';
import { connectDevice } from '../../../test/support/mqtt.js';
import { openLive, type LiveClient } from '../../../test/support/ws.js';
import {
  Publishers,
  acceptedTotal,
  benchGateway,
  deviceTopics,
  insight,
  readRegistry,
  scrapeMetrics,
  settleCount,
  sleep,
  type BenchCase,
  type Row,
} from '../lib.js';

const SCREENS = 20;
const ALARMS_PER_SEC = 10;
/** Background load when the ingest case did not run. */
const DEFAULT_BACKGROUND = 5000;

type Histogram = ReturnType<typeof hdr.build>;

const newHistogram = (): Histogram =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 }); // µs

/** µs since the publish time carried in an id `lat-<ns>`, or null for any other id. */
function sincePublish(id: unknown): number | null {
  if (typeof id !== 'string' || !id.startsWith('lat-')) return null;
  return Number((process.hrtime.bigint() - BigInt(id.slice(4))) / 1000n);
}

function summary(h: Histogram): { count: number; p50: number; p99: number; max: number } {
  const ms = (us: number): number => Math.round(us) / 1000;
  return { count: h.totalCount, p50: ms(h.getValueAtPercentile(50)), p99: ms(h.getValueAtPercentile(99)), max: ms(h.maxValue) };
}

export const latency: BenchCase = {
  name: 'latency',
  async run(ctx) {
    const reg = readRegistry();
    const durationS = ctx.mode.full ? 120 : 20;
    const background = Math.round((ctx.shared.gatewayQos0Rate ?? DEFAULT_BACKGROUND * 2) / 2);
    const vm = await ctx.victoria();
    const gw = await benchGateway(ctx, 'latency', {
      ACK_TIMEOUT_SEC: '3600',
      INFLUX_URL: vm.url,
      INFLUX_TOKEN: 'bench',
      INFLUX_ORG: 'bench',
      INFLUX_BUCKET: 'bench',
    });
    const pubs = await Publishers.start(ctx.broker.url, ctx.mode.publishers, ctx.runId);
    const screens: LiveClient[] = [];
    let presser: MqttClient | undefined;
    let bare: MqttClient | undefined;
    const wsHist = newHistogram();
    const bareHist = newHistogram();
    try {
      const hbTopics = deviceTopics(reg, gw.prefix, 'heartbeat');
      await pubs.setTopics('hb', hbTopics);
      // Every device online first, so the only frames during the measurement are the alarms.
      const before = await acceptedTotal(gw.url, 'heartbeat');
      await pubs.run({ rate: 0, total: hbTopics.length, qos: 0, kind: 'heartbeat', topics: 'hb', idPrefix: 'warm' });
      await settleCount({ processed: () => acceptedTotal(gw.url, 'heartbeat') }, before + hbTopics.length);

      for (let i = 0; i < SCREENS; i++) {
        const s = await openLive(gw.url, gw.token);
        await s.next((f) => f.type === 'snapshot', 10_000);
        s.ws.on('message', (raw) => {
          const text = raw.toString();
          if (!text.includes('"type":"alarm"')) return;
          const us = sincePublish((JSON.parse(text) as { data?: { sourceId?: unknown } }).data?.sourceId);
          if (us !== null) wsHist.recordValue(Math.max(1, us));
        });
        screens.push(s);
      }
      bare = await connectDevice(ctx.broker.url, { clean: true });
      bare.on('message', (_topic, payload) => {
        const us = sincePublish((JSON.parse(payload.toString()) as { id?: unknown }).id);
        if (us !== null) bareHist.recordValue(Math.max(1, us));
      });
      await bare.subscribeAsync(`${gw.prefix}/+/+/alarm`, { qos: 1 });
      presser = await connectDevice(ctx.broker.url, { clean: true });

      // Background load for the whole measurement, and 2 s before it.
      ctx.log(`  background ${background} heartbeats/s, alarms ${ALARMS_PER_SEC}/s for ${durationS} s`);
      const bgTotal = Math.round(background * (durationS + 3));
      const bgRun = pubs.run({ rate: background, total: bgTotal, qos: 0, kind: 'heartbeat', topics: 'hb', idPrefix: 'bg' });
      await sleep(2000);
      const buttons = deviceTopics(reg, gw.prefix, 'alarm', ['alarm_button']);
      const alarms = durationS * ALARMS_PER_SEC;
      const metricsBefore = await scrapeMetrics(gw.url);
      const t0 = Date.now();
      for (let i = 0; i < alarms; i++) {
        const due = t0 + (i * 1000) / ALARMS_PER_SEC;
        if (due > Date.now()) await sleep(due - Date.now());
        const id = `lat-${process.hrtime.bigint()}`;
        presser.publish(buttons[i % buttons.length], JSON.stringify({ id, ts: Date.now(), kind: 'panic' }), { qos: 1 });
      }
      const bg = await bgRun;
      // Stragglers: every screen should have every alarm.
      const deadline = Date.now() + 10_000;
      while ((wsHist.totalCount < alarms * SCREENS || bareHist.totalCount < alarms) && Date.now() < deadline) await sleep(100);
      // One scrape: each GET /metrics resets the gateway's event-loop delay histogram.
      const metricsAfter = await scrapeMetrics(gw.url);
      const self = insight(metricsBefore, metricsAfter);
      // Then let the gateway finish any heartbeat backlog: late is not lost.
      const hbAccepted = (await settleCount({ processed: () => acceptedTotal(gw.url, 'heartbeat') }, before + hbTopics.length + bg.sent, 15_000)) - before - hbTopics.length;
      ctx.log(
        `  gateway: event-loop delay p99 ${self.eventLoopLagP99Ms.toFixed(1)} ms, max ${self.eventLoopLagMaxMs.toFixed(1)} ms; ` +
          `${self.commits} commits, mean ${self.commitMeanMs.toFixed(2)} ms, ${self.commitsOver25Ms} over 25 ms, ${self.commitsOver100Ms} over 100 ms`,
      );

      const ws = summary(wsHist);
      const base = summary(bareHist);
      const missing = alarms * SCREENS - ws.count;
      const note = [
        `background ${background}/s heartbeats (publishers ${Math.round(bg.achievedRate)}/s${bg.onPace ? '' : ', behind'}), gateway accepted ${hbAccepted}/${bg.sent}`,
        missing > 0 ? `${missing} of ${alarms * SCREENS} alarm frames missing` : '',
      ]
        .filter(Boolean)
        .join('; ');
      const row = (metric: string, b: number, g: number, target: string, met: boolean | null, n?: string): Row => ({
        case: 'latency',
        metric,
        unit: 'ms',
        baseline: b,
        gateway: g,
        compare: 'diff',
        target,
        met,
        note: n,
      });
      return {
        rows: [
          row('alarm publish → screen, p50', base.p50, ws.p50, '—', null),
          row('alarm publish → screen, p99', base.p99, ws.p99, '≤ baseline + 10 ms', missing === 0 && ws.p99 - base.p99 <= 10, note),
          row('alarm publish → screen, max', base.max, ws.max, '—', null),
        ],
        details: { durationS, alarmsPerSec: ALARMS_PER_SEC, screens: SCREENS, background, backgroundRun: bg, heartbeatsAccepted: hbAccepted, gatewaySays: self, gateway: ws, baseline: base, missingFrames: missing },
      };
    } finally {
      await Promise.all(screens.map((s) => s.close()));
      await presser?.endAsync().catch(() => undefined);
      await bare?.endAsync().catch(() => undefined);
      await pubs.stop();
      await gw.stop();
    }
  },
};
