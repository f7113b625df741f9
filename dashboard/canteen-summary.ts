/**
 * GET /api/canteen/summary, kept fresh: read at start, every `intervalMs`, and soon after a `poke()`
 * (a case, AI event or camera change on the feed), at most once per `minGapMs` however many come.
 */
export const DEFAULT_CANTEEN_POLL_MS = 60_000;

export class SummaryPoller<T> {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private dueAt = Infinity;
  private lastAt = -Infinity;
  private inFlight = false;
  private again = false;
  private stopped = true;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly onResult: (r: { ok: true; value: T } | { ok: false; error: unknown }) => void,
    private readonly intervalMs = DEFAULT_CANTEEN_POLL_MS,
    private readonly minGapMs = 1500,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.dueAt = Infinity;
  }

  poke(): void {
    if (this.stopped) return;
    if (this.inFlight) {
      this.again = true; // the reply in flight may predate the change
      return;
    }
    this.schedule(Math.max(300, this.lastAt + this.minGapMs - Date.now()));
  }

  private schedule(delayMs: number): void {
    const at = Date.now() + Math.max(0, delayMs);
    if (this.timer && at >= this.dueAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.dueAt = at;
    this.timer = setTimeout(() => void this.run(), Math.max(0, delayMs));
  }

  private async run(): Promise<void> {
    this.timer = null;
    this.dueAt = Infinity;
    if (this.stopped) return;
    this.inFlight = true;
    this.again = false;
    this.lastAt = Date.now();
    let r: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      r = { ok: true, value: await this.load() };
    } catch (error) {
      r = { ok: false, error };
    } finally {
      this.inFlight = false;
    }
    if (this.stopped) return;
    this.onResult(r);
    this.schedule(this.again ? this.minGapMs : this.intervalMs);
  }
}
