/**
 * The slower, authenticated probe, run less often than liveness: are our credentials still valid
 * (GetDeviceInformation), what does the camera say it is, its media profiles and snapshot URI.
 * Done with the `onvif` package (see cam.ts), one ONVIF operation per step, all within one budget;
 * the camera's clock comes from our own GetSystemDateAndTime (liveness.ts).
 */
import { sharedAgents, type Agents } from './soap-client.js';
import { deviceInformation, hasMedia, openCam, profileTokens, services, setCameraClock, snapshotUri } from './cam.js';
import { probeLiveness } from './liveness.js';
import { ProbeError, type DetailsOutcome, type OnvifTarget } from './types.js';

/**
 * `timeoutMs` is the budget for the whole sequence (5 requests on a healthy camera). Pass
 * `clockSkewMs` from a liveness probe just made to save its GetSystemDateAndTime.
 */
export async function probeDetails(t: OnvifTarget, timeoutMs: number, opts: { agents?: Agents; clockSkewMs?: number } = {}): Promise<DetailsOutcome> {
  const agents = opts.agents ?? sharedAgents();
  const deadline = Date.now() + timeoutMs;
  try {
    const h = openCam(t, agents, timeoutMs);
    if (!h.cam.username || !h.cam.password) return { ok: false, reason: 'auth', message: 'no credentials configured for this camera' };
    // The camera's clock first: WS-Security's Created must be in the camera's time.
    let skew = opts.clockSkewMs;
    if (skew === undefined) {
      const live = await probeLiveness(t, timeoutMs, { agents });
      if (!live.ok) return { ok: false, reason: live.reason, message: live.message };
      skew = live.clockSkewMs;
    }
    setCameraClock(h, skew);
    const info = await deviceInformation(h, deadline);
    let profiles: string[] = [];
    let snap: string | undefined;
    try {
      await services(h, deadline);
      if (hasMedia(h)) {
        profiles = await profileTokens(h, deadline);
        if (profiles[0]) snap = await snapshotUri(h, deadline, profiles[0]).catch((e: unknown) => {
          if (e instanceof ProbeError && (e.reason === 'protocol' || e.reason === 'auth')) return undefined; // optional feature
          throw e;
        });
      }
    } catch (e) {
      // Device information came back, so the credentials work: a media service that misbehaves is
      // reported as a protocol problem only when the camera has stopped answering altogether.
      if (!(e instanceof ProbeError) || e.reason === 'unreachable' || e.reason === 'timeout') throw e;
    }
    return { ok: true, ...info, profiles, ...(snap ? { snapshotUri: snap } : {}) };
  } catch (e) {
    if (e instanceof ProbeError) return { ok: false, reason: e.reason, message: e.message };
    return { ok: false, reason: 'protocol', message: e instanceof Error ? e.message : String(e) };
  }
}
