// A real Mosquitto broker on a free port, for tests. Never uses 1883 (a system broker may sit there).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, waitForTcp } from './ports.js';
import { OutputBuffer, isRunning, makeTempDir, stopChild, track } from './procs.js';

export const MOSQUITTO_BIN = '/usr/sbin/mosquitto';

export interface Mosquitto {
  /** mqtt://127.0.0.1:PORT */
  url: string;
  port: number;
  /** temp dir with mosquitto.conf, mosquitto.log and (with persistence) mosquitto.db */
  dir: string;
  /** SIGTERM and wait for the exit (mosquitto saves its database on the way out) */
  stop(): Promise<void>;
  /** SIGKILL: no final save; with persistence, up to ~1 s of state (autosave_interval) is lost */
  kill9(): Promise<void>;
  /** stop (if running), then start again on the same port and dir; resolves when it accepts TCP */
  restart(): Promise<void>;
  /** the broker's log file so far */
  log(): Promise<string>;
  /** SIGHUP: mosquitto re-reads its password and ACL files (and closes no connection) */
  reload(): Promise<void>;
}

export interface MosquittoOptions {
  persistence?: boolean;
  port?: number;
  dir?: string;
  /**
   * A broker configuration to run instead of the test one (e.g. broker-config's mosquitto.conf):
   * its listener must be on `port`. The test's log settings (and `user root` when root) are
   * appended; `persistence` is then ignored (the given file decides).
   */
  configFile?: string;
}

/** Logging to DIR/mosquitto.log (which launch() watches for "running"), and the user to run as. */
function testLines(dir: string): string[] {
  const lines = [
    `log_dest file ${path.join(dir, 'mosquitto.log')}`,
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    // MOSQUITTO_DEBUG=1: also every packet (e.g. "Denied PUBLISH"), to see what a broker test saw.
    ...(process.env.MOSQUITTO_DEBUG ? ['log_type debug'] : []),
    'log_timestamp_format %Y-%m-%dT%H:%M:%S',
  ];
  // Started as root, mosquitto drops to user "mosquitto", which cannot write our 0700 temp dir.
  // "root" is the documented value that keeps it as it is.
  if (process.getuid?.() === 0) lines.push('user root');
  return lines;
}

function config(port: number, dir: string, persistence: boolean): string {
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'set_tcp_nodelay true',
    // Per-client queue of QoS 1/2 messages beyond those in flight; 0 = no limit (default 1000
    // would silently drop alarms queued for the gateway's persistent session while it is down).
    'max_queued_messages 0',
    ...testLines(dir),
  ];
  if (persistence) {
    lines.push(
      'persistence true',
      `persistence_location ${dir}${path.sep}`, // mosquitto concatenates location + file name: keep the slash
      'persistence_file mosquitto.db',
      'autosave_interval 1',
      'autosave_on_changes false', // interval is seconds, not a change count
    );
  }
  return lines.join('\n') + '\n';
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const port = opts.port ?? (await freePort());
  const dir = opts.dir ?? (await makeTempDir('mosquitto-'));
  const persistence = opts.persistence ?? false;
  const confPath = path.join(dir, 'mosquitto.conf');
  const logPath = path.join(dir, 'mosquitto.log');
  const given = opts.configFile ? await readFile(opts.configFile, 'utf8') : undefined;
  await writeFile(confPath, given !== undefined ? `${given}\n# test harness\n${testLines(dir).join('\n')}\n` : config(port, dir, persistence));

  const output = new OutputBuffer(200_000);
  let child: ChildProcess | undefined;

  const readLog = async (): Promise<string> => {
    try {
      return await readFile(logPath, 'utf8');
    } catch {
      return '';
    }
  };

  const runningLines = (log: string): number => log.match(/^\S+: mosquitto version \S+ running$/gm)?.length ?? 0;

  const launch = async (): Promise<void> => {
    // Ready = this process logged "running" (its listener is open) and the port accepts. The log
    // line matters: if the port were taken, a TCP probe would reach the other owner, not ours.
    const runningBefore = runningLines(await readLog());
    const c = spawn(MOSQUITTO_BIN, ['-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    track(c);
    output.attach(c);
    let spawnError: Error | undefined;
    c.once('error', (err) => {
      spawnError = err;
    });
    const deadline = Date.now() + 10_000;
    try {
      for (;;) {
        if (spawnError) throw new Error(`cannot run ${MOSQUITTO_BIN}: ${spawnError.message} (apt-get install mosquitto)`);
        if (!isRunning(c)) throw new Error(`mosquitto exited (${c.exitCode ?? c.signalCode}) before listening on ${port}`);
        if (runningLines(await readLog()) > runningBefore) break;
        if (Date.now() > deadline) throw new Error(`mosquitto did not report "running" within 10 s`);
        await new Promise((r) => setTimeout(r, 25));
      }
      await waitForTcp(port, {
        timeoutMs: Math.max(1000, deadline - Date.now()),
        abort: () => (isRunning(c) ? undefined : new Error(`mosquitto exited (${c.exitCode ?? c.signalCode}) on port ${port}`)),
      });
    } catch (err) {
      await stopChild(c, 'SIGKILL');
      const log = (await readLog()).slice(-3000);
      throw new Error(`${(err as Error).message}\n--- output ---\n${output.tail(2000)}\n--- ${logPath} ---\n${log}`);
    }
  };

  await launch();

  const broker: Mosquitto = {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    dir,
    async stop() {
      if (child) await stopChild(child, 'SIGTERM', 10_000);
    },
    async kill9() {
      if (child) await stopChild(child, 'SIGKILL');
    },
    async restart() {
      await broker.stop();
      await launch();
    },
    log: readLog,
    async reload() {
      if (!child || !isRunning(child)) throw new Error('mosquitto is not running');
      const before = (await readLog()).match(/Reloading config/g)?.length ?? 0;
      child.kill('SIGHUP');
      // Done once it logged the reload (it re-reads password and ACL files in the same step).
      for (const deadline = Date.now() + 5000; ((await readLog()).match(/Reloading config/g)?.length ?? 0) <= before; ) {
        if (Date.now() > deadline) throw new Error('mosquitto did not log "Reloading config" within 5 s of SIGHUP');
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
  return broker;
}
