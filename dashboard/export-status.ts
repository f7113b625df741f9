/**
 * The time-series export's state, as the wall screen needs it: a quiet warning in the header when
 * the history export (InfluxDB) lags. Read from `GET /health` (no auth), polled; the parsing is pure.
 */

export interface ExportLag {
  /** How far behind, in whole minutes (at least 1). */
  minutes: number;
  /** The exporter's last error, for the tooltip. */
  lastError: string | null;
}

export const DEFAULT_HEALTH_POLL_MS = 15_000;

/** A lagging export from a `GET /health` body, or null: export disabled, not lagging, or unreadable. */
export function exportLagOf(health: unknown): ExportLag | null {
  if (!health || typeof health !== 'object') return null;
  const influx = (health as { influx?: unknown }).influx;
  if (!influx || typeof influx !== 'object') return null;
  const i = influx as { enabled?: unknown; lagging?: unknown; lagSec?: unknown; lastError?: unknown };
  if (i.enabled !== true || i.lagging !== true) return null;
  const lagSec = typeof i.lagSec === 'number' && Number.isFinite(i.lagSec) ? i.lagSec : 0;
  return {
    minutes: Math.max(1, Math.round(lagSec / 60)),
    lastError: typeof i.lastError === 'string' && i.lastError ? i.lastError : null,
  };
}

/** `?healthPollMs=` (tests use a short one), else 15 s; never below 200 ms. */
export function healthPollMs(search: string): number {
  const raw = new URLSearchParams(search).get('healthPollMs');
  const n = raw === null || raw.trim() === '' ? NaN : Number(raw);
  return Number.isFinite(n) && n > 0 ? Math.max(200, Math.round(n)) : DEFAULT_HEALTH_POLL_MS;
}

/** Polls `GET /health` and reports the export lag (null when there is none or the gateway is unreachable). */
export class ExportStatusPoller {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private controller: AbortController | null = null;
  private stopped = true;

  constructor(
    private readonly onChange: (lag: ExportLag | null) => void,
    private readonly intervalMs: number,
    private readonly url = '/health',
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.poll();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.controller?.abort();
    this.controller = null;
  }

  private async poll(): Promise<void> {
    let lag: ExportLag | null = null;
    this.controller = new AbortController();
    const timeout = setTimeout(() => this.controller?.abort(), Math.max(1000, this.intervalMs));
    try {
      // 503 (cannot take alarms) still carries the body.
      const res = await fetch(this.url, { cache: 'no-store', headers: { accept: 'application/json' }, signal: this.controller.signal });
      lag = exportLagOf(await res.json());
    } catch {
      lag = null; // unreachable: the connection banner says so; this chip stays quiet
    } finally {
      clearTimeout(timeout);
    }
    if (this.stopped) return;
    this.onChange(lag);
    this.timer = setTimeout(() => void this.poll(), this.intervalMs);
  }
}
