/**
 * Uptime from recorded transitions (not from counting samples), pure. Time when the gateway
 * itself was down is `unknown`, never up; so is time before a device was first heard from.
 * ratio = up / (up + down): unknown time is left out, not counted for or against.
 */
export interface Span {
  fromMs: number;
  toMs: number;
}

export interface UptimeFigures {
  upMs: number;
  downMs: number;
  unknownMs: number;
  ratio: number | null;
  /** Outages that began in the window. */
  outages: number;
  longestOutageMs: number;
  /** Mean time to repair: mean length of the outages that ended in the window. */
  mttrMs: number | null;
  /** Set when the device is down at the end of the window. */
  downSince: number | null;
}

/**
 * `initial`: the state at `window.fromMs` (null: unknown) and since when it held;
 * `transitions`: changes inside the window, in time order; `gaps`: when the gateway was down.
 */
export function uptime(
  window: Span,
  initial: { online: boolean | null; sinceMs: number | null },
  transitions: { atMs: number; online: boolean }[],
  gaps: Span[],
): UptimeFigures {
  const f: UptimeFigures = { upMs: 0, downMs: 0, unknownMs: 0, ratio: null, outages: 0, longestOutageMs: 0, mttrMs: null, downSince: null };
  let state = initial.online;
  let since = initial.sinceMs ?? window.fromMs;
  let cursor = window.fromMs;
  let repairs = 0;
  let repairTotal = 0;
  const add = (from: number, to: number, s: boolean | null) => {
    if (to <= from) return;
    const unknownPart = overlap(from, to, gaps);
    const known = to - from - unknownPart;
    f.unknownMs += unknownPart;
    if (s === true) f.upMs += known;
    else if (s === false) f.downMs += known;
    else f.unknownMs += known;
  };
  for (const t of transitions) {
    if (t.atMs < window.fromMs || t.atMs > window.toMs || t.online === state) continue;
    add(cursor, t.atMs, state);
    if (state === false) {
      const length = t.atMs - since;
      f.longestOutageMs = Math.max(f.longestOutageMs, length);
      repairs++;
      repairTotal += length;
    }
    if (!t.online) f.outages++;
    state = t.online;
    since = t.atMs;
    cursor = t.atMs;
  }
  add(cursor, window.toMs, state);
  if (state === false) {
    f.longestOutageMs = Math.max(f.longestOutageMs, window.toMs - since);
    f.downSince = since;
  }
  f.ratio = f.upMs + f.downMs > 0 ? f.upMs / (f.upMs + f.downMs) : null;
  f.mttrMs = repairs > 0 ? repairTotal / repairs : null;
  return f;
}

function overlap(from: number, to: number, gaps: Span[]): number {
  let n = 0;
  for (const g of gaps) n += Math.max(0, Math.min(to, g.toMs) - Math.max(from, g.fromMs));
  return n;
}

/** Sums per-device figures into a group's (school, zone): ratios weighted by known time. */
export function combine(figures: UptimeFigures[]): Omit<UptimeFigures, 'downSince'> & { devices: number; down: number } {
  const sum = { upMs: 0, downMs: 0, unknownMs: 0, outages: 0, longestOutageMs: 0, repairs: 0, repairTotal: 0, down: 0 };
  for (const x of figures) {
    sum.upMs += x.upMs;
    sum.downMs += x.downMs;
    sum.unknownMs += x.unknownMs;
    sum.outages += x.outages;
    sum.longestOutageMs = Math.max(sum.longestOutageMs, x.longestOutageMs);
    if (x.downSince !== null) sum.down++;
    if (x.mttrMs !== null) {
      // mttr × repairs is the repair time; repairs are not kept per device, so weight by outages.
      const n = Math.max(1, x.outages);
      sum.repairs += n;
      sum.repairTotal += x.mttrMs * n;
    }
  }
  return {
    devices: figures.length,
    down: sum.down,
    upMs: sum.upMs,
    downMs: sum.downMs,
    unknownMs: sum.unknownMs,
    ratio: sum.upMs + sum.downMs > 0 ? sum.upMs / (sum.upMs + sum.downMs) : null,
    outages: sum.outages,
    longestOutageMs: sum.longestOutageMs,
    mttrMs: sum.repairs > 0 ? sum.repairTotal / sum.repairs : null,
  };
}
