/**
 * The city's side of the uplink (decision 0010): reads `city/v1/+/feed` from the city broker with
 * a persistent session and hands each valid frame to the dispatcher as a `city_feed` event keyed
 * (device `county:<id>`, sourceId `<seq>`), so the ledger's dedupe index drops a redelivery. The
 * PUBACK is sent after the commit (MQTT.js `handleMessage` callback), so a frame is never lost
 * between the broker and the city's ledger. A refused frame is acknowledged (it would never get
 * better), counted by reason and logged.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Dispatcher } from '../../core/dispatcher.js';
import type { Metrics } from '../../metrics.js';
import { redactUrl } from '../../redact.js';

export const CITY_FEED_FILTER = 'city/v1/+/feed';

export interface CityFeedData {
  county: string;
  seq: number;
  at: number;
  type: string;
  data: unknown;
}

export type Parsed = { ok: CityFeedData } | { refused: 'topic' | 'unknown_county' | 'not_json' | 'version' | 'foreign_county' | 'seq' | 'shape'; detail: string };

/** Checks one forwarded message against its topic and the configured counties. */
export function parseCityFeed(topic: string, payload: Buffer, counties: ReadonlySet<string>): Parsed {
  const m = /^city\/v1\/([^/]+)\/feed$/.exec(topic);
  if (!m) return { refused: 'topic', detail: `topic ${topic} is not city/v1/<county>/feed` };
  const county = m[1];
  if (!counties.has(county)) return { refused: 'unknown_county', detail: `county "${county}" is not in CITY_COUNTIES_FILE` };
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    return { refused: 'not_json', detail: 'payload is not JSON' };
  }
  if (typeof doc !== 'object' || doc === null) return { refused: 'shape', detail: 'payload is not an object' };
  if (doc.v !== 1) return { refused: 'version', detail: `payload version ${JSON.stringify(doc.v)} is not 1` };
  if (doc.county !== county) return { refused: 'foreign_county', detail: `payload names county ${JSON.stringify(doc.county)} on the topic of "${county}"` };
  if (!Number.isSafeInteger(doc.seq) || (doc.seq as number) < 1) return { refused: 'seq', detail: 'seq must be a positive integer' };
  if (typeof doc.type !== 'string' || typeof doc.at !== 'number' || !('data' in doc)) return { refused: 'shape', detail: 'type (string), at (number) and data are required' };
  return { ok: { county, seq: doc.seq as number, at: doc.at, type: doc.type, data: doc.data } };
}

export interface CityIngestOptions {
  url: string;
  username: string;
  password: string;
  ca?: Buffer;
  counties: ReadonlySet<string>;
  dispatcher: Dispatcher;
  metrics: Metrics;
  log: Logger;
}

export class CityIngest {
  private client?: MqttClient;

  constructor(private readonly o: CityIngestOptions) {}

  start(): void {
    const o = this.o;
    const client = mqtt.connect(o.url, {
      clientId: 'city-gateway',
      clean: false,
      username: o.username,
      password: o.password,
      reconnectPeriod: 1000,
      ...(o.ca ? { ca: o.ca } : {}),
    });
    this.client = client;
    client.handleMessage = (packet, callback) => {
      const parsed = parseCityFeed(packet.topic, packet.payload as Buffer, o.counties);
      if ('refused' in parsed) {
        o.metrics.cityFramesRefused.inc({ reason: parsed.refused });
        o.log.warn({ reason: parsed.refused, detail: parsed.detail }, 'city: forwarded frame refused');
        return callback();
      }
      const f = parsed.ok;
      const school = typeof (f.data as { school?: unknown })?.school === 'string' ? ((f.data as { school: string }).school) : '';
      o.dispatcher.submit(
        { type: 'city_feed', school, device: `county:${f.county}`, sourceId: String(f.seq), atMs: f.at, receivedAtMs: Date.now(), data: f },
        // No PUBACK for a frame the ledger could not take: drop the connection, the session's broker sends it again.
        (err) => (err ? client.stream?.destroy() : callback()),
      );
    };
    client.on('connect', () => {
      o.metrics.cityIngestConnected.set(1);
      client.subscribe(CITY_FEED_FILTER, { qos: 1 }, (err) => {
        if (err) o.log.error({ err: err.message }, 'city: cannot subscribe to the counties\' feeds');
      });
      o.log.info({ url: redactUrl(o.url) }, 'city: connected to the counties\' broker');
    });
    client.on('close', () => o.metrics.cityIngestConnected.set(0));
    client.on('error', (err) => o.log.warn({ err: err.message }, 'city: broker error'));
  }

  connected(): boolean {
    return this.client?.connected ?? false;
  }

  async stop(): Promise<void> {
    await this.client?.endAsync().catch(() => undefined);
  }
}
