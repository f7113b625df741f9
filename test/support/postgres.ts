// A throwaway PostgreSQL cluster from Debian's `postgresql` package, for tests: `initdb` into a
// temp dir, then the server on a free loopback port, stopped and removed after (issue #14).
//
// The server runs as our child (not daemonised by `pg_ctl start`), so procs.ts SIGKILLs it with
// everything else if the test process dies; `stop()` asks for a fast shutdown (SIGINT), which is
// what `pg_ctl stop -m fast` sends. initdb and postgres refuse to run as root: as root (CI, the
// developers' machines) both run as `nobody`, in a data dir handed to that user; as anyone else,
// as ourselves.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';
import { OutputBuffer, isRunning, makeTempDir, stopChild, track } from './procs.js';
import { waitFor } from './wait.js';

/** `/usr/lib/postgresql/<major>/bin`, the newest major installed (Debian keeps one dir per major). */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((d) => /^\d+$/.test(d) && existsSync(path.join(root, d, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length === 0) throw new Error(`no ${root}/<version>/bin/initdb: apt-get install postgresql (npm test installs it)`);
  return path.join(root, majors[0], 'bin');
}

export interface Postgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust authentication on loopback only) */
  url: string;
  port: number;
  dir: string;
  /** A new empty database; its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Fast shutdown (SIGINT: active sessions are rolled back, then a clean checkpoint). */
  stop(): Promise<void>;
  /** SIGKILL: as a crash; the next start recovers from the WAL. */
  kill9(): Promise<void>;
  restart(): Promise<void>;
  logs(): string;
}

/** Run as this user when we are root (postgres refuses to). */
const UNPRIVILEGED = { uid: 65534, gid: 65534 }; // nobody:nogroup on Debian

let databases = 0;

export async function startPostgres(): Promise<Postgres> {
  const bin = postgresBinDir();
  const port = await freePort();
  const dir = await makeTempDir('postgres-');
  const dataDir = path.join(dir, 'data');
  const sockDir = path.join(dir, 'sock');
  const asRoot = process.getuid?.() === 0;
  const runAs = asRoot ? UNPRIVILEGED : {};
  mkdirSync(sockDir, { mode: 0o700 });
  if (asRoot) {
    chownSync(dir, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
    chownSync(sockDir, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
  }
  const output = new OutputBuffer(200_000);

  // -A trust: only a loopback listener and a socket in our own 0700 dir; -N: no fsync during
  // initdb only (the server itself keeps fsync on, the default).
  const init = spawnSync(
    path.join(bin, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '-N'],
    { ...runAs, cwd: dir, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } },
  );
  if (init.status !== 0) throw new Error(`initdb failed (${init.status ?? init.signal ?? init.error?.message}):\n${init.stdout}\n${init.stderr}`);

  let child: ChildProcess | undefined;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;

  const launch = async (): Promise<void> => {
    const c = spawn(
      path.join(bin, 'postgres'),
      ['-D', dataDir, '-p', String(port), '-k', sockDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=on', '-c', 'max_connections=200'],
      { ...runAs, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = c;
    track(c);
    output.attach(c);
    // Ready: our child is alive and answers a query (not "the database system is starting up").
    await waitFor(
      () => `postgres to answer on ${port}\n${output.tail(3000)}`,
      async () => {
        if (!isRunning(c)) throw new Error(`postgres exited (${c.exitCode ?? c.signalCode})\n${output.tail(3000)}`);
        const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
        try {
          await client.connect();
          await client.query('SELECT 1');
          return true;
        } catch {
          return false;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  };

  await launch();

  const server: Postgres = {
    url,
    port,
    dir,
    async createDatabase(name) {
      const db = name ?? `t${process.pid}_${++databases}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${db}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${db}`;
    },
    async stop() {
      if (child) await stopChild(child, 'SIGINT', 20_000);
    },
    async kill9() {
      if (child) await stopChild(child, 'SIGKILL');
    },
    async restart() {
      await server.stop();
      await launch();
    },
    logs: () => output.toString(),
  };
  return server;
}
