/**
 * Case 5, province scale. A generated registry (province-registry.ts: 200,000 devices in full
 * mode, 20,000 in short mode), every device heartbeating at its registry interval (QoS 0, phases
 * spread evenly) for 3 min (short: 20 s). Measured from /proc: the consumer's CPU share (utime +
 * stime over wall time) and peak RSS (VmHWM), and accepted vs sent. Baseline: a bare MQTT.js
 * subscriber taking the same stream. One wall screen is connected to the gateway.
 * Offline detection (full mode, where every device has been heard from): when the load stops,
 * every device is silenced; each must be detected offline (`silent`) by its deadline — its last
 * heartbeat + MISSED_HEARTBEATS × its interval, plus the liveness tick — and none may have been
 * reported offline while it was still heartbeating.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Registry } from '../../../gateway/contract/registry.js';
import { heartbeatSec } from '../../../gateway/registry.js';
import { makeTempDir } from '../../../test/support/procs.js';
import {
  BareSubscriber,
  Publishers,
  acceptedTotal,
  benchGateway,
  cpuSeconds,
  now,
  openCountingScreens,
  scrapeMetrics,
  settleCount,
  sleep,
  statusMiB,
  type BenchCase,
  type Consumer,
  type Ctx,
  type Row,
} from '../lib.js';
import { writeProvinceRegistry } from '../province-registry.js';

const CYCLE_S = 60;

/**
 * One cycle of the schedule as a topic list: device k of a group of n with interval I sends at
 * k·I/n + j·I. Published round-robin at length ÷ CYCLE_S per second, it repeats every cycle.
 */
function schedule(reg: Registry, prefix: string): string[] {
  const groups = new Map<number, string[]>();
  for (const s of reg.schools)
    for (const d of s.devices) {
      const interval = heartbeatSec(reg, d);
      if (CYCLE_S % interval !== 0) throw new Error(`interval ${interval} s does not divide the ${CYCLE_S} s cycle`);
      const g = groups.get(interval) ?? [];
      g.push(`${prefix}/${s.id}/${d.id}/heartbeat`);
      groups.set(interval, g);
    }
  const events: { t: number; topic: string }[] = [];
  for (const [interval, topics] of groups)
    topics.forEach((topic, k) => {
      for (let j = 0; j < CYCLE_S / interval; j++) events.push({ t: (k * interval) / topics.length + j * interval, topic });
    });
  events.sort((a, b) => a.t - b.t);
  return events.map((e) => e.topic);
}

interface Load {
  sent: number;
  processed: number;
  cpuShare: number;
  /** CPU share after the first cycle (every device online), when the run is long enough */
  steadyCpuShare: number | null;
  peakRssMiB: number;
  /** VmRSS at the start and every 5 s */
  rssMiB: number[];
  publisherRate: number;
  onPace: boolean;
}

/** Drives the schedule for `durationS` against a consumer process `pid`, sampling its CPU every 5 s. */
async function drive(ctx: Ctx, pubs: Publishers, key: string, perSec: number, durationS: number, pid: number, consumer: Consumer): Promise<Load> {
  const total = Math.round(perSec * durationS);
  const before = await consumer.processed();
  const sample = (): { t: number; cpu: number; rss: number } => ({ t: now(), cpu: cpuSeconds(pid), rss: Math.round(statusMiB(pid, 'VmRSS')) });
  const samples = [sample()];
  let publishing = true;
  const sampler = (async () => {
    while (publishing) {
      await sleep(5000);
      samples.push(sample());
    }
  })();
  const run = await pubs.run({ rate: perSec, total, qos: 0, kind: 'heartbeat', topics: key, idPrefix: 'scale' });
  const processed = (await settleCount(consumer, before + total, 30_000)) - before;
  publishing = false;
  await sampler;
  const end = sample();
  samples.push(end);
  const first = samples[0];
  const steadyFrom = samples.find((s) => s.t - first.t >= CYCLE_S * 1000);
  const steady = durationS >= 2 * CYCLE_S && steadyFrom ? (end.cpu - steadyFrom.cpu) / ((end.t - steadyFrom.t) / 1000) : null;
  return {
    sent: run.sent,
    processed,
    cpuShare: (end.cpu - first.cpu) / ((end.t - first.t) / 1000),
    steadyCpuShare: steady,
    peakRssMiB: statusMiB(pid, 'VmHWM'),
    rssMiB: samples.map((x) => x.rss),
    publisherRate: Math.round(run.achievedRate),
    onPace: run.onPace,
  };
}

/** One province run: its size, how long the load lasts, its targets, and whether this mode runs it at all. */
interface Province {
  name: string;
  devices: number;
  durationS: number;
  cpuTarget: number;
  /** peak RSS target in MB (10^6 bytes) */
  rssTargetMB: number;
  /** the size the targets are for, when this mode runs a smaller one */
  targetDevices: number;
  /** the alarm buttons' heartbeat interval (default 30 s; cameras: 60 s) */
  buttonIntervalSec?: number;
  /** a V8 heap cap (--max-old-space-size), if any */
  heapMB?: number;
}

async function runProvince(ctx: Ctx, p: Province): ReturnType<BenchCase['run']> {
    const { devices, durationS, name } = p;
    const dir = await makeTempDir('bench-province-');
    const file = path.join(dir, 'province.json');
    writeProvinceRegistry(devices, file, p.buttonIntervalSec);
    const reg = JSON.parse(readFileSync(file, 'utf8')) as Registry;
    const pubs = await Publishers.start(ctx.broker.url, ctx.mode.publishers, ctx.runId);
    try {
      // Baseline: a bare subscriber taking the same stream.
      const barePrefix = `bench-${ctx.runId}/scale-bare`;
      const bareList = schedule(reg, barePrefix);
      const perSec = bareList.length / CYCLE_S;
      ctx.log(`  ${devices.toLocaleString('en-US')} devices → ${Math.round(perSec)} heartbeats/s for ${durationS} s`);
      await pubs.setTopics('scale-bare', bareList);
      const sub = await BareSubscriber.start(ctx.broker.url, `${barePrefix}/#`, 0, ctx.runId);
      let base: Load;
      try {
        base = await drive(ctx, pubs, 'scale-bare', perSec, durationS, sub.pid, { processed: () => sub.count() });
      } finally {
        await sub.stop();
      }

      const t0 = now();
      const gw = await benchGateway(ctx, name, { REGISTRY: file }, { heapMB: p.heapMB, startTimeoutMs: 300_000 });
      const startS = (now() - t0) / 1000;
      const screen = await openCountingScreens(gw.url, gw.token, 1);
      await sleep(1000); // the screen's snapshot
      const atStart = { peakRssMiB: Math.round(statusMiB(gw.proc.pid!, 'VmHWM')), rssMiB: Math.round(statusMiB(gw.proc.pid!, 'VmRSS')) };
      ctx.log(`  gateway started in ${startS.toFixed(1)} s; after start and a screen's snapshot: RSS ${atStart.rssMiB} MiB, peak so far ${atStart.peakRssMiB} MiB`);
      let load: Load;
      let memory: Record<string, number> = {};
      let detection: Detection | null = null;
      try {
        await pubs.setTopics('scale-gw', schedule(reg, gw.prefix));
        load = await drive(ctx, pubs, 'scale-gw', perSec, durationS, gw.proc.pid!, { processed: () => acceptedTotal(gw.url, 'heartbeat') });
        if (ctx.mode.full) detection = await silenced(ctx, gw.url, devices, reg);
        // Where the memory is, by the gateway's own account (one scrape: it walks every device).
        const m = await scrapeMetrics(gw.url);
        const mib = (k: string): number => Math.round((m.get(k) ?? NaN) / 2 ** 20);
        memory = {
          rssMiB: mib('campus_gateway_process_resident_memory_bytes'),
          heapUsedMiB: mib('campus_gateway_nodejs_heap_size_used_bytes'),
          heapTotalMiB: mib('campus_gateway_nodejs_heap_size_total_bytes'),
          externalMiB: mib('campus_gateway_nodejs_external_memory_bytes'),
        };
        ctx.log(`  gateway memory at the end: ${JSON.stringify(memory)}; VmRSS every 5 s: ${load.rssMiB.join(' ')}`);
      } finally {
        await screen.close();
        // A slow stop (it saves every device's last-seen time) is worth a note, not the run's figures.
        await gw.stop().catch((err: Error) => ctx.log(`  note: ${err.message}`));
      }

      const short = !ctx.mode.full;
      const shortNote = short ? `short mode: ${devices.toLocaleString('en-US')} devices for ${durationS} s; the target is for ${p.targetDevices.toLocaleString('en-US')}` : undefined;
      const cpuMetric = load.steadyCpuShare !== null ? 'CPU share after the first minute' : 'CPU share';
      const gwCpu = load.steadyCpuShare ?? load.cpuShare;
      const baseCpu = base.steadyCpuShare ?? base.cpuShare;
      const rows: Row[] = [
        { case: name, metric: `${cpuMetric}, ${devices.toLocaleString('en-US')} devices`, unit: 'cores', baseline: baseCpu, gateway: gwCpu, compare: 'ratio', target: `< ${p.cpuTarget} core`, met: short ? null : gwCpu < p.cpuTarget, note: shortNote },
        { case: name, metric: `peak RSS, ${devices.toLocaleString('en-US')} devices`, unit: 'MiB', baseline: base.peakRssMiB, gateway: load.peakRssMiB, compare: 'ratio', target: p.rssTargetMB >= 1000 ? `< ${p.rssTargetMB / 1000} GB` : `< ${p.rssTargetMB} MB`, met: short ? null : load.peakRssMiB * 1.048576 < p.rssTargetMB },
        {
          case: name,
          metric: 'heartbeats processed of sent',
          unit: '%',
          baseline: (base.processed / base.sent) * 100,
          gateway: (load.processed / load.sent) * 100,
          compare: 'none',
          target: '100 %',
          met: load.processed === load.sent,
          note: `${load.processed.toLocaleString('en-US')} of ${load.sent.toLocaleString('en-US')} at ${Math.round(perSec)}/s${load.onPace ? '' : ' (publishers behind)'}`,
        },
        detection
          ? {
              case: name,
              metric: 'silenced devices detected offline by their deadline; false offline',
              unit: 'devices',
              baseline: devices,
              gateway: detection.detectedInTime,
              compare: 'none',
              target: 'all, 0 false',
              met: detection.detectedInTime === devices && detection.falseOffline === 0,
              note: `${detection.falseOffline} false; all ${detection.detected.toLocaleString('en-US')} detected ${(detection.allDetectedAfterStopMs / 1000).toFixed(1)} s after the stop (last deadline ${(detection.lastDeadlineAfterStopMs / 1000).toFixed(0)} s after it)`,
            }
          : { case: name, metric: 'offline detections within deadline, none false', unit: '', baseline: null, gateway: null, compare: 'none', target: 'all, 0 false', met: null, note: 'full mode only (every device must have been heard from first)' },
      ];
      return { rows, details: { devices, durationS, heartbeatsPerSec: perSec, gatewayStartSeconds: startS, gatewayAfterStart: atStart, baseline: base, gateway: load, gatewayMemory: memory, detection } };
    } finally {
      await pubs.stop();
    }
}

/**
 * A V8 heap cap for the province gateways (MB), from BENCH_GATEWAY_HEAP_MB; none by default. With
 * 180 MB a 200,000-device gateway ran out of heap in the wave of first heartbeats (BENCHMARKS.md).
 */
const heapMB = (): number | undefined => (process.env.BENCH_GATEWAY_HEAP_MB ? Number(process.env.BENCH_GATEWAY_HEAP_MB) : undefined);

export const scale: BenchCase = {
  name: 'scale',
  run: (ctx) =>
    runProvince(ctx, { name: 'scale', devices: ctx.mode.full ? 200_000 : 20_000, durationS: ctx.mode.full ? 180 : 20, cpuTarget: 0.5, rssTargetMB: 300, targetDevices: 200_000, heapMB: heapMB() }),
};

/**
 * The moonshot: 1,000,000 devices at 60 s heartbeats (16,700 messages/s) in < 1 GB and
 * < 1 core, every silenced device detected by its deadline and none falsely. Full mode only: the
 * registry alone is 90 MB of JSON, and the run takes about a quarter of an hour.
 */
export const million: BenchCase = {
  name: 'million',
  async run(ctx) {
    if (!ctx.mode.full)
      return { rows: [{ case: 'million', metric: '1,000,000 devices', unit: '', baseline: null, gateway: null, compare: 'none', target: '< 1 GB, < 1 core', met: null, note: 'full mode only (npm run bench -- --full --case million)' }], details: {} };
    return runProvince(ctx, { name: 'million', devices: 1_000_000, durationS: 180, cpuTarget: 1, rssTargetMB: 1000, targetDevices: 1_000_000, buttonIntervalSec: 60, heapMB: heapMB() });
  },
};

interface Detection {
  falseOffline: number;
  detected: number;
  detectedInTime: number;
  allDetectedAfterStopMs: number;
  lastDeadlineAfterStopMs: number;
}

const MISSED = 3;
const TICK_SLACK_MS = 1000;

/** After the load stops: counts `silent` offline transitions until every device is in, or past the last deadline. */
async function silenced(ctx: Ctx, url: string, devices: number, reg: Registry): Promise<Detection> {
  const stop = now();
  const offline = async (reason?: string) => {
    let n = 0;
    for (const [k, v] of await scrapeMetrics(url))
      if (k.startsWith('campus_gateway_device_transitions_total{') && k.includes('online="false"') && (!reason || k.includes(`reason="${reason}"`))) n += v;
    return n;
  };
  const falseOffline = await offline();
  // A loop, not Math.max(...): 200,000 arguments overflow the stack.
  let maxInterval = Math.max(...Object.values(reg.defaults.heartbeatIntervalSec));
  for (const s of reg.schools) for (const d of s.devices) maxInterval = Math.max(maxInterval, d.heartbeatIntervalSec ?? 0);
  const lastDeadline = MISSED * maxInterval * 1000;
  ctx.log(`  silenced all ${devices.toLocaleString('en-US')} devices; waiting up to ${lastDeadline / 1000} s for their deadlines`);
  let detected = 0;
  let inTime = 0;
  let allAt = NaN;
  while (now() - stop < lastDeadline + 10_000) {
    await sleep(1000);
    detected = (await offline('silent')) - 0;
    if (now() - stop <= lastDeadline + TICK_SLACK_MS) inTime = detected;
    if (detected >= devices) {
      allAt = now() - stop;
      break;
    }
  }
  return { falseOffline, detected, detectedInTime: inTime, allDetectedAfterStopMs: allAt, lastDeadlineAfterStopMs: lastDeadline };
}
