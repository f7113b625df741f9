/**
 * Cameras: the gateway's own ONVIF watcher (probes, credentials, PullPoint tamper events,
 * WS-Discovery) feeding camera reports into the devices module's projection, and the camera uptime
 * report computed from the recorded transitions.
 *
 * Several gateways on one PostgreSQL ledger (decision 0009) split the cameras: each renews its
 * membership every few seconds (membershipTiming) and watches the cameras that rendezvous
 * hashing gives it among the live members; a gateway that dies stops renewing, and once its
 * membership is over the others take its cameras. Liveness itself is shared (the devices module), so a camera moved mid-window is
 * judged on the probes of both.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { CameraPayload } from '../../contract/mqtt.js';
import { parseWireTime } from '../../contract/common.js';
import type { GatewayModule, ModuleContext } from '../../core/module.js';
import { onvifTargets, startCameraWatch } from '../../ingest/camera-watch.js';
import type { CameraWatcher } from '../../ingest/onvif/index.js';
import type { DevicesModule } from '../devices/index.js';
import { shareOf } from '../../core/rendezvous.js';
import type { OnvifTarget } from '../../ingest/onvif/index.js';
import { onvifRoutes } from './discovery-routes.js';
import { uptimeRoutes } from './routes.js';

/**
 * How often a gateway renews its membership, and how long one that stopped renewing keeps its
 * cameras: the cameras of a dead gateway must be probed again well inside their liveness window
 * (missed probes × interval), or they would be judged offline while nobody looks. Taken over after
 * at most TTL + one renewal + the first probe's spread; a tenth of the window per renewal, at most
 * 5 s (the default 3 × 30 s window: renewal 5 s, TTL 15 s).
 */
export function membershipTiming(livenessWindowMs: number): { renewMs: number; ttlMs: number } {
  const renewMs = Math.min(5_000, Math.max(500, Math.round(livenessWindowMs / 10)));
  return { renewMs, ttlMs: 3 * renewMs };
}

export interface CamerasModule extends GatewayModule {
  /** The snapshot URI the watcher's last details probe of the camera found, if any. */
  snapshotUri(camera: string): string | undefined;
}

export function camerasModule(ctx: ModuleContext): CamerasModule {
  const devices = ctx.module<DevicesModule>('devices');
  const { registry, config, dispatcher } = ctx;
  let watcher: CameraWatcher | undefined;
  const snapshotUris = new Map<string, string>();
  // Read at build time, so a bad credentials file stops the gateway at start.
  const targets = onvifTargets(registry, config.onvif.credentials);

  const deliver = (school: string, device: string, payload: CameraPayload) => {
    const now = ctx.now();
    const ts = parseWireTime(payload.ts);
    dispatcher.submit({ type: 'camera', school, device, atMs: ts.ok ? ts.ms : now, receivedAtMs: now, data: payload });
  };

  const routes: FastifyPluginAsync = async (app) => {
    await app.register(uptimeRoutes);
    await app.register(onvifRoutes);
  };

  const watch = (share: OnvifTarget[]) =>
    startCameraWatch({
      registry,
      targets: share,
      ...config.onvif,
      log: ctx.log,
      deliver,
      failed: (device, payload) => devices.failed(device, payload),
      verdictAfterFailures: config.missedHeartbeats,
      alive: (device, atMs) => devices.alive(device, atMs),
      snapshotUri: (device, uri) => void snapshotUris.set(device, uri),
    });

  const { store } = ctx;
  const timing = membershipTiming(config.missedHeartbeats * config.onvif.probeIntervalSec * 1000);
  let renewTimer: NodeJS.Timeout | undefined;
  let mine = '';
  let renewing = false;
  /** Takes this gateway's share of the cameras among the live members (replicas only). */
  const rebalance = async () => {
    // A slow database: one renewal at a time, the next tick tries again.
    if (renewing) return;
    renewing = true;
    let members: { me: string; live: string[] };
    try {
      members = await store.renewMembership!(timing.ttlMs);
    } finally {
      renewing = false;
    }
    const { me, live } = members;
    const share = shareOf(targets.map((t) => t.id), live, me);
    const key = share.join('\n');
    if (key === mine) return;
    mine = key;
    const ids = new Set(share);
    const next = targets.filter((t) => ids.has(t.id));
    ctx.log.info({ cameras: next.length, of: targets.length, gateways: live.length }, 'ONVIF cameras split among the gateways');
    if (watcher) watcher.setTargets(next);
    else watcher = watch(next);
    ctx.metrics.onvifCamerasWatched.set(next.length);
  };

  return {
    name: 'cameras',
    dependsOn: ['devices'],
    async start() {
      if (targets.length === 0) return;
      if (!store.renewMembership) {
        watcher = watch(targets);
        ctx.metrics.onvifCamerasWatched.set(targets.length);
        return;
      }
      // A database out of reach at start: watch nothing yet rather than every camera twice; the timer tries again.
      await rebalance().catch((err: Error) => ctx.log.warn({ err: err.message }, 'ONVIF cameras: cannot renew membership; trying again'));
      renewTimer = setInterval(() => void rebalance().catch((err: Error) => ctx.log.warn({ err: err.message }, 'ONVIF cameras: cannot renew membership; keeping the cameras watched')), timing.renewMs);
      renewTimer.unref();
    },
    async stop() {
      clearInterval(renewTimer);
      await watcher?.stop();
      // The others take these cameras at their next renewal, not after the TTL.
      await store.leaveMembership?.().catch(() => undefined);
    },
    routes,
    snapshotUri: (camera) => snapshotUris.get(camera),
  };
}
