/**
 * The live feed socket (contract §4): connects, sends `{"type":"resume","since":seq}` as the first
 * frame on every reconnect, reconnects with backoff 1 s → 10 s, and reconnects fresh (no resume)
 * when the server asks for a `resync`.
 */
import type { FeedFrame } from '../gateway/contract/api.js';

export type LiveStatus =
  | { state: 'connecting'; attempt: number }
  | { state: 'open' }
  | { state: 'down'; attempt: number; retryInMs: number };

export interface LiveOptions {
  /** Builds the URL at each attempt (the token may have changed). */
  url: () => string;
  /** The last seq the screen has applied, or -1 for none (then no resume is sent). */
  lastSeq: () => number;
  onFrame: (frame: FeedFrame) => void;
  onStatus: (status: LiveStatus) => void;
  /** Called after a connection that never opened; resolves false when the session is no longer valid. */
  checkAuth?: () => Promise<boolean>;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** For tests: a WebSocket implementation other than the browser's. */
  WebSocketImpl?: typeof WebSocket;
}

export function backoffDelay(attempt: number, min = 1000, max = 10_000): number {
  // attempt 1 → 1 s, 2 → 2 s, 3 → 4 s, 4 → 8 s, then 10 s; ±10 % jitter so 84 walls don't stampede.
  const base = Math.min(max, min * 2 ** Math.max(0, attempt - 1));
  const jitter = base * 0.1 * (Math.random() * 2 - 1);
  return Math.round(Math.min(max, Math.max(min, base + jitter)));
}

export class LiveConnection {
  private ws: WebSocket | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private stopped = true;
  private fresh = false;

  constructor(private readonly opts: LiveOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000, 'bye');
      } catch {
        /* already closed */
      }
    }
  }

  /** Drops the connection and opens a new one without resume (a fresh snapshot). */
  resync(): void {
    this.fresh = true;
    const ws = this.ws;
    if (ws && ws.readyState <= 1) ws.close(4000, 'resync');
    else if (!this.stopped && !this.timer) this.connect();
  }

  private connect(): void {
    if (this.stopped) return;
    this.timer = null;
    this.attempt += 1;
    this.opts.onStatus({ state: 'connecting', attempt: this.attempt });
    const Impl = this.opts.WebSocketImpl ?? WebSocket;
    let ws: WebSocket;
    try {
      ws = new Impl(this.opts.url());
    } catch {
      this.scheduleReconnect(false);
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      const since = this.opts.lastSeq();
      // The server waits ~150 ms for this: send it at once so we get exactly the missed frames.
      if (!this.fresh && since >= 0) ws.send(JSON.stringify({ type: 'resume', since }));
      this.fresh = false;
      this.attempt = 0;
      this.opts.onStatus({ state: 'open' });
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data !== 'string') return;
      let frame: FeedFrame;
      try {
        frame = JSON.parse(ev.data) as FeedFrame;
      } catch {
        return;
      }
      if (frame.type === 'resync') this.fresh = true;
      this.opts.onFrame(frame);
    };
    ws.onerror = () => {
      /* onclose follows */
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      if (ev.code === 4001 || ev.code === 4000) this.fresh = true; // the server's "resync" close
      this.ws = null;
      this.scheduleReconnect(opened);
    };
  }

  private scheduleReconnect(wasOpen: boolean): void {
    if (this.stopped) return;
    // A socket that opened and then closed: start over at 1 s (resync asks for a quick reconnect).
    const attempt = Math.max(1, this.attempt);
    const delay = this.fresh && wasOpen ? 0 : backoffDelay(attempt, this.opts.minDelayMs, this.opts.maxDelayMs);
    this.opts.onStatus({ state: 'down', attempt, retryInMs: delay });
    const go = () => {
      this.timer = setTimeout(() => this.connect(), delay);
    };
    if (!wasOpen && this.opts.checkAuth) {
      // Never opened: maybe the token was refused. Ask the REST side (a 401 there logs us out).
      this.opts.checkAuth().then(
        (ok) => {
          if (ok && !this.stopped) go();
        },
        () => go(),
      );
    } else go();
  }
}
