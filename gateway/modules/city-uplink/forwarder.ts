/**
 * Moves the ledger's `city` outbox (a copy of every committed feed frame, written in the frame's
 * own commit) to the city's broker, oldest first (decision 0010).
 *
 * The outbox is the county's only durable queue for the city: the MQTT session is clean and the
 * client's offline queue is never used (nothing is published while disconnected). A claim is
 * published QoS 1 in seq order and its rows are deleted only once every message of it has its
 * PUBACK; a claim that fails (connection lost, PUBACK late) is given back and published again
 * from its first row, so the city sees some frames twice and drops them by (county, seq).
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { CityUplinkConfig, GatewayConfig } from '../../config.js';
import type { Metrics } from '../../metrics.js';
import type { OutboxClaim, Store } from '../../store/store.js';
import { redactUrl } from '../../redact.js';
import { WakeableSleep } from '../../core/wakeable-sleep.js';

/** The versioned topic and payload the city reads (decision 0010). */
export const CITY_FEED_VERSION = 1;
export const cityFeedTopic = (county: string): string => `city/v1/${county}/feed`;

export interface ForwarderStatus {
  enabled: true;
  county: string;
  url: string;
  connected: boolean;
  backlog: number;
  /** Age of the oldest frame the city has not acknowledged. */
  lagSec: number;
  /** The county feed seq of the last frame the city's broker acknowledged (0: none since start). */
  lastForwardedSeq: number;
  forwarded: number;
  lastError: string | null;
}

export class CityForwarder {
  private client?: MqttClient;
  private stopped = false;
  private readonly pause = new WakeableSleep();
  private loop?: Promise<void>;
  private lastForwardedSeq = 0;
  private forwarded = 0;
  private lastError: string | null = null;
  private readonly owner = `city-uplink-${randomUUID()}`;

  constructor(
    private readonly o: { city: CityUplinkConfig; tuning: GatewayConfig['cityUplink']; ca?: Buffer; store: Store; log: Logger; metrics: Metrics },
  ) {}

  start(): void {
    const { city } = this.o;
    this.client = mqtt.connect(city.url, {
      clientId: `county-${city.county}`,
      username: city.username,
      password: city.password,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      // The outbox is the queue: never buffer publishes in memory while the link is down.
      queueQoSZero: false,
      ...(this.o.ca ? { ca: this.o.ca } : {}),
    });
    this.client.on('connect', () => {
      this.o.metrics.cityUplinkConnected.set(1);
      this.o.log.info({ url: redactUrl(city.url) }, 'city uplink connected');
      this.pause.wake();
    });
    this.client.on('close', () => this.o.metrics.cityUplinkConnected.set(0));
    this.client.on('error', (err) => {
      // Never the password: MQTT.js errors carry the broker's reason code, not the credentials.
      const text = err.message;
      if (text !== this.lastError) this.o.log.warn({ err: text }, 'city uplink error');
      this.lastError = text;
    });
    this.loop = this.run();
  }

  /** New frames were committed. */
  poke(): void {
    this.pause.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.pause.wake();
    await this.loop;
    await this.client?.endAsync(true).catch(() => undefined);
  }

  async status(): Promise<ForwarderStatus> {
    const s = await this.o.store.outboxStats('city');
    return {
      enabled: true,
      county: this.o.city.county,
      url: redactUrl(this.o.city.url),
      connected: this.client?.connected ?? false,
      backlog: s.rows,
      lagSec: s.oldestAt === null ? 0 : Math.max(0, (Date.now() - s.oldestAt) / 1000),
      lastForwardedSeq: this.lastForwardedSeq,
      forwarded: this.forwarded,
      lastError: this.lastError,
    };
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (!this.client?.connected) {
        await this.pause.sleep(1000); // woken by 'connect'
        continue;
      }
      let claim: OutboxClaim;
      try {
        claim = await this.o.store.claimOutbox(this.owner, this.o.tuning.batchSize, Math.max(60_000, this.o.tuning.pubackTimeoutMs * 3), 'city');
      } catch (err) {
        this.lastError = `ledger: ${(err as Error).message}`;
        await this.pause.sleep(1000);
        continue;
      }
      if (claim.rows.length === 0) {
        await this.pause.sleep(30_000); // woken by poke()
        continue;
      }
      try {
        await this.publish(claim);
        await this.o.store.ackOutbox(claim, []);
        const last = JSON.parse(claim.rows[claim.rows.length - 1].line) as { seq: number };
        this.lastForwardedSeq = last.seq;
        this.forwarded += claim.rows.length;
        this.o.metrics.cityUplinkFrames.inc(claim.rows.length);
        this.o.metrics.cityUplinkLastSeq.set(last.seq);
        this.lastError = null;
      } catch (err) {
        await this.o.store.releaseOutbox(claim).catch(() => undefined);
        this.lastError = (err as Error).message;
        this.o.metrics.cityUplinkFailures.inc();
        this.o.log.warn({ err: this.lastError, rows: claim.rows.length }, 'city uplink: batch not acknowledged; it will be sent again');
        await this.pause.sleep(1000);
      }
    }
  }

  /** Publishes the claim's frames in order; resolves once the broker acknowledged all of them. */
  private publish(claim: OutboxClaim): Promise<void> {
    const client = this.client!;
    const county = this.o.city.county;
    const topic = cityFeedTopic(county);
    return new Promise<void>((resolve, reject) => {
      let pending = claim.rows.length;
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onClose = () => finish(new Error('connection to the city broker lost before every PUBACK came'));
      const timer = setTimeout(() => finish(new Error(`no PUBACK within ${this.o.tuning.pubackTimeoutMs} ms`)), this.o.tuning.pubackTimeoutMs);
      client.on('close', onClose);
      for (const row of claim.rows) {
        // The row is the frame as committed ({seq, at, type, data}); the envelope adds the version and county.
        const payload = `{"v":${CITY_FEED_VERSION},"county":${JSON.stringify(county)},${row.line.slice(1)}`;
        client.publish(topic, payload, { qos: 1 }, (err) => {
          if (err) finish(err);
          else if (--pending === 0) finish();
        });
      }
    });
  }
}
