/**
 * Alarm-linked pictures (报警联动): when a one-key alarm is raised, a picture from each camera
 * its raise planned (`alarms/linked-cameras.ts`), kept with the alarm as evidence.
 *
 * - Never in the alarm's path: the alarm's own unit only writes a `pending` row per camera here;
 *   the fetches are queued after its commit, so its PUBACK, its `received` lamp and its live frame
 *   go out before any camera is asked for anything.
 * - Per camera: the picture's URL is the registry's `snapshotUrl` (an NVR channel's), else the
 *   camera's ONVIF GetSnapshotUri (the one the camera watcher's details probe found, else asked
 *   here once and cached; asked again after a fetch from it fails). The fetch is the one every picture by URL takes (`fetchSnapshot`, SNAPSHOT_LIMITS:
 *   http/https, 5 s, 2 MiB, JPEG or PNG by its bytes), answering an HTTP Digest challenge with the
 *   camera's ONVIF login (never logged).
 * - Its own queue (the snapshots module's `BoundedQueue`, 4 at once, 200 waiting): canteen AI
 *   pictures never stand in front of an alarm's.
 * - The outcome is a durable command, `alarm_snapshot` {alarm, camera, sha256 | error}, keyed by the
 *   camera and the alarm's id (a second one is a redelivery): the alarms module records it on the
 *   alarm (its `snapshots`, and an `alarm` frame), this module marks the row and makes the picture
 *   the school's (`media`).
 * - A picture is evidence of the alarm's moment only: one not taken within MAX_PICTURE_AGE_MS of
 *   the raise (a queue that waited, a restart) is not taken, and the row says why. Rows left
 *   `pending` by a stop are taken at start if still young enough, else failed with that reason.
 */
import type { AlarmSnapshotOutcome, AlarmsModule } from '../alarms/index.js';
import type { CamerasModule } from '../cameras/index.js';
import type { DomainEvent } from '../../core/events.js';
import type { GatewayModule, ModuleContext } from '../../core/module.js';
import { cameraLogins } from '../../ingest/camera-watch.js';
import { fetchSnapshotUri } from '../../ingest/onvif/index.js';
import { MediaStore } from '../../store/media.js';
import { BoundedQueue } from '../snapshots/queue.js';
import { SNAPSHOT_LIMITS, fetchSnapshot } from '../vendors/fetch-snapshot.js';
import { NO_PICTURE_SOURCE } from '../alarms/linked-cameras.js';

export const FETCH_CONCURRENCY = 4;
export const QUEUE_CAPACITY = 200;
/** Past this after the raise, a picture would show a later moment than the alarm's: not taken. */
export const MAX_PICTURE_AGE_MS = 60_000;

interface Job {
  alarm: string;
  school: string;
  camera: string;
  raisedAtMs: number;
}

export interface AlarmSnapshotsModule extends GatewayModule {
  stats(): { queued: number; inFlight: number; fetched: number; failed: number; dropped: number; lastError?: string };
  /** Resolves when no fetch runs or waits (tests, shutdown). */
  idle(): Promise<void>;
}

/** Why a picture is not taken at `nowMs`, or undefined while it is still the alarm's moment. Pure. */
export function tooLate(raisedAtMs: number, nowMs: number): string | undefined {
  const ageMs = nowMs - raisedAtMs;
  if (ageMs <= MAX_PICTURE_AGE_MS) return undefined;
  return `picture not taken: ${Math.round(ageMs / 1000)} s after the alarm (the gateway was stopped or busy), it would not show the alarm's moment`;
}

export function alarmSnapshotsModule(ctx: ModuleContext): AlarmSnapshotsModule {
  const { dispatcher, store, registry, config, log } = ctx;
  const alarms = ctx.module<AlarmsModule>('alarms');
  const cameras = ctx.module<CamerasModule>('cameras');
  const media = new MediaStore(config.dataDir);
  // Read at build time (as the cameras module does), so a bad credentials file stops the gateway at start.
  const login = cameraLogins(registry, config.onvif.credentials);
  /** camera → its ONVIF snapshot URI, as the camera last gave it. */
  const uris = new Map<string, string>();
  /** camera → a URI a fetch failed from: the watcher's copy of it is not trusted until it changes. */
  const failedUris = new Map<string, string>();
  const counts = { fetched: 0, failed: 0, dropped: 0 };
  let lastError: string | undefined;
  let stopped = false;
  const rowId = (j: Pick<Job, 'alarm' | 'camera'>) => `${j.alarm}|${j.camera}`;

  /** Records the outcome durably; a commit that fails leaves the row pending (taken at the next start if still young). */
  const record = async (j: Job, out: { sha256: string } | { error: string }) => {
    const now = ctx.now();
    const data: AlarmSnapshotOutcome = { alarm: j.alarm, camera: j.camera, ...out };
    const e: DomainEvent<'alarm_snapshot'> = { type: 'alarm_snapshot', school: j.school, device: j.camera, sourceId: j.alarm, atMs: now, receivedAtMs: now, data };
    try {
      // An operator may have resolved the alarm meanwhile: the alarms module must have it at hand.
      await alarms.recall(j.alarm);
      await dispatcher.execute(e);
    } catch (err) {
      if (!stopped) log.warn({ err, camera: j.camera, alarm: j.alarm }, 'could not record the alarm picture; it stays pending');
    }
  };

  const fail = (j: Job, error: string) => {
    counts.failed++;
    lastError = `${j.camera}: ${error}`;
    log.info({ camera: j.camera, alarm: j.alarm, reason: error }, 'alarm picture not taken');
    return record(j, { error });
  };

  /** Where the camera's picture is: the registry's URL, else its ONVIF snapshot URI. */
  async function pictureUrl(camera: string): Promise<{ url: string; onvif: boolean } | { error: string }> {
    const d = registry.devices.get(camera);
    if (d?.snapshotUrl) return { url: d.snapshotUrl, onvif: false };
    if (!d?.onvif) return { error: NO_PICTURE_SOURCE };
    // Ours, else the one the camera watcher's details probe found (no ONVIF round trips on the first alarm).
    const watched = cameras.snapshotUri(camera);
    const cached = uris.get(camera) ?? (watched !== failedUris.get(camera) ? watched : undefined);
    if (cached) return { url: cached, onvif: true };
    const got = await fetchSnapshotUri({ id: camera, url: d.onvif, ...login(camera) }, SNAPSHOT_LIMITS.timeoutMs);
    if (!got.ok) return { error: `no snapshot URI from the camera (ONVIF GetSnapshotUri): ${got.reason}: ${got.message}` };
    uris.set(camera, got.uri);
    return { url: got.uri, onvif: true };
  }

  const queue = new BoundedQueue<Job>({ concurrency: FETCH_CONCURRENCY, capacity: QUEUE_CAPACITY }, async (j) => {
    if (stopped) return;
    const late = tooLate(j.raisedAtMs, ctx.now());
    if (late) return fail(j, late);
    const where = await pictureUrl(j.camera);
    if (stopped) return;
    if ('error' in where) return fail(j, where.error);
    const got = await fetchSnapshot(where.url, { ...SNAPSHOT_LIMITS, auth: login(j.camera) });
    if (stopped) return; // pending: taken at the next start if still young
    if (got.ok) {
      counts.fetched++;
      return record(j, { sha256: media.put(got.bytes).sha256 });
    }
    // The camera may have moved its picture (a firmware update, a new profile): ask it again next time.
    if (where.onvif) {
      uris.delete(j.camera);
      failedUris.set(j.camera, where.url);
    }
    return fail(j, `picture not fetched: ${got.reason}`);
  });

  function enqueue(j: Job): void {
    if (stopped || queue.push(j)) return;
    counts.dropped++;
    if (counts.dropped % 100 === 1) log.warn({ dropped: counts.dropped, capacity: QUEUE_CAPACITY }, 'alarm picture queue full: pictures not taken (the alarms are stored)');
    void record(j, { error: `picture not taken: queue full (${QUEUE_CAPACITY} waiting)` });
  }

  const stats = () => ({ queued: queue.queued, inFlight: queue.inFlight, ...counts, ...(lastError ? { lastError } : {}) });

  return {
    name: 'alarm-snapshots',
    // alarms: the alarm raised in the same unit is read from its projection; targets: the media store's owners;
    // cameras: the snapshot URIs its watcher found.
    dependsOn: ['alarms', 'targets', 'cameras'],
    consumes: ['alarm', 'alarm_snapshot'],
    tables: [{ name: 'alarm_snapshots', key: 'id', columns: { id: 'text', school: 'text', state: 'text', at: 'integer' }, doc: true, indexes: [{ columns: ['state'] }] }],

    apply(e, tx) {
      if (e.type === 'alarm') {
        // Raised by the alarms module a moment ago, in this same unit.
        const a = alarms.bySource(e.device!, e.sourceId!);
        for (const s of a?.snapshots ?? []) {
          if (s.state !== 'pending') continue;
          const j: Job = { alarm: a!.id, school: a!.school, camera: s.camera, raisedAtMs: Date.parse(a!.raisedAt) };
          tx.put('alarm_snapshots', { id: rowId(j), school: j.school, state: 'pending', at: j.raisedAtMs, doc: j });
          tx.after(() => enqueue(j));
        }
        return;
      }
      if (e.type === 'alarm_snapshot') {
        const d = e.data as AlarmSnapshotOutcome;
        const raisedAtMs = Date.parse(alarms.open.get(d.alarm)?.raisedAt ?? '') || e.receivedAtMs;
        const j: Job = { alarm: d.alarm, school: e.school, camera: d.camera, raisedAtMs };
        tx.put('alarm_snapshots', { id: rowId(j), school: j.school, state: d.sha256 ? 'fetched' : 'failed', at: raisedAtMs, doc: { ...j, ...(d.sha256 ? { sha256: d.sha256 } : { error: d.error }) } });
        // The picture is the school's: its users may read it, no other school's may.
        if (d.sha256) tx.emit({ type: 'media', school: e.school, atMs: tx.now, receivedAtMs: tx.now, data: { sha256: d.sha256, school: e.school } });
      }
    },

    async start() {
      stopped = false;
      // Decided: the rows say what is owed (no ledger replay); a young one is taken now, an old one fails with its reason.
      const pending = await store.find<Job>('alarm_snapshots', { where: [['state', '=', 'pending']], orderBy: [['at', 'asc']] });
      if (pending.length > 0) log.info({ pending: pending.length }, 'alarm pictures left pending before the restart');
      for (const j of pending) enqueue(j);
    },

    stop() {
      stopped = true;
      queue.clear();
    },

    stats,
    idle: () => queue.idle(),

    async health() {
      return { alarmSnapshots: stats() };
    },
  };
}
