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

  private async check(): Promise<void> {
    const head = await this.o.store.feedHead();
    if (head <= this.appliedSeq) return;
    let foreign = false;
    for (let s = this.appliedSeq + 1; s <= head && !foreign; s++) foreign = !this.own.has(s);
    if (foreign) {
      for (const m of this.o.modules) await m.refresh?.();
      this.refreshes++;
    }
    for (const s of this.own) if (s <= head) this.own.delete(s);
    this.appliedSeq = head;
    if (this.failing) this.o.log.warn('applying other gateways\u2019 commits again');
    this.failing = false;
    this.o.onApplied();
  }
}
