/**
 * Online backups of the SQLite ledger with SQLite's backup API (better-sqlite3 `db.backup()`):
 * a consistent copy of a live database, taken while the gateway commits.
 *
 * - In the gateway (scheduled), the backup reads through the store's own connection in small
 *   steps between commits: SQLite copies a page written by the same connection into the backup as
 *   it changes, so the copy never restarts and never blocks intake for long.
 * - From `npm run backup` (another process), a second, read-only connection on the same WAL file
 *   copies everything in ONE step: in WAL mode that step is a read transaction on one snapshot, which
 *   never blocks the gateway's writer (it only holds back checkpoints until it ends). A copy in
 *   several steps would restart each time the gateway commits in between, and might never finish.
 *
 * Every copy is written to `FILE.partial`, checked (`PRAGMA quick_check`, the ledger id), fsync'd
 * and only then renamed to FILE: a crash or a full disk never leaves a half backup that looks whole.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Scheduler } from '../core/scheduler.js';
import { quickCheck } from './sqlite-store.js';

export interface BackupResult {
  file: string;
  bytes: number;
  ledgerId: string | undefined;
  ms: number;
}

/** Copies `source` (an open connection) to `dest`; `oneStep` for a connection other than the writer's. */
export async function backupDatabase(source: Database.Database, dest: string, opts: { oneStep: boolean }): Promise<BackupResult> {
  const started = Date.now();
  const abs = path.resolve(dest);
  if (fs.existsSync(abs)) throw new Error(`backup ${abs} already exists; choose another name or remove it first`);
  const partial = `${abs}.partial`;
  fs.rmSync(partial, { force: true });
  try {
    // better-sqlite3's first step copies nothing; a progress callback sets the pages per step after it.
    await source.backup(partial, { progress: () => (opts.oneStep ? 0x7fffffff : 100) });
    const copy = new Database(partial, { fileMustExist: true });
    let ledgerId: string | undefined;
    try {
      quickCheck(copy, partial);
      ledgerId = (copy.prepare(`SELECT value FROM meta WHERE key = 'ledger_id'`).get() as { value: string } | undefined)?.value;
    } finally {
      copy.close();
    }
    const fd = fs.openSync(partial, 'r+');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(partial, abs);
    return { file: abs, bytes: fs.statSync(abs).size, ledgerId, ms: Date.now() - started };
  } catch (err) {
    for (const f of [partial, `${partial}-wal`, `${partial}-shm`, `${partial}-journal`]) fs.rmSync(f, { force: true });
    throw err;
  }
}

/** Copies the ledger file of a (possibly running) gateway, through a second read-only connection. */
export async function backupLedgerFile(ledger: string, dest: string): Promise<BackupResult> {
  if (!fs.existsSync(ledger)) throw new Error(`no ledger at ${ledger} (is DATA_DIR right?)`);
  const db = new Database(ledger, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return await backupDatabase(db, dest, { oneStep: true });
  } finally {
    db.close();
  }
}

const NAME = /^ledger-(\d{8}T\d{6}Z)\.sqlite$/;

/** `ledger-20260501T031500Z.sqlite`: sorts by time, and the time is read back from the name. */
export function backupName(atMs: number): string {
  return `ledger-${new Date(atMs).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')}.sqlite`;
}

function nameTime(name: string): number | undefined {
  const m = NAME.exec(name)?.[1];
  if (!m) return undefined;
  return Date.parse(`${m.slice(0, 4)}-${m.slice(4, 6)}-${m.slice(6, 11)}:${m.slice(11, 13)}:${m.slice(13, 15)}Z`);
}

/** The backups in `dir`, oldest first (only files this gateway names; anything else is left alone). */
export function listBackups(dir: string): { file: string; atMs: number }[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((n) => ({ file: path.join(dir, n), atMs: nameTime(n) }))
    .filter((b): b is { file: string; atMs: number } => b.atMs !== undefined)
    .sort((a, b) => a.atMs - b.atMs);
}

export interface ScheduledBackupsOptions {
  scheduler: Scheduler;
  /** Takes one backup into `file` (the store's own connection). */
  backup: (file: string) => Promise<BackupResult>;
  dir: string;
  intervalMs: number;
  keep: number;
  log: Logger;
  now?: () => number;
}

export interface BackupStatus {
  dir: string;
  lastAt: string | null;
  lastFile: string | null;
  lastError: string | null;
  nextAt: string | null;
}

/**
 * Backups every `intervalMs`, the newest `keep` kept. The next one is due `intervalMs` after the
 * newest backup in `dir` (at once when there is none or it is overdue), so a gateway restarted
 * more often than the interval still backs up on time.
 */
export function scheduleBackups(o: ScheduledBackupsOptions): { status(): BackupStatus; runNow(): Promise<BackupResult> } {
  const now = o.now ?? Date.now;
  fs.mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const newest = listBackups(o.dir).at(-1);
  const status: BackupStatus = { dir: o.dir, lastAt: newest ? new Date(newest.atMs).toISOString() : null, lastFile: newest?.file ?? null, lastError: null, nextAt: null };

  const arm = (dueMs: number) => {
    status.nextAt = new Date(dueMs).toISOString();
    o.scheduler.at('core:backup', dueMs, async () => {
      arm(now() + o.intervalMs); // re-arm first: a failing backup still comes back
      await runNow().catch(() => undefined);
    });
  };

  const runNow = async (): Promise<BackupResult> => {
    const at = now();
    try {
      const r = await o.backup(path.join(o.dir, backupName(at)));
      status.lastAt = new Date(at).toISOString();
      status.lastFile = r.file;
      status.lastError = null;
      o.log.info({ file: r.file, bytes: r.bytes, ms: r.ms }, 'ledger backed up');
      const all = listBackups(o.dir);
      for (const old of all.slice(0, Math.max(0, all.length - o.keep))) {
        fs.rmSync(old.file, { force: true });
        o.log.info({ file: old.file }, 'old ledger backup removed');
      }
      return r;
    } catch (err) {
      status.lastError = (err as Error).message;
      o.log.error({ err, dir: o.dir }, 'ledger backup failed');
      throw err;
    }
  };

  arm(newest ? Math.max(now(), newest.atMs + o.intervalMs) : now());
  return { status: () => ({ ...status }), runNow };
}
