/**
 * HTTP Digest authentication (RFC 7616, MD5 with qop=auth, and RFC 2069 without qop), pure: the
 * answer to a camera's `WWW-Authenticate: Digest …` challenge. Camera snapshot URIs (ONVIF
 * GetSnapshotUri, an NVR's channel picture) almost always ask for it; Basic would put the password
 * on the school's network in the clear, so only Digest is answered over plain http.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface DigestChallenge {
  realm: string;
  nonce: string;
  qop?: string;
  opaque?: string;
  algorithm?: string;
}

/** The Digest challenge in a WWW-Authenticate header, or undefined when it offers none. */
export function parseDigestChallenge(header: string | null | undefined): DigestChallenge | undefined {
  if (!header) return undefined;
  const at = header.search(/Digest\s/i);
  if (at < 0) return undefined;
  const f: Record<string, string> = {};
  for (const m of header.slice(at + 7).matchAll(/([a-z0-9-]+)\s*=\s*(?:"([^"]*)"|([^,\s]+))/gi)) f[m[1].toLowerCase()] ??= m[2] ?? m[3];
  if (f.realm === undefined || !f.nonce) return undefined;
  return { realm: f.realm, nonce: f.nonce, ...(f.qop ? { qop: f.qop } : {}), ...(f.opaque ? { opaque: f.opaque } : {}), ...(f.algorithm ? { algorithm: f.algorithm } : {}) };
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const quote = (s: string) => s.replace(/["\\]/g, '\\$&');

/**
 * The Authorization header answering `c` for `method uri` (uri: the request's path and query).
 * Throws for an algorithm other than MD5 (SHA-256 digests are rare on cameras; the caller says so).
 */
export function digestAuthorization(c: DigestChallenge, o: { username: string; password: string; method: string; uri: string; cnonce?: string; nc?: number }): string {
  if (c.algorithm && c.algorithm.toUpperCase() !== 'MD5') throw new Error(`digest algorithm ${c.algorithm} is not supported (MD5 only)`);
  const ha1 = md5(`${o.username}:${c.realm}:${o.password}`);
  const ha2 = md5(`${o.method}:${o.uri}`);
  const parts = [`username="${quote(o.username)}"`, `realm="${quote(c.realm)}"`, `nonce="${quote(c.nonce)}"`, `uri="${quote(o.uri)}"`];
  // qop may offer several ("auth,auth-int"): we answer `auth`, the only one without hashing the body.
  const qopAuth = c.qop?.split(',').some((q) => q.trim() === 'auth');
  if (qopAuth) {
    const nc = (o.nc ?? 1).toString(16).padStart(8, '0');
    const cnonce = o.cnonce ?? randomBytes(8).toString('hex');
    parts.push(`qop=auth`, `nc=${nc}`, `cnonce="${cnonce}"`, `response="${md5(`${ha1}:${c.nonce}:${nc}:${cnonce}:auth:${ha2}`)}"`);
  } else {
    parts.push(`response="${md5(`${ha1}:${c.nonce}:${ha2}`)}"`);
  }
  if (c.opaque !== undefined) parts.push(`opaque="${quote(c.opaque)}"`);
  if (c.algorithm) parts.push(`algorithm=${c.algorithm}`);
  return `Digest ${parts.join(', ')}`;
}
