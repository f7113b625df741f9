/**
 * Moves the outbox into InfluxDB (v2 write API) with `@influxdata/influxdb-client`, oldest first.
 *
 * The outbox on disk is the only copy that counts: the client's own retry buffer is switched off
 * (maxRetries 0) and rows leave the outbox only after the database has confirmed them. So an
 * outage of any length costs disk, never points or memory (one batch is held at a time), and a
 * batch re-sent after a failure overwrites itself (same series, same timestamp).
 *
 *  - refused connection, timeout (a hung database), 5xx, 429: back off with full jitter, honouring
 *    Retry-After, then retry the same batch;
 *  - 400 / 413 / 422 (a point the database will not take): bisect the batch so the good points go
 *    through, and quarantine each refused point with the database's reason;
 *  - 401 / 403 / 404 (token, org, bucket): an operator's fix is needed; back off and say so.
 */
import { HttpError, InfluxDB, setLogger } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import type { InfluxConfig } from '../../config.js';
import { randomUUID } from 'node:crypto';
import type { OutboxClaim, OutboxRow, Store } from '../../store/store.js';
import type { Metrics } from '../../metrics.js';
import { redactUrl, scrubSecrets } from '../../redact.js';
import { WakeableSleep } from '../../core/wakeable-sleep.js';

export interface ExporterOptions {
  influx: InfluxConfig;
  store: Store;
  log: Logger;
  metrics: Metrics;
  batchSize: number;
  /** A partial batch waits at most this long for company. */
  maxBatchAgeMs: number;
  timeoutMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
}

export type ExporterState = 'idle' | 'sending' | 'backoff' | 'stopped';

export interface ExporterStatus {
  enabled: true;
  state: ExporterState;
  url: string;
  bucket: string;
  backlog: number;
  /** Age of the oldest point not yet confirmed by the database. */
  lagSec: number;
  quarantined: number;
  exported: number;
  lastSuccessAt: string | null;
  lastError: string | null;
  nextAttemptAt: string | null;
}

class Refused extends Error {}

export class InfluxExporter {
  private readonly client: InfluxDB;
  private state: ExporterState = 'idle';
  private stopped = false;
  private readonly pause = new WakeableSleep();
  /** Only an idle exporter is woken by new rows: a backoff is kept, and a partial batch waits its age out. */
  private idle = false;
  private attempt = 0;
  private exported = 0;
  private lastSuccessAt: number | null = null;
  private lastError: string | null = null;
  private nextAttemptAt: number | null = null;
  private loop?: Promise<void>;
  /** This exporter's name on the outbox rows it leases (several gateways may share one store). */
  private readonly owner = `exporter-${randomUUID()}`;

  private readonly secrets: (string | undefined)[];

  constructor(private readonly o: ExporterOptions) {
    this.secrets = [o.influx.token, ...urlCredentials(o.influx.url)];
    this.client = new InfluxDB({ url: o.influx.url, token: o.influx.token, timeout: o.timeoutMs });
    // The client logs failures to the console itself; ours go through pino, once, with context.
    setLogger({ error: () => undefined, warn: () => undefined });
  }

  start(): void {
    this.loop = this.run();
  }

  /** New rows were committed: send them soon. */
  poke(): void {
    if (this.idle) this.pause.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.state = 'stopped';
    this.pause.wake();
    await this.loop;
  }

  async status(): Promise<ExporterStatus> {
    const s = await this.o.store.outboxStats();
    return {
      enabled: true,
      state: this.state,
      url: redactUrl(this.o.influx.url),
      bucket: this.o.influx.bucket ?? '',
      backlog: s.rows,
      lagSec: s.oldestAt === null ? 0 : Math.max(0, (Date.now() - s.oldestAt) / 1000),
      quarantined: s.quarantined,
      exported: this.exported,
      lastSuccessAt: this.lastSuccessAt ? new Date(this.lastSuccessAt).toISOString() : null,
      lastError: this.lastError,
      nextAttemptAt: this.nextAttemptAt ? new Date(this.nextAttemptAt).toISOString() : null,
    };
  }

  /** Leases the oldest rows; a lease outlives any attempt (timeouts and bisection), and a crashed exporter's rows return when it ends. */
  private claim(): Promise<OutboxClaim> {
    return this.o.store.claimOutbox(this.owner, this.o.batchSize, Math.max(300_000, this.o.timeoutMs * 40));
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let claim = await this.claim();
      if (claim.rows.length === 0) {
        this.state = 'idle';
        this.idle = true;
        await this.pause.sleep(60_000);
        this.idle = false;
        continue;
      }
      const ageMs = Date.now() - claim.rows[0].at;
      if (claim.rows.length < this.o.batchSize && ageMs < this.o.maxBatchAgeMs && this.attempt === 0) {
        // A partial batch waits for company, and gives its rows back meanwhile.
        await this.o.store.releaseOutbox(claim);
        await this.pause.sleep(this.o.maxBatchAgeMs - ageMs);
        if (this.stopped) break;
        claim = await this.claim();
        if (claim.rows.length === 0) continue;
      }
      const batch = claim.rows;
      this.state = 'sending';
      try {
        const quarantined: { row: OutboxRow; reason: string }[] = [];
        await this.sendResolving(batch, quarantined);
        await this.o.store.ackOutbox(claim, quarantined);
        const sent = batch.length - quarantined.length;
        this.exported += sent;
        this.o.metrics.exportPoints.inc(sent);
        if (quarantined.length) {
          this.o.metrics.exportQuarantined.inc(quarantined.length);
          this.o.log.warn({ points: quarantined.length, reason: quarantined[0].reason }, 'points refused by the database were quarantined');
        }
        if (this.attempt > 0) this.o.log.info({ afterAttempts: this.attempt }, 'time-series export recovered');
        this.attempt = 0;
        this.lastSuccessAt = Date.now();
        this.lastError = null;
        this.nextAttemptAt = null;
      } catch (err) {
        await this.o.store.releaseOutbox(claim).catch(() => undefined);
        if (this.stopped) break;
        this.attempt++;
        const delay = this.backoffMs(err);
        this.state = 'backoff';
        // A database may quote the token or the URL's credentials back: the log and the public /health never do.
        this.lastError = scrubSecrets(describe(err), this.secrets);
        this.nextAttemptAt = Date.now() + delay;
        this.o.metrics.exportFailures.inc();
        // Log the first failure and then every tenth: an outage must not flood the log.
        if (this.attempt === 1 || this.attempt % 10 === 0) {
          const backlog = (await this.o.store.outboxStats().catch(() => undefined))?.rows;
          this.o.log.warn({ attempt: this.attempt, retryInMs: delay, err: this.lastError, backlog }, 'time-series export failed; backing off');
        }
        await this.pause.sleep(delay);
      }
    }
  }

  /** Writes `rows`; rows the database refuses as bad are bisected down to single points and quarantined. */
  private async sendResolving(rows: OutboxRow[], quarantined: { row: OutboxRow; reason: string }[]): Promise<void> {
    try {
      await this.write(rows.map((r) => r.line));
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      if (rows.length === 1) {
        quarantined.push({ row: rows[0], reason: err.message });
        return;
      }
      const mid = rows.length >> 1;
      await this.sendResolving(rows.slice(0, mid), quarantined);
      await this.sendResolving(rows.slice(mid), quarantined);
    }
  }

  private async write(lines: string[]): Promise<void> {
    const api = this.client.getWriteApi(this.o.influx.org ?? '', this.o.influx.bucket ?? '', 'ms', {
      batchSize: lines.length + 1,
      flushInterval: 0,
      maxRetries: 0,
      maxBufferLines: lines.length + 1,
      gzipThreshold: 64 * 1024,
    });
    api.writeRecords(lines);
    try {
      await api.close();
    } catch (err) {
      if (err instanceof HttpError && [400, 413, 422].includes(err.statusCode)) throw new Refused(`${err.statusCode}: ${(err.body ?? err.message).trim().slice(0, 500)}`);
      throw err;
    }
  }

  /** Full-jitter exponential backoff (AWS architecture blog), at least what Retry-After asks for. */
  private backoffMs(err: unknown): number {
    const cap = Math.min(this.o.maxBackoffMs, this.o.minBackoffMs * 2 ** Math.min(this.attempt - 1, 20));
    const jittered = this.o.minBackoffMs / 2 + Math.random() * (cap - this.o.minBackoffMs / 2);
    const retryAfterMs = err instanceof HttpError ? retryAfterOf(err) : 0;
    return Math.max(jittered, retryAfterMs);
  }
}

/** Retry-After in ms: seconds (RFC 9110 §10.2.3) or an HTTP date. */
function retryAfterOf(err: HttpError): number {
  const h = err.headers?.['retry-after'];
  const v = Array.isArray(h) ? h[0] : h;
  if (!v) return 0;
  if (/^\d+$/.test(v.trim())) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? 0 : Math.max(0, at - Date.now());
}

function describe(err: unknown): string {
  if (err instanceof HttpError) {
    const hint = err.statusCode === 401 || err.statusCode === 403 ? ' (check INFLUX_TOKEN)' : err.statusCode === 404 ? ' (check INFLUX_BUCKET, and INFLUX_ORG on InfluxDB 2.x)' : '';
    return `HTTP ${err.statusCode}${hint}: ${(err.body ?? err.message).trim().slice(0, 200)}`;
  }
  const e = err as { code?: string; message?: string };
  return e.code ? `${e.code}: ${e.message}` : String(e.message ?? err);
}


function urlCredentials(url: string): string[] {
  try {
    const u = new URL(url);
    return [u.username, u.password, decodeURIComponent(u.username), decodeURIComponent(u.password)];
  } catch {
    return [];
  }
}
