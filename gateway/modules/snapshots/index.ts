/**
 * Snapshots named by URL in an MQTT `ai` message (`snapshotUrl`, contract §1), fetched after the
 * event is durable: the message is PUBACKed at its commit as any other, and a slow or dead picture
 * server never holds it, nor the alarms behind it on the same session.
 *
 * - Applying an `ai` event that names a `snapshotUrl` and carries no `snapshot` nor
 *   `snapshotError` (a vendor push was already fetched, once) puts a `pending` row in
 *   `ai_snapshots`, in the event's own commit; after the commit the fetch is queued.
 * - At most FETCH_CONCURRENCY fetches run at once and QUEUE_CAPACITY wait; one that finds the
 *   queue full is not fetched: it is recorded at once as failed, `queue full` (counted, logged).
 * - The fetch is the vendor push's (`fetchSnapshot`, SNAPSHOT_LIMITS: http/https only, 5 s, 2 MiB,
 *   JPEG or PNG by its bytes). A picture goes to the media store; either way a second durable
 *   event, `ai_snapshot` {ai, kind, url, sha256 | error}, keyed by the camera and the `ai` event's
 *   own id (so a second one is a redelivery), marks the row fetched or failed, makes the picture the
 *   school's (`media`), and lets the canteen module attach it to the case.
 * - Restart: rows still `pending` (the gateway stopped before their `ai_snapshot` committed) are
 *   fetched again at start.
 * - One picture per camera and kind within the kind's dedupe window (policy): the frames of one rat
 *   are one case, whose first picture is the one kept, so the sixty after it are not fetched
 *   (counted `skipped`). A failed fetch lets the next frame try.
 */
import type { AiKind, AiPayload } from '../../contract/mqtt.js';
import type { DomainEvent } from '../../core/events.js';
import type { GatewayModule, ModuleContext } from '../../core/module.js';
import { MediaStore } from '../../store/media.js';
import { SNAPSHOT_LIMITS, fetchSnapshot } from '../vendors/fetch-snapshot.js';
import { BoundedQueue } from './queue.js';

/** The outcome of fetching the picture an `ai` event named. */
export interface AiSnapshot {
  /** The `ai` event's own id (its sourceId). */
  ai: string;
  kind: AiKind;
  url: string;
  /** The stored picture (GET /api/media/{sha256}); absent when it could not be had. */
  sha256?: string;
  /** Why not, in words (`HTTP 404`, `not a JPEG or PNG`, `no answer within 5000 ms`, `queue full`). */
  error?: string;
}

declare module '../../core/events.js' {
  interface EventMap {
    ai_snapshot: AiSnapshot;
  }
}

/** Fetches at once: a picture server is a camera or an NVR on the school's network, not a CDN. */
export const FETCH_CONCURRENCY = 4;
/** Fetches waiting; beyond, a picture is dropped (a flood of AI events must not grow memory). */
export const QUEUE_CAPACITY = 200;

interface Job {
  school: string;
  device: string;
  ai: string;
  kind: AiKind;
  aiAtMs: number;
  url: string;
}

export interface SnapshotsModule extends GatewayModule {
  /** Counters since start, and what waits now. */
  stats(): { queued: number; inFlight: number; fetched: number; failed: number; dropped: number; skipped: number; lastError?: string };
  /** Resolves when no fetch runs or waits (tests, shutdown). */
  idle(): Promise<void>;
}

export function snapshotsModule(ctx: ModuleContext): SnapshotsModule {
  const { dispatcher, store, config, log } = ctx;
  const media = new MediaStore(config.dataDir);
  const counts = { fetched: 0, failed: 0, dropped: 0, skipped: 0 };
  /** `${device}|${kind}` → until when a fetch already covers that camera's frames of that kind (ms). */
  const covered = new Map<string, number>();
  const coverKey = (device: string, kind: AiKind) => `${device}|${kind}`;
  const windowMs = (kind: AiKind) => (ctx.policy.aiRule(kind)?.dedupeWindowMin ?? 10) * 60_000;
  let lastError: string | undefined;
  let stopped = false;
  const rowId = (j: Pick<Job, 'device' | 'ai'>) => `${j.device}|${j.ai}`;

  /** Records the outcome as a durable event; a commit that fails leaves the row pending (fetched again at start). */
  // The gateway's own fact, not a device's message: a command (not counted as MQTT traffic), still deduplicated by its key.
  const record = async (j: Job, out: { sha256: string } | { error: string }) => {
    const now = ctx.now();
    const e: DomainEvent<'ai_snapshot'> = { type: 'ai_snapshot', school: j.school, device: j.device, sourceId: j.ai, atMs: j.aiAtMs, receivedAtMs: now, data: { ai: j.ai, kind: j.kind, url: j.url, ...out } };
    try {
      await dispatcher.execute(e);
    } catch (err) {
      if (!stopped) log.warn({ err, device: j.device, ai: j.ai }, 'could not record the snapshot outcome; it is fetched again at the next start');
    }
  };

  const queue = new BoundedQueue<Job>({ concurrency: FETCH_CONCURRENCY, capacity: QUEUE_CAPACITY }, async (j) => {
    if (stopped) return;
    const got = await fetchSnapshot(j.url, SNAPSHOT_LIMITS);
    if (stopped) return; // pending: fetched again at the next start
    if (got.ok) {
      counts.fetched++;
      return record(j, { sha256: media.put(got.bytes).sha256 });
    }
    counts.failed++;
    lastError = `${j.device}: ${got.reason}`;
    log.info({ device: j.device, ai: j.ai, reason: got.reason }, 'ai snapshot URL not fetched');
    return record(j, { error: `picture not fetched: ${got.reason}` });
  });

  function enqueue(j: Job): void {
    if (stopped || queue.push(j)) return;
    counts.dropped++;
    // Said once per hundred: a flood that fills the queue would otherwise flood the log too.
    if (counts.dropped % 100 === 1) log.warn({ dropped: counts.dropped, capacity: QUEUE_CAPACITY }, 'ai snapshot queue full: pictures dropped (the events are stored)');
    void record(j, { error: `picture not fetched: queue full (${QUEUE_CAPACITY} waiting)` });
  }

  return {
    name: 'snapshots',
    // targets: the media store's owners (the `media` fact this module emits).
    dependsOn: ['targets'],
    consumes: ['ai', 'ai_snapshot'],
    tables: [{ name: 'ai_snapshots', key: 'id', columns: { id: 'text', school: 'text', state: 'text', at: 'integer' }, doc: true, indexes: [{ columns: ['state'] }] }],

    apply(e, tx) {
      if (e.type === 'ai') {
        const d = e.data as AiPayload & { snapshot?: string; snapshotError?: string };
        if (!d.snapshotUrl || d.snapshot || d.snapshotError || !e.device || e.sourceId === undefined) return;
        const key = coverKey(e.device, d.kind);
        if ((covered.get(key) ?? -Infinity) > e.atMs) return void counts.skipped++;
        covered.set(key, e.atMs + windowMs(d.kind));
        const j: Job = { school: e.school, device: e.device, ai: e.sourceId, kind: d.kind, aiAtMs: e.atMs, url: d.snapshotUrl };
        tx.put('ai_snapshots', { id: rowId(j), school: j.school, state: 'pending', at: e.receivedAtMs, doc: j });
        tx.after(() => enqueue(j));
        return;
      }
      if (e.type === 'ai_snapshot') {
        const d = e.data as AiSnapshot;
        const j: Job = { school: e.school, device: e.device!, ai: d.ai, kind: d.kind, aiAtMs: e.atMs, url: d.url };
        if (!d.sha256) covered.delete(coverKey(j.device, j.kind)); // no picture yet: the next frame may bring one
        tx.put('ai_snapshots', { id: rowId(j), school: j.school, state: d.sha256 ? 'fetched' : 'failed', at: e.receivedAtMs, doc: { ...j, ...(d.sha256 ? { sha256: d.sha256 } : { error: d.error }) } });
        // The picture is the school's: its users may read it, no other school's may.
        if (d.sha256) tx.emit({ type: 'media', school: e.school, atMs: tx.now, receivedAtMs: tx.now, data: { sha256: d.sha256, school: e.school } });
      }
    },

    async start() {
      stopped = false;
      // Decided: the rows, not a replay of the ledger, say what is owed; a pending row is one whose outcome never committed.
      const pending = await store.find<Job>('ai_snapshots', { where: [['state', '=', 'pending']], orderBy: [['at', 'asc']] });
      if (pending.length > 0) log.info({ pending: pending.length }, 'fetching ai snapshots left pending before the restart');
      for (const j of pending) enqueue(j);
    },

    stop() {
      stopped = true;
      queue.clear();
    },

    stats: () => ({ queued: queue.queued, inFlight: queue.inFlight, ...counts, ...(lastError ? { lastError } : {}) }),
    idle: () => queue.idle(),

    async health() {
      return { snapshots: { queued: queue.queued, inFlight: queue.inFlight, ...counts, ...(lastError ? { lastError } : {}) } };
    },
  };
}
