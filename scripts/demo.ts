/**
 * `npm run demo`: the gateway on its embedded defaults plus a simulated county, so the wall
 * screen is alive within seconds. Uses its own throwaway data directory (`./data-demo`, wiped at
 * every start), so it may print fixed demo credentials; `npm start` never does.
 *
 * The gateway runs as its own process (gateway/server.ts is the only thing that listens), the
 * simulator in this one, speaking only MQTT like real devices. Before the simulator starts, the
 * seed (`scripts/seed.ts`) gives the county 30 days of history through the gateway's real inputs
 * (guards and inspections over HTTP, device messages with past timestamps over MQTT), so the
 * 6 × 100% rates and the month's daily verdicts are meaningful at once; `DEMO_HISTORY_DAYS=0`
 * skips it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDashboard } from './build-dashboard.js';
import { startSimulator } from './simulate.js';
import { seedHistory } from './seed.js';
import { loadRegistry } from '../gateway/registry.js';
import { loadPolicy } from '../gateway/policy.js';
import { startOnvifSim } from './onvif-sim/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DATA_DIR = path.resolve(process.env.DATA_DIR ?? path.join(ROOT, 'data-demo'));
const HTTP_PORT = Number(process.env.GATEWAY_PORT ?? 8080);
const MQTT_PORT = Number(process.env.MQTT_PORT ?? 1883);
const USERS = [
  { user: 'admin', password: 'demo-admin', role: 'admin' },
  { user: 'operator', password: 'demo-operator', role: 'operator' },
  { user: 'maint', password: 'demo-maint', role: 'maintenance' },
  { user: 'viewer', password: 'demo-viewer', role: 'viewer' },
] as const;

async function main(): Promise<void> {
  const started = Date.now();
  if (!process.env.DATA_DIR) fs.rmSync(DATA_DIR, { recursive: true, force: true });
  await buildDashboard(path.join(ROOT, 'dist', 'dashboard'));

  // A share of the county's campus cameras answer real ONVIF from the camera simulator; the
  // gateway probes them itself (the rest report through the MQTT simulator, as via an edge NVR).
  const county = JSON.parse(fs.readFileSync(path.join(ROOT, 'config', 'county.json'), 'utf8'));
  const onvifCams = county.schools.slice(0, 6).flatMap((s: { devices: { id: string; kind: string; zone?: string; onvif?: string }[] }) =>
    s.devices.filter((d) => d.kind === 'camera' && d.zone === 'campus'),
  );
  // Snapshots behind HTTP Digest, as real cameras keep them: the alarm-linked pictures answer it.
  const cameraSim = await startOnvifSim({ cameras: onvifCams.map((d: { id: string }) => ({ id: d.id })), username: 'admin', password: 'demo-camera', snapshotAuth: 'digest', discovery: { port: 0 } });
  for (const d of onvifCams) d.onvif = cameraSim.deviceUrl(d.id);
  fs.mkdirSync(DATA_DIR, { recursive: true });
  const registryFile = path.join(DATA_DIR, 'county-with-onvif.json');
  fs.writeFileSync(registryFile, JSON.stringify(county));

  const gateway = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'gateway', 'server.ts')], {
    cwd: ROOT,
    stdio: 'inherit',
    env: {
      ...process.env,
      DATA_DIR,
      GATEWAY_PORT: String(HTTP_PORT),
      MQTT_PORT: String(MQTT_PORT),
      GATEWAY_ADMIN_PASSWORD: USERS[0].password,
      // The canteen simulator acts over HTTP with the admin's login of the start: let it outlast a day's demo.
      TOKEN_TTL_SEC: process.env.TOKEN_TTL_SEC ?? String(7 * 86_400),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      REGISTRY: process.env.REGISTRY ?? registryFile,
      ONVIF_USERNAME: 'admin',
      ONVIF_PASSWORD: 'demo-camera',
      ONVIF_DISCOVERY_UNICAST: `127.0.0.1:${cameraSim.discoveryPort}`,
      ONVIF_DISCOVERY_MULTICAST: 'false',
    },
  });
  const gatewayExited = new Promise<number>((resolve) => gateway.on('exit', (code) => resolve(code ?? 1)));
  const base = `http://127.0.0.1:${HTTP_PORT}`;
  if (!(await waitHealthy(base, gatewayExited))) {
    process.stderr.write('demo: the gateway did not start (see above)\n');
    process.exit(1);
  }

  const token = await post(base, '/api/login', { user: USERS[0].user, password: USERS[0].password }).then((r) => r.token as string);
  for (const u of USERS.slice(1)) await post(base, '/api/users', u, token);

  const mqttUrl = process.env.MQTT_URL ?? `mqtt://127.0.0.1:${MQTT_PORT}`;
  // Contract §6: every simulated device logs in as itself, with a throwaway secret made at each start.
  const made = (await post(base, '/api/devices/credentials', {}, token)) as { credentials?: { device: string; password: string }[] };
  const credentials = new Map((made.credentials ?? []).map((c) => [c.device, c.password]));
  const registry = loadRegistry(process.env.REGISTRY ?? registryFile);
  const policy = loadPolicy(process.env.POLICY ?? path.join(ROOT, 'config', 'policy.json'), registry, { unknownSchools: 'ignore' });
  // One vendor platform (TrustIVS-style) reports one township's canteen cameras over HTTP: its key, made as an admin does.
  const vendorKey = (await post(base, '/api/vendors/trustivs/key', {}, token)).key as string;
  const historyDays = Number(process.env.DEMO_HISTORY_DAYS ?? 30);
  const untilMs = Date.now();
  let seeded = '';
  if (historyDays > 0) {
    const log = (line: string) => process.stdout.write(`${line}\n`);
    log(`demo   seeding ${historyDays} days of history …`);
    const seed = await seedHistory({ base, token, mqttUrl, credentials, registry, policy, days: historyDays, untilMs, log, vendorKey });
    seeded = `  History:      ${historyDays} days seeded through HTTP and MQTT (${seed.published} device messages, ${seed.http} requests) in ${(seed.tookMs / 1000).toFixed(1)} s; planned failures: npm run simulate -- --help`;
  }
  const sim = await startSimulator({ url: mqttUrl, credentials, registry, policy, planFromMs: untilMs, alarmEverySec: 60, aiEverySec: 0, canteen: { base, token, vendorKey }, flapEverySec: 60, gates: true, checkins: true, uplinkEverySec: 180, testEverySec: 90, quiet: true });

  process.stdout.write(
    [
      '',
      '  安稳应急指挥中心 · 校园安全网关 — demo',
      `  Wall screen:  http://localhost:${HTTP_PORT}`,
      `  MQTT broker:  ${mqttUrl}  (embedded)`,
      `  Data:         ${DATA_DIR}  (throwaway)`,
      '  Demo users:   ' + USERS.map((u) => `${u.user} / ${u.password} (${u.role})`).join(', '),
      `  Simulating ${sim.stats.schools} schools, ${sim.stats.devices} devices over MQTT, each logged in with its own secret; ${onvifCams.length} cameras answer ONVIF at ${cameraSim.baseUrl}`,
      `  (take one down: curl -XPOST ${cameraSim.baseUrl}/_control/${onvifCams[0].id} -d '{"down":true}'). Ctrl-C to stop.`,
      ...(seeded ? [seeded] : []),
      `  Up in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
      '',
    ].join('\n') + '\n',
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await sim.stop();
    gateway.kill('SIGTERM');
    const code = await gatewayExited;
    await cameraSim.close();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  void gatewayExited.then((code) => {
    if (!stopping) {
      process.stderr.write(`demo: the gateway exited (${code})\n`);
      void sim.stop().then(() => process.exit(code || 1));
    }
  });
}

async function waitHealthy(base: string, exited: Promise<number>): Promise<boolean> {
  let dead = false;
  void exited.then(() => (dead = true));
  for (let i = 0; i < 300 && !dead; i++) {
    try {
      if ((await fetch(`${base}/health`)).status === 200) return true;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function post(base: string, route: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  const res = await fetch(base + route, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

await main();
