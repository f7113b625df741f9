/**
 * ONVIF camera simulator: library entry (`startOnvifSim`) and CLI.
 *
 *   node --import tsx scripts/onvif-sim/index.ts --cameras 50 --port 8000
 *       [--host 127.0.0.1] [--prefix cam-] [--user admin] [--password admin]
 *       [--discovery-port 3702] [--multicast] [--multicast-port 3702] [--no-discovery]
 *
 * Cameras answer on http://<host>:<port>/onvif/<id>/device_service. Controls, while it runs:
 *   curl -XPOST localhost:8000/_control/cam-0001 -d '{"down":true}'           # 'reset' | 'blackhole' | false
 *   curl -XPOST localhost:8000/_control/cam-0001 -d '{"delayMs":8000}'
 *   curl -XPOST localhost:8000/_control/cam-0001 -d '{"clockSkewMs":-90000}'
 *   curl -XPOST localhost:8000/_control/cam-0001 -d '{"password":"changed"}'
 *   curl -XPOST localhost:8000/_control/cam-0001 -d '{"event":"tns1:VideoSource/GlobalSceneChange/ImagingService"}'
 *   curl localhost:8000/_control            # totals;  /_control/cam-0001: one camera;  /_control/*: all
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { startOnvifSim } from './sim.js';

export { startOnvifSim } from './sim.js';
export type { OnvifSim, OnvifSimOptions, SimCameraSpec, SimEvent, ControlBody, CameraState, DownMode, SnapshotMode } from './sim.js';
export { tinyJpeg } from './jpeg.js';
export { endpointUrn } from './discovery.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cameras: { type: 'string', default: '50' },
      port: { type: 'string', default: '8000' },
      host: { type: 'string', default: '127.0.0.1' },
      prefix: { type: 'string', default: 'cam-' },
      user: { type: 'string', default: 'admin' },
      password: { type: 'string', default: 'admin' },
      'discovery-port': { type: 'string', default: '3702' },
      multicast: { type: 'boolean', default: false },
      'multicast-port': { type: 'string', default: '3702' },
      'no-discovery': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: node --import tsx scripts/onvif-sim/index.ts --cameras 50 --port 8000 [--multicast] [--discovery-port N]');
    return;
  }
  const cameras = Number(values.cameras);
  if (!Number.isInteger(cameras) || cameras < 1) throw new Error(`--cameras must be a positive integer, not "${values.cameras}"`);
  const sim = await startOnvifSim({
    cameras,
    host: values.host,
    port: Number(values.port),
    idPrefix: values.prefix,
    username: values.user,
    password: values.password,
    discovery: values['no-discovery']
      ? false
      : { port: Number(values['discovery-port']), multicast: values.multicast, multicastPort: Number(values['multicast-port']) },
    log: (m) => console.log(m),
  });
  console.log(`first camera: ${sim.deviceUrl(sim.cameraIds()[0])}  (credentials ${values.user} / ***)`);
  const stop = () => {
    void sim.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
