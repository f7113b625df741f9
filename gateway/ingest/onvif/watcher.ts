/**
 * Watches a fleet of ONVIF cameras: a liveness probe per camera every `probeIntervalSec` (±10 %
 * jitter), every `detailsEveryN`-th probe followed by the authenticated details probe, optional
 * PullPoint event subscriptions.
 *
 * Scheduling is by deadline (a binary heap of next-due times and one timer), so an idle tick costs
 * nothing per camera. A camera is back in the heap only once its probe has finished, so it never
 * has two probes in flight; at most `concurrency` probes run at once across the fleet (a due
 * camera waits in a FIFO queue for a slot). The next probe is due `interval × (0.9…1.1)` after the
 * previous one STARTED (or at once, if the queue made it late). First probes are spread uniformly
 * over the first interval.
 */
import type { Logger } from 'pino';
import { createAgents, type Agents } from './soap-client.js';
import { probeLiveness } from './liveness.js';
import { probeDetails } from './details.js';
import { PullPointSubscriber, type SubscriptionState } from './pullpoint.js';
import { redactUrl } from '../../redact.js';
import { normalizeTarget, type CameraEvent, type DetailsOutcome, type OnvifTarget, type ProbeOutcome } from './types.js';

/** Tampering, health and motion topics (issue 4); anything else a camera sends is dropped. */
export const DEFAULT_EVENT_TOPICS =
  /(^|:)(VideoSource\/(GlobalSceneChange|ImageTooBlurry|ImageTooDark|ImageTooBright|SignalLoss)|Device\/HardwareFailure|RuleEngine\/(CellMotionDetector|MotionRegionDetector)\/Motion|VideoSource\/MotionAlarm)(\/|$)/;

export interface CameraWatcherOptions {
  targets: OnvifTarget[];
  /** Default 30. */
  probeIntervalSec: number;
  /** Per liveness probe; the details probe gets twice this for its ~5 requests. Default 5000. */
  timeoutMs: number;
  /** Run the details probe on the 1st, (N+1)th, (2N+1)th… probe of each camera (after a successful or 'auth' liveness). 0: never. */
  detailsEveryN: number;
  /** Probes in flight at once, fleet-wide. */
  concurrency: number;
  onResult: (id: string, r: ProbeOutcome, atMs: number) => void;
  onDetails?: (id: string, d: DetailsOutcome, atMs: number) => void;
  onEvent?: (id: string, e: CameraEvent) => void;
  /** A PullPoint subscription answered (create, renew or a poll): a sign of life between probes. */
  onAlive?: (id: string, atMs: number) => void;
  onSubscription?: (id: string, state: SubscriptionState, message?: string) => void;
  log: Logger;
  /** PullPoint subscriptions for every camera. Default false. */
  events?: boolean;
  /** Which event topics reach onEvent. Default DEFAULT_EVENT_TOPICS. */
  eventTopics?: RegExp;
}

interface CamState {
  target: OnvifTarget;
  probes: number;
  inFlight: boolean;
  /** Bumped when the target is replaced or removed; stale heap entries are skipped. */
  gen: number;
  removed: boolean;
  lastOk: boolean;
  sub?: PullPointSubscriber;
}

interface Due {
  at: number;
  id: string;
  gen: number;
}

/** Minimal binary min-heap on `at`. */
class DueHeap {
  private a: Due[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): Due | undefined {
    return this.a[0];
  }
  push(d: Due): void {
    const a = this.a;
    a.push(d);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p].at <= a[i].at) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop(): Due | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l].at < a[m].at) m = l;
        if (r < a.length && a[r].at < a[m].at) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
  clear(): void {
    this.a = [];
  }
}

export class CameraWatcher {
  private readonly cams = new Map<string, CamState>();
  private readonly heap = new DueHeap();
  private readonly ready: Due[] = [];
  private readyHead = 0;
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  private genSeq = 0;
  private active = 0;
  private started = false;
  private stopped = false;
  private idle?: () => void;
  private readonly agents: Agents;
  private readonly eventAgents: Agents;
  private readonly o: Required<Pick<CameraWatcherOptions, 'probeIntervalSec' | 'timeoutMs' | 'detailsEveryN' | 'concurrency'>> & CameraWatcherOptions;
  private counters = { probes: 0, ok: 0, failed: 0, details: 0, events: 0, maxActive: 0 };

  constructor(opts: CameraWatcherOptions) {
    this.o = {
      ...opts,
      probeIntervalSec: opts.probeIntervalSec > 0 ? opts.probeIntervalSec : 30,
      timeoutMs: opts.timeoutMs > 0 ? opts.timeoutMs : 5000,
      detailsEveryN: Math.max(0, Math.floor(opts.detailsEveryN)),
      concurrency: Math.max(1, Math.floor(opts.concurrency || 32)),
    };
    this.agents = createAgents({ maxSockets: this.o.concurrency });
    this.eventAgents = createAgents();
    for (const t of opts.targets) this.add(t);
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    const now = Date.now();
    const spread = this.o.probeIntervalSec * 1000;
    for (const [id, st] of this.cams) {
      this.heap.push({ at: now + Math.random() * spread, id, gen: st.gen });
      this.startEvents(st, Math.random() * Math.min(spread, 30_000));
    }
    this.arm();
    this.o.log.info({ cameras: this.cams.size, intervalSec: this.o.probeIntervalSec, concurrency: this.o.concurrency, events: !!this.o.events }, 'ONVIF camera watcher started');
  }

  /** Replaces the watched set (e.g. after a registry reload): new cameras are added, gone ones dropped, changed ones restarted. */
  setTargets(targets: OnvifTarget[]): void {
    const next = new Map(targets.map((t) => [t.id, t]));
    for (const [id, st] of this.cams) {
      const t = next.get(id);
      if (!t || t.url !== st.target.url || t.username !== st.target.username || t.password !== st.target.password) this.remove(id);
    }
    const now = Date.now();
    for (const t of targets) {
      if (this.cams.has(t.id)) continue;
      const st = this.add(t);
      if (st && this.started && !this.stopped) {
        this.heap.push({ at: now + Math.random() * Math.min(5000, this.o.probeIntervalSec * 1000), id: t.id, gen: st.gen });
        this.startEvents(st, Math.random() * 5000);
      }
    }
    this.arm();
  }

  stats(): { cameras: number; active: number; queued: number; probes: number; ok: number; failed: number; details: number; events: number; maxActive: number } {
    return { cameras: this.cams.size, active: this.active, queued: this.ready.length - this.readyHead, ...this.counters };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.heap.clear();
    this.ready.length = 0;
    this.readyHead = 0;
    const subs = [...this.cams.values()].flatMap((st) => (st.sub ? [st.sub.stop()] : []));
    // Cut pending long polls; the subscribers then unsubscribe on fresh connections.
    this.eventAgents.http.destroy();
    this.eventAgents.https.destroy();
    const probesDone = this.active === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.idle = resolve));
    await Promise.all([...subs, probesDone]);
    for (const a of [this.agents, this.eventAgents]) {
      a.http.destroy();
      a.https.destroy();
    }
    this.o.log.info('ONVIF camera watcher stopped');
  }

  private add(t: OnvifTarget): CamState | undefined {
    try {
      normalizeTarget(t);
    } catch (e) {
      this.o.log.warn({ camera: t.id, url: redactUrl(t.url), err: e instanceof Error ? e.message : String(e) }, 'ONVIF camera has an unusable address; not watched');
      return undefined;
    }
    const st: CamState = { target: t, probes: 0, inFlight: false, gen: ++this.genSeq, removed: false, lastOk: true };
    this.cams.set(t.id, st);
    return st;
  }

  private remove(id: string): void {
    const st = this.cams.get(id);
    if (!st) return;
    st.removed = true;
    st.gen = ++this.genSeq;
    this.cams.delete(id);
    void st.sub?.stop();
  }

  private startEvents(st: CamState, delayMs: number): void {
    if (!this.o.events) return;
    const id = st.target.id;
    const filter = this.o.eventTopics ?? DEFAULT_EVENT_TOPICS;
    st.sub = new PullPointSubscriber({
      target: st.target,
      // Not the probes' agent: its pool is sized for `concurrency`, and a burst of subscription
      // requests queued there would eat into the probes' deadlines.
      agents: this.eventAgents,
      timeoutMs: this.o.timeoutMs,
      log: this.o.log,
      topicFilter: (topic) => filter.test(topic),
      onEvent: (e) => {
        this.counters.events++;
        this.o.onEvent?.(id, e);
      },
      onAlive: (at) => this.o.onAlive?.(id, at),
      onState: (s, m) => this.o.onSubscription?.(id, s, m),
      startDelayMs: delayMs,
    });
    st.sub.start();
  }

  /** (Re)sets the single timer to the earliest due time. */
  private arm(): void {
    if (this.stopped || !this.started) return;
    const top = this.heap.peek();
    if (!top) return;
    if (this.timer && this.timerAt <= top.at) return;
    clearTimeout(this.timer);
    this.timerAt = top.at;
    this.timer = setTimeout(() => this.tick(), Math.max(0, top.at - Date.now()));
  }

  private tick(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    for (let d = this.heap.peek(); d && d.at <= now; d = this.heap.peek()) this.ready.push(this.heap.pop()!);
    this.pump();
    this.arm();
  }

  private pump(): void {
    while (!this.stopped && this.active < this.o.concurrency && this.readyHead < this.ready.length) {
      const d = this.ready[this.readyHead++];
      const st = this.cams.get(d.id);
      if (!st || st.gen !== d.gen || st.inFlight) continue;
      void this.run(st, d.gen);
    }
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready.splice(0, this.readyHead);
      this.readyHead = 0;
    }
  }

  private async run(st: CamState, gen: number): Promise<void> {
    st.inFlight = true;
    this.active++;
    this.counters.maxActive = Math.max(this.counters.maxActive, this.active);
    const startedAt = Date.now();
    const n = st.probes++;
    const id = st.target.id;
    try {
      const r = await probeLiveness(st.target, this.o.timeoutMs, { agents: this.agents });
      if (this.stopped || st.removed) return;
      this.counters.probes++;
      if (r.ok) this.counters.ok++;
      else this.counters.failed++;
      this.safe(() => this.o.onResult(id, r, Date.now()), 'onResult');
      const up = r.ok || r.reason === 'auth';
      if (up && !st.lastOk) st.sub?.kick();
      st.lastOk = up;
      if (up && this.o.detailsEveryN > 0 && n % this.o.detailsEveryN === 0 && this.o.onDetails) {
        const d = await probeDetails(st.target, this.o.timeoutMs * 2, { agents: this.agents, ...(r.ok ? { clockSkewMs: r.clockSkewMs } : {}) });
        if (this.stopped || st.removed) return;
        this.counters.details++;
        if (!d.ok && d.reason !== 'auth') this.o.log.debug({ camera: id, reason: d.reason, err: d.message }, 'ONVIF details probe failed');
        this.safe(() => this.o.onDetails!(id, d, Date.now()), 'onDetails');
      }
    } catch (e) {
      // probeLiveness/probeDetails do not throw; this is a handler's or our own bug.
      this.o.log.error({ camera: id, err: e instanceof Error ? e.message : String(e) }, 'ONVIF probe crashed');
    } finally {
      st.inFlight = false;
      this.active--;
      if (this.stopped) {
        if (this.active === 0) this.idle?.();
      } else if (!st.removed && st.gen === gen) {
        const interval = this.o.probeIntervalSec * 1000;
        const at = Math.max(Date.now(), startedAt + interval * (0.9 + 0.2 * Math.random()));
        this.heap.push({ at, id, gen });
        this.arm();
      }
      this.pump();
    }
  }

  private safe(f: () => void, what: string): void {
    try {
      f();
    } catch (e) {
      this.o.log.error({ err: e instanceof Error ? e.message : String(e) }, `ONVIF watcher ${what} handler threw`);
    }
  }
}
