/**
 * Just enough SOAP 1.2 for the simulator: read a request (first Body element, the WS-Security
 * UsernameToken, a few named fields) without an XML library, and write responses and faults with
 * the namespaces real ONVIF devices use.
 */
import crypto from 'node:crypto';

export const NS = {
  s: 'http://www.w3.org/2003/05/soap-envelope',
  a: 'http://www.w3.org/2005/08/addressing',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  xsd: 'http://www.w3.org/2001/XMLSchema',
  tt: 'http://www.onvif.org/ver10/schema',
  tds: 'http://www.onvif.org/ver10/device/wsdl',
  trt: 'http://www.onvif.org/ver10/media/wsdl',
  tev: 'http://www.onvif.org/ver10/events/wsdl',
  wsnt: 'http://docs.oasis-open.org/wsn/b-2',
  wstop: 'http://docs.oasis-open.org/wsn/t-1',
  wsrfrw: 'http://docs.oasis-open.org/wsrf/rw-2',
  tns1: 'http://www.onvif.org/ver10/topics',
  ter: 'http://www.onvif.org/ver10/error',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
} as const;

const NS_DECLS = Object.entries(NS)
  .map(([p, uri]) => `xmlns:${p === 'wsrfrw' ? 'wsrf-rw' : p}="${uri}"`)
  .join(' ');

export function envelope(body: string, header = ''): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<s:Envelope ${NS_DECLS}>` +
    (header ? `<s:Header>${header}</s:Header>` : '') +
    `<s:Body>${body}</s:Body></s:Envelope>`
  );
}

/** A SOAP 1.2 fault; `code` Sender maps to HTTP 400, Receiver to HTTP 500 (SOAP 1.2 HTTP binding). */
export function fault(code: 'Sender' | 'Receiver', subcode: string, reason: string, subsub?: string): string {
  const inner = subsub ? `<s:Subcode><s:Value>${subsub}</s:Value></s:Subcode>` : '';
  return envelope(
    `<s:Fault><s:Code><s:Value>s:${code}</s:Value><s:Subcode><s:Value>${subcode}</s:Value>${inner}</s:Subcode></s:Code>` +
      `<s:Reason><s:Text xml:lang="en">${escapeXml(reason)}</s:Text></s:Reason></s:Fault>`,
  );
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#(\d+)|#x([0-9a-fA-F]+));/g, (_, name: string, dec?: string, hex?: string) => {
    if (dec) return String.fromCodePoint(Number(dec));
    if (hex) return String.fromCodePoint(parseInt(hex, 16));
    return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[name]!;
  });
}

/** Text of the first element with this local name (any prefix) inside `xml`, or undefined. */
export function textOf(xml: string, local: string): string | undefined {
  const m = new RegExp(`<(?:[\\w.-]+:)?${local}(?:\\s[^>]*)?>([^<]*)</(?:[\\w.-]+:)?${local}\\s*>`).exec(xml);
  return m ? unescapeXml(m[1].trim()) : undefined;
}

export interface UsernameToken {
  username: string;
  password: string;
  digest: boolean;
  nonce?: string;
  created?: string;
}

export interface SoapRequest {
  /** Local name of the first element in the Body (the operation), '' when there is none. */
  action: string;
  header: string;
  body: string;
  token?: UsernameToken;
}

export function parseRequest(xml: string): SoapRequest | null {
  const bodyOpen = /<(?:[\w.-]+:)?Body(?:\s[^>]*)?>/.exec(xml);
  if (!bodyOpen || !/<(?:[\w.-]+:)?Envelope[\s>]/.test(xml)) return null;
  const body = xml.slice(bodyOpen.index + bodyOpen[0].length);
  const header = xml.slice(0, bodyOpen.index);
  const first = /<(?:[\w.-]+:)?([\w.-]+)[\s/>]/.exec(body);
  const action = first && !body.trimStart().startsWith('</') ? first[1] : '';
  let token: UsernameToken | undefined;
  const ut = /<(?:[\w.-]+:)?UsernameToken[\s>][\s\S]*?<\/(?:[\w.-]+:)?UsernameToken\s*>/.exec(header);
  if (ut) {
    const pw = /<(?:[\w.-]+:)?Password(\s[^>]*)?>([^<]*)</.exec(ut[0]);
    token = {
      username: textOf(ut[0], 'Username') ?? '',
      password: pw ? unescapeXml(pw[2].trim()) : '',
      // No Type attribute: the UsernameToken profile says PasswordText is the default.
      digest: /PasswordDigest/.test(pw?.[1] ?? ''),
      nonce: textOf(ut[0], 'Nonce'),
      created: textOf(ut[0], 'Created'),
    };
  }
  return { action, header, body, token };
}

/** WS-Security UsernameToken profile: PasswordDigest = Base64(SHA1(nonce + created + password)). */
export function passwordDigest(nonceB64: string, created: string, password: string): string {
  return crypto
    .createHash('sha1')
    .update(Buffer.concat([Buffer.from(nonceB64, 'base64'), Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')]))
    .digest('base64');
}

/** ISO 8601 duration (PnDTnHnMnS, the forms ONVIF clients send) → ms; undefined if it is not one. */
export function parseDuration(s: string): number | undefined {
  const m = /^(-)?P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(s.trim());
  if (!m || s.trim() === 'P' || s.trim() === 'PT') return undefined;
  const [, neg, d, h, min, sec] = m;
  const ms = ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Number(sec ?? 0) * 1000;
  return neg ? -ms : ms;
}

/** A duration or an absolute xs:dateTime (relative to `nowMs` on the same clock) → ms from now. */
export function parseTermination(s: string | undefined, nowMs: number): number | undefined {
  if (!s) return undefined;
  const d = parseDuration(s);
  if (d !== undefined) return d;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t - nowMs : undefined;
}
