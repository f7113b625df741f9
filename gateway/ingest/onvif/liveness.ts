/**
 * The liveness probe: one unauthenticated GetSystemDateAndTime (ONVIF Core: PRE_AUTH, answered
 * without credentials), which proves the device's web service is up and gives its clock.
 *
 * Clock skew = camera UTC − our clock at the moment the camera read its clock, estimated as the
 * send time + RTT/2. ONVIF's DateTime carries whole seconds, so the camera's true time lies in
 * [T, T + 1 s): we take the middle (T + 500 ms); resolution is therefore ±0.5 s plus RTT/2.
 *
 * Some devices (seen on Panasonic and others) refuse it without credentials; then, if we have
 * credentials, it is retried once with a WS-Security digest, its Created taken from the refusal's
 * HTTP Date header (the camera's clock). A refusal that remains is `reason: 'auth'` — the camera
 * answered, so it is up.
 */
import { faultText, soapEnvelope, sharedAgents, soapPost, usernameToken, type Agents } from './soap-client.js';
import { ProbeError, isAuthRefusal, normalizeTarget, type OnvifTarget, type ProbeOutcome } from './types.js';

const ACTION = 'http://www.onvif.org/ver10/device/wsdl/GetSystemDateAndTime';
const BODY = '<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/>';

function num(block: string, local: string): number | undefined {
  const m = new RegExp(`<(?:[\\w.-]+:)?${local}>\\s*(-?\\d+)\\s*<`).exec(block);
  return m ? Number(m[1]) : undefined;
}

function block(xml: string, local: string): string | undefined {
  const m = new RegExp(`<(?:[\\w.-]+:)?${local}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[\\w.-]+:)?${local}>`).exec(xml);
  return m?.[1];
}

function dateTimeMs(b: string): number | undefined {
  const time = block(b, 'Time');
  const date = block(b, 'Date');
  if (!time || !date) return undefined;
  const [Y, M, D, h, m, s] = [num(date, 'Year'), num(date, 'Month'), num(date, 'Day'), num(time, 'Hour'), num(time, 'Minute'), num(time, 'Second')];
  if ([Y, M, D, h, m, s].some((v) => v === undefined)) return undefined;
  const ms = Date.UTC(Y!, M! - 1, D!, h!, m!, s!);
  return Number.isFinite(ms) ? ms : undefined;
}

/** POSIX TZ ("CST-8", "EST5EDT", "UTC0") → offset of local time from UTC in ms (ignoring DST rules). */
function posixTzOffsetMs(tz: string | undefined): number {
  const m = tz ? /^[A-Za-z<>+\-0-9]*?[A-Za-z>]([+-]?)(\d{1,2})(?::(\d{2}))?/.exec(tz.trim()) : null;
  if (!m) return 0;
  const mins = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return (m[1] === '-' ? 1 : -1) * mins * 60_000; // POSIX sign is inverted: CST-8 is UTC+8
}

/** Camera UTC (whole seconds) from a GetSystemDateAndTimeResponse, or undefined. */
export function parseSystemDateAndTime(xml: string): number | undefined {
  const sdt = block(xml, 'SystemDateAndTime');
  if (!sdt) return undefined;
  const utc = block(sdt, 'UTCDateTime');
  if (utc) return dateTimeMs(utc);
  const local = block(sdt, 'LocalDateTime');
  if (!local) return undefined;
  const ms = dateTimeMs(local);
  return ms === undefined ? undefined : ms - posixTzOffsetMs(block(sdt, 'TZ'));
}

export async function probeLiveness(t: OnvifTarget, timeoutMs: number, opts: { agents?: Agents } = {}): Promise<ProbeOutcome> {
  const agents = opts.agents ?? sharedAgents();
  const deadline = Date.now() + timeoutMs;
  let lastRtt: number | undefined;
  try {
    const { url, username, password } = normalizeTarget(t);
    let res = await soapPost(url, soapEnvelope(BODY), ACTION, agents, deadline);
    lastRtt = res.rttMs;
    if (isAuthRefusal(res.status, res.body)) {
      if (!username || !password) {
        return { ok: false, reason: 'auth', message: `GetSystemDateAndTime needs credentials (HTTP ${res.status}) and none are configured`, rttMs: res.rttMs };
      }
      // WS-Security's Created must be in the camera's time, which we do not know yet: take it from
      // the refusal's HTTP Date header when there is one (cameras with replay protection check it).
      const httpDate = res.date ? Date.parse(res.date) : NaN;
      // (The header was written about RTT/2 after we sent; it has whole seconds, hence + 500.)
      const created = Number.isFinite(httpDate) ? httpDate + 500 + (Date.now() - (res.sentAtMs + res.rttMs / 2)) : Date.now();
      res = await soapPost(url, soapEnvelope(BODY, usernameToken(username, password, created)), ACTION, agents, deadline);
      lastRtt = res.rttMs;
      if (isAuthRefusal(res.status, res.body)) {
        return { ok: false, reason: 'auth', message: `credentials refused (HTTP ${res.status}${faultText(res.body) ? ': ' + faultText(res.body) : ''})`, rttMs: res.rttMs };
      }
    }
    if (res.status < 200 || res.status >= 300) {
      const f = faultText(res.body);
      return { ok: false, reason: 'protocol', message: `HTTP ${res.status}${f ? ': ' + f : ''}`.slice(0, 500), rttMs: res.rttMs };
    }
    const camMs = parseSystemDateAndTime(res.body);
    if (camMs === undefined) {
      return { ok: false, reason: 'protocol', message: 'answer is not a GetSystemDateAndTimeResponse with a date and time', rttMs: res.rttMs };
    }
    const clockSkewMs = Math.round(camMs + 500 - (res.sentAtMs + res.rttMs / 2));
    return { ok: true, rttMs: Math.round(res.rttMs * 10) / 10, clockSkewMs };
  } catch (e) {
    if (e instanceof ProbeError) {
      const rttMs = e.rttMs ?? lastRtt;
      return { ok: false, reason: e.reason, message: e.message, ...(rttMs !== undefined && e.reason !== 'timeout' ? { rttMs: Math.round(rttMs * 10) / 10 } : {}) };
    }
    return { ok: false, reason: 'protocol', message: e instanceof Error ? e.message : String(e) };
  }
}
