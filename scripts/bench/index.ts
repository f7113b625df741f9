/**
 * `npm run bench [-- --full] [--case <name>]… [--profile <dir>]` (issue 5).
 *
 * Starts its own Mosquitto (and, for the cases that need it, VictoriaMetrics) on free loopback
 * ports, runs the cases, prints one table, and writes every figure as JSON to
 * bench-results/<timestamp>.json. Every figure stands next to a baseline measured in the same run
 * on the same broker. Exits non-zero only when a case could not run (a missed target is a result).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../test/support/gateway.js';
import { startMosquitto } from '../../test/support/mosquitto.js';
import { startVictoria, type Victoria } from '../../test/support/victoria.js';
import { cityCase } from './cases/city.js';
import { exportCase } from './cases/export.js';
import { ingest } from './cases/ingest.js';
import { latency } from './cases/latency.js';
import { recovery } from './cases/recovery.js';
import { million, scale } from './cases/scale.js';
import { onvif } from './cases/onvif.js';
import { stormCase } from './cases/storm.js';
import { drainCase } from './cases/drain.js';
import { wall } from './cases/wall.js';
import { replicasCase } from './cases/replicas.js';
import { FULL, SHORT, type BenchCase, type Ctx, type Row } from './lib.js';
import { machine, textTable } from './report.js';

const CASES: BenchCase[] = [ingest, drainCase, latency, recovery, exportCase, scale, million, onvif, stormCase, wall, cityCase, replicasCase];

const USAGE = `usage: npm run bench -- [--full] [--case <name>]… [--profile <dir>]
  --full            full mode (minutes per case); default: short mode (a quick look)
  --case <name>     run only this case (repeatable): ${CASES.map((c) => c.name).join(', ')}
  --profile <dir>   CPU-profile the gateway processes (as node --cpu-prof), written to <dir>/<gateway>/`;

function parse(): { full: boolean; cases: BenchCase[]; profileDir?: string } {
  const { values } = parseArgs({
    options: {
      full: { type: 'boolean', default: false },
      case: { type: 'string', multiple: true },
      profile: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const names = values.case ?? [];
  const unknown = names.filter((n) => !CASES.some((c) => c.name === n));
  if (unknown.length) {
    console.error(`unknown case ${unknown.join(', ')}\n${USAGE}`);
    process.exit(2);
  }
  return {
    full: values.full ?? false,
    cases: names.length ? CASES.filter((c) => names.includes(c.name)) : CASES,
    profileDir: values.profile ? path.resolve(values.profile) : undefined,
  };
}

/** Rejects when `p` takes longer than `ms` (the processes it started are killed on exit). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

async function main(): Promise<number> {
  const args = parse();
  const mode = args.full ? FULL : SHORT;
  const startedAt = new Date();
  const runId = startedAt.getTime().toString(36);
  const log = (msg: string): void => console.error(msg);
  const m = machine();
  log(`bench: ${args.full ? 'full' : 'short'} mode, cases: ${args.cases.map((c) => c.name).join(', ')}`);
  log(`machine: ${m.nproc} × ${m.cpu}, ${m.memGiB} GiB; load average ${m.loadAvg}; fdatasync p50 ${m.fsyncMs.p50} ms, p99 ${m.fsyncMs.p99} ms`);
  if (m.loadAvg > m.nproc / 2) log(`  note: the machine is busy with other work (load ${m.loadAvg} on ${m.nproc} cores): figures will be noisier`);

  const broker = await startMosquitto();
  let vm: Promise<Victoria> | undefined;
  const ctx: Ctx = {
    mode,
    broker,
    victoria: () => (vm ??= startVictoria()),
    shared: {},
    runId,
    profileDir: args.profileDir,
    log,
  };

  const rows: Row[] = [];
  const details: Record<string, unknown> = {};
  let brokerLogSeen = 0;
  /** What the broker said since the last call that may bear on the figures (dropped messages, errors). */
  const brokerComplaints = async (): Promise<string[]> => {
    const text = await broker.log();
    const fresh = text.slice(brokerLogSeen);
    brokerLogSeen = text.length;
    return fresh.split('\n').filter((l) => /drop|error|warning|out of memory/i.test(l));
  };
  const failures: { case: string; error: string }[] = [];
  for (const c of args.cases) {
    const t0 = Date.now();
    const loadBefore = os.loadavg()[0];
    log(`\n▶ ${c.name}`);
    try {
      const limit = c.timeoutMs ? (args.full ? c.timeoutMs.full : c.timeoutMs.short) : args.full ? 30 * 60_000 : 5 * 60_000;
      const out = await within(c.run(ctx), limit, `case ${c.name}`);
      rows.push(...out.rows);
      const said = await brokerComplaints();
      if (said.length) log(`  the broker logged ${said.length} warnings, e.g.:\n    ${said.slice(0, 3).join('\n    ')}`);
      details[c.name] = { ...out.details, seconds: (Date.now() - t0) / 1000, loadAvg: { before: loadBefore, after: os.loadavg()[0] }, brokerWarnings: said.slice(0, 20) };
      log(`  done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    } catch (err) {
      const error = (err as Error).stack ?? String(err);
      failures.push({ case: c.name, error });
      rows.push({ case: c.name, metric: '(could not run)', unit: '', baseline: null, gateway: null, compare: 'none', target: '—', met: null, note: (err as Error).message.split('\n')[0] });
      log(`  FAILED: ${error}`);
    }
  }

  await broker.stop();
  if (vm) await (await vm.catch(() => undefined))?.stop();

  console.log(`\ncampus-gateway bench · ${args.full ? 'full' : 'short'} mode · ${startedAt.toISOString()}`);
  console.log(`${m.nproc} × ${m.cpu}, ${m.memGiB} GiB, Node ${m.node}; load average at start ${m.loadAvg}; fdatasync p50 ${m.fsyncMs.p50} ms\n`);
  console.log(textTable(rows));

  const dir = path.join(REPO_ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ startedAt: startedAt.toISOString(), mode: args.full ? 'full' : 'short', settings: mode, machine: m, rows, details, failures }, null, 2) + '\n');
  console.log(`\nfigures: ${path.relative(process.cwd(), file)}`);
  return failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
