/**
 * A camera's snapshot URI (ONVIF Media GetSnapshotUri of its first profile), for the pictures
 * taken when an alarm is raised (alarm-linked video, 报警联动). The same steps as the details
 * probe, without the device information: the camera's clock (WS-Security's Created must be in the
 * camera's time), GetServices, GetProfiles, GetSnapshotUri, all within one budget.
 */
import { hasMedia, openCam, profileTokens, services, setCameraClock, snapshotUri } from './cam.js';
import { probeLiveness } from './liveness.js';
import { sharedAgents, type Agents } from './soap-client.js';
import { ProbeError, type FailureReason, type OnvifTarget } from './types.js';

export type SnapshotUriOutcome = { ok: true; uri: string } | { ok: false; reason: FailureReason | 'unsupported'; message: string };

export async function fetchSnapshotUri(t: OnvifTarget, timeoutMs: number, opts: { agents?: Agents } = {}): Promise<SnapshotUriOutcome> {
  const agents = opts.agents ?? sharedAgents();
  const deadline = Date.now() + timeoutMs;
  try {
    const live = await probeLiveness(t, timeoutMs, { agents });
    if (!live.ok) return { ok: false, reason: live.reason, message: live.message };
    const h = openCam(t, agents, Math.max(1, deadline - Date.now()));
    if (!h.cam.username || !h.cam.password) return { ok: false, reason: 'auth', message: 'no ONVIF credentials configured for this camera' };
    setCameraClock(h, live.clockSkewMs);
    await services(h, deadline);
    if (!hasMedia(h)) return { ok: false, reason: 'unsupported', message: 'the camera has no ONVIF media service' };
    const [profile] = await profileTokens(h, deadline);
    if (!profile) return { ok: false, reason: 'unsupported', message: 'the camera has no media profile' };
    const uri = await snapshotUri(h, deadline, profile);
    if (!uri) return { ok: false, reason: 'unsupported', message: 'the camera gives no snapshot URI' };
    return { ok: true, uri };
  } catch (e) {
    if (e instanceof ProbeError) return { ok: false, reason: e.reason, message: e.message };
    return { ok: false, reason: 'protocol', message: e instanceof Error ? e.message.slice(0, 300) : String(e) };
  }
}
