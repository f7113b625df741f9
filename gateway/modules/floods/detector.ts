/**
 * ISA-18.2 alarm flood detection, pure: raise times in, flood state out; no clock of its own.
 *
 * A flood starts when more than `count` alarms fall within the sliding `windowMs` (10 in 10 min is
 * not a flood, 11 is). It ends when fewer than `endCount` remain in the window (ISA-18.2's "below 5
 * per 10 min"): hysteresis, so a rate hovering at the threshold does not start and end a flood with
 * every press. An alarm counts while `now < raisedAt + windowMs`.
 *
 * Raise times only rise (the gateway's receive times; the ledger's, oldest first, at start), so
 * the ones in the window are the newest run of them: a state is a slice [from, to) of one shared,
 * append-only array. A press costs O(1) (amortized), not a copy of the window — a burst of 20,000
 * alarms copied a window of up to 20,000 per press (issue 13). Still pure: a state's slice is never
 * written; a press appends in place only to the newest state of its array, any other is copied.
 */
export interface FloodConfig {
  count: number;
  windowMs: number;
  /** At most `count` (a larger one would end a flood the moment it starts). */
  endCount: number;
}

export interface FloodState {
  /** Raises within the window. */
  readonly count: number;
  /** Raise times still in the window, oldest first (a copy: for inspection, not per press). */
  readonly times: readonly number[];
  readonly active: boolean;
  /** When the current (or last) flood started. */
  readonly since?: number;
  /** When the last flood ended. */
  readonly endedAt?: number;
}

/** The state with its slice of the shared raise times. */
class Slice implements FloodState {
  constructor(
    readonly raises: number[],
    readonly from: number,
    readonly to: number,
    readonly active: boolean,
    readonly since?: number,
    readonly endedAt?: number,
  ) {}

  get count(): number {
    return this.to - this.from;
  }

  get times(): readonly number[] {
    return this.raises.slice(this.from, this.to);
  }
}

const state = (raises: number[], from: number, to: number, active: boolean, since?: number, endedAt?: number): Slice =>
  new Slice(raises, from, to, active, since, endedAt);

export const NO_FLOOD: FloodState = state([], 0, 0, false);

const slice = (s: FloodState): Slice => (s instanceof Slice ? s : state([...s.times], 0, s.times.length, s.active, s.since, s.endedAt));

/** The state at `nowMs`: old raises leave the window, and an active flood ends once fewer than `endCount` remain. */
export function floodAt(s: FloodState, nowMs: number, cfg: FloodConfig): FloodState {
  const sl = slice(s);
  const { raises, to } = sl;
  let from = sl.from;
  while (from < to && nowMs >= raises[from] + cfg.windowMs) from++;
  if (s.active && to - from < Math.min(cfg.endCount, cfg.count)) return state(raises, from, to, false, s.since, nowMs);
  return state(raises, from, to, s.active, s.since, s.endedAt);
}

/** One more alarm raised at `atMs` (not before the last one: the gateway's receive times only rise). */
export function floodOnAlarm(s: FloodState, atMs: number, cfg: FloodConfig): FloodState {
  const now = floodAt(s, atMs, cfg) as Slice;
  let { raises, from, to } = now;
  if (to !== raises.length || (from > 1024 && from * 2 > raises.length)) {
    // Not the newest state of its array (appending would write into another state's view), or
    // mostly raises that have left the window: continue on a fresh copy of the window.
    raises = raises.slice(from, to);
    to -= from;
    from = 0;
  }
  raises.push(atMs);
  to++;
  if (!now.active && to - from > cfg.count) return state(raises, from, to, true, atMs);
  return state(raises, from, to, now.active, now.since, now.endedAt);
}

/** When an active flood's count next drops below `endCount` if nothing more is raised (undefined: not active). */
export function floodEndDueMs(s: FloodState, cfg: FloodConfig): number | undefined {
  if (!s.active) return undefined;
  const { raises, from, to } = slice(s);
  const end = Math.min(cfg.endCount, cfg.count);
  // Once the oldest (count − end + 1) raises have left, fewer than `end` remain.
  return (to > from ? raises[Math.max(from, to - end)] : -Infinity) + cfg.windowMs;
}
