/**
 * A snapshot the sender only names by URL (`ai.snapshotUrl`, a vendor's `picUrl`): fetched once by
 * the gateway, with a timeout and a size limit, so screens never fetch from cameras or vendors.
 * http(s) only; a JPEG or PNG by its bytes. Never throws: a snapshot that cannot be had is a
 * reason, and the event goes on without it.
 */
import { MAX_SNAPSHOT_BYTES } from '../../ingest/vendors/common.js';
import { sniff, type MediaType } from '../../store/media.js';

/**
 * The one set of limits for every snapshot fetched by URL (a vendor's push, an MQTT `ai` after its
 * commit): whoever names the URL, the gateway waits no longer and reads no more than this.
 */
export const SNAPSHOT_LIMITS = { timeoutMs: 5000, maxBytes: MAX_SNAPSHOT_BYTES } as const;

export interface FetchedSnapshot {
  ok: true;
  bytes: Buffer;
  type: MediaType;
}

export async function fetchSnapshot(url: string, o: { timeoutMs: number; maxBytes: number }): Promise<FetchedSnapshot | { ok: false; reason: string }> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, reason: 'not a URL' };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { ok: false, reason: `only http and https are fetched, not ${u.protocol}` };
  const abort = new AbortController();
  /** Aborted for its size: leaving the body's loop then throws the abort, which is not a timeout. */
  let over = false;
  const timer = setTimeout(() => abort.abort(), o.timeoutMs);
  try {
    const res = await fetch(u, { signal: abort.signal, redirect: 'follow', headers: { accept: 'image/jpeg, image/png' } });
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => undefined);
      return { ok: false, reason: `HTTP ${res.status}` };
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > o.maxBytes) {
      await res.body.cancel().catch(() => undefined);
      return { ok: false, reason: `${declared} bytes, over ${o.maxBytes}` };
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > o.maxBytes) {
        over = true;
        abort.abort();
        return { ok: false, reason: `over ${o.maxBytes} bytes` };
      }
      chunks.push(Buffer.from(chunk));
    }
    const bytes = Buffer.concat(chunks);
    const type = sniff(bytes);
    if (!type) return { ok: false, reason: 'not a JPEG or PNG' };
    return { ok: true, bytes, type };
  } catch (err) {
    if (over) return { ok: false, reason: `over ${o.maxBytes} bytes` };
    return { ok: false, reason: abort.signal.aborted ? `no answer within ${o.timeoutMs} ms` : (err as Error).message.slice(0, 200) };
  } finally {
    clearTimeout(timer);
  }
}
