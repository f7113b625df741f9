// A wall-screen-like client of the gateway's live feed (`/live`, CONTRACT §4).
import WebSocket from 'ws';

export interface LiveFrame {
  seq: number;
  type: string;
  data: any;
}

export interface LiveClient {
  ws: WebSocket;
  /** every frame received so far, in order */
  frames: LiveFrame[];
  /**
   * The first frame matching `predicate` (already received or still to come) that no earlier
   * next() returned. Rejects after timeoutMs, or if the socket closes first.
   */
  next(predicate?: (frame: LiveFrame) => boolean, timeoutMs?: number): Promise<LiveFrame>;
  /** send one JSON frame */
  send(msg: unknown): void;
  /** resolves when the socket is closed (by either side), with the close code and reason */
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

interface Waiter {
  predicate: (frame: LiveFrame) => boolean;
  resolve(frame: LiveFrame): void;
  reject(err: Error): void;
}

export function openLive(url: string, token: string, opts: { resumeSince?: number } = {}): Promise<LiveClient> {
  const wsUrl = new URL('/live', url);
  wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  wsUrl.searchParams.set('token', token);

  const ws = new WebSocket(wsUrl);
  const frames: LiveFrame[] = [];
  const taken = new Set<number>(); // indexes in `frames` already returned by next()
  const waiters = new Set<Waiter>();
  let closeInfo: { code: number; reason: string } | undefined;
  let resolveClosed!: (info: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (resolveClosed = r));

  ws.on('message', (raw: WebSocket.RawData) => {
    const text = raw.toString();
    let frame: LiveFrame;
    try {
      frame = JSON.parse(text) as LiveFrame;
    } catch {
      frame = { seq: NaN, type: 'invalid-json', data: text }; // the contract says every frame is JSON: let a test see it
    }
    const index = frames.push(frame) - 1;
    for (const w of waiters) {
      let match: boolean;
      try {
        match = w.predicate(frame);
      } catch (err) {
        waiters.delete(w);
        w.reject(err as Error);
        continue;
      }
      if (match) {
        taken.add(index);
        waiters.delete(w);
        w.resolve(frame);
        break; // one frame satisfies one waiter
      }
    }
  });
  ws.on('close', (code: number, reason: Buffer) => {
    closeInfo = { code, reason: reason.toString() };
    resolveClosed(closeInfo);
    for (const w of waiters) w.reject(new Error(`live socket closed (${code} ${closeInfo.reason}) while waiting for a frame`));
    waiters.clear();
  });

  const client: LiveClient = {
    ws,
    frames,
    closed,
    next(predicate = () => true, timeoutMs = 5000) {
      for (let i = 0; i < frames.length; i++) {
        if (!taken.has(i) && predicate(frames[i])) {
          taken.add(i);
          return Promise.resolve(frames[i]);
        }
      }
      if (closeInfo) {
        return Promise.reject(new Error(`live socket closed (${closeInfo.code} ${closeInfo.reason}); no matching frame`));
      }
      return new Promise<LiveFrame>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const recent = frames.slice(-5).map((f) => `${f.seq}:${f.type}`).join(', ');
          reject(new Error(`no matching live frame within ${timeoutMs} ms (last frames: ${recent || 'none'})`));
        }, timeoutMs);
        const waiter: Waiter = {
          predicate,
          resolve: (f) => {
            clearTimeout(timer);
            resolve(f);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        waiters.add(waiter);
      });
    },
    send(msg) {
      ws.send(JSON.stringify(msg));
    },
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      const timer = setTimeout(() => ws.terminate(), 2000);
      await closed;
      clearTimeout(timer);
    },
  };

  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(new Error(`cannot open ${wsUrl.origin}/live: ${err.message}`));
    ws.once('error', onError);
    ws.once('open', () => {
      ws.off('error', onError);
      ws.on('error', () => {}); // later errors end in 'close', which rejects pending next() calls
      if (opts.resumeSince !== undefined) client.send({ type: 'resume', since: opts.resumeSince });
      resolve(client);
    });
  });
}
