/**
 * Camera uptime for the maintenance panel: `GET /api/cameras/uptime` (maintenance, operator and admin;
 * viewers get 403 and no uptime section), polled. The shaping (worst cameras, zone figures, percent)
 * is pure so it can be unit-tested.
 */
import type { CameraUptime, Role, UptimeFiguresView, UptimeReport } from '../gateway/contract/api.js';

export type { CameraUptime, GroupUptime, UptimeReport } from '../gateway/contract/api.js';
export type UptimeWindow = UptimeReport['window'];
export type UptimeFigures = UptimeFiguresView;

/** Who may read the uptime report (the gateway answers 403 to anyone else). */
export const canSeeUptime = (role: Role | undefined): boolean => role === 'maintenance' || role === 'operator' || role === 'admin';

export const DEFAULT_UPTIME_POLL_MS = 60_000;

/** `?uptimePollMs=` (tests use a short one), else 60 s; never below 500 ms. */
export function uptimePollMs(search: string): number {
  const raw = new URLSearchParams(search).get('uptimePollMs');
  const n = raw === null || raw.trim() === '' ? NaN : Number(raw);
  return Number.isFinite(n) && n > 0 ? Math.max(500, Math.round(n)) : DEFAULT_UPTIME_POLL_MS;
}

/**
 * "99.7%", one decimal, rounded down: a camera that lost any time never reads "100.0%".
 * "—" when nothing is known.
 */
export function percent(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '—';
  const tenths = Math.floor(Math.min(1, Math.max(0, ratio)) * 1000 + 1e-9);
  return `${(tenths / 10).toFixed(1)}%`;
}

/**
 * The `n` worst cameras: only those that lost time (ratio below 1) or are down now; lowest ratio
 * first, then more outages, then down longest. Cameras never heard from (ratio null) are left out:
 * the currently-down list shows them.
 */
export function worstCameras(report: Pick<UptimeReport, 'cameras'> | null, n = 5): CameraUptime[] {
  if (!report) return [];
  return report.cameras
    .filter((c) => c.ratio !== null && (c.ratio < 1 || c.down))
    .sort((a, b) => (a.ratio ?? 1) - (b.ratio ?? 1) || b.outages - a.outages || b.downMs - a.downMs || a.id.localeCompare(b.id))
    .slice(0, n);
}

export const UPTIME_ZONES = ['campus', 'dining', 'kitchen', 'storage'] as const;
export type UptimeZone = (typeof UPTIME_ZONES)[number];

/** One figure per zone, always the four in this order (null ratio when the report has none for it). */
export function zoneFigures(report: Pick<UptimeReport, 'zones'> | null): { zone: UptimeZone; ratio: number | null; devices: number; down: number }[] {
  const byId = new Map((report?.zones ?? []).map((z) => [z.id, z]));
  return UPTIME_ZONES.map((zone) => {
    const z = byId.get(zone);
    return { zone, ratio: z?.ratio ?? null, devices: z?.devices ?? 0, down: z?.down ?? 0 };
  });
}

/** How a ratio should look: fine (≥ 99 %), low (≥ 95 %), poor. Quiet colours; never the alarm red. */
export function ratioLevel(ratio: number | null): 'none' | 'ok' | 'low' | 'poor' {
  if (ratio === null || !Number.isFinite(ratio)) return 'none';
  if (ratio >= 0.99) return 'ok';
  if (ratio >= 0.95) return 'low';
  return 'poor';
}

export type UptimeResult = { kind: 'ok'; report: UptimeReport } | { kind: 'forbidden' } | { kind: 'error'; message: string };

/**
 * Polls the report every `intervalMs`; `poke()` asks for an earlier refresh (a camera went down or
 * came back), at most one per `minGapMs`. Stops by itself on 403.
 */
export class UptimePoller {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private dueAt = Infinity;
  private lastAt = -Infinity;
  private inFlight = false;
  private stopped = true;

  constructor(
    private readonly load: () => Promise<UptimeResult>,
    private readonly onResult: (r: UptimeResult) => void,
    private readonly intervalMs: number = DEFAULT_UPTIME_POLL_MS,
    private readonly minGapMs: number = Math.min(10_000, intervalMs),
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

  /** Refresh soon (throttled). */
  poke(): void {
    if (this.stopped) return;
    this.schedule(Math.max(1000, this.lastAt + this.minGapMs - Date.now()));
  }

  private schedule(delayMs: number): void {
    const at = Date.now() + Math.max(0, delayMs);
    if (this.timer && at >= this.dueAt) return; // an earlier run is already planned
    if (this.timer) clearTimeout(this.timer);
    this.dueAt = at;
    this.timer = setTimeout(() => void this.run(), Math.max(0, delayMs));
  }

  private async run(): Promise<void> {
    this.timer = null;
    this.dueAt = Infinity;
    if (this.stopped) return;
    if (this.inFlight) return this.schedule(1000);
    this.inFlight = true;
    this.lastAt = Date.now();
    let result: UptimeResult;
    try {
      result = await this.load();
    } catch (err) {
      result = { kind: 'error', message: err instanceof Error ? err.message : String(err) };
    } finally {
      this.inFlight = false;
    }
    if (this.stopped) return;
    this.onResult(result);
    if (result.kind === 'forbidden') return this.stop();
    this.schedule(this.intervalMs);
  }
}
