/**
 * A bounded work queue: at most `concurrency` jobs run at once, at most `capacity` wait. A job
 * that finds the queue full is refused at once (`push` → false) rather than held: what waits here
 * is a picture, never an event (the event is already durable), so dropping it loses nothing the
 * ledger promised.
 */
export class BoundedQueue<T> {
  private readonly waiting: T[] = [];
  private running = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly o: { concurrency: number; capacity: number },
    private readonly run: (job: T) => Promise<void>,
  ) {}

  get queued(): number {
    return this.waiting.length;
  }
  get inFlight(): number {
    return this.running;
  }

  /** Queues a job; false when the queue is full (the caller records the drop). */
  push(job: T): boolean {
    if (this.running < this.o.concurrency) {
      this.start(job);
      return true;
    }
    if (this.waiting.length >= this.o.capacity) return false;
    this.waiting.push(job);
    return true;
  }

  /** Forgets the jobs not started (stop: they are still pending in the store). */
  clear(): void {
    this.waiting.length = 0;
  }

  /** Resolves when nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private start(job: T): void {
    this.running++;
    // `run` never rejects by contract; a bug in it must not stall the queue either.
    void this.run(job)
      .catch(() => undefined)
      .finally(() => {
        this.running--;
        const next = this.waiting.shift();
        if (next !== undefined) this.start(next);
        else if (this.running === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
  }
}
