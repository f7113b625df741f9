/** The ONVIF adapter's public types (what the rest of the gateway sees; nothing of the `onvif` package). */

export interface OnvifTarget {
  id: string;
  /** Device service URL, e.g. http://10.1.2.3/onvif/device_service. Userinfo in it is used as credentials and never logged. */
  url: string;
  username?: string;
  password?: string;
}

export type FailureReason = 'unreachable' | 'timeout' | 'auth' | 'protocol';

/**
 * A liveness probe's result. `reason: 'auth'` means the camera ANSWERED but refused our
 * credentials: it is up, and the problem is configuration, not an outage.
 */
export type ProbeOutcome =
  | { ok: true; rttMs: number; clockSkewMs: number }
  | { ok: false; reason: FailureReason; message: string; rttMs?: number };

export type DetailsOutcome =
  | {
      ok: true;
      manufacturer: string;
      model: string;
      firmware: string;
      serial: string;
      /** Media profile tokens, in the camera's order. */
      profiles: string[];
      /** Snapshot URI of the first profile, when the camera gives one. */
      snapshotUri?: string;
    }
  | { ok: false; reason: FailureReason; message: string };

export interface CameraEvent {
  /** As the camera sent it, e.g. `tns1:VideoSource/GlobalSceneChange/ImagingService`. */
  topic: string;
  /** When we received it, on our clock (the camera's own UtcTime is in `data.UtcTime`; its clock may be skewed). */
  atMs: number;
  /** The message's Source and Data SimpleItems (Name → Value), plus `UtcTime` and `PropertyOperation` when present. */
  data: Record<string, string>;
}

export class ProbeError extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
    readonly rttMs?: number,
  ) {
    super(message);
    this.name = 'ProbeError';
  }
}

/** Splits credentials out of a URL (`http://user:pass@host/…`) so they are never logged with it. */
export function normalizeTarget(t: OnvifTarget): { url: URL; username?: string; password?: string } {
  const url = new URL(t.url);
  let username = t.username;
  let password = t.password;
  if (url.username || url.password) {
    username ??= decodeURIComponent(url.username);
    password ??= decodeURIComponent(url.password);
    url.username = '';
    url.password = '';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ProbeError('protocol', `unsupported URL scheme ${url.protocol}`);
  return { url, username: username || undefined, password: password || undefined };
}

const NET_UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED', 'EHOSTDOWN', 'ENETDOWN']);
const NET_TIMEOUT = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** Network-level error → reason; undefined when it is not a network error. */
export function networkReason(err: unknown): 'unreachable' | 'timeout' | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (NET_UNREACHABLE.has(code)) return 'unreachable';
    if (NET_TIMEOUT.has(code)) return 'timeout';
  }
  const msg = err instanceof Error ? err.message : '';
  if (/socket hang up/i.test(msg)) return 'unreachable';
  return undefined;
}

/** Whether an HTTP answer is an authentication refusal (WS-Security: 400 + ter:NotAuthorized; HTTP digest: 401). */
export function isAuthRefusal(status: number | undefined, body: string | undefined): boolean {
  if (status === 401) return true;
  if (!body || status === undefined || status < 400) return false;
  return /NotAuthorized|Sender not Authori[sz]ed|not authori[sz]ed|Unauthori[sz]ed|FailedAuthentication|InvalidSecurity/i.test(body);
}
