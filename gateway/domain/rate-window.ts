/** Counts per key over a sliding window of one-second buckets (what the screen shows as "per minute"). Pure. */
export class RateWindow {
  private readonly buckets: Map<string, number>[];
  private readonly stamps: number[];

  constructor(private readonly windowSec = 60) {
    this.buckets = Array.from({ length: windowSec }, () => new Map());
    this.stamps = new Array(windowSec).fill(-1);
  }

  add(key: string, atMs: number, n = 1): void {
    const sec = Math.floor(atMs / 1000);
    const i = sec % this.windowSec;
    if (this.stamps[i] !== sec) {
      this.stamps[i] = sec;
      this.buckets[i].clear();
    }
    this.buckets[i].set(key, (this.buckets[i].get(key) ?? 0) + n);
  }

  /** Totals per key over the window ending at `nowMs`. */
  totals(nowMs: number): Record<string, number> {
    const now = Math.floor(nowMs / 1000);
    const out: Record<string, number> = {};
    for (let i = 0; i < this.windowSec; i++) {
      if (this.stamps[i] < 0 || now - this.stamps[i] >= this.windowSec || this.stamps[i] > now) continue;
      for (const [k, v] of this.buckets[i]) out[k] = (out[k] ?? 0) + v;
    }
    return out;
  }
}
