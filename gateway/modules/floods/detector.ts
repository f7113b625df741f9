/**
 * ISA-18.2 alarm flood detection, pure: raise times in, flood state out; no clock of its own.
 *
 * A flood starts when more than `count` alarms fall within the sliding `windowMs` (10 in 10 min is
 * not a flood, 11 is). It ends when fewer than `endCount` remain in the window (ISA-18.2's "below 5
 * per 10 min"): hysteresis, so a rate hovering at the threshold does not start and end a flood with
 * every press. An alarm counts while `now < raisedAt + windowMs`.
 */
export interface FloodConfig {
  count: number;
  windowMs: number;
  /** At most `count` (a larger one would end a flood the moment it starts). */
  endCount: number;
}

export interface FloodState {
  /** Raise times still in the window, oldest first. */
  readonly times: readonly number[];
  readonly active: boolean;
  /** When the current (or last) flood started. */
  readonly since?: number;
  /** When the last flood ended. */
  readonly endedAt?: number;
}

export const NO_FLOOD: FloodState = { times: [], active: false };

const inWindow = (times: readonly number[], nowMs: number, cfg: FloodConfig) => times.filter((t) => nowMs < t + cfg.windowMs);

/** The state at `nowMs`: old raises leave the window, and an active flood ends once fewer than `endCount` remain. */
export function floodAt(s: FloodState, nowMs: number, cfg: FloodConfig): FloodState {
  const times = inWindow(s.times, nowMs, cfg);
  if (s.active && times.length < Math.min(cfg.endCount, cfg.count)) return { times, active: false, since: s.since, endedAt: nowMs };
  return { ...s, times };
}

/** One more alarm raised at `atMs` (not before the last one: the gateway's receive times only rise). */
export function floodOnAlarm(s: FloodState, atMs: number, cfg: FloodConfig): FloodState {
  const now = floodAt(s, atMs, cfg);
  const times = [...now.times, atMs];
  if (!now.active && times.length > cfg.count) return { times, active: true, since: atMs };
  return { ...now, times };
}

/** When an active flood's count next drops below `endCount` if nothing more is raised (undefined: not active). */
export function floodEndDueMs(s: FloodState, cfg: FloodConfig): number | undefined {
  if (!s.active) return undefined;
  const end = Math.min(cfg.endCount, cfg.count);
  // Once the oldest (length − end + 1) raises have left, fewer than `end` remain.
  return (s.times[Math.max(0, s.times.length - end)] ?? -Infinity) + cfg.windowMs;
}
