/**
 * The default transport: an embedded aedes broker. Device messages are taken in the broker's
 * `authorizePublish` hook, which runs before aedes sends the device its PUBACK: so the PUBACK of
 * a QoS 1 alarm waits for the ledger commit, and a gateway killed at any moment has never
 * acknowledged an alarm it has not stored ([MQTT-4.3.2-2]: the receiver owns the message once it
 * sends PUBACK). A loopback client would instead ack before the gateway had the message.
 */
import net from 'node:net';
import { Aedes, type Client, type PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import type { Bus, InboundHandler, PublishOptions } from './bus.js';

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  statusTopic: string;
  log: Logger;
}

export class EmbeddedBroker implements Bus {
  readonly mode = 'embedded' as const;
  private broker?: Aedes;
  private server?: net.Server;
  private listening = false;

  constructor(private readonly o: EmbeddedBrokerOptions) {}

  async start(onMessage: InboundHandler): Promise<void> {
    this.broker = await Aedes.createBroker({
      id: 'campus-gateway-embedded',
      authorizePublish: (client: Client | null, packet: PublishPacket, callback: (err?: Error | null) => void) => {
        // Our own publishes (client null) are not device input.
        if (!client) return callback(null);
        onMessage({ topic: packet.topic, payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload), qos: packet.qos }, (err) =>
          // An error disconnects the device without PUBACK; it will resend (MQTT 3.1.1 has no negative ack).
          callback(err ?? null),
        );
      },
    });
    this.broker.on('clientError', (client, err) => this.o.log.debug({ client: client?.id, err: err.message }, 'mqtt client error'));
    this.server = net.createServer(this.broker.handle);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.o.port, this.o.host, () => {
        this.server!.off('error', reject);
        resolve();
      });
    });
    this.listening = true;
    this.publish(this.o.statusTopic, 'online', { qos: 1, retain: true });
  }

  get port(): number {
    const addr = this.server?.address();
    return typeof addr === 'object' && addr ? addr.port : this.o.port;
  }

  publish(topic: string, payload: string | Buffer, opts: PublishOptions): void {
    if (!this.broker || this.broker.closed) return;
    this.broker.publish(
      { cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos: opts.qos, retain: opts.retain ?? false, dup: false },
      (err) => err && this.o.log.warn({ err, topic }, 'embedded publish failed'),
    );
  }

  connected(): boolean {
    return this.listening;
  }

  describe(): Record<string, unknown> {
    return { mode: this.mode, connected: this.listening, port: this.port, clients: this.broker?.connectedClients ?? 0 };
  }

  async stop(): Promise<void> {
    if (!this.broker) return;
    const broker = this.broker;
    await new Promise<void>((resolve) =>
      broker.publish({ cmd: 'publish', topic: this.o.statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true, dup: false }, () => resolve()),
    );
    this.listening = false;
    await new Promise<void>((resolve) => this.broker!.close(() => resolve()));
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
