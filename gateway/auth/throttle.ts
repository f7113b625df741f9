/**
 * Login throttling (contract §6): after `maxFailures` failed logins for one user name within
 * `windowMs`, that name is refused (even with the right password) until the oldest of those
 * failures leaves the window. Unknown names are counted the same way, so a 429 tells nobody
 * whether an account exists. Memory is bounded: at most `maxNames` names are tracked, the
 * least recently failed forgotten first.
 */
export interface ThrottleOptions {
  maxFailures?: number;
  windowMs?: number;
  maxNames?: number;
  now?: () => number;
}

export class LoginThrottle {
  readonly maxFailures: number;
  readonly windowMs: number;
  private readonly maxNames: number;
  private readonly now: () => number;
  /** user → times of recent failures, oldest first (at most maxFailures kept) */
  private readonly failures = new Map<string, number[]>();

  constructor(o: ThrottleOptions = {}) {
    this.maxFailures = o.maxFailures ?? 5;
    this.windowMs = o.windowMs ?? 15 * 60_000;
    this.maxNames = o.maxNames ?? 100_000;
    this.now = o.now ?? Date.now;
  }

  /** Seconds until `user` may try again; 0 when it may now. */
  retryAfterSec(user: string): number {
    const times = this.recent(user);
    if (times.length < this.maxFailures) return 0;
    return Math.max(1, Math.ceil((times[0] + this.windowMs - this.now()) / 1000));
  }

  failed(user: string): number {
    const times = this.recent(user);
    times.push(this.now());
    while (times.length > this.maxFailures) times.shift();
    this.failures.delete(user); // re-insert: Map order is "least recently failed first"
    this.failures.set(user, times);
    if (this.failures.size > this.maxNames) this.failures.delete(this.failures.keys().next().value!);
    return times.length;
  }

  succeeded(user: string): void {
    this.failures.delete(user);
  }

  private recent(user: string): number[] {
    const times = this.failures.get(user);
    if (!times) return [];
    const since = this.now() - this.windowMs;
    while (times.length && times[0] <= since) times.shift();
    if (!times.length) this.failures.delete(user);
    return times;
  }
}
