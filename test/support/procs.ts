// Bookkeeping for the real servers the tests spawn (mosquitto, victoria-metrics, the gateway):
// whatever happens to the test process, no child is left running.
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let installed = false;

function killAll(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL'); // also ends a SIGSTOPped child
    } catch {
      /* already gone */
    }
  }
  live.clear();
  if (process.env.KEEP_TEST_DIRS) return;
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
    } catch {
      /* a SIGKILLed child may still be writing; the OS cleans /tmp eventually */
    }
  }
  tempDirs.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  // The test runner ends a timed-out or cancelled file with SIGTERM/SIGINT; 'exit' does not run then.
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAll();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig); // die of the same signal, as if we had not been here
    };
    process.on(sig, onSignal);
  }
}

/** A fresh temp dir, removed when the test process exits (kept if KEEP_TEST_DIRS is set). */
export async function makeTempDir(prefix: string): Promise<string> {
  install();
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Remember a child so it is SIGKILLed when the test process exits or is signalled. */
export function track(child: ChildProcess): ChildProcess {
  install();
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export function isRunning(child: ChildProcess | undefined): boolean {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

/** Resolves when the child has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Send `signal`, wait up to `timeoutMs` for the exit, then SIGKILL.
 * Returns false when the child had to be SIGKILLed.
 */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<boolean> {
  if (!isRunning(child)) return true;
  const done = exited(child);
  if (signal !== 'SIGKILL' && signal !== 'SIGCONT') child.kill('SIGCONT'); // a paused child cannot act on SIGTERM
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    done.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (inTime) return true;
  child.kill('SIGKILL');
  await done;
  return false;
}

/** Keeps the last `max` characters of a child's stdout+stderr. */
export class OutputBuffer {
  private text = '';
  constructor(private readonly max = 4_000_000) {}
  attach(child: ChildProcess): void {
    const add = (chunk: Buffer): void => {
      this.text += chunk.toString('utf8');
      if (this.text.length > this.max) this.text = this.text.slice(this.text.length - this.max);
    };
    child.stdout?.on('data', add);
    child.stderr?.on('data', add);
  }
  append(line: string): void {
    this.text += line;
  }
  toString(): string {
    return this.text;
  }
  tail(chars = 4000): string {
    return this.text.length > chars ? '…' + this.text.slice(-chars) : this.text;
  }
}
