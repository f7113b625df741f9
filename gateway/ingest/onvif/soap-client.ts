/**
 * A single SOAP 1.2 POST over node's http(s) with a keep-alive Agent and one hard deadline that
 * covers connect, request and the whole response. Used for the liveness probe, where we want the
 * exact round-trip time of one request and precise failure reasons (see docs/decisions/0002).
 */
import http from 'node:http';
import https from 'node:https';
import crypto from 'node:crypto';
import { ProbeError, networkReason } from './types.js';

export interface Agents {
  http: http.Agent;
  https: https.Agent;
}

export function createAgents(opts: { maxSockets?: number } = {}): Agents {
  const common = { keepAlive: true, keepAliveMsecs: 10_000, maxSockets: opts.maxSockets ?? Infinity, maxFreeSockets: opts.maxSockets ?? 256, scheduling: 'lifo' as const };
  return {
    http: new http.Agent(common),
    // Cameras almost always present self-signed certificates; the probe reads only the clock, and
    // WS-Security digests (nonce + created) are not replayable, so certificate checks are not enforced.
    https: new https.Agent({ ...common, rejectUnauthorized: false }),
  };
}

/** Process-wide agents for callers that do not bring their own. */
let shared: Agents | undefined;
export const sharedAgents = (): Agents => (shared ??= createAgents());

export interface SoapResponse {
  status: number;
  body: string;
  /** From just before the request was written to the end of the response. */
  rttMs: number;
  /** Our wall clock (ms) when the request was sent. */
  sentAtMs: number;
  /** The HTTP Date header (the device's clock, whole seconds), if any. */
  date?: string;
}

const MAX_RESPONSE = 1024 * 1024;

export function soapEnvelope(body: string, security = ''): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">' +
    (security ? `<s:Header>${security}</s:Header>` : '') +
    `<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">${body}</s:Body></s:Envelope>`
  );
}

/** WS-Security UsernameToken with PasswordDigest = Base64(SHA1(nonce + created + password)). */
export function usernameToken(username: string, password: string, createdMs = Date.now()): string {
  const nonce = crypto.randomBytes(16);
  const created = new Date(createdMs).toISOString();
  const digest = crypto
    .createHash('sha1')
    .update(Buffer.concat([nonce, Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')]))
    .digest('base64');
  const esc = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return (
    '<Security s:mustUnderstand="1" xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">' +
    `<UsernameToken><Username>${esc(username)}</Username>` +
    `<Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">${digest}</Password>` +
    `<Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${nonce.toString('base64')}</Nonce>` +
    `<Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">${created}</Created>` +
    '</UsernameToken></Security>'
  );
}

/**
 * POSTs `envelope` to `url`. Resolves with any HTTP answer (the caller judges the status); rejects
 * with a ProbeError('timeout' | 'unreachable') when there is none before `deadlineMs` (our clock).
 * A request that fails on a reused keep-alive socket (the camera closed it while idle) is retried
 * once on a fresh connection, as node's docs advise.
 */
export function soapPost(url: URL, envelope: string, action: string, agents: Agents, deadlineMs: number): Promise<SoapResponse> {
  const attempt = (retried: boolean): Promise<SoapResponse> =>
    new Promise<SoapResponse>((resolve, reject) => {
      const remaining = deadlineMs - Date.now();
      if (remaining <= 0) return reject(new ProbeError('timeout', 'no answer before the deadline'));
      const isHttps = url.protocol === 'https:';
      const payload = Buffer.from(envelope, 'utf8');
      let settled = false;
      const sentAtMs = Date.now();
      const t0 = performance.now();
      const req = (isHttps ? https : http).request(
        url,
        {
          method: 'POST',
          agent: isHttps ? agents.https : agents.http,
          headers: {
            'Content-Type': `application/soap+xml; charset=utf-8; action="${action}"`,
            'Content-Length': payload.length,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE) {
              finish(new ProbeError('protocol', `response larger than ${MAX_RESPONSE} bytes`));
              req.destroy();
            } else chunks.push(c);
          });
          res.on('end', () =>
            finish(undefined, {
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              rttMs: performance.now() - t0,
              sentAtMs,
              date: res.headers.date,
            }),
          );
          res.on('error', (e) => finish(e));
          res.on('close', () => {
            if (!res.complete) finish(new ProbeError('unreachable', 'connection closed in the middle of the response'));
          });
        },
      );
      const timer = setTimeout(() => {
        finish(new ProbeError('timeout', `no answer within ${Math.round(deadlineMs - sentAtMs)} ms`, performance.now() - t0));
        req.destroy();
      }, remaining);
      const finish = (err?: unknown, value?: SoapResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!err) return resolve(value!);
        if (err instanceof ProbeError) return reject(err);
        const reason = networkReason(err);
        if (!retried && req.reusedSocket && reason === 'unreachable') {
          attempt(true).then(resolve, reject);
          return;
        }
        const code = (err as { code?: string }).code;
        const msg = `${code ? code + ': ' : ''}${err instanceof Error ? err.message : String(err)}`;
        reject(new ProbeError(reason ?? 'unreachable', msg, performance.now() - t0));
      };
      req.on('error', (e) => finish(e));
      req.end(payload);
    });
  return attempt(false);
}

/** Reason text of a SOAP fault, if the body is one. */
export function faultText(body: string): string | undefined {
  if (!/<(?:[\w.-]+:)?Fault[\s>]/.test(body)) return undefined;
  const sub = /<(?:[\w.-]+:)?Subcode>\s*<(?:[\w.-]+:)?Value>([^<]+)</.exec(body)?.[1]?.trim();
  const text = /<(?:[\w.-]+:)?Text[^>]*>([^<]*)</.exec(body)?.[1]?.trim();
  return [sub, text].filter(Boolean).join(' — ') || 'SOAP fault';
}
