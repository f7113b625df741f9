/**
 * Node-RED 4 as a same-run peer (issue 13): the flow an integrator would draw for a wall screen —
 * `mqtt in` (QoS 1, the bench broker) → `websocket out` (a listener path) — storing nothing.
 *
 * Node-RED is not a dependency of the project: the bench installs `node-red@4` on first use into
 * `node_modules/.cache/bench-node-red` (skipped when present) and reports the peer as unavailable
 * when that install fails. Each start gets a fresh user directory with a generated flows.json and
 * settings.js (loopback only, no editor or admin API: `httpAdminRoot: false`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { REPO_ROOT } from '../../test/support/gateway.js';
import { isRunning, makeTempDir, stopChild, track } from '../../test/support/procs.js';

export const NODE_RED_CACHE = path.join(REPO_ROOT, 'node_modules', '.cache', 'bench-node-red');
const PKG = path.join(NODE_RED_CACHE, 'node_modules', 'node-red', 'package.json');

/** red.js of an installed Node-RED 4 (installing it first if need be), or why there is none. */
export function ensureNodeRed(log: (msg: string) => void): { redJs: string; version: string } | { unavailable: string } {
  const installed = (): { redJs: string; version: string } | undefined => {
    if (!existsSync(PKG)) return undefined;
    const version = (JSON.parse(readFileSync(PKG, 'utf8')) as { version: string }).version;
    return version.startsWith('4.') ? { redJs: path.join(path.dirname(PKG), 'red.js'), version } : undefined;
  };
  const have = installed();
  if (have) return have;
  log(`  installing node-red@4 into ${path.relative(REPO_ROOT, NODE_RED_CACHE)} (not a project dependency)…`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const res = spawnSync(npm, ['install', '--prefix', NODE_RED_CACHE, 'node-red@4', '--no-audit', '--no-fund', '--no-save', '--loglevel=error'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 600_000,
  });
  const after = installed();
  if (after) return after;
  const why = res.error?.message ?? (res.stderr || res.stdout || `npm exited ${res.status}`).trim().split('\n').slice(-3).join(' ');
  return { unavailable: `node-red@4 could not be installed: ${why.slice(0, 300)}` };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface NodeRedPeer {
  /** ws://127.0.0.1:<port>/screens: the `websocket out` listener */
  wsUrl: string;
  pid: number;
  logs(): string;
  stop(): Promise<void>;
}

/** The generated flow: one broker config, `mqtt in` on `filter` at `qos`, `websocket out` on /screens. */
export function benchFlow(o: { host: string; port: number; clientId: string; filter: string; qos: 0 | 1 }): object[] {
  return [
    { id: 'bench_tab', type: 'tab', label: 'bench drain' },
    {
      id: 'bench_broker',
      type: 'mqtt-broker',
      name: 'bench mosquitto',
      broker: o.host,
      port: String(o.port),
      clientid: o.clientId,
      autoConnect: true,
      usetls: false,
      protocolVersion: '4',
      keepalive: '60',
      cleansession: true,
      autoUnsubscribe: true,
    },
    { id: 'bench_ws', type: 'websocket-listener', path: '/screens', wholemsg: 'false' },
    // datatype utf8: the payload is passed on as the device sent it (no JSON parse and re-stringify).
    { id: 'bench_in', type: 'mqtt in', z: 'bench_tab', name: 'alarms', topic: o.filter, qos: String(o.qos), datatype: 'utf8', broker: 'bench_broker', nl: false, rap: true, rh: 0, inputs: 0, x: 100, y: 100, wires: [['bench_out']] },
    { id: 'bench_out', type: 'websocket out', z: 'bench_tab', name: 'screens', server: 'bench_ws', client: '', x: 300, y: 100, wires: [] },
  ];
}

/** Starts Node-RED with the bench flow; resolves once its WebSocket listener answers. */
export async function startNodeRed(redJs: string, o: { brokerUrl: string; clientId: string; filter: string; qos: 0 | 1 }): Promise<NodeRedPeer> {
  const broker = new URL(o.brokerUrl);
  const userDir = await makeTempDir('bench-node-red-');
  const port = await freePort();
  const flowFile = path.join(userDir, 'flows.json');
  writeFileSync(flowFile, JSON.stringify(benchFlow({ host: broker.hostname, port: Number(broker.port || 1883), clientId: o.clientId, filter: o.filter, qos: o.qos }), null, 2));
  const settings = path.join(userDir, 'settings.js');
  writeFileSync(
    settings,
    `module.exports = ${JSON.stringify(
      {
        uiHost: '127.0.0.1',
        uiPort: port,
        userDir,
        flowFile,
        httpAdminRoot: false,
        httpNodeRoot: '/',
        credentialSecret: false,
        disableEditor: true,
        logging: { console: { level: 'warn', metrics: false, audit: false } },
        telemetry: { enabled: false },
        diagnostics: { enabled: false },
        runtimeState: { enabled: false },
        externalModules: { autoInstall: false, palette: { allowInstall: false } },
      },
      null,
      2,
    )};\n`,
  );
  const child = spawn(process.execPath, [redJs, '--settings', settings, '--userDir', userDir, flowFile], {
    cwd: userDir,
    env: { ...process.env, NODE_OPTIONS: '', NODE_RED_ENABLE_PROJECTS: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const wsUrl = `ws://127.0.0.1:${port}/screens`;
  const peer: NodeRedPeer = {
    wsUrl,
    pid: child.pid!,
    logs: () => out,
    async stop() {
      if (isRunning(child)) await stopChild(child, 'SIGTERM', 5000).catch(() => undefined);
    },
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (!isRunning(child)) throw new Error(`Node-RED exited while starting:\n${out.slice(-2000)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const ws = new WebSocket(wsUrl);
      ws.once('open', () => (ws.close(), resolve(true)));
      ws.once('error', () => resolve(false));
    });
    if (ok) return peer;
    if (Date.now() > deadline) {
      await peer.stop();
      throw new Error(`Node-RED did not open ${wsUrl} within 60 s:\n${out.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
