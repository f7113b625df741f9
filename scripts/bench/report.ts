/** The results table (terminal and Markdown) and the machine description. */
import { closeSync, fdatasyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Row } from './lib.js';

export interface Machine {
  nproc: number;
  cpu: string;
  memGiB: number;
  node: string;
  kernel: string;
  /** 1-minute load average when the run started (other work on the machine skews every figure) */
  loadAvg: number;
  /** 4 KiB append + fdatasync in the temp dir, where the ledgers live: the floor of a durable commit */
  fsyncMs: { p50: number; p99: number; max: number };
}

/** Times `n` appends of 4 KiB, each followed by fdatasync, in `dir`. */
export function fsyncLatency(dir = os.tmpdir(), n = 200): Machine['fsyncMs'] {
  const file = path.join(dir, `bench-fsync-${process.pid}`);
  const fd = openSync(file, 'w');
  const buf = Buffer.alloc(4096, 1);
  const ms: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      writeSync(fd, buf);
      fdatasyncSync(fd);
      ms.push(performance.now() - t);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  ms.sort((a, b) => a - b);
  const r = (v: number): number => Math.round(v * 100) / 100;
  return { p50: r(ms[Math.floor(n / 2)]), p99: r(ms[Math.floor(n * 0.99)]), max: r(ms[n - 1]) };
}

export function machine(): Machine {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    /* not Linux */
  }
  return {
    nproc: os.availableParallelism(),
    cpu,
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: os.release(),
    loadAvg: Math.round(os.loadavg()[0] * 100) / 100,
    fsyncMs: fsyncLatency(),
  };
}

function num(v: number, unit: string): string {
  if (!Number.isFinite(v)) return '—';
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 }) + (unit ? ` ${unit}` : '');
}

function cell(v: number | null, unit: string, atLeast?: boolean): string {
  if (v === null) return '—';
  return (atLeast ? '≥ ' : '') + num(v, unit);
}

function comparison(r: Row): string {
  if (r.baseline === null || r.gateway === null || r.compare === 'none') return '—';
  if (r.compare === 'ratio') return r.baseline === 0 ? '—' : `${(r.gateway / r.baseline).toFixed(2)}×`;
  const d = r.gateway - r.baseline;
  return `${d >= 0 ? '+' : '−'}${num(Math.abs(d), r.unit)}`;
}

const HEAD = ['case', 'metric', 'baseline', 'gateway', 'ratio/diff', 'target', 'met?'];

function cells(r: Row): string[] {
  const gateway = r.gateway === null && r.note ? r.note : cell(r.gateway, r.unit, r.gatewayAtLeast);
  const met = r.met === null ? '—' : r.met ? 'yes' : 'NO';
  return [r.case, r.metric, cell(r.baseline, r.unit, r.baselineAtLeast), gateway, comparison(r), r.target, met];
}

/** Notes that do not stand in for a missing figure, numbered for the footnotes. */
function notes(rows: Row[]): { marks: Map<Row, number>; list: string[] } {
  const marks = new Map<Row, number>();
  const list: string[] = [];
  for (const r of rows) {
    if (!r.note || r.gateway === null) continue;
    list.push(r.note);
    marks.set(r, list.length);
  }
  return { marks, list };
}

export function textTable(rows: Row[]): string {
  const { marks, list } = notes(rows);
  const body = rows.map((r) => {
    const c = cells(r);
    if (marks.has(r)) c[1] += ` [${marks.get(r)}]`;
    return c;
  });
  const widths = HEAD.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c: string[]): string => c.map((v, i) => (i >= 2 && i <= 4 ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ');
  const out = [line(HEAD), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)];
  list.forEach((n, i) => out.push(`[${i + 1}] ${n}`));
  return out.join('\n');
}

export function markdownTable(rows: Row[]): string {
  const { marks, list } = notes(rows);
  const out = [`| ${HEAD.join(' | ')} |`, `| ${HEAD.map((_, i) => (i >= 2 && i <= 4 ? '---:' : '---')).join(' | ')} |`];
  for (const r of rows) {
    const c = cells(r).map((v) => v.replace(/\|/g, '\\|'));
    if (marks.has(r)) c[1] += ` [${marks.get(r)}]`;
    out.push(`| ${c.join(' | ')} |`);
  }
  if (list.length) out.push('', ...list.map((n, i) => `[${i + 1}] ${n}  `));
  return out.join('\n');
}
