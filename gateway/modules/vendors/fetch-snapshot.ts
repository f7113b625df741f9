/**
 * A snapshot the sender only names by URL (`ai.snapshotUrl`, a vendor's `picUrl`): fetched once by
 * the gateway, with a timeout and a size limit, so screens never fetch from cameras or vendors.
 * http(s) only; a JPEG or PNG by its bytes. Never throws: a snapshot that cannot be had is a
 * reason, and the event goes on without it.
 */
import { MAX_SNAPSHOT_BYTES } from '../../ingest/vendors/common.js';
import { sniff, type MediaType } from '../../store/media.js';
import { digestAuthorization, parseDigestChallenge } from './http-digest.js';

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

/** A camera's login for its snapshot URI (HTTP Digest; Basic only over https). Never logged, never in a reason. */
export interface SnapshotAuth {
  username?: string;
  password?: string;
}

export async function fetchSnapshot(url: string, o: { timeoutMs: number; maxBytes: number; auth?: SnapshotAuth }): Promise<FetchedSnapshot | { ok: false; reason: string }> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, reason: 'not a URL' };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { ok: false, reason: `only http and https are fetched, not ${u.protocol}` };
  let auth = o.auth;
  // Some cameras put the login in the URI they give (`http://user:pw@…`); fetch refuses such a URL, and it must not be logged.
  if (u.username || u.password) {
    auth = { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
    u.username = '';
    u.password = '';
  }
  const abort = new AbortController();
  /** Aborted for its size: leaving the body's loop then throws the abort, which is not a timeout. */
  let over = false;
  const timer = setTimeout(() => abort.abort(), o.timeoutMs);
  try {
    const headers = { accept: 'image/jpeg, image/png' };
    let res = await fetch(u, { signal: abort.signal, redirect: 'follow', headers });
    if (res.status === 401) {
      // Within the same budget: the challenge, then one answer to it.
      await res.body?.cancel().catch(() => undefined);
      const answer = authorizationFor(res.headers.get('www-authenticate'), u, auth);
      if (typeof answer !== 'string') return { ok: false, reason: answer.reason };
      res = await fetch(u, { signal: abort.signal, redirect: 'follow', headers: { ...headers, authorization: answer } });
      if (res.status === 401) {
        await res.body?.cancel().catch(() => undefined);
        return { ok: false, reason: 'HTTP 401: the camera refused its credentials' };
      }
    }
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

/** The Authorization header answering a 401's challenge with `auth`, or why it cannot be answered. */
function authorizationFor(challenge: string | null, u: URL, auth: SnapshotAuth | undefined): string | { reason: string } {
  if (!auth?.username || !auth.password) return { reason: 'HTTP 401: the picture needs credentials and none are configured for this camera' };
  const digest = parseDigestChallenge(challenge);
  if (digest) {
    try {
      return digestAuthorization(digest, { username: auth.username, password: auth.password, method: 'GET', uri: u.pathname + u.search });
    } catch (err) {
      return { reason: `HTTP 401: ${(err as Error).message}` };
    }
  }
  if (/^\s*Basic/i.test(challenge ?? '')) {
    if (u.protocol !== 'https:') return { reason: 'HTTP 401: the camera asks for Basic authentication over plain http; the password is not sent in the clear' };
    return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  }
  return { reason: 'HTTP 401: the camera offers no Digest or Basic authentication' };
}
