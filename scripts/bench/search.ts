/**
 * The sustainable rate of a consumer: the highest offered rate at which everything offered during
 * a step is processed within the step plus a short grace — so no backlog grows and nothing is
 * lost. Offered by the publisher processes at an even pace. A step they cannot keep pace with
 * counts as a fail if the consumer fell behind even so, else it ends the search; either way a
 * result near where the publishers gave out is only a lower bound ("publisher-bound").
 *
 * 1. Probe: a burst as fast as the publishers go, growing until it takes ≥ 0.5 s to drain; its
 *    drain rate is where the steps start (just under it). Only a starting point: a burst is
 *    handled differently from an even load, and the gateway's drain rate of one is often half
 *    what it sustains.
 * 2. Steps: doubling while they pass, ×0.6 while they fail, then bisecting between the highest
 *    pass and the lowest fail, until the steps run out or the two are within 5 %.
 *
 * For the gateway, "processed" is accepted into the ledger. The work it still owes for those
 * messages (the export outbox) is recorded at the end of each step, and with `exportMustKeepUp`
 * it must not have fallen behind either; between steps it is let finish.
 */
import { now, sleep, settleCount, type Consumer, type Mode, type Publishers } from './lib.js';
import type { PublishKind } from './publisher.js';

export interface StepResult {
  rate: number;
  offered: number;
  /** processed within the step and its grace */
  processed: number;
  /** the consumer's owed work at that moment (export outbox) */
  backlog: number;
  pass: boolean;
  publisherOnPace: boolean;
  publisherRate: number;
  /** processed in the end, after waiting for the backlog to settle */
  settled: number;
}

export interface SearchResult {
  /** highest rate that passed (0: none did) */
  rate: number;
  /** true when `rate` is a lower bound: the publishers could not offer more, or no step failed */
  atLeast: boolean;
  publisherBound: boolean;
  /** a step failed above `rate` */
  converged: boolean;
  /** drain rate of a burst, where the steps started */
  probeRate: number;
  steps: StepResult[];
}

export interface SearchOptions {
  consumer: Consumer;
  pubs: Publishers;
  qos: 0 | 1;
  kind: PublishKind;
  topics: string;
  /** alarm ids start with it; made unique per step */
  idPrefix: string;
  mode: Mode;
  /** first burst size of the probe */
  probeStart: number;
  /** the publishers' own maximum for this kind of message: never offer more */
  publisherMax: number;
  /** a step also fails when the consumer's owed work (export outbox) is over `backlogAllowance` at its end */
  exportMustKeepUp?: boolean;
  log(msg: string): void;
}

/** Rounds a rate to 2 significant digits, so steps read as 12,000/s rather than 11,873/s. */
export function niceRate(r: number): number {
  if (r <= 0) return 0;
  const mag = 10 ** Math.max(0, Math.floor(Math.log10(r)) - 1);
  return Math.max(1, Math.round(r / mag) * mag);
}

/** Polls the consumer until it reaches `target` or `deadline`; every `fastMs` after `fastFrom`, else every 100 ms. */
async function waitFor(consumer: Consumer, target: number, deadline: number, fastFrom = 0, fastMs = 25): Promise<{ got: number; at: number }> {
  for (;;) {
    const got = await consumer.processed();
    const at = now();
    if (got >= target || at >= deadline) return { got, at };
    await sleep(Math.max(2, Math.min(at >= fastFrom ? fastMs : 100, deadline - at)));
  }
}

async function probe(o: SearchOptions): Promise<number> {
  let n = o.probeStart;
  for (let round = 0; ; round++) {
    const before = await o.consumer.processed();
    const t0 = now();
    const pub = o.pubs.run({ rate: 0, total: n, qos: o.qos, kind: o.kind, topics: o.topics, idPrefix: `${o.idPrefix}-p${round}` });
    const { got, at } = await waitFor(o.consumer, before + n, t0 + 30_000, t0, 50);
    await pub;
    const done = got - before;
    const ms = at - t0;
    const rate = (done / Math.max(ms, 1)) * 1000;
    if (done < n) await settleCount(o.consumer, before + n);
    await o.consumer.quiesce?.();
    if (done < n) return rate; // lost some, or too slow to finish in 30 s: that is the rate
    if (ms >= 500 || round >= 6) return rate;
    n *= Math.min(8, Math.max(2, Math.ceil(600 / Math.max(ms, 20))));
  }
}

async function step(o: SearchOptions, rate: number, index: number): Promise<StepResult> {
  const offered = Math.max(1, Math.round((rate * o.mode.stepMs) / 1000));
  const before = await o.consumer.processed();
  const t0 = now();
  const pubPromise = o.pubs.run({ rate, total: offered, qos: o.qos, kind: o.kind, topics: o.topics, idPrefix: `${o.idPrefix}-s${index}` });
  const { got } = await waitFor(o.consumer, before + offered, t0 + o.mode.stepMs + o.mode.graceMs, t0 + o.mode.stepMs - 200);
  const backlog = (await o.consumer.backlog?.()) ?? 0;
  const pub = await pubPromise;
  const processed = got - before;
  const settled = (await settleCount(o.consumer, before + offered)) - before;
  await o.consumer.quiesce?.();
  return {
    rate,
    offered,
    processed,
    backlog,
    pass: processed >= offered && (!o.exportMustKeepUp || backlog <= backlogAllowance(rate)) && pub.onPace,
    publisherOnPace: pub.onPace,
    publisherRate: Math.round(pub.achievedRate),
    settled,
  };
}

/**
 * How much owed work (export outbox) a step may end with: 1.5 s of its rate plus one export
 * batch. The exporter sends batches of up to 5,000 points at most a second old, so one that keeps
 * up stays under this; one that has not kept up for the length of the step does not.
 */
export const backlogAllowance = (rate: number): number => Math.round(rate * 1.5) + 5000;

export async function findSustainable(o: SearchOptions): Promise<SearchResult> {
  const probeRate = await probe(o);
  const cap = niceRate(o.publisherMax * 0.9);
  let rate = niceRate(Math.min(cap, probeRate * 0.9));
  let lo = 0;
  let hi = Infinity;
  let publisherBound = false;
  /** the lowest rate the publishers could not keep pace with, and the lowest the consumer failed with them on pace */
  let publisherLimit = Infinity;
  let failedOnPace = Infinity;
  const steps: StepResult[] = [];
  for (let i = 0; i < o.mode.steps; i++) {
    const r = await step(o, rate, i);
    steps.push(r);
    const owed = o.consumer.backlog ? `, outbox ${r.backlog}${r.backlog > backlogAllowance(rate) ? ' (behind)' : ''}` : '';
    o.log(`    ${rate}/s: ${r.processed}/${r.offered} in time${owed}${r.publisherOnPace ? '' : `, publishers behind (${r.publisherRate}/s)`} → ${r.pass ? 'pass' : 'fail'}`);
    if (!r.publisherOnPace) {
      publisherLimit = Math.min(publisherLimit, r.publisherRate);
      if (r.processed >= r.offered) {
        // The consumer kept up with all the publishers could offer: a lower bound, and the end.
        lo = Math.max(lo, niceRate(r.publisherRate));
        publisherBound = true;
        break;
      }
      hi = rate; // it did not keep up even with what came, late: look lower
    } else if (r.pass) lo = rate;
    else {
      hi = rate;
      failedOnPace = Math.min(failedOnPace, rate);
    }
    if (hi !== Infinity && lo > 0 && (hi - lo) / lo <= 0.05) break;
    let next = hi === Infinity ? rate * 2 : lo === 0 ? rate * 0.6 : (lo + hi) / 2;
    if (next >= cap) {
      if (lo >= cap) {
        publisherBound = true;
        break;
      }
      next = cap;
    }
    next = niceRate(next);
    if (next === rate) break;
    rate = next;
  }
  // What passed within 20 % of where the publishers gave out may be their limit, not the
  // consumer's — unless the consumer also failed a step the publishers kept pace with.
  if (lo >= publisherLimit * 0.8 && failedOnPace === Infinity) publisherBound = true;
  const converged = hi !== Infinity;
  return { rate: lo, atLeast: publisherBound || !converged, publisherBound, converged, probeRate: Math.round(probeRate), steps };
}

/** The publishers' own maximum: a flood nobody subscribes to (the broker takes and drops it). */
export async function publisherMax(pubs: Publishers, qos: 0 | 1, kind: PublishKind, topics: string, total: number): Promise<number> {
  const r = await pubs.run({ rate: 0, total, qos, kind, topics, idPrefix: `pubmax-${qos}-${Date.now()}` });
  return Math.round(r.achievedRate);
}
