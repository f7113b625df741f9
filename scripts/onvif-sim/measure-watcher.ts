/**
 * Measures the ONVIF CameraWatcher's CPU against the simulator running in a child process (so only
 * the watcher's CPU is counted): the first probe interval, then a steady-state window.
 *
 *   node --import tsx scripts/onvif-sim/measure-watcher.ts [--cameras 2000] [--interval 30] [--seconds 90] [--events]
 *
 * Prints one JSON line. The numbers in docs/decisions/0002-onvif-library.md come from this.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { CameraWatcher } from '../../gateway/ingest/onvif/index.js';

const { values } = parseArgs({
  options: {
    cameras: { type: 'string', default: '2000' },
    interval: { type: 'string', default: '30' },
    seconds: { type: 'string', default: '90' },
    events: { type: 'boolean', default: false },
  },
});
const cameras = Number(values.cameras);
const intervalSec = Number(values.interval);
const totalMs = Number(values.seconds) * 1000;
if (totalMs <= intervalSec * 1000) throw new Error('--seconds must be longer than --interval (the first interval is reported apart)');

const port = await new Promise<number>((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as net.AddressInfo).port;
    s.close(() => resolve(p));
  });
});
const here = path.dirname(fileURLToPath(import.meta.url));
const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'index.ts'), '--cameras', String(cameras), '--port', String(port), '--no-discovery'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise<void>((resolve, reject) => {
  child.once('exit', (code) => reject(new Error(`simulator exited (${code})`)));
  child.stdout.on('data', (b: Buffer) => /ONVIF simulator:/.test(b.toString()) && resolve());
});

const ids = Array.from({ length: cameras }, (_, i) => `cam-${String(i + 1).padStart(4, '0')}`);
let results = 0;
let fails = 0;
let details = 0;
let alive = 0;
const w = new CameraWatcher({
  targets: ids.map((id) => ({ id, url: `http://127.0.0.1:${port}/onvif/${id}/device_service`, username: 'admin', password: 'admin' })),
  probeIntervalSec: intervalSec,
  timeoutMs: 5000,
  detailsEveryN: 20,
  concurrency: 32,
  events: values.events,
  log: pino({ level: 'warn' }),
  onResult: (_id, r) => {
    results++;
    if (!r.ok) fails++;
  },
  onDetails: () => details++,
  onAlive: () => alive++,
});
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const share = (cpuMs: number, wallMs: number) => `${((cpuMs / wallMs) * 100).toFixed(1)}%`;
let peakRss = 0;
const rss = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 1000);
const c0 = cpu();
const t0 = performance.now();
w.start();
await new Promise((r) => setTimeout(r, intervalSec * 1000));
const [c1, t1, r1] = [cpu(), performance.now(), results];
await new Promise((r) => setTimeout(r, totalMs - intervalSec * 1000));
const [c2, t2] = [cpu(), performance.now()];
clearInterval(rss);
const s0 = performance.now();
await w.stop();
console.log(
  JSON.stringify({
    cameras,
    intervalSec,
    events: values.events,
    firstIntervalCpu: share(c1 - c0, t1 - t0),
    steadyCpu: share(c2 - c1, t2 - t1),
    steadyProbesPerSec: Number(((results - r1) / ((t2 - t1) / 1000)).toFixed(1)),
    probes: results,
    failed: fails,
    details,
    alive,
    peakRssMB: Math.round(peakRss / 1e6),
    stopMs: Math.round(performance.now() - s0),
  }),
);
child.kill('SIGTERM');
