/** The uptime report for cameras (GET /api/cameras/uptime): per camera, per school, per zone. Pure. */
import type { GatewayRun } from '../../store/store.js';

/** A recorded online/offline change of a device (the devices module's `device_transitions` rows). */
export interface TransitionRow {
  device: string;
  atMs: number;
  online: boolean;
  reason: string;
}
import type { IndexedDevice } from '../../registry.js';
import type { CameraUptime } from '../../contract/api.js';
import { toCsv } from '../../contract/csv.js';
import { combine, uptime, type Span, type UptimeFigures } from './uptime.js';

export const UPTIME_WINDOWS = { '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 } as const;
export type UptimeWindow = keyof typeof UPTIME_WINDOWS;

/** When the gateway was not running within [fromMs, toMs]: before its first run, and between runs. */
export function gatewayGaps(runs: GatewayRun[], fromMs: number, toMs: number): Span[] {
  const gaps: Span[] = [];
  let cursor = fromMs;
  for (const r of runs) {
    if (r.startedAt > cursor) gaps.push({ fromMs: cursor, toMs: Math.min(r.startedAt, toMs) });
    cursor = Math.max(cursor, r.aliveAt);
  }
  // The last run is the one answering now; it is alive up to `toMs`.
  if (runs.length === 0) gaps.push({ fromMs, toMs });
  return gaps.filter((g) => g.toMs > g.fromMs);
}


export function cameraUptimeReport(
  cameras: IndexedDevice[],
  window: Span,
  before: Map<string, TransitionRow>,
  transitions: TransitionRow[],
  runs: GatewayRun[],
) {
  const gaps = gatewayGaps(runs, window.fromMs, window.toMs);
  const byDevice = new Map<string, { atMs: number; online: boolean }[]>();
  for (const t of transitions) {
    const list = byDevice.get(t.device);
    if (list) list.push(t);
    else byDevice.set(t.device, [t]);
  }
  const rows: (CameraUptime & { figures: UptimeFigures })[] = cameras.map((c) => {
    const b = before.get(c.id);
    const figures = uptime(window, { online: b ? b.online : null, sinceMs: b ? b.atMs : null }, byDevice.get(c.id) ?? [], gaps);
    const { downSince, ...rest } = figures;
    const row = { id: c.id, name: c.name, school: c.school, ...rest, down: downSince !== null, downSince: downSince === null ? null : new Date(downSince).toISOString(), figures };
    return c.zone ? { ...row, zone: c.zone } : row;
  });
  // Worst first: lowest ratio; cameras with no known time last.
  rows.sort((a, b) => (a.ratio ?? 2) - (b.ratio ?? 2) || a.id.localeCompare(b.id));
  const group = (key: (r: (typeof rows)[number]) => string | undefined) => {
    const groups = new Map<string, UptimeFigures[]>();
    for (const r of rows) {
      const k = key(r);
      if (k === undefined) continue;
      const g = groups.get(k);
      if (g) g.push(r.figures);
      else groups.set(k, [r.figures]);
    }
    return [...groups].map(([id, f]) => ({ id, ...combine(f) })).sort((a, b) => (a.ratio ?? 2) - (b.ratio ?? 2) || a.id.localeCompare(b.id));
  };
  return {
    from: new Date(window.fromMs).toISOString(),
    to: new Date(window.toMs).toISOString(),
    gatewayDownMs: gaps.reduce((n, g) => n + g.toMs - g.fromMs, 0),
    cameras: rows.map(({ figures: _f, ...r }) => r),
    schools: group((r) => r.school),
    zones: group((r) => r.zone),
  };
}

const CSV_COLUMNS = ['id', 'name', 'school', 'zone', 'uptime_ratio', 'up_s', 'down_s', 'unknown_s', 'outages', 'longest_outage_s', 'mttr_s', 'down_since'] as const;

export function uptimeCsv(cameras: CameraUptime[]): string {
  const sec = (ms: number | null) => (ms === null ? '' : (ms / 1000).toFixed(0));
  const rows = cameras.map((c) => [c.id, c.name, c.school, c.zone, c.ratio === null ? '' : c.ratio.toFixed(6), sec(c.upMs), sec(c.downMs), sec(c.unknownMs), c.outages, sec(c.longestOutageMs), sec(c.mttrMs), c.downSince]);
  return toCsv(CSV_COLUMNS, rows, { bom: true, neutralizeFormulas: true });
}
