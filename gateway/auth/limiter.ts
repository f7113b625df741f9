/**
 * At most `concurrency` password hashes at once, at most `queue` waiting; beyond that the caller
 * is refused at once. scrypt (N=2^16) takes ~64 MiB and a core for a tenth of a second: a login
 * flood must queue behind a small gate, not take every core and the libuv pool from alarm intake.
 */
export class Busy extends Error {
  constructor(readonly retryAfterSec: number) {
    super('too many password checks in progress');
  }
}

export class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly queue: number,
  ) {}

  get active(): number {
    return this.running;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queue) throw new Busy(1);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter (running stays the same), or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
