/**
 * What the benchmark cases share: run settings, result rows, child processes (publishers, the
 * bare subscriber), the gateway under test, counting what it processed, live-feed clients,
 * /proc figures. The search for a sustainable rate is in search.ts.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import type { Registry } from '../../gateway/contract/registry.js';
import { heartbeatSec } from '../../gateway/registry.js';
import { REPO_ROOT, login, startGateway, type GatewayProc } from '../../test/support/gateway.js';
import type { Mosquitto } from '../../test/support/mosquitto.js';
import { isRunning, stopChild, track } from '../../test/support/procs.js';
import type { Victoria } from '../../test/support/victoria.js';
import type { FromPublisher, PublishJob, PublishKind, ToPublisher } from './publisher.js';
import type { FromSubscriber, ToSubscriber } from './subscriber.js';

// ───────────────────────────── settings, rows, context ─────────────────────────────

export interface Mode {
  full: boolean;
  /** one step of the sustainable-rate search: offered load for stepMs, then graceMs to finish */
  stepMs: number;
  graceMs: number;
  /** steps per search after the probe */
  steps: number;
  /** publisher processes */
  publishers: number;
}

export const SHORT: Mode = { full: false, stepMs: 2000, graceMs: 300, steps: 3, publishers: 2 };
export const FULL: Mode = { full: true, stepMs: 10_000, graceMs: 1000, steps: 7, publishers: 2 };

export interface Row {
  case: string;
  metric: string;
  unit: string;
  baseline: number | null;
  gateway: number | null;
  /** the figure is a lower bound (the publishers could not offer more, or no step of the search failed) */
  baselineAtLeast?: boolean;
  gatewayAtLeast?: boolean;
  /** how gateway and baseline compare: gateway ÷ baseline, or gateway − baseline */
  compare: 'ratio' | 'diff' | 'none';
  target: string;
  /** null: no target, or not measured */
  met: boolean | null;
  /** shown in place of a missing gateway figure, else as a numbered footnote */
  note?: string;
}

/** Figures one case leaves for later ones (e.g. the sustainable heartbeat rate for the latency case). */
export interface Shared {
  gatewayQos0Rate?: number;
}

export interface Ctx {
  mode: Mode;
  broker: Mosquitto;
  /** a VictoriaMetrics started on first use and shared by the cases that only write to it */
  victoria(): Promise<Victoria>;
  shared: Shared;
  /** unique per run: topic prefixes and client ids include it */
  runId: string;
  /** when set, gateway processes are CPU-profiled (cpu-prof.mjs) into <dir>/<gateway>/ */
  profileDir?: string;
  log(msg: string): void;
}

export interface CaseOutput {
  rows: Row[];
  details: Record<string, unknown>;
}

export interface BenchCase {
  name: string;
  /** how long the case may run (default: 5 min short, 30 min full) */
  timeoutMs?: { short: number; full: number };
  run(ctx: Ctx): Promise<CaseOutput>;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const now = (): number => performance.now();

// ───────────────────────────── registry ─────────────────────────────

export const COUNTY_PATH = path.join(REPO_ROOT, 'config', 'county.json');

export function readRegistry(file = COUNTY_PATH): Registry {
  return JSON.parse(readFileSync(file, 'utf8')) as Registry;
}

/** `${prefix}/${school}/${device}/${type}` for every device of the given kinds (all kinds when omitted), in registry order. */
export function deviceTopics(reg: Registry, prefix: string, type: string, kinds?: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of reg.schools) for (const d of s.devices) if (!kinds || kinds.includes(d.kind)) out.push(`${prefix}/${s.id}/${d.id}/${type}`);
  return out;
}

/** Heartbeats per second the registry's devices send at their intervals. */
export function heartbeatRate(reg: Registry, kinds?: readonly string[]): number {
  let r = 0;
  for (const s of reg.schools)
    for (const d of s.devices) if (!kinds || kinds.includes(d.kind)) r += 1 / heartbeatSec(reg, d);
  return r;
}

// ───────────────────────────── child processes ─────────────────────────────

/** A forked TypeScript helper (publisher.ts, subscriber.ts) spoken to over IPC, one request at a time. */
class Child<In, Out extends { type: string }> {
  readonly proc: ChildProcess;
  private waiter?: { resolve(m: Out): void; reject(e: Error): void };

  constructor(script: string) {
    this.proc = fork(path.join(REPO_ROOT, 'scripts', 'bench', script), [], {
      cwd: REPO_ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    track(this.proc);
    this.proc.on('message', (m) => {
      const w = this.waiter;
      this.waiter = undefined;
      const msg = m as Out;
      if (!w) return;
      if (msg.type === 'error') w.reject(new Error(`${script}: ${(msg as unknown as { message: string }).message}`));
      else w.resolve(msg);
    });
    this.proc.once('exit', (code, signal) => this.waiter?.reject(new Error(`${script} exited (${code ?? signal})`)));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  request(msg: In, timeoutMs = 120_000): Promise<Out> {
    if (this.waiter) return Promise.reject(new Error('one request at a time'));
    return new Promise<Out>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no answer to ${(msg as { type: string }).type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (m) => (clearTimeout(timer), resolve(m)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      this.proc.send(msg as object);
    });
  }

  async stop(exitMsg: In): Promise<void> {
    if (!isRunning(this.proc)) return;
    this.proc.send(exitMsg as object);
    await stopChild(this.proc, 'SIGTERM', 3000).catch(() => undefined);
  }
}

export interface PublishRun {
  sent: number;
  /** until the slowest publisher's last message was confirmed */
  elapsedMs: number;
  plannedMs: number;
  maxLagMs: number;
  /** the publishers kept the schedule (finished within 5 % + 100 ms of the planned time) */
  onPace: boolean;
  /** what they achieved: sent ÷ elapsed */
  achievedRate: number;
}

export interface PublishPlan {
  /** messages per second in total (0: as fast as possible) */
  rate: number;
  total: number;
  qos: 0 | 1;
  kind: PublishKind;
  topics: string;
  idPrefix: string;
}

/** Several publisher processes, one MQTT connection each; a plan is split round-robin between them. */
export class Publishers {
  private constructor(private readonly children: Child<ToPublisher, FromPublisher>[]) {}

  static async start(url: string, n: number, runId: string): Promise<Publishers> {
    const children = Array.from({ length: n }, () => new Child<ToPublisher, FromPublisher>('publisher.ts'));
    const pubs = new Publishers(children);
    try {
      await Promise.all(children.map((c, i) => c.request({ type: 'connect', url, clientId: `bench-pub-${runId}-${i}-${Math.random().toString(36).slice(2, 8)}` }, 30_000)));
    } catch (err) {
      await pubs.stop();
      throw err;
    }
    return pubs;
  }

  get pids(): number[] {
    return this.children.map((c) => c.pid);
  }

  async setTopics(key: string, list: string[]): Promise<void> {
    await Promise.all(this.children.map((c) => c.request({ type: 'topics', key, list })));
  }

  async run(plan: PublishPlan): Promise<PublishRun> {
    const shards = this.children.length;
    const jobs: PublishJob[] = this.children.map((_, shard) => ({ ...plan, rate: plan.rate / shards, shard, shards }));
    const timeout = Math.max(60_000, plan.rate > 0 ? (plan.total / plan.rate) * 3000 : 0);
    const results = await Promise.all(this.children.map((c, i) => c.request({ type: 'run', job: jobs[i] }, timeout)));
    let sent = 0, elapsedMs = 0, plannedMs = 0, maxLagMs = 0;
    for (const r of results) {
      if (r.type !== 'done') throw new Error(`publisher answered ${r.type}`);
      sent += r.sent;
      elapsedMs = Math.max(elapsedMs, r.elapsedMs);
      plannedMs = Math.max(plannedMs, r.plannedMs);
      maxLagMs = Math.max(maxLagMs, r.maxLagMs);
    }
    const onPace = plan.rate === 0 || elapsedMs <= plannedMs * 1.05 + 100;
    return { sent, elapsedMs, plannedMs, maxLagMs, onPace, achievedRate: elapsedMs > 0 ? (sent / elapsedMs) * 1000 : 0 };
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((c) => c.stop({ type: 'exit' })));
  }
}

/** The baseline consumer: a bare MQTT.js subscriber in its own process, counting messages. */
export class BareSubscriber {
  private constructor(private readonly child: Child<ToSubscriber, FromSubscriber>) {}

  static async start(url: string, filter: string, qos: 0 | 1, runId: string): Promise<BareSubscriber> {
    const child = new Child<ToSubscriber, FromSubscriber>('subscriber.ts');
    const sub = new BareSubscriber(child);
    try {
      await child.request({ type: 'start', url, clientId: `bench-sub-${runId}-${Math.random().toString(36).slice(2, 8)}`, filter, qos }, 30_000);
    } catch (err) {
      await sub.stop();
      throw err;
    }
    return sub;
  }

  get pid(): number {
    return this.child.pid;
  }

  async count(): Promise<number> {
    const r = await this.child.request({ type: 'count' });
    if (r.type !== 'count') throw new Error(`subscriber answered ${r.type}`);
    return r.n;
  }

  stop(): Promise<void> {
    return this.child.stop({ type: 'exit' });
  }
}

// ───────────────────────────── the gateway under test ─────────────────────────────

export interface BenchGateway extends GatewayProc {
  /** this instance's MQTT_TOPIC_PREFIX (unique, so old persistent sessions never see new traffic) */
  prefix: string;
  token: string;
  /** the gateway's warn/error/fatal log lines so far (pino JSON, LOG_LEVEL=warn) */
  complaints(): string[];
}

/**
 * The real gateway process on the bench broker, with its own topic prefix and client id. Extra
 * env is applied last. With ctx.profileDir set it is CPU-profiled (cpu-prof.mjs, written on stop).
 */
export async function benchGateway(ctx: Ctx, name: string, env: Record<string, string> = {}, opts: { dataDir?: string; heapMB?: number; startTimeoutMs?: number } = {}): Promise<BenchGateway> {
  const prefix = `bench-${ctx.runId}/${name}`;
  const extra: Record<string, string> = {
    MQTT_TOPIC_PREFIX: prefix,
    MQTT_CLIENT_ID: `bench-gw-${ctx.runId}-${name}`,
    LOG_LEVEL: 'warn',
  };
  if (ctx.profileDir) {
    // Node 20 refuses --cpu-prof in NODE_OPTIONS: cpu-prof.mjs does the same through the inspector.
    extra.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import ${path.join(REPO_ROOT, 'scripts', 'bench', 'cpu-prof.mjs')}`.trim();
    extra.BENCH_CPU_PROF_DIR = path.join(ctx.profileDir, name.replace(/[^A-Za-z0-9_-]/g, '_'));
  }
  // A V8 heap cap (README, "Deploy"): without one V8 lets garbage pile up to a quarter of RAM.
  if (opts.heapMB) extra.NODE_OPTIONS = `${extra.NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${opts.heapMB}`.trim();
  const gw = await startGateway({ mqttUrl: ctx.broker.url, dataDir: opts.dataDir, env: { ...extra, ...env }, startTimeoutMs: opts.startTimeoutMs ?? 120_000 });
  const complaints = (): string[] => gw.logs().split('\n').filter((l) => /"level":(40|50|60)/.test(l));
  const stop = gw.stop.bind(gw);
  // On the way out, say what the gateway complained about: a bench figure may hide a fault.
  gw.stop = async () => {
    await stop();
    const lines = complaints();
    if (lines.length) ctx.log(`  gateway ${name} logged ${lines.length} warnings/errors, e.g.:\n    ${lines.slice(0, 3).map((l) => l.slice(0, 400)).join('\n    ')}`);
  };
  try {
    const token = await login(gw.url, 'admin', gw.adminPassword);
    return Object.assign(gw, { prefix, token, complaints });
  } catch (err) {
    await gw.kill9();
    throw err;
  }
}

/** Sums `campus_gateway_messages_accepted_total{type="…"}` from GET /metrics. */
export async function acceptedTotal(url: string, type: string): Promise<number> {
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  if (!res.ok) throw new Error(`GET /metrics: ${res.status}`);
  const re = new RegExp(`^campus_gateway_messages_accepted_total\\{type="${type}"\\}\\s+(\\S+)`, 'm');
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

/** GET /health as JSON (any status). */
export async function health(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.json() };
}

// ───────────────────────────── live-feed clients ─────────────────────────────

export interface CountingScreens {
  /** frames received by each client, the snapshot included */
  counts(): number[];
  /** the seq of each client's snapshot (its first frame): it covers everything up to there */
  snapshotSeqs(): number[];
  /** the seq of each client's latest frame (read off the frame's first bytes, no JSON parse) */
  lastSeqs(): number[];
  /** distinct alarms each client has had an `alarm` frame of (the id read off the frame's first bytes) */
  alarms(): number[];
  /** when the slowest client had its k-th distinct alarm (performance.now()), or undefined if one has not yet */
  alarmAt(k: number): number | undefined;
  /** clients closed by the gateway (e.g. resync) */
  closedByServer(): number;
  close(): Promise<void>;
}

/**
 * `n` wall-screen-like WebSocket clients on /live that read every frame but only count it (no JSON
 * parsing past the first frame: the bench shares the machine with the gateway and must stay
 * light). Resolves once every client has its snapshot.
 */
export async function openCountingScreens(url: string, token: string, n: number): Promise<CountingScreens> {
  const wsUrl = `${url.replace(/^http/, 'ws')}/live?token=${encodeURIComponent(token)}`;
  const counts = new Array<number>(n).fill(0);
  const snapshotSeqs = new Array<number>(n).fill(NaN);
  const lastSeqs = new Array<number>(n).fill(NaN);
  let serverClosed = 0;
  const alarmIds = counts.map(() => new Set<string>());
  const alarmTimes = counts.map((): number[] => []);
  let closing = false;
  const sockets: WebSocket[] = [];
  const live = counts.map(
    (_, i) =>
      new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(wsUrl);
        sockets.push(ws);
        ws.on('message', (raw: Buffer) => {
          // Frames are JSON.stringify({ seq, type, data }): the seq is in the first bytes.
          const head = raw.subarray(0, 120).toString('latin1');
          const m = /^\{"seq":(\d+)(,"type":"alarm","data":\{"id":"([^"]+)")?/.exec(head);
          if (m) lastSeqs[i] = Number(m[1]);
          // An alarm's first frame (later ones, e.g. a picture's, carry the same id).
          if (m?.[3] && !alarmIds[i].has(m[3])) alarmIds[i].add(m[3]), alarmTimes[i].push(now());
          if (counts[i]++ > 0) return;
          const first = JSON.parse(raw.toString()) as { seq: number; type: string };
          if (first.type !== 'snapshot') return reject(new Error(`first live frame is ${first.type}, not snapshot`));
          snapshotSeqs[i] = first.seq;
          resolve();
        });
        ws.once('error', reject);
        ws.on('close', () => {
          if (!closing) serverClosed++;
          reject(new Error('live socket closed before its snapshot'));
        });
      }),
  );
  const screens: CountingScreens = {
    counts: () => [...counts],
    snapshotSeqs: () => [...snapshotSeqs],
    lastSeqs: () => [...lastSeqs],
    alarms: () => alarmIds.map((ids) => ids.size),
    alarmAt: (k) => latestKth(alarmTimes, k),
    closedByServer: () => serverClosed,
    async close() {
      closing = true;
      await closeSockets(sockets);
    },
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([Promise.all(live), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no snapshot within 30 s')), 30_000)))]);
  } catch (err) {
    await screens.close();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return screens;
}

/** Closes every socket, terminating any that has not closed within 2 s. */
async function closeSockets(sockets: WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.close();
          setTimeout(() => (ws.terminate(), resolve()), 2000).unref();
        }),
    ),
  );
}

/** When the slowest of several receivers got its k-th item (times in arrival order per receiver). */
function latestKth(times: number[][], k: number): number | undefined {
  let latest = -Infinity;
  for (const t of times) {
    if (t.length < k) return undefined;
    latest = Math.max(latest, t[k - 1]);
  }
  return latest;
}

/** `n` plain WebSocket clients on `wsUrl` that count the messages they get (a peer's screens). Resolves once all are open. */
export async function openCountingSockets(wsUrl: string, n: number): Promise<{ counts(): number[]; at(k: number): number | undefined; close(): Promise<void> }> {
  const counts = new Array<number>(n).fill(0);
  const times = counts.map((): number[] => []);
  const sockets = counts.map((_, i) => {
    const ws = new WebSocket(wsUrl);
    ws.on('message', () => void (counts[i]++, times[i].push(now())));
    return ws;
  });
  const close = (): Promise<void> => closeSockets(sockets);
  try {
    await Promise.all(sockets.map((ws) => new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)))));
  } catch (err) {
    await close();
    throw err;
  }
  return { counts: () => [...counts], at: (k) => latestKth(times, k), close };
}

// ───────────────────────────── /proc ─────────────────────────────

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64/arm64

/** user + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime (14), stime (15)
}

/** A field of /proc/<pid>/status in MiB (VmHWM: peak RSS, VmRSS: current). */
export function statusMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

// ───────────────────────────── consumers ─────────────────────────────

/** Whatever takes the messages: the gateway (GET /metrics) or the bare subscriber (its count). */
export interface Consumer {
  /** messages the consumer has processed so far (a running total) */
  processed(): Promise<number>;
  /**
   * Work the consumer still owes for what it processed (the gateway's export outbox): a step
   * passes only if this stays within `backlogAllowance` of the step's rate.
   */
  backlog?(): Promise<number>;
  /** Waits until that work is done, so that the next step starts from the same state. */
  quiesce?(): Promise<void>;
}

/** Waits until the consumer has `target` or stops making progress for 500 ms (what was lost stays lost). */
export async function settleCount(consumer: Consumer, target: number, maxMs = 60_000): Promise<number> {
  const end = now() + maxMs;
  let last = await consumer.processed();
  let lastChange = now();
  while (last < target && now() < end && now() - lastChange < 500) {
    await sleep(100);
    const n = await consumer.processed();
    if (n !== last) (last = n), (lastChange = now());
  }
  return last;
}

// ───────────────────────────── gateway's own figures ─────────────────────────────

/** GET /metrics as `name{labels}` → value (Prometheus text format, no timestamps). */
export async function scrapeMetrics(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/**
 * What the gateway says about itself over a window: event-loop delay (prom-client resets its
 * histogram at each scrape, so scrape once at the start of the window) and ledger commits by
 * duration (the counts between two scrapes).
 */
export interface GatewayInsight {
  eventLoopLagP99Ms: number;
  eventLoopLagMaxMs: number;
  commits: number;
  commitsOver25Ms: number;
  commitsOver100Ms: number;
  commitMeanMs: number;
}

export function insight(start: Map<string, number>, end: Map<string, number>): GatewayInsight {
  const d = (k: string): number => (end.get(k) ?? 0) - (start.get(k) ?? 0);
  const bucket = (le: string): number => d(`campus_gateway_ledger_commit_seconds_bucket{le="${le}"}`);
  const commits = d('campus_gateway_ledger_commit_seconds_count');
  return {
    eventLoopLagP99Ms: (end.get('campus_gateway_nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000,
    eventLoopLagMaxMs: (end.get('campus_gateway_nodejs_eventloop_lag_max_seconds') ?? NaN) * 1000,
    commits,
    commitsOver25Ms: commits - bucket('0.025'),
    commitsOver100Ms: commits - bucket('0.1'),
    commitMeanMs: commits > 0 ? (d('campus_gateway_ledger_commit_seconds_sum') / commits) * 1000 : NaN,
  };
}
