/**
 * One gateway among several on one PostgreSQL ledger (issue #14, decision 0009): it applies what
 * the others committed, in seq order, from the store — never from their ingest call stack.
 *
 * `applied` is the seq up to which this process's projections hold every committed frame. Its own
 * commits advance it while they follow on from it; a seq it did not write (another gateway's)
 * makes it refresh the modules that share their state (`GatewayModule.refresh`) from the store,
 * in the commit queue, and only then move `applied` up to the head it read first. The live hub
 * serves frames up to `applied` only, so a screen never sees a frame whose state (an alarm it
 * could acknowledge here) this gateway does not hold yet, and a snapshot's seq is true of it.
 *
 * Wake-ups come from the store's NOTIFY (`watchFeed`); they carry no data, so one missed while the
 * listener was away costs nothing: every check reads `feed_head` and covers all seqs up to it.
 */
import type { Logger } from 'pino';
import type { FeedFrame } from '../contract/api.js';
import type { Store } from '../store/store.js';
import type { Dispatcher } from './dispatcher.js';
import type { GatewayModule } from './module.js';

export interface FollowerOptions {
  store: Store & Required<Pick<Store, 'feedHead' | 'watchFeed'>>;
  dispatcher: Dispatcher;
  modules: readonly GatewayModule[];
  log: Logger;
  /** `applied` moved on: push the new frames to the screens. */
  onApplied: () => void;
}

/** Beyond this many frames to catch up on, the modules reload their tables (a gateway back from an outage). */
const MAX_FRAMES_READ = 5_000;

export class FeedFollower {
  private appliedSeq: number;
  /** Seqs this process committed above `appliedSeq` (another gateway's frame lies between). */
  private readonly own = new Set<number>();
  private queued = false;
  private again = false;
  private failing = false;
  private unwatch?: () => Promise<void>;
  /** Refreshes after another gateway's commit, for /metrics and tests of this class. */
  refreshes = 0;

  constructor(private readonly o: FollowerOptions) {
    this.appliedSeq = o.store.lastFeedSeq();
  }

  /** The seq up to which this gateway's projections hold every committed frame. */
  get applied(): number {
    return this.appliedSeq;
  }

  async start(): Promise<void> {
    this.unwatch = await this.o.store.watchFeed((seq) => {
      if (seq === undefined || seq > this.appliedSeq) this.wake();
    });
  }

  async stop(): Promise<void> {
    await this.unwatch?.();
    this.unwatch = undefined;
  }

  /** Frames this gateway's dispatcher just committed (before the screens are poked). */
  committed(frames: readonly FeedFrame[]): void {
    for (const f of frames) if (f.seq > this.appliedSeq) this.own.add(f.seq);
    while (this.own.delete(this.appliedSeq + 1)) this.appliedSeq++;
    // Left over: a seq below ours is another gateway's, committed just before.
    if (this.own.size > 0) this.wake();
  }

  /** Checks the head, once, after the batch committing now; wake-ups meanwhile are one check. */
  private wake(): void {
    if (this.queued) {
      this.again = true;
      return;
    }
    this.queued = true;
    this.again = false;
    this.o.dispatcher
      .between(() => this.check())
      .catch((err) => {
        // The database is away: the listener's reconnection wakes us again once it is back.
        if (!this.failing) this.o.log.warn({ err: (err as Error).message }, 'could not apply other gateways\u2019 commits; trying again when the store answers');
        this.failing = true;
      })
      .finally(() => {
        this.queued = false;
        if (this.again) this.wake();
      });
  }

  /**
   * Every frame after `applied` up to `head`, this gateway's own among them (a later own frame of
   * the same alarm must win over another gateway's earlier one), for the modules that can apply
   * them instead of reloading their tables; undefined (everything reloads) when there are too many
   * to read or some were pruned.
   */
  private async framesUpTo(head: number): Promise<FeedFrame[] | undefined> {
    if (head - this.appliedSeq > MAX_FRAMES_READ) return undefined;
    const frames = await this.o.store.feedSince(this.appliedSeq, head - this.appliedSeq);
    return frames && frames.length === head - this.appliedSeq ? frames : undefined;
  }

  private async check(): Promise<void> {
    const head = await this.o.store.feedHead();
    if (head <= this.appliedSeq) return;
    let foreign = false;
    for (let s = this.appliedSeq + 1; s <= head && !foreign; s++) foreign = !this.own.has(s);
    if (foreign) {
      await refreshAll(this.o.modules, await this.framesUpTo(head));
      this.refreshes++;
    }
    for (const s of this.own) if (s <= head) this.own.delete(s);
    this.appliedSeq = head;
    if (this.failing) this.o.log.warn('applying other gateways\u2019 commits again');
    this.failing = false;
    this.o.onApplied();
  }
}

/**
 * Every module's `refresh`, each once the modules it depends on have refreshed (floods recount
 * from the alarms), the others at the same time: each is a few queries, and one after another
 * their round trips added up to the delay before another gateway's alarm reached this one's screens.
 */
export async function refreshAll(modules: readonly GatewayModule[], frames?: readonly FeedFrame[]): Promise<void> {
  const done = new Map<string, Promise<void>>();
  const byName = new Map(modules.map((m) => [m.name, m]));
  const refreshOf = (m: GatewayModule): Promise<void> => {
    let p = done.get(m.name);
    if (!p) {
      const deps = (m.dependsOn ?? []).flatMap((d) => (byName.has(d) ? [refreshOf(byName.get(d)!)] : []));
      p = Promise.all(deps).then(() => m.refresh?.(frames));
      done.set(m.name, p);
    }
    return p;
  };
  await Promise.all(modules.map(refreshOf));
}
