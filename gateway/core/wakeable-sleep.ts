/**
 * A pause that new work can cut short: the outbox loops (InfluxDB export, city uplink) wait between
 * attempts, and a commit or a reconnection wakes them at once instead of at the end of the wait.
 */
export class WakeableSleep {
  private wakeUp?: () => void;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  /** Ends the current pause, if any. */
  wake(): void {
    this.wakeUp?.();
  }
}
