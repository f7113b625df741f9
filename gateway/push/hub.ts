/**
 * The live feed (contract §4). Fed from the store's frame stream — `poke()` after each commit
 * reads what is new — rather than from the ingest call stack, so a replica could push frames it
 * did not ingest itself (ARCHITECTURE, "Live feed").
 *
 * A new client gets `resumeGraceMs` to send `{"type":"resume","since":N}`; then it is served the
 * frames after N (if the store still has them) or a snapshot, and from then on every frame.
 * A client that falls behind by more than `maxBufferedBytes` is sent `resync` and closed: a wall
 * screen that cannot keep up must reload, not make the gateway hold memory without bound.
 */
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { FeedFrame, Snapshot } from '../contract/api.js';
import type { Store } from '../store/store.js';
import type { Metrics } from '../metrics.js';

export interface HubOptions {
  store: Store;
  snapshot: () => Snapshot;
  log: Logger;
  metrics: Metrics;
  resumeGraceMs: number;
  maxBufferedBytes: number;
  /** A resume further back than this gets a snapshot instead of a replay. */
  maxReplayFrames?: number;
  pingIntervalMs?: number;
}

/** Close code for "you fell behind; reconnect and take a fresh snapshot" (4000–4999: private use, RFC 6455 §7.4.2). */
export const CLOSE_RESYNC = 4001;

interface Client {
  ws: WebSocket;
  live: boolean;
  lastSeq: number;
  alive: boolean;
  grace?: NodeJS.Timeout;
}

export class LiveHub {
  private readonly clients = new Set<Client>();
  private readonly maxReplay: number;
  private readonly pinger: NodeJS.Timeout;
  /** A poke while frames are being read: read again once that read is done. */
  private poking?: Promise<void>;
  private pokeAgain = false;

  constructor(private readonly o: HubOptions) {
    this.maxReplay = o.maxReplayFrames ?? 50_000;
    // Ping so that a screen whose network died is noticed and dropped (a TCP half-open never errors).
    this.pinger = setInterval(() => this.ping(), o.pingIntervalMs ?? 30_000);
    this.pinger.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  attach(ws: WebSocket): void {
    const client: Client = { ws, live: false, lastSeq: 0, alive: true };
    this.clients.add(client);
    this.o.metrics.wsClients.set(this.clients.size);
    ws.on('pong', () => (client.alive = true));
    ws.on('message', (raw, isBinary) => this.onClientFrame(client, raw.toString(), isBinary));
    ws.on('close', () => this.detach(client));
    ws.on('error', (err) => {
      this.o.log.debug({ err }, 'websocket error');
      this.detach(client);
    });
    if (this.o.resumeGraceMs <= 0) this.startSnapshot(client);
    else client.grace = setTimeout(() => this.startSnapshot(client), this.o.resumeGraceMs);
  }

  private detach(client: Client): void {
    if (client.grace) clearTimeout(client.grace);
    if (this.clients.delete(client)) this.o.metrics.wsClients.set(this.clients.size);
  }

  private onClientFrame(client: Client, text: string, isBinary: boolean): void {
    let msg: { type?: unknown; since?: unknown };
    try {
      msg = isBinary ? {} : JSON.parse(text);
    } catch {
      return this.sendError(client, 'bad_frame', 'frame is not JSON');
    }
    if (msg?.type !== 'resume') return this.sendError(client, 'bad_frame', 'the only client frame is {"type":"resume","since":<seq>}');
    if (client.live) return this.sendError(client, 'bad_frame', 'resume must be the first frame after connecting');
    if (typeof msg.since !== 'number' || !Number.isInteger(msg.since) || msg.since < 0)
      return this.sendError(client, 'bad_frame', '"since" must be a non-negative whole number');
    if (client.grace) clearTimeout(client.grace);
    const since = msg.since;
    void (async () => {
      const frames = since <= this.o.store.lastFeedSeq() ? await this.o.store.feedSince(since, this.maxReplay + 1) : null;
      if (client.live) return;
      if (frames === null || frames.length > this.maxReplay) return this.startSnapshot(client);
      client.live = true;
      client.lastSeq = since;
      this.sendFrames(client, frames.map((f) => [f.seq, JSON.stringify(f)]));
      this.poke(); // whatever was committed while the replay was read
    })().catch((err) => this.o.log.warn({ err }, 'could not replay the feed to a resuming client'));
  }

  private startSnapshot(client: Client): void {
    if (client.live || client.ws.readyState !== client.ws.OPEN) return;
    client.live = true;
    const seq = this.o.store.lastFeedSeq();
    client.lastSeq = seq;
    this.send(client, JSON.stringify({ seq, type: 'snapshot', data: this.o.snapshot() }));
  }

  /** Sends every frame committed since the last poke to every live client. */
  poke(): void {
    if (this.poking) {
      this.pokeAgain = true;
      return;
    }
    this.poking = this.push()
      .catch((err) => this.o.log.warn({ err }, 'could not read the live feed'))
      .finally(() => {
        this.poking = undefined;
        if (this.pokeAgain) {
          this.pokeAgain = false;
          this.poke();
        }
      });
  }

  private async push(): Promise<void> {
    let oldest = Infinity;
    for (const c of this.clients) if (c.live && c.lastSeq < oldest) oldest = c.lastSeq;
    if (oldest === Infinity) return;
    const frames = await this.o.store.feedSince(oldest, Number.MAX_SAFE_INTEGER);
    if (frames === null) {
      for (const c of this.clients) if (c.live) this.resync(c, 'feed pruned past this client');
      return;
    }
    if (frames.length === 0) return;
    // Serialize each frame once, whatever the number of screens.
    const encoded: [number, string][] = frames.map((f: FeedFrame) => [f.seq, JSON.stringify(f)]);
    for (const c of this.clients) if (c.live) this.sendFrames(c, encoded);
  }

  private sendFrames(client: Client, encoded: [number, string][]): void {
    for (const [seq, text] of encoded) {
      if (seq <= client.lastSeq) continue;
      if (!this.send(client, text)) return;
      client.lastSeq = seq;
    }
  }

  private send(client: Client, text: string): boolean {
    if (client.ws.readyState !== client.ws.OPEN) return false;
    if (client.ws.bufferedAmount > this.o.maxBufferedBytes) {
      this.resync(client, 'client is not keeping up');
      return false;
    }
    client.ws.send(text);
    return true;
  }

  private resync(client: Client, reason: string): void {
    this.o.metrics.wsResyncs.inc();
    this.o.log.warn({ reason, bufferedBytes: client.ws.bufferedAmount }, 'live client sent resync');
    client.ws.send(JSON.stringify({ seq: client.lastSeq, type: 'resync', data: { reason } }));
    client.ws.close(CLOSE_RESYNC, 'resync');
    this.detach(client);
  }

  private sendError(client: Client, error: string, message: string): void {
    if (client.ws.readyState === client.ws.OPEN) client.ws.send(JSON.stringify({ seq: client.lastSeq, type: 'error', data: { error, message } }));
  }

  private ping(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        c.ws.terminate();
        this.detach(c);
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }

  close(): void {
    clearInterval(this.pinger);
    for (const c of this.clients) c.ws.close(1001, 'gateway stopping');
    this.clients.clear();
  }
}
