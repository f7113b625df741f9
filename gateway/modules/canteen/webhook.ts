/**
 * Delivers the canteen's case notifications by webhook from a durable outbox (the table
 * `canteen_webhook_outbox`, written in the same commit as the case change, so a notification is
 * never lost to a crash and never sent for a change that was not stored).
 *
 * - At least once: a row is marked delivered only after the receiver answered 2xx; a crash between
 *   the answer and the mark sends it again, with the same delivery id (the receiver dedupes).
 * - In order: one lane per receiver URL sends its rows one at a time by `seq` (the commit order); a
 *   failed row is retried (backoff with jitter, `CANTEEN_WEBHOOK_MAX_BACKOFF_MS` at most) before any
 *   later one, so a receiver that was down gets everything afterwards, in order, per case and overall.
 *   A school's receiver that is down holds back only that school's lane.
 * - The secret signs each body (`x-campus-signature: sha256=…`); it is never logged.
 */
import type { Logger } from 'pino';
import type { Dispatcher } from '../../core/dispatcher.js';
import { redactUrl as redact } from '../../redact.js';
import type { Store, TableSpec } from '../../store/store.js';
import { DELIVERY_HEADER, SIGNATURE_HEADER, backoffMs, sign } from './notify.js';

export const OUTBOX_TABLE = 'canteen_webhook_outbox';
export const OUTBOX_SPEC: TableSpec = {
  name: OUTBOX_TABLE,
  key: 'id',
  columns: { id: 'text', seq: 'integer', url: 'text', delivered: 'integer' },
  doc: true,
  indexes: [{ columns: ['delivered', 'url', 'seq'] }],
};

export interface OutboxDoc {
  id: string;
  seq: number;
  url: string;
  school: string;
  case: string;
  body: string;
  deliveredAt?: number;
}
export const outboxRow = (d: OutboxDoc) => ({ id: d.id, seq: d.seq, url: d.url, delivered: d.deliveredAt === undefined ? 0 : 1, doc: d });

export interface WebhookOptions {
  secret: string;
  timeoutMs: number;
  maxBackoffMs: number;
  store: Store;
  dispatcher: Dispatcher;
  log: Logger;
}

interface Lane {
  running: boolean;
  /** New rows were committed since the lane last looked. */
  dirty: boolean;
  attempt: number;
  lastError?: string;
}

export class WebhookDeliverer {
  private readonly lanes = new Map<string, Lane>();
  private stopped = false;
  private readonly sleepers = new Set<() => void>();
  private delivered = 0;

  constructor(private readonly o: WebhookOptions) {}

  /** Rows for `url` were committed (or may be waiting since the last run): make sure its lane runs. */
  poke(url: string): void {
    if (this.stopped) return;
    let lane = this.lanes.get(url);
    if (!lane) this.lanes.set(url, (lane = { running: false, dirty: false, attempt: 0 }));
    lane.dirty = true;
    if (!lane.running) {
      lane.running = true;
      void this.run(url, lane);
    }
  }

  /** At start: every receiver with rows not yet delivered (from before a restart). */
  async resume(): Promise<void> {
    const pending = await this.o.store.find<OutboxDoc>(OUTBOX_TABLE, { where: [['delivered', '=', 0]], orderBy: [['seq', 'asc']] });
    for (const url of new Set(pending.map((r) => r.url))) this.poke(url);
  }

  /** For GET /health: deliveries waiting, how many went out since start, and the receivers failing now (URLs redacted). */
  async status() {
    const pending = (await this.o.store.find<OutboxDoc>(OUTBOX_TABLE, { where: [['delivered', '=', 0]], limit: 10_000 })).length;
    const failing = [...this.lanes.entries()].filter(([, l]) => l.lastError).map(([url, l]) => ({ url: redact(url), error: l.lastError, attempts: l.attempt }));
    return { pending, delivered: this.delivered, failing };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.sleepers) wake();
  }

  private async run(url: string, lane: Lane): Promise<void> {
    try {
      while (!this.stopped && lane.dirty) {
        lane.dirty = false;
        for (;;) {
          const rows = await this.o.store.find<OutboxDoc>(OUTBOX_TABLE, { where: [['delivered', '=', 0], ['url', '=', url]], orderBy: [['seq', 'asc']], limit: 100 });
          if (rows.length === 0 || this.stopped) break;
          for (const row of rows) if (!(await this.deliver(row, lane))) break;
        }
      }
    } catch (err) {
      // The store could not be read: try the lane again in a while (its rows stay in the outbox).
      this.o.log.warn({ err, url: redact(url) }, 'canteen webhook outbox could not be read; retrying');
      lane.dirty = true;
      if (await this.sleep(backoffMs(++lane.attempt, this.o.maxBackoffMs))) return this.run(url, lane);
    }
    // Set in the same synchronous step as the last check of `dirty`: a poke after it starts a new run.
    lane.running = false;
  }

  /** Sends one row until the receiver takes it (true), or the gateway stops (false). */
  private async deliver(row: OutboxDoc, lane: Lane): Promise<boolean> {
    while (!this.stopped) {
      const err = await this.post(row);
      if (!err) {
        try {
          await this.o.dispatcher.transact((tx) => tx.put(OUTBOX_TABLE, outboxRow({ ...row, deliveredAt: tx.now })));
        } catch (e) {
          // Sent but not marked: it goes again later (at least once; the receiver dedupes).
          this.o.log.warn({ err: e, delivery: row.id }, 'webhook delivered but not marked; it will be sent again');
          return !(await this.sleep(1000)) ? false : this.deliver(row, lane);
        }
        this.delivered++;
        lane.attempt = 0;
        lane.lastError = undefined;
        return true;
      }
      lane.attempt++;
      lane.lastError = err;
      const wait = backoffMs(lane.attempt, this.o.maxBackoffMs);
      this.o.log.warn({ delivery: row.id, url: redact(row.url), attempt: lane.attempt, retryInMs: wait, reason: err }, 'canteen webhook delivery failed; retrying');
      if (!(await this.sleep(wait))) return false;
    }
    return false;
  }

  /** One attempt: undefined when the receiver answered 2xx, else why not. */
  private async post(row: OutboxDoc): Promise<string | undefined> {
    try {
      const res = await fetch(row.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: sign(this.o.secret, row.body), [DELIVERY_HEADER]: row.id, 'x-campus-event': 'canteen.case' },
        body: row.body,
        signal: AbortSignal.timeout(this.o.timeoutMs),
        redirect: 'error',
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? undefined : `HTTP ${res.status}`;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      return e.name === 'TimeoutError' ? `no answer within ${this.o.timeoutMs} ms` : (e.cause?.code ?? e.message);
    }
  }

  /** Resolves true after `ms`, or false at once when the deliverer stops. */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(t);
        this.sleepers.delete(wake);
        resolve(false);
      };
      const t = setTimeout(() => {
        this.sleepers.delete(wake);
        resolve(true);
      }, ms);
      this.sleepers.add(wake);
    });
  }
}
