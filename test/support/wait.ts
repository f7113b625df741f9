/**
 * The one "poll until a condition holds or time out" helper of the tests. Waits for a condition,
 * never for a fixed time: it returns as soon as `cond` answers a truthy value, and that value.
 */
export interface WaitOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Pause between two checks (default 25 ms). */
  intervalMs?: number;
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/** Thrown when the condition did not hold in time; names what was awaited. */
export class WaitTimeout extends Error {
  override name = 'WaitTimeout';
}

/**
 * Resolves with the first truthy answer of `cond`; rejects with a `WaitTimeout` naming `what` once
 * `timeoutMs` has passed. `what` may be a function, called only on timeout, to add the last state
 * seen. An error thrown by `cond` stops the wait at once (e.g. "the process exited").
 */
export async function waitFor<T>(
  what: string | (() => string),
  cond: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 25 }: WaitOptions = {},
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await cond();
    if (value) return value as Truthy<T>;
    if (Date.now() > deadline) throw new WaitTimeout(`timed out after ${timeoutMs} ms waiting for: ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
