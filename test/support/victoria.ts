// A real VictoriaMetrics single-node on a free port: an InfluxDB-compatible write target for tests
// (it accepts line protocol on /write, /api/v2/write and /influx/api/v2/write).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { freePort } from './ports.js';
import { OutputBuffer, isRunning, makeTempDir, stopChild, track } from './procs.js';

export const VICTORIA_BIN = '/usr/bin/victoria-metrics';

export interface Victoria {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  /**
   * SIGSTOP: the port stays open but nothing answers (a hung InfluxDB). Resolves once every thread
   * has stopped: right after kill(), a thread still busy in the kernel can answer one more request.
   */
  pause(): Promise<void>;
  /** SIGCONT */
  resume(): void;
  /** stop (if running), start again with the same port and data; resolves when /health answers */
  restart(): Promise<void>;
  logs(): string;
}

export interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

/** Linux: wait until every thread of `pid` is in state T (stopped), at most 2 s. */
async function allThreadsStopped(pid: number): Promise<void> {
  const deadline = Date.now() + 2000;
  for (;;) {
    let states: string[];
    try {
      const tasks = await readdir(`/proc/${pid}/task`);
      states = await Promise.all(
        tasks.map(async (t) => {
          const stat = await readFile(`/proc/${pid}/task/${t}/stat`, 'utf8').catch(() => ') T');
          return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3); // field 3, after "(comm) "
        }),
      );
    } catch {
      return; // no /proc, or the process is gone
    }
    if (states.every((s) => s === 'T' || s === 't')) return;
    if (Date.now() > deadline) throw new Error(`victoria-metrics (${pid}) not stopped after SIGSTOP: thread states ${states.join('')}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function startVictoria(): Promise<Victoria> {
  const port = await freePort();
  const dataDir = await makeTempDir('victoria-');
  const url = `http://127.0.0.1:${port}`;
  const output = new OutputBuffer(500_000);
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const c = spawn(
      VICTORIA_BIN,
      [
        `-httpListenAddr=127.0.0.1:${port}`,
        `-storageDataPath=${dataDir}`,
        '-retentionPeriod=100y',
        '-dedup.minScrapeInterval=1ms',
        '-search.latencyOffset=0s', // default 30s hides fresh points from /api/v1/query
        '-search.disableCache', // no response cache: every query sees what was just written
        '-loggerLevel=WARN',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = c;
    track(c);
    output.attach(c);
    let spawnError: Error | undefined;
    c.once('error', (err) => {
      spawnError = err;
    });
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (spawnError) throw new Error(`cannot run ${VICTORIA_BIN}: ${spawnError.message} (apt-get install victoria-metrics)`);
      if (!isRunning(c)) throw new Error(`victoria-metrics exited (${c.exitCode ?? c.signalCode}) before answering /health\n${output.tail()}`);
      try {
        const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline) {
        await stopChild(c, 'SIGKILL');
        throw new Error(`victoria-metrics did not answer ${url}/health within 15 s\n${output.tail()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  await launch();

  const vm: Victoria = {
    url,
    port,
    dataDir,
    async stop() {
      if (child) await stopChild(child, 'SIGTERM', 15_000);
    },
    async kill9() {
      if (child) await stopChild(child, 'SIGKILL');
    },
    async pause() {
      if (!child || !isRunning(child) || child.pid === undefined) return;
      child.kill('SIGSTOP');
      await allThreadsStopped(child.pid);
    },
    resume() {
      if (child && isRunning(child)) child.kill('SIGCONT');
    },
    async restart() {
      await vm.stop();
      await launch();
    },
    logs: () => output.toString(),
  };
  return vm;
}

export interface ExportOptions {
  /** keep asking until this holds for the result (default: at least one series) */
  until?: (series: ExportedSeries[]) => boolean;
  /** then give up and return the last result, without throwing (default 15000) */
  timeoutMs?: number;
}

/**
 * The series matching `match` (a series selector: `cpu_usage{host="a"}`, `{__name__=~"campus_.*"}`),
 * as /api/v1/export gives them: one object per series, all of its points.
 *
 * VictoriaMetrics makes fresh points searchable only after an internal flush: even after
 * /internal/force_flush they can take ~1 s to show (up to ~10 s without it). So this flushes and
 * asks again every 100 ms until `until` holds or `timeoutMs` passes, and returns the last answer
 * either way: assert on it. To check that something is absent, pass a short timeoutMs.
 */
export async function exportSeries(url: string, match: string, opts: ExportOptions = {}): Promise<ExportedSeries[]> {
  const until = opts.until ?? ((s: ExportedSeries[]) => s.length > 0);
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  for (;;) {
    const flush = await fetch(`${url}/internal/force_flush`);
    await flush.arrayBuffer();
    // an explicit wide range: the default (recent) range goes through per-hour index caches that lag more
    const res = await fetch(`${url}/api/v1/export?match[]=${encodeURIComponent(match)}&start=0&end=4102444800`);
    const text = await res.text();
    if (!res.ok) throw new Error(`export ${match}: ${res.status} ${text}`);
    const series = text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as ExportedSeries);
    if (until(series) || Date.now() >= deadline) return series;
    await new Promise((r) => setTimeout(r, 100));
  }
}
