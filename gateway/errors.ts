import { parseWireTime } from './contract/common.js';

/** HTTP errors with codes (contract §3: `{"error": code, "message": words}`). */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/**
 * A time given in a query string (`since=`, `until=`): ISO-8601 with an offset, or epoch
 * milliseconds as digits. Undefined stays undefined; anything else is a 400 naming the parameter.
 */
export function queryTime(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const t = parseWireTime(/^\d+$/.test(value) ? Number(value) : value);
  if (!t.ok) throw new HttpError(400, 'bad_request', `${name}: ${t.reason.replace(/^ts/, 'value')}`);
  return t.ms;
}
