/**
 * The default transport: an embedded aedes broker. Device messages are taken in the broker's
 * `authorizePublish` hook, which runs before aedes sends the device its PUBACK: so the PUBACK of
 * a QoS 1 alarm waits for the ledger commit, and a gateway killed at any moment has never
 * acknowledged an alarm it has not stored ([MQTT-4.3.2-2]: the receiver owns the message once it
 * sends PUBACK). A loopback client would instead ack before the gateway had the message.
 */
import net from 'node:net';
import { Aedes, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import type { Logger } from 'pino';
import type { Bus, InboundHandler, MqttIdentity, PublishOptions } from './bus.js';
import { limitFrames } from './frame-limit.js';

/** How the broker tells who a client is (contract §6): an identity, or the reason it is refused. */
export interface MqttAuth {
  authenticate(clientId: string, username: string | undefined, password: Buffer | undefined): Promise<MqttIdentity | { refused: string; badCredentials: boolean }>;
  canSubscribe(who: MqttIdentity, filter: string): boolean;
}

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  statusTopic: string;
  log: Logger;
  auth: MqttAuth;
}

/** Contract §6: MQTT packets over 64 KiB are refused by the broker. */
export const MAX_PACKET_BYTES = 64 * 1024;

/** Where a refused message goes: a `$` topic nobody may subscribe to, so it reaches no one ([MQTT-4.7.2-1]). */
const NOWHERE = '$refused';

export class EmbeddedBroker implements Bus {
  readonly mode = 'embedded' as const;
  private broker?: Aedes;
  private server?: net.Server;
  private listening = false;
  private readonly identities = new WeakMap<Client, MqttIdentity>();

  constructor(private readonly o: EmbeddedBrokerOptions) {}

  async start(onMessage: InboundHandler): Promise<void> {
    const { auth, log } = this.o;
    this.broker = await Aedes.createBroker({
      id: 'campus-gateway-embedded',
      // No anonymous client: a device logs in as itself, a tool as a gateway user (contract §6).
      authenticate: (client: Client, username: string | undefined, password: Buffer | undefined, callback: (err: AuthenticateError | null, ok: boolean | null) => void) => {
        auth.authenticate(client.id, username, password).then(
          (r) => {
            if ('refused' in r) {
              log.info({ client: client.id.slice(0, 80), username: username?.slice(0, 80), reason: r.refused }, 'mqtt login refused');
              // 4: bad user name or password; 5: not authorized ([MQTT-3.2.2-3], table 3.1).
              return callback(Object.assign(new Error(r.refused), { returnCode: r.badCredentials ? 4 : 5 }) as AuthenticateError, false);
            }
            this.identities.set(client, r);
            callback(null, true);
          },
          (err) => callback(Object.assign(err as Error, { returnCode: 3 }) as AuthenticateError, false),
        );
      },
      authorizeSubscribe: (client: Client | null, sub: Subscription, callback: (err: Error | null, sub?: Subscription | null) => void) => {
        const who = client && this.identities.get(client);
        if (!who || !auth.canSubscribe(who, sub.topic)) {
          log.info({ client: client?.id.slice(0, 80), filter: sub.topic.slice(0, 200) }, 'mqtt subscription refused');
          return callback(null, null); // SUBACK 0x80
        }
        callback(null, sub);
      },
      authorizePublish: (client: Client | null, packet: PublishPacket, callback: (err?: Error | null) => void) => {
        // Our own publishes (client null) are not device input.
        if (!client) return callback(null);
        const from = this.identities.get(client);
        onMessage({ topic: packet.topic, payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload), qos: packet.qos, from }, (err, opts) => {
          if (!err && opts?.deliver === false) {
            // Acknowledged (no reconnect loop), retained nowhere, delivered to no one.
            packet.topic = NOWHERE;
            packet.retain = false;
          }
          // An error disconnects the device without PUBACK; it will resend (MQTT 3.1.1 has no negative ack).
          callback(err ?? null);
        });
      },
    });
    this.broker.on('clientError', (client, err) => this.o.log.debug({ client: client?.id, err: err.message }, 'mqtt client error'));
    // [contract §6] A packet over 64 KiB is refused from its header, before it is buffered.
    this.server = net.createServer((socket) =>
      this.broker!.handle(
        limitFrames(socket, MAX_PACKET_BYTES, (bytes) =>
          log.warn({ remote: socket.remoteAddress, bytes: Number.isFinite(bytes) ? bytes : 'malformed length' }, 'mqtt packet over 64 KiB refused; connection closed'),
        ),
      ),
    );
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

  disconnect(clientId: string): void {
    // aedes keeps its connected clients by id (not in its public types).
    (this.broker as unknown as { clients?: Record<string, Client> } | undefined)?.clients?.[clientId]?.close();
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
