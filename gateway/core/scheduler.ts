/**
 * Deadlines and calendar jobs in one place (escalations today; "no morning check by 06:30" next).
 *
 * - Never early: Node may fire a timer a millisecond before its delay (timers are rounded), and a
 *   deadline that fires early is a wrong result (an alarm "escalated after 1999 ms" of 2000). A job
 *   that wakes before its time sleeps again for the rest.
 * - Restart-safe by construction: jobs live in memory only, and every module re-arms its jobs from
 *   its projections when it loads (an open unacknowledged alarm re-arms its escalation; one already
 *   overdue fires at once), so nothing depends on a timer surviving a crash.
 * - One job per key: arming a key again replaces its job.
 */
import type { Logger } from 'pino';

export interface DailyTime {
  hour: number;
  minute: number;
  /** The county's offset from UTC in minutes (China: +480, no daylight saving). */
  utcOffsetMin: number;
}

interface Job {
  dueMs: number;
  run: () => void | Promise<void>;
  timer?: NodeJS.Timeout;
}

/** setTimeout's longest delay (about 24.8 days); longer waits are taken in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class Scheduler {
  private readonly jobs = new Map<string, Job>();
  private readonly repeating = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs `run` once, at `dueMs` or later (never before). Replaces the key's job. */
  at(key: string, dueMs: number, run: () => void | Promise<void>): void {
    this.cancel(key);
    if (this.stopped) return;
    const job: Job = { dueMs, run };
    this.jobs.set(key, job);
    this.arm(key, job);
  }

  private arm(key: string, job: Job): void {
    const wait = Math.min(MAX_DELAY_MS, Math.max(0, job.dueMs - this.now()));
    job.timer = setTimeout(() => {
      if (this.jobs.get(key) !== job) return;
      if (this.now() < job.dueMs) return this.arm(key, job); // woke early: sleep the rest
      this.jobs.delete(key);
      this.fire(key, job.run);
    }, wait);
  }

  private fire(key: string, run: () => void | Promise<void>): void {
    try {
      const r = run();
      if (r instanceof Promise) r.catch((err) => this.log.error({ err, job: key }, 'scheduled job failed'));
    } catch (err) {
      this.log.error({ err, job: key }, 'scheduled job failed');
    }
  }

  cancel(key: string): void {
    const job = this.jobs.get(key);
    if (!job) return;
    clearTimeout(job.timer);
    this.jobs.delete(key);
  }

  has(key: string): boolean {
    return this.jobs.has(key);
  }

  dueAt(key: string): number | undefined {
    return this.jobs.get(key)?.dueMs;
  }

  /** Runs `run` every day at a local wall-clock time, from the next occurrence on. */
  daily(key: string, time: DailyTime, run: () => void | Promise<void>): void {
    const next = nextDaily(this.now(), time);
    this.at(key, next, async () => {
      this.daily(key, time, run); // re-arm first, so a failing run still comes back tomorrow
      await run();
    });
  }

  /** Runs `run` every `intervalMs` (housekeeping: liveness ticks, run marks), until stopped. */
  every(key: string, intervalMs: number, run: () => void | Promise<void>): void {
    clearInterval(this.repeating.get(key));
    if (this.stopped) return;
    const t = setInterval(() => this.fire(key, run), intervalMs);
    t.unref();
    this.repeating.set(key, t);
  }

  stop(): void {
    this.stopped = true;
    for (const job of this.jobs.values()) clearTimeout(job.timer);
    this.jobs.clear();
    for (const t of this.repeating.values()) clearInterval(t);
    this.repeating.clear();
  }
}

/** The next instant after `nowMs` at which the local clock (UTC + offset) reads hour:minute. */
export function nextDaily(nowMs: number, t: DailyTime): number {
  const offsetMs = t.utcOffsetMin * 60_000;
  const local = new Date(nowMs + offsetMs);
  let due = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate(), t.hour, t.minute) - offsetMs;
  if (due <= nowMs) due += 86_400_000;
  return due;
}
