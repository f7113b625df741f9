/**
 * What every vendor adapter shares (contract §8, `POST /api/push/{vendor}`): the result type, the
 * refusals a vendor can act on, and the parsing of times and snapshots. Pure: no HTTP here (the
 * route authenticates the vendor's key and stores the snapshot); an adapter maps one JSON body to
 * the same `ai` event an MQTT camera sends, or says exactly what was wrong.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';
import type { TSchema } from '@sinclair/typebox';
import { parseWireTime } from '../../contract/common.js';
import type { AiPayload } from '../../contract/mqtt.js';
import { sniff, type MediaType } from '../../store/media.js';

/** A snapshot pushed inline is at most this big (decoded); a vendor's full-frame JPEG is 100–500 KiB. */
export const MAX_SNAPSHOT_BYTES = 2 * 1024 * 1024;

export const VENDOR_REFUSALS = [
  'bad_payload', 'unknown_school', 'unknown_channel', 'unknown_stream', 'camera_not_in_school', 'not_a_camera',
  'unknown_event_type', 'bad_time', 'snapshot_not_base64', 'snapshot_not_image', 'snapshot_too_large', 'snapshot_bad_url',
] as const;
export type VendorRefusalCode = (typeof VENDOR_REFUSALS)[number];

/** The `ai` event, as the MQTT ingest would produce it, plus the snapshot the push carried. */
export interface VendorAi {
  school: string;
  device: string;
  /** The dedupe key with (device, `ai`): the vendor's record id, prefixed by the vendor. */
  sourceId: string;
  /** When it happened, by the vendor's clock. */
  atMs: number;
  data: AiPayload;
  snapshot?: { bytes: Buffer; type: MediaType };
}

export type VendorResult = { ok: true; event: VendorAi } | { ok: false; code: VendorRefusalCode; reason: string };
export const refuse = (code: VendorRefusalCode, reason: string): VendorResult => ({ ok: false, code, reason });

export interface VendorOptions {
  /** The county's offset from UTC in ms (policy `utcOffset`): vendors send local times without one. */
  offsetMs: number;
  /** Decoded inline snapshots over this are refused. Default MAX_SNAPSHOT_BYTES. */
  maxSnapshotBytes?: number;
  /** Where a vendor's relative snapshot paths live (`https://ivs.example.cn`); absent: a path is refused. */
  mediaBaseUrl?: string;
}

/** A schema check whose refusal names the field: `bad_payload: channelNo: …`. */
export function shapeChecker<T>(schema: TSchema): (body: unknown) => { ok: true; value: T } | { ok: false; reason: string } {
  const check = TypeCompiler.Compile(schema);
  return (body) => {
    if (check.Check(body)) return { ok: true, value: body as T };
    const e = check.Errors(body).First()!;
    const field = e.path.replace(/^\//, '') || 'body';
    if (e.type === ValueErrorType.ObjectRequiredProperty || (e.value === undefined && field !== 'body'))
      return { ok: false, reason: `${field}: required field is missing` };
    const got = e.value === undefined ? '' : ` (got ${JSON.stringify(e.value)?.slice(0, 60)})`;
    return { ok: false, reason: `${field}: ${e.message.toLowerCase()}${got}` };
  };
}

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/;

/**
 * A vendor's time: ISO-8601 with an offset, a local `yyyy-MM-dd HH:mm:ss[.SSS]` in the county's
 * offset (what Chinese platforms send), epoch milliseconds, or epoch seconds (a number under 10^11,
 * i.e. before the year 5138 in seconds but 1973 in ms), as a number or a string of digits.
 */
export function parseVendorTime(value: unknown, offsetMs: number, field: string): { ok: true; ms: number } | { ok: false; reason: string } {
  let v = value;
  if (typeof v === 'string' && /^\d{9,13}$/.test(v)) v = Number(v);
  if (typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 1e11) v = v * 1000;
  if (typeof v === 'string') {
    const m = LOCAL.exec(v);
    if (m) {
      const [, y, mo, d, h, mi, s, ms] = m;
      const utc = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s, Number((ms ?? '0').padEnd(3, '0')));
      const back = new Date(utc);
      if (back.getUTCFullYear() !== +y || back.getUTCMonth() !== +mo - 1 || back.getUTCDate() !== +d || +h > 23 || +mi > 59 || +s > 59)
        return { ok: false, reason: `${field} "${v}" is not a real date and time` };
      v = utc - offsetMs;
    }
  }
  const t = parseWireTime(v);
  if (t.ok) return t;
  return { ok: false, reason: `${field}: ${t.reason.replace(/^ts /, '').replace(/^ts must/, 'must')} (or yyyy-MM-dd HH:mm:ss, local time)` };
}

/** An inline snapshot: strict base64 (a `data:image/…;base64,` prefix allowed), a JPEG or PNG by its bytes, not over the limit. */
export function decodeSnapshot(text: string, maxBytes: number, field: string): { ok: true; bytes: Buffer; type: MediaType } | VendorResult {
  const body = text.replace(/^data:image\/[a-z]+;base64,/, '').replace(/\s+/g, '');
  if (body.length > Math.ceil(maxBytes / 3) * 4 + 4)
    return refuse('snapshot_too_large', `${field}: the snapshot is over ${Math.round(maxBytes / 1024)} KiB (about ${Math.round((body.length * 3) / 4 / 1024)} KiB sent)`);
  if (body.length === 0 || body.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(body)) return refuse('snapshot_not_base64', `${field}: the snapshot is not base64`);
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length > maxBytes) return refuse('snapshot_too_large', `${field}: the snapshot is ${Math.round(bytes.length / 1024)} KiB, over ${Math.round(maxBytes / 1024)} KiB`);
  const type = sniff(bytes);
  if (!type) return refuse('snapshot_not_image', `${field}: the snapshot is not a JPEG or PNG (its first bytes are ${bytes.subarray(0, 4).toString('hex') || 'empty'})`);
  return { ok: true, bytes, type };
}

/** A snapshot address the gateway fetches once (with a timeout and a size limit): http(s) only; a path is resolved against the vendor's base. */
export function snapshotAddress(text: string, base: string | undefined, field: string): { ok: true; url: string } | VendorResult {
  let url: URL;
  try {
    url = /^[a-z][a-z0-9+.-]*:/i.test(text) ? new URL(text) : base ? new URL(text, base) : (() => { throw new Error('relative'); })();
  } catch {
    return refuse('snapshot_bad_url', base || /^[a-z][a-z0-9+.-]*:/i.test(text) ? `${field}: "${text.slice(0, 80)}" is not a URL` : `${field}: "${text.slice(0, 80)}" is a path, and no media base URL is configured for this vendor`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return refuse('snapshot_bad_url', `${field}: only http and https snapshots are fetched, not ${url.protocol}`);
  if (url.href.length > 2048) return refuse('snapshot_bad_url', `${field}: the URL is over 2048 characters`);
  return { ok: true, url: url.href };
}
