/**
 * The one file that imports the `onvif` package (agsh, pinned 0.8.3). Its callback API is wrapped
 * into promises with a hard deadline and a once-guard, its errors are classified into our
 * reasons, and the shapes its XML parser produces are turned into our types here, so nothing
 * else in the gateway depends on them.
 *
 * We never call `Cam#connect()`: it also runs GetVideoSources and `getActiveSources()`, which
 * throws on profile layouts it does not recognise. Each step below is one ONVIF operation.
 */
import { Cam } from 'onvif';
import type { Agents } from './soap-client.js';
import { ProbeError, isAuthRefusal, networkReason, normalizeTarget, type CameraEvent, type OnvifTarget } from './types.js';

export interface CamHandle {
  cam: Cam;
  /** The last raw answer (status, body), to tell an auth refusal from other faults. */
  last: { status?: number; xml?: string };
}

export function openCam(t: OnvifTarget, agents: Agents, timeoutMs: number): CamHandle {
  const { url, username, password } = normalizeTarget(t);
  const secure = url.protocol === 'https:';
  const cam = new Cam({
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(url.port) || (secure ? 443 : 80),
    path: url.pathname + url.search,
    username,
    password,
    timeout: timeoutMs,
    autoconnect: false,
    useSecure: secure,
    secureOpts: { rejectUnauthorized: false },
    agent: secure ? agents.https : agents.http,
    // Service addresses the camera reports are rewritten to the host:port we reach it on (NAT, port forwards).
    preserveAddress: true,
  });
  const h: CamHandle = { cam, last: {} };
  cam.on('rawResponse', (xml: string, status: number) => {
    h.last = { status, xml };
  });
  // The package emits 'warning' for odd devices; without a listener that is harmless, but keep it quiet and explicit.
  cam.on('warning', () => {});
  return h;
}

export function classify(err: unknown, last: CamHandle['last']): ProbeError {
  if (err instanceof ProbeError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (msg === 'Network timeout') return new ProbeError('timeout', 'no answer in time');
  const net = networkReason(err);
  if (net) {
    const code = (err as { code?: string }).code;
    return new ProbeError(net, `${code ? code + ': ' : ''}${msg}`);
  }
  if (isAuthRefusal(last.status, last.xml) || /Digest authentication failed|not authori[sz]ed/i.test(msg)) {
    return new ProbeError('auth', `credentials refused${last.status ? ` (HTTP ${last.status})` : ''}`);
  }
  return new ProbeError('protocol', (last.status && last.status >= 300 ? `HTTP ${last.status}: ` : '') + msg.slice(0, 300));
}

type Cb<T> = (err: Error | null, data?: T) => void;

/** Runs one `onvif` call with a deadline (our clock, ms); its per-request socket timeout is set to what is left. */
export function step<T>(h: CamHandle, deadlineMs: number, fn: (cb: Cb<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const remaining = deadlineMs - Date.now();
    if (remaining <= 0) return reject(new ProbeError('timeout', 'no answer before the deadline'));
    h.cam.timeout = Math.max(1, remaining);
    h.last = {};
    let done = false;
    const finish = (err: unknown, data?: T) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(classify(err, h.last));
      else resolve(data as T);
    };
    const timer = setTimeout(() => finish(new ProbeError('timeout', 'no answer before the deadline')), remaining + 100);
    try {
      fn((err, data) => finish(err, data));
    } catch (e) {
      finish(e);
    }
  });
}

/**
 * Tells the package the camera's clock (its `timeShift`), so that WS-Security's Created is in the
 * camera's time. We do not let the package find it out: when a device refuses the unauthenticated
 * GetSystemDateAndTime, 0.8.3 retries with a digest whose Created comes from `process.uptime()`
 * alone (a date in 1970), which any camera with replay protection refuses. The skew comes from our
 * liveness probe instead.
 */
export function setCameraClock(h: CamHandle, clockSkewMs: number): void {
  h.cam.timeShift = Date.now() + clockSkewMs - process.uptime() * 1000;
}

/** GetServices, falling back to GetCapabilities (as the package's connect does); fills `cam.uri`. */
export async function services(h: CamHandle, deadlineMs: number): Promise<void> {
  try {
    await step(h, deadlineMs, (cb) => h.cam.getServices(true, cb));
  } catch (e) {
    if (e instanceof ProbeError && e.reason !== 'protocol') throw e;
    await step(h, deadlineMs, (cb) => h.cam.getCapabilities(cb));
  }
}

export interface DeviceInfo {
  manufacturer: string;
  model: string;
  firmware: string;
  serial: string;
}

export async function deviceInformation(h: CamHandle, deadlineMs: number): Promise<DeviceInfo> {
  const d = await step<Record<string, unknown> | undefined>(h, deadlineMs, (cb) => h.cam.getDeviceInformation(cb));
  const s = (v: unknown) => (v === undefined || v === null ? '' : String(v));
  return { manufacturer: s(d?.manufacturer), model: s(d?.model), firmware: s(d?.firmwareVersion), serial: s(d?.serialNumber) };
}

export const hasMedia = (h: CamHandle) => Boolean(h.cam.uri?.media || h.cam.uri?.media2);
export const hasEvents = (h: CamHandle) => Boolean(h.cam.uri?.events);

export async function profileTokens(h: CamHandle, deadlineMs: number): Promise<string[]> {
  const profiles = await step<unknown[]>(h, deadlineMs, (cb) => h.cam.getProfiles(cb));
  return (Array.isArray(profiles) ? profiles : [])
    .map((p) => (p as { $?: { token?: unknown } })?.$?.token)
    .filter((t): t is string | number => t !== undefined && t !== null)
    .map(String);
}

export async function snapshotUri(h: CamHandle, deadlineMs: number, profileToken: string): Promise<string | undefined> {
  const r = await step<{ uri?: unknown } | undefined>(h, deadlineMs, (cb) => h.cam.getSnapshotUri({ profileToken }, cb));
  return typeof r?.uri === 'string' && r.uri ? r.uri : undefined;
}

// ---- PullPoint events -------------------------------------------------------------------------

/** Ms on our clock when the subscription ends, from a response's CurrentTime/TerminationTime (camera clock). */
function terminationOf(d: { currentTime?: unknown; terminationTime?: unknown } | undefined): number | undefined {
  const cur = d?.currentTime;
  const term = d?.terminationTime;
  if (cur instanceof Date && term instanceof Date && Number.isFinite(cur.getTime()) && Number.isFinite(term.getTime())) {
    return Date.now() + (term.getTime() - cur.getTime());
  }
  return undefined;
}

/**
 * CreatePullPointSubscription (InitialTerminationTime PT2M, fixed by the package). The long polls
 * that follow are addressed by the subscription's URL, for which the package does not use the
 * camera's agent; we attach ours to that address so that stopping can cut them.
 */
export async function createPullPoint(h: CamHandle, deadlineMs: number, agents: Agents): Promise<number> {
  const sub = await step<{ currentTime?: unknown; terminationTime?: unknown }>(h, deadlineMs, (cb) => h.cam.createPullPointSubscription(cb));
  const address = (h.cam.events.subscription as { subscriptionReference?: { address?: Record<string, unknown> } } | undefined)?.subscriptionReference?.address;
  if (!address || typeof address !== 'object') throw new ProbeError('protocol', 'CreatePullPointSubscription gave no subscription address');
  address.agent = address.protocol === 'https:' ? agents.https : agents.http;
  return terminationOf(sub) ?? Date.now() + 60_000;
}

/**
 * PullMessages: the package asks for a 1-minute wait (PT1M) and allows 80 s for the answer.
 * Returns the events and the subscription's new end (when the camera says).
 */
export async function pullMessages(h: CamHandle, messageLimit: number): Promise<{ events: CameraEvent[]; terminationMs?: number }> {
  const data = await step<Record<string, unknown> | undefined>(h, Date.now() + 90_000, (cb) => h.cam.pullMessages({ messageLimit }, cb));
  return { events: toCameraEvents(data, Date.now()), terminationMs: terminationOf(data) };
}

/** Renew (TerminationTime PT2M, fixed by the package). */
export async function renew(h: CamHandle, deadlineMs: number): Promise<number | undefined> {
  const d = await step<{ currentTime?: unknown; terminationTime?: unknown } | undefined>(h, deadlineMs, (cb) => h.cam.renew({}, cb));
  return terminationOf(d);
}

export async function unsubscribe(h: CamHandle, deadlineMs: number): Promise<void> {
  if (!h.cam.events.subscription) return;
  await step(h, deadlineMs, (cb) => h.cam.unsubscribe(cb, true));
}

const str = (v: unknown): string => (v instanceof Date ? v.toISOString() : v === undefined || v === null ? '' : String(v));
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

/** NotificationMessages as the package parses them → our events. */
export function toCameraEvents(data: Record<string, unknown> | undefined, atMs: number): CameraEvent[] {
  const out: CameraEvent[] = [];
  for (const m of asArray(data?.notificationMessage as unknown)) {
    const msg = m as { topic?: unknown; message?: { message?: Record<string, unknown> } };
    const topic = typeof msg.topic === 'string' ? msg.topic : str((msg.topic as { _?: unknown } | undefined)?._);
    if (!topic) continue;
    const inner = msg.message?.message;
    const items: Record<string, string> = {};
    const attrs = inner?.$ as Record<string, unknown> | undefined;
    for (const part of [inner?.source, inner?.data] as ({ simpleItem?: unknown } | undefined)[]) {
      for (const it of asArray(part?.simpleItem)) {
        const a = (it as { $?: { Name?: unknown; Value?: unknown } })?.$;
        if (a?.Name !== undefined) items[str(a.Name)] = str(a.Value);
      }
    }
    if (attrs?.UtcTime !== undefined) items.UtcTime = str(attrs.UtcTime);
    if (attrs?.PropertyOperation !== undefined) items.PropertyOperation = str(attrs.PropertyOperation);
    out.push({ topic: topic.trim(), atMs, data: items });
  }
  return out;
}
