/**
 * The live feed (contract §4). Fed from the store's frame stream — `poke()` after each commit
 * reads what is new — rather than from the ingest call stack, so a replica could push frames it
 * did not ingest itself (ARCHITECTURE, "Live feed").
 *
 * A new client gets `resumeGraceMs` to send `{"type":"resume","since":N}`; then it is served the
 * frames after N (if the store still has them) or a snapshot, and from then on every frame.
 * A client that falls behind by more than `maxBufferedBytes` is sent `resync` and closed: a wall
 * screen that cannot keep up must reload, not make the gateway hold memory without bound. The
 * snapshot counts against that budget like any frame, and each frame (the snapshot too) is
 * encoded once into one Buffer that every socket's send queue shares — from the text the store
 * wrote, where it kept one (`frameText`: the alarm's JSON is not made again for the screens).
 *
 * Sockets are bounded per user and in all; a user's sockets close when its token expires or is
 * revoked (contract §6).
 */
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { FeedFrame, Snapshot } from '../contract/api.js';
import { frameText, type Store } from '../store/store.js';
import type { Metrics } from '../metrics.js';

export interface HubOptions {
  /** The feed: the store's, or what a replica has applied of it (decision 0009). */
  store: Pick<Store, 'feedSince' | 'lastFeedSeq'>;
  /** The snapshot for everyone, or for one school's own users (contract §7: they see their school only). */
  snapshot: (school?: string) => Snapshot;
  log: Logger;
  metrics: Metrics;
  resumeGraceMs: number;
  maxBufferedBytes: number;
  /** A resume further back than this gets a snapshot instead of a replay. */
  maxReplayFrames?: number;
  pingIntervalMs?: number;
  /** Sockets one user may hold (default 20). */
  maxPerUser?: number;
  /** Sockets in all (default 500). */
  maxClients?: number;
}

/** Who a socket belongs to and until when its token is valid. */
export interface LiveSession {
  user: string;
  expiresAtMs: number;
  /** A school's own user: only frames of that school (and county-wide ones without a school) reach it. */
  school?: string;
}

/** Close code for "you fell behind; reconnect and take a fresh snapshot" (4000–4999: private use, RFC 6455 §7.4.2). */
export const CLOSE_RESYNC = 4001;
/** The token expired: log in again. */
export const CLOSE_TOKEN_EXPIRED = 4002;
/** The user was changed or deleted: its logins ended. */
export const CLOSE_TOKEN_REVOKED = 4003;
/** Too many sockets (this user's or the gateway's); normally refused with HTTP 429/503 before the upgrade. */
export const CLOSE_TOO_MANY = 4008;

/** A socket that was sent a close but does not finish the handshake (it is not reading) is cut after this. */
const CLOSE_GRACE_MS = 2000;
/** setTimeout's limit; a longer token TTL is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Sockets connecting at once share one snapshot this young (same feed seq): 300 screens, one encoding. */
const SNAPSHOT_REUSE_MS = 1000;

/** A frame serialized once for every screen, with the school it concerns (if any). */
type Encoded = [seq: number, data: Buffer, school: string | undefined];
/** Stands for "the county's users only" (`data.scope: "county"`, e.g. an alarm flood): no school's user matches it. */
const COUNTY_ONLY = '\u0000county';
const encode = (f: FeedFrame): Encoded => {
  const d = f.data as { school?: unknown; scope?: unknown } | null;
  const school = d?.scope === 'county' ? COUNTY_ONLY : d?.school;
  return [f.seq, Buffer.from(frameText(f)), typeof school === 'string' ? school : undefined];
};

/**
 * The TCP socket under a ws WebSocket (its `_socket`, not in ws's types), to cork around a run of
 * frames; undefined if ws ever stops exposing it (then frames are written one by one, as before).
 */
function rawSocket(ws: WebSocket): { cork(): void; uncork(): void } | undefined {
  const s = (ws as unknown as { _socket?: { cork?: unknown; uncork?: unknown } })._socket;
  return s && typeof s.cork === 'function' && typeof s.uncork === 'function' ? (s as { cork(): void; uncork(): void }) : undefined;
}

interface Client {
  ws: WebSocket;
  user: string;
  school?: string;
  expiresAtMs: number;
  live: boolean;
  lastSeq: number;
  alive: boolean;
  grace?: NodeJS.Timeout;
  expiry?: NodeJS.Timeout;
}

/** Why a socket cannot be admitted: `user` (429) or `full` (503). */
export type Refusal = { reason: 'user' | 'full'; message: string };

export class LiveHub {
  private readonly clients = new Set<Client>();
  private readonly perUser = new Map<string, Set<Client>>();
  private readonly maxPerUser: number;
  private readonly maxClients: number;
  /** By school ('' for the county): screens connecting at once share one encoding. */
  private readonly lastSnapshot = new Map<string, { seq: number; at: number; data: Buffer }>();
  private readonly maxReplay: number;
  private readonly pinger: NodeJS.Timeout;
  /** A poke while frames are being read: read again once that read is done. */
  private poking?: Promise<void>;
  private pokeAgain = false;

  constructor(private readonly o: HubOptions) {
    this.maxReplay = o.maxReplayFrames ?? 50_000;
    this.maxPerUser = o.maxPerUser ?? 20;
    this.maxClients = o.maxClients ?? 500;
    // Ping so that a screen whose network died is noticed and dropped (a TCP half-open never errors).
    this.pinger = setInterval(() => this.ping(), o.pingIntervalMs ?? 30_000);
    this.pinger.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Whether one more socket of `user` would be admitted (checked before the upgrade). */
  refusal(user: string): Refusal | undefined {
    if ((this.perUser.get(user)?.size ?? 0) >= this.maxPerUser)
      return { reason: 'user', message: `"${user}" already has ${this.maxPerUser} live sockets open: close one first` };
    if (this.clients.size >= this.maxClients) return { reason: 'full', message: `the gateway serves ${this.maxClients} live sockets already: try again later` };
    return undefined;
  }

  attach(ws: WebSocket, session: LiveSession): void {
    // Checked again here: upgrades that passed the check at the same time must not overshoot it.
    const refused = this.refusal(session.user);
    if (refused) {
      this.o.log.warn({ user: session.user, reason: refused.reason }, 'live socket refused');
      ws.close(CLOSE_TOO_MANY, refused.reason === 'user' ? 'too many sockets for this user' : 'too many live sockets');
      return;
    }
    const client: Client = { ws, user: session.user, school: session.school, expiresAtMs: session.expiresAtMs, live: false, lastSeq: 0, alive: true };
    this.clients.add(client);
    let mine = this.perUser.get(client.user);
    if (!mine) this.perUser.set(client.user, (mine = new Set()));
    mine.add(client);
    this.o.metrics.wsClients.set(this.clients.size);
    this.armExpiry(client);
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
    if (client.expiry) clearTimeout(client.expiry);
    const mine = this.perUser.get(client.user);
    if (mine?.delete(client) && mine.size === 0) this.perUser.delete(client.user);
    if (this.clients.delete(client)) this.o.metrics.wsClients.set(this.clients.size);
  }

  /** Closes the socket when its token expires. */
  private armExpiry(client: Client): void {
    if (!Number.isFinite(client.expiresAtMs)) return;
    const left = client.expiresAtMs - Date.now();
    if (left <= 0) return this.end(client, CLOSE_TOKEN_EXPIRED, 'token expired');
    client.expiry = setTimeout(() => this.armExpiry(client), Math.min(left, MAX_TIMER_MS));
    client.expiry.unref();
  }

  /** Closes every socket of `user` (its tokens were revoked); returns how many. */
  endUser(user: string, reason = 'token revoked'): number {
    const mine = [...(this.perUser.get(user) ?? [])];
    for (const c of mine) this.end(c, CLOSE_TOKEN_REVOKED, reason);
    if (mine.length) this.o.log.info({ user, sockets: mine.length, reason }, 'live sockets closed');
    return mine.length;
  }

  /** Closes with `code`, and cuts the socket if the close handshake does not finish soon. */
  private end(client: Client, code: number, reason: string): void {
    this.detach(client);
    const { ws } = client;
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, reason);
    setTimeout(() => {
      if (ws.readyState !== ws.CLOSED) ws.terminate();
    }, CLOSE_GRACE_MS).unref();
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
      this.sendFrames(client, frames.map(encode));
      this.poke(); // whatever was committed while the replay was read
    })().catch((err) => this.o.log.warn({ err }, 'could not replay the feed to a resuming client'));
  }

  private startSnapshot(client: Client): void {
    if (client.live || client.ws.readyState !== client.ws.OPEN) return;
    client.live = true;
    const seq = this.o.store.lastFeedSeq();
    client.lastSeq = seq;
    const now = Date.now();
    const key = client.school ?? '';
    let snap = this.lastSnapshot.get(key);
    if (!snap || snap.seq !== seq || now - snap.at > SNAPSHOT_REUSE_MS) {
      snap = { seq, at: now, data: Buffer.from(JSON.stringify({ seq, type: 'snapshot', data: this.o.snapshot(client.school) })) };
      this.lastSnapshot.set(key, snap);
    }
    this.send(client, snap.data);
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
    const encoded = frames.map(encode);
    for (const c of this.clients) if (c.live) this.sendFrames(c, encoded);
  }

  private sendFrames(client: Client, encoded: Encoded[]): void {
    // One write to the socket for the whole run of frames, not one system call per frame: a commit
    // of 100 alarms is 100 frames to each of 20 screens (ws writes each frame at once otherwise).
    // Corked bytes count in `bufferedAmount` before the kernel took them: flushed every quarter of
    // the budget (at most 64 KiB), so a screen that keeps up is never taken for one falling behind.
    const socket = encoded.length > 1 ? rawSocket(client.ws) : undefined;
    const flushAt = Math.min(64 * 1024, this.o.maxBufferedBytes / 4);
    let corked = 0;
    socket?.cork();
    try {
      for (const [seq, data, school] of encoded) {
        if (seq <= client.lastSeq) continue;
        // Another school's frame is skipped, not sent: its seq still counts as seen, so a resume works.
        if (client.school === undefined || school === undefined || school === client.school) {
          if (!this.send(client, data)) return;
          corked += data.length;
          if (socket && corked >= flushAt) {
            socket.uncork();
            socket.cork();
            corked = 0;
          }
        }
        client.lastSeq = seq;
      }
    } finally {
      socket?.uncork();
    }
  }

  /**
   * Queues one frame (UTF-8 JSON, sent as a text frame; the Buffer is shared, not copied per
   * socket) if it fits the budget. A frame larger than the whole budget still goes to a socket
   * with nothing queued, or a big county's snapshot could never be sent.
   */
  private send(client: Client, data: Buffer): boolean {
    if (client.ws.readyState !== client.ws.OPEN) return false;
    const queued = client.ws.bufferedAmount;
    if (queued > 0 && queued + data.length > this.o.maxBufferedBytes) {
      this.resync(client, 'client is not keeping up');
      return false;
    }
    client.ws.send(data, { binary: false });
    return true;
  }

  private resync(client: Client, reason: string): void {
    this.o.metrics.wsResyncs.inc();
    this.o.log.warn({ reason, bufferedBytes: client.ws.bufferedAmount, user: client.user }, 'live client sent resync');
    client.ws.send(JSON.stringify({ seq: client.lastSeq, type: 'resync', data: { reason } }));
    this.end(client, CLOSE_RESYNC, 'resync');
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
    for (const c of [...this.clients]) this.end(c, 1001, 'gateway stopping');
    this.clients.clear();
    this.perUser.clear();
  }
}
