/**
 * onvif (issue 4): the gateway probing N simulated ONVIF cameras (short 500 at 10 s, full 2,000 at
 * the default 30 s), PullPoint events on — the gateway process's CPU share and peak RSS over a
 * steady window after the first interval, against the same gateway with the same registry but no
 * ONVIF addresses (its idle cost) in the same run.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startOnvifSim } from '../../onvif-sim/index.js';
import { benchGateway, cpuSeconds, readRegistry, sleep, statusMiB, type BenchCase, type Ctx, type Row } from '../lib.js';

async function measure(ctx: Ctx, name: string, registry: unknown, env: Record<string, string>, warmMs: number, windowMs: number) {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-onvif-')), 'county.json');
  writeFileSync(file, JSON.stringify(registry));
  const gw = await benchGateway(ctx, name, { REGISTRY: file, ...env });
  try {
    await sleep(warmMs);
    const pid = gw.proc.pid!;
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    await sleep(windowMs);
    const share = (cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000);
    return { share, peakMiB: statusMiB(pid, 'VmHWM') };
  } finally {
    await gw.stop();
  }
}

export const onvif: BenchCase = {
  name: 'onvif',
  async run(ctx) {
    const cameras = ctx.mode.full ? 2000 : 500;
    const intervalSec = ctx.mode.full ? 30 : 10;
    const windowMs = ctx.mode.full ? 120_000 : 20_000;
    const warmMs = (intervalSec + 5) * 1000;
    const reg = readRegistry();
    const camDevices = reg.schools.flatMap((s) => s.devices.filter((d) => d.kind === 'camera')).slice(0, cameras);
    const sim = await startOnvifSim({ cameras: camDevices.map((d) => ({ id: d.id })), username: 'admin', password: 'bench', discovery: false });
    try {
      ctx.log(`  onvif: ${camDevices.length} simulated cameras at ${sim.baseUrl}, probe every ${intervalSec} s`);
      const idle = await measure(ctx, 'onvif-idle', reg, {}, warmMs, windowMs);
      for (const d of camDevices) d.onvif = sim.deviceUrl(d.id);
      const before = sim.stats().byAction.GetSystemDateAndTime ?? 0;
      const probing = await measure(
        ctx,
        'onvif-probing',
        reg,
        { ONVIF_USERNAME: 'admin', ONVIF_PASSWORD: 'bench', ONVIF_PROBE_INTERVAL_SEC: String(intervalSec), ONVIF_DISCOVERY_INTERVAL_SEC: '0', ONVIF_DISCOVERY_MULTICAST: 'false' },
        warmMs,
        windowMs,
      );
      const probes = (sim.stats().byAction.GetSystemDateAndTime ?? 0) - before;
      const expected = (camDevices.length * (warmMs + windowMs)) / 1000 / intervalSec;
      const rows: Row[] = [
        {
          case: 'onvif',
          metric: `CPU share probing ${camDevices.length} cameras every ${intervalSec} s (events on)`,
          unit: '% core',
          baseline: idle.share * 100,
          gateway: probing.share * 100,
          compare: 'diff',
          target: '—',
          met: null,
          note: `baseline: the same gateway and registry without ONVIF addresses; GetSystemDateAndTime answered ${probes} times (~${Math.round(expected)} liveness probes expected; credential checks add some)`,
        },
        { case: 'onvif', metric: 'peak RSS', unit: 'MiB', baseline: idle.peakMiB, gateway: probing.peakMiB, compare: 'diff', target: '—', met: null },
      ];
      return { rows, details: { cameras: camDevices.length, intervalSec, windowMs, idle, probing, probes, expectedProbes: expected } };
    } finally {
      await sim.close();
    }
  },
};
