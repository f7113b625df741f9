/**
 * Cameras: the gateway's own ONVIF watcher (probes, credentials, PullPoint tamper events,
 * WS-Discovery) feeding camera reports into the devices module's projection, and the camera uptime
 * report computed from the recorded transitions.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { CameraPayload } from '../../contract/mqtt.js';
import { parseWireTime } from '../../contract/common.js';
import type { GatewayModule, ModuleContext } from '../../core/module.js';
import { onvifTargets, startCameraWatch } from '../../ingest/camera-watch.js';
import type { CameraWatcher } from '../../ingest/onvif/index.js';
import type { DevicesModule } from '../devices/index.js';
import { onvifRoutes } from './discovery-routes.js';
import { uptimeRoutes } from './routes.js';

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

  return {
    name: 'cameras',
    dependsOn: ['devices'],
    start() {
      watcher = startCameraWatch({
        registry,
        targets,
        ...config.onvif,
        log: ctx.log,
        deliver,
        failed: (device, payload) => devices.failed(device, payload),
        verdictAfterFailures: config.missedHeartbeats,
        alive: (device, atMs) => devices.alive(device, atMs),
        snapshotUri: (device, uri) => void snapshotUris.set(device, uri),
      });
    },
    async stop() {
      await watcher?.stop();
    },
    routes,
    snapshotUri: (camera) => snapshotUris.get(camera),
  };
}
