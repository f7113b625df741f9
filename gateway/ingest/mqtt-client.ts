/**
 * The production transport: MQTT.js against Mosquitto/EMQX. A persistent session (fixed client id,
 * `clean: false`) keeps QoS 1 messages queued at the broker while the gateway is down, and a
 * message's PUBACK is sent only after its ledger commit. So a `kill -9` at any moment loses
 * nothing: what was not acked is redelivered, and the ledger's (device, id) dedupe absorbs what
 * was stored but not yet acked.
 *
 * Up to `window` QoS 1 messages are in flight at once (issue 13, decision 0008): MQTT.js reads its
 * next packet only once `handleMessage` calls back, and sends the PUBACK itself when it does — so
 * calling back after the commit meant one message per commit, and group commit never grouped.
 * Here `handleMessage` calls back at once with `HOLD` (an error, on which MQTT.js sends no PUBACK
 * and goes on reading), and `AckOrder` sends the PUBACKs itself, in arrival order, as the
 * dispatcher's batches commit. The broker's own in-flight limit (Mosquitto `max_inflight_messages`,
 * default 20; our Receive Maximum under MQTT 5) bounds the window too.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Bus, InboundHandler, PublishOptions } from './bus.js';
import { redactUrl } from '../redact.js';
import { AckOrder } from './ack-order.js';

/** What `handleMessage` calls back with so that MQTT.js reads on without sending a PUBACK (mqtt 5.x handlers/publish.js). */
const HOLD = new Error('PUBACK held until the message is committed');

/** The part of MQTT.js's client used to send a PUBACK ourselves (`_sendPacket` is private in its types). */
interface PacketSender {
  _sendPacket(packet: { cmd: 'puback'; messageId: number; reasonCode?: number }, cb?: () => void): void;
}

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
  /** QoS 1 messages awaiting their commit (and PUBACK) at once; 1: one at a time (MQTT_INGEST_WINDOW). */
  window?: number;
  /** 4: MQTT 3.1.1; 5: MQTT 5, announcing the window as Receive Maximum (MQTT_PROTOCOL_VERSION). */
  protocolVersion?: 4 | 5;
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
      protocolVersion: this.o.protocolVersion ?? 4,
      // MQTT 5: the broker sends at most this many unacknowledged QoS 1 messages (§3.1.2.11.3).
      ...(this.o.protocolVersion === 5 ? { properties: { receiveMaximum: Math.min(this.o.window ?? 1, 65_535) } } : {}),
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
    const window = this.o.window ?? 1;
    // One AckOrder per network connection: a PUBACK owed on a connection that is gone is never
    // sent on the next one (the broker redelivers those messages, with the same or new ids).
    let acks: AckOrder | undefined;
    let acksStream: unknown;
    const drop = (err: Error) => {
      // Not stored: do not PUBACK it, nor anything after it. Dropping the connection makes the
      // broker redeliver them once we are back ([MQTT-4.4.0-1]).
      this.o.log.error({ err }, 'message not stored; reconnecting so the broker redelivers');
      client.end(true, () => client.reconnect());
    };
    client.on('close', () => {
      acks?.close();
      acks = undefined;
    });
    client.handleMessage = (packet, callback) => {
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      if (packet.qos === 0 || packet.messageId === undefined) {
        onMessage({ topic: packet.topic, payload, qos: packet.qos }, () => undefined);
        return callback();
      }
      const stream = client.stream;
      if (!acks || acksStream !== stream) {
        acks?.close();
        acksStream = stream;
        const line: AckOrder = new AckOrder(
          (messageId) => {
            if (client.stream === stream && client.connected) (client as unknown as PacketSender)._sendPacket({ cmd: 'puback', messageId, reasonCode: 0 });
            else line.close();
          },
          drop,
          window,
        );
        acks = line;
      }
      const done = acks.take(packet.messageId, () => callback(HOLD));
      onMessage({ topic: packet.topic, payload, qos: packet.qos }, (err) => done(err));
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

