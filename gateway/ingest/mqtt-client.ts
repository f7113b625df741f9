/**
 * The production transport: MQTT.js against Mosquitto/EMQX. A persistent session (fixed client id,
 * `clean: false`) keeps QoS 1 messages queued at the broker while the gateway is down, and
 * `handleMessage` — whose callback is what makes MQTT.js send PUBACK under MQTT 3.1.1 — calls back
 * only after the ledger commit. So a `kill -9` at any moment loses nothing: what was not acked is
 * redelivered, and the ledger's (device, id) dedupe absorbs what was stored but not yet acked.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Bus, InboundHandler, PublishOptions } from './bus.js';
import { redactUrl } from '../redact.js';

export interface MqttClientBusOptions {
  url: string;
  clientId: string;
  /** The gateway's own broker login (MQTT_USERNAME, MQTT_PASSWORD_FILE); the password is never logged. */
  username?: string;
  password?: string;
  /** Topic filter to subscribe to (may be `$share/<group>/…` for several gateways). */
  filter: string;
  statusTopic: string;
  /** CA of the broker's certificate for mqtts:// / wss:// (MQTT_CA_FILE); default: the system CAs. */
  ca?: Buffer;
  log: Logger;
}

export class MqttClientBus implements Bus {
  readonly mode = 'external' as const;
  private client?: MqttClient;

  constructor(private readonly o: MqttClientBusOptions) {}

  async start(onMessage: InboundHandler): Promise<void> {
    const client = mqtt.connect(this.o.url, {
      clientId: this.o.clientId,
      clean: false,
      protocolVersion: 4,
      username: this.o.username,
      password: this.o.password,
      reconnectPeriod: 1000,
      // A broker that refuses us (its password file not yet holding our user, or not yet reloaded)
      // may admit us a moment later: keep trying, as for a broker that is away.
      reconnectOnConnackError: true,
      connectTimeout: 10_000,
      ...(this.o.ca ? { ca: this.o.ca } : {}),
      // Contract §2: the gateway's status is retained, `offline` its last will.
      will: { topic: this.o.statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    this.client = client;
    client.handleMessage = (packet, callback) => {
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      onMessage({ topic: packet.topic, payload, qos: packet.qos }, (err) => {
        if (!err) return callback();
        // Not stored: do not PUBACK. Dropping the connection makes the broker redeliver it
        // once we are back ([MQTT-4.4.0-1]).
        this.o.log.error({ err }, 'message not stored; reconnecting so the broker redelivers');
        client.end(true, () => client.reconnect());
      });
    };
    client.on('connect', (connack) => {
      this.o.log.info({ url: this.o.url, sessionPresent: connack.sessionPresent }, 'connected to MQTT broker');
      client.publish(this.o.statusTopic, 'online', { qos: 1, retain: true });
      // A present session keeps the subscription; subscribing again is harmless and covers a broker that lost it.
      client.subscribe(this.o.filter, { qos: 1 }, (err) => err && this.o.log.error({ err }, 'subscribe failed'));
    });
    client.on('reconnect', () => this.o.log.warn('reconnecting to MQTT broker'));
    client.on('offline', () => this.o.log.warn('MQTT broker unreachable'));
    client.on('error', (err) => this.o.log.warn({ err: err.message }, 'MQTT error'));
    // Do not wait for the first connection: the gateway serves its screen (and says it is degraded) while the broker is away.
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 5000);
      client.once('connect', () => (clearTimeout(t), resolve()));
    });
  }

  publish(topic: string, payload: string | Buffer, opts: PublishOptions): void {
    // MQTT.js queues while offline (QoS 1 kept in its outgoing store until acked).
    this.client?.publish(topic, payload, { qos: opts.qos, retain: opts.retain ?? false });
  }

  connected(): boolean {
    return this.client?.connected ?? false;
  }

  describe(): Record<string, unknown> {
    return { mode: this.mode, connected: this.connected(), url: redactUrl(this.o.url), clientId: this.o.clientId };
  }

  async stop(): Promise<void> {
    const client = this.client;
    if (!client) return;
    if (client.connected) await client.publishAsync(this.o.statusTopic, 'offline', { qos: 1, retain: true }).catch(() => undefined);
    await client.endAsync();
  }
}

