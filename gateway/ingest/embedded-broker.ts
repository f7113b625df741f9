/**
 * The default transport: an embedded aedes broker. Device messages are taken in the broker's
 * `authorizePublish` hook, which runs before aedes sends the device its PUBACK: so the PUBACK of
 * a QoS 1 alarm waits for the ledger commit, and a gateway killed at any moment has never
 * acknowledged an alarm it has not stored ([MQTT-4.3.2-2]: the receiver owns the message once it
 * sends PUBACK). A loopback client would instead ack before the gateway had the message.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { Aedes, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import type { Logger } from 'pino';
import type { Bus, ClientCertificate, InboundHandler, MqttIdentity, PublishOptions } from './bus.js';
import { limitFrames } from './frame-limit.js';

/** How the broker tells who a client is (contract §6): an identity, or the reason it is refused. */
export interface MqttAuth {
  /** `cert`: what a client presented over mqtts (undefined: none, or a plain connection). */
  authenticate(clientId: string, username: string | undefined, password: Buffer | undefined, cert?: ClientCertificate): Promise<MqttIdentity | { refused: string; badCredentials: boolean }>;
  canSubscribe(who: MqttIdentity, filter: string): boolean;
}

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  /** Listen without TLS on `port` (contract §5 MQTT_PORT); false: mqtts only. */
  plain?: boolean;
  /** mqtts (contract §5 MQTT_TLS_PORT); `ca` set: clients are asked for a certificate (§6). */
  tls?: { port: number; cert: Buffer; key: Buffer; ca?: Buffer };
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
  private tlsServer?: tls.Server;
  private listening = false;
  private readonly identities = new WeakMap<Client, MqttIdentity>();
  /** The certificate each mqtts connection presented, by the stream aedes knows it as (`client.conn`). */
  private readonly certificates = new WeakMap<object, ClientCertificate>();

  constructor(private readonly o: EmbeddedBrokerOptions) {}

  async start(onMessage: InboundHandler): Promise<void> {
    const { auth, log } = this.o;
    this.broker = await Aedes.createBroker({
      id: 'campus-gateway-embedded',
      // No anonymous client: a device logs in as itself, a tool as a gateway user (contract §6).
      authenticate: (client: Client, username: string | undefined, password: Buffer | undefined, callback: (err: AuthenticateError | null, ok: boolean | null) => void) => {
        auth.authenticate(client.id, username, password, this.certificates.get(client.conn)).then(
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
    // [contract §6] A packet over 64 KiB is refused from its header, before it is buffered. On
    // mqtts the guard reads the decrypted stream: a TLSSocket emits plaintext 'data' like a socket.
    const serve = (socket: net.Socket): Duplex => {
      const conn = limitFrames(socket, MAX_PACKET_BYTES, (bytes) =>
        log.warn({ remote: socket.remoteAddress, bytes: Number.isFinite(bytes) ? bytes : 'malformed length' }, 'mqtt packet over 64 KiB refused; connection closed'),
      );
      if (socket instanceof tls.TLSSocket) {
        const cert = presented(socket);
        if (cert) this.certificates.set(conn, cert);
      }
      this.broker!.handle(conn);
      return conn;
    };
    if (this.o.plain !== false) this.server = await listen(net.createServer(serve), this.o.port, this.o.host);
    if (this.o.tls) {
      const { cert, key, ca, port } = this.o.tls;
      const server = tls.createServer(
        {
          cert,
          key,
          minVersion: 'TLSv1.2',
          // Ask for a device certificate but admit a connection without one or with a bad one:
          // devices that log in with a secret share the port, and the refusal at CONNECT says why.
          ...(ca ? { ca, requestCert: true, rejectUnauthorized: false } : {}),
          // A client that never finishes its handshake does not hold a socket for the default 2 min.
          handshakeTimeout: 10_000,
        },
        serve,
      );
      server.on('tlsClientError', (err, socket) => log.debug({ remote: socket.remoteAddress, err: err.message }, 'mqtts handshake failed'));
      this.tlsServer = await listen(server, port, this.o.host);
    }
    this.listening = true;
    this.publish(this.o.statusTopic, 'online', { qos: 1, retain: true });
  }

  get port(): number {
    const addr = this.server?.address();
    return typeof addr === 'object' && addr ? addr.port : this.o.port;
  }

  /** The mqtts port (undefined without TLS). */
  get tlsPort(): number | undefined {
    const addr = this.tlsServer?.address();
    return typeof addr === 'object' && addr ? addr.port : this.o.tls?.port;
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
    return { mode: this.mode, connected: this.listening, port: this.o.plain === false ? undefined : this.port, tlsPort: this.tlsPort, clients: this.broker?.connectedClients ?? 0 };
  }

  async stop(): Promise<void> {
    if (!this.broker) return;
    const broker = this.broker;
    await new Promise<void>((resolve) =>
      broker.publish({ cmd: 'publish', topic: this.o.statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true, dup: false }, () => resolve()),
    );
    this.listening = false;
    await new Promise<void>((resolve) => this.broker!.close(() => resolve()));
    for (const server of [this.server, this.tlsServer]) await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

async function listen<S extends net.Server>(server: S, port: number, host: string): Promise<S> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** The client certificate of an mqtts connection, if it sent one. */
function presented(socket: tls.TLSSocket): ClientCertificate | undefined {
  const peer = socket.getPeerCertificate();
  if (!peer || Object.keys(peer).length === 0) return undefined;
  // A subject with several CNs gives an array: no single identity, so none.
  const cn = typeof peer.subject?.CN === 'string' ? peer.subject.CN : undefined;
  const error = socket.authorizationError;
  return { verified: socket.authorized, cn, error: error ? String((error as NodeJS.ErrnoException).code ?? error) : undefined };
}
