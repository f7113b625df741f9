import { Type, type Static, type TLiteral, type TUnion } from '@sinclair/typebox';

/** Contract §intro: ids (`schoolId`, `deviceId`) match this pattern. */
export const ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
export const ID_RE = new RegExp(ID_PATTERN);
export const Id = Type.String({ pattern: ID_PATTERN });

/** A time on the wire: ISO-8601 with offset, or epoch milliseconds. Checked further by `parseWireTime`. */
export const WireTime = Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Number()]);
export type WireTime = Static<typeof WireTime>;

/** ISO-8601 with an explicit offset (`Z` or `±hh:mm`); a bare local time is ambiguous and refused. */
const ISO_WITH_OFFSET =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

// Epoch ms accepted: 2000-01-01 .. 2100-01-01. Anything outside is almost surely seconds or garbage.
const MIN_EPOCH_MS = 946_684_800_000;
const MAX_EPOCH_MS = 4_102_444_800_000;

/** Parses a wire time to epoch ms, or returns a reason it is not a valid time. */
export function parseWireTime(value: unknown): { ok: true; ms: number } | { ok: false; reason: string } {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || !Number.isInteger(value)) return { ok: false, reason: 'ts must be an integer of epoch milliseconds' };
    if (value < MIN_EPOCH_MS || value > MAX_EPOCH_MS)
      return { ok: false, reason: `ts ${value} is outside 2000..2100 as epoch milliseconds (seconds sent instead of ms?)` };
    return { ok: true, ms: value };
  }
  if (typeof value === 'string') {
    const m = ISO_WITH_OFFSET.exec(value);
    if (!m) return { ok: false, reason: `ts "${value.slice(0, 40)}" is not ISO-8601 with an offset (e.g. 2026-03-01T07:45:12.345+08:00)` };
    const [, y, mo, d, h, mi, s] = m;
    const month = Number(mo), day = Number(d), hour = Number(h), minute = Number(mi), second = Number(s ?? '0');
    const daysInMonth = new Date(Date.UTC(Number(y), month, 0)).getUTCDate();
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59)
      return { ok: false, reason: `ts "${value}" is not a real date and time` };
    const ms = Date.parse(value);
    if (!Number.isFinite(ms)) return { ok: false, reason: `ts "${value}" is not a real date and time` };
    return { ok: true, ms };
  }
  return { ok: false, reason: 'ts must be an ISO-8601 string or epoch milliseconds' };
}

export const iso = (ms: number): string => new Date(ms).toISOString();

export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });
export type ErrorBody = Static<typeof ErrorBody>;

/** A union of string literals whose static type stays the literal union (not `string`). */
export const lit = <const T extends readonly string[]>(values: T): TUnion<TLiteral<T[number]>[]> =>
  Type.Union(values.map((v) => Type.Literal(v))) as unknown as TUnion<TLiteral<T[number]>[]>;
