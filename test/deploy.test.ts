/**
 * deploy/region (issue #14): the region's compose file and its nginx, checked as far as this machine
 * allows. No Docker engine and no EMQX here, so the compose file is checked as text (it parses,
 * names only files that exist or that the README's steps make, pins its images, publishes only
 * nginx and MQTT, gives each gateway its own broker login); the nginx config is run for real
 * (Debian's nginx, when installed) in front of two real gateways on one Mosquitto and one
 * PostgreSQL, with only its addresses, port and pid path swapped.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { api, login, REPO_ROOT, startGateway, type GatewayProc } from './support/gateway.js';
import { startMosquitto, type Mosquitto } from './support/mosquitto.js';
import { connectDevice, type MqttClient } from './support/mqtt.js';
import { startPostgres, type Postgres } from './support/postgres.js';
import { freePort } from './support/ports.js';
import { makeTempDir, OutputBuffer, stopChild, track } from './support/procs.js';
import { openLive, type LiveClient } from './support/ws.js';
import { waitFor } from './support/wait.js';
import { declaration } from '../gateway/config/variables.js';
import { EMQX_FILES } from '../scripts/broker-config/emqx.js';
import { loadRegistry } from '../gateway/registry.js';

const DIR = path.join(REPO_ROOT, 'deploy/region');
const compose = parse(fs.readFileSync(path.join(DIR, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, { image?: string; build?: { context: string }; ports?: string[]; volumes?: string[]; environment?: Record<string, string>; secrets?: string[]; command?: string[] }>;
  secrets: Record<string, { file: string }>;
  volumes: Record<string, unknown>;
};
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));
/** Made by the README's steps, never committed: the broker files and the secrets. */
const GENERATED = new Set([...[EMQX_FILES.usersCsv, EMQX_FILES.acl, 'gateway.password'].map((f) => `./broker/${f}`), './broker', './secrets/pg_password', './secrets/gateway_admin_password']);

test('compose.yaml: parses; every file it names exists or is made by the steps; images pinned', () => {
  const services = compose.services;
  assert.deepEqual(Object.keys(services).sort(), ['emqx1', 'emqx2', 'emqx3', 'gateway-a', 'gateway-b', 'lb', 'postgres']);
  const named: string[] = [];
  for (const [name, s] of Object.entries(services)) {
    for (const v of s.volumes ?? []) {
      const source = v.split(':')[0];
      if (source.startsWith('.')) named.push(source);
      else assert.ok(source in compose.volumes, `${name}: volume ${source} is declared`);
    }
    if (s.build) assert.ok(fs.existsSync(path.join(DIR, s.build.context, 'Dockerfile')), `${name}: build context has the Dockerfile`);
    // A tag, and not `latest`: the same file gives the same images.
    if (s.image && !s.build) assert.match(s.image, /^[\w./-]+:(?!latest$)[\w.-]+$/, `${name}: image ${s.image} pinned by tag`);
    for (const secret of s.secrets ?? []) assert.ok(secret in compose.secrets, `${name}: secret ${secret} declared`);
  }
  for (const { file } of Object.values(compose.secrets)) named.push(file);
  for (const f of named) {
    if (GENERATED.has(f)) continue;
    assert.ok(fs.existsSync(path.join(DIR, f)), `${f} exists`);
  }
  // The generated ones are the names broker-config writes (and the steps' secrets are ignored by git).
  assert.ok(named.includes(`./broker/${EMQX_FILES.usersCsv}`) && named.includes(`./broker/${EMQX_FILES.acl}`));
  const ignore = fs.readFileSync(path.join(DIR, '.gitignore'), 'utf8');
  for (const p of ['broker/', 'secrets/', '.env']) assert.ok(ignore.split('\n').includes(p), `.gitignore has ${p}`);
});

test('compose.yaml: only nginx and device MQTT published; gateways: own login, one group, one store, one /data', () => {
  const published = Object.entries(compose.services).flatMap(([name, s]) => (s.ports ?? []).map((p) => `${name} ${p}`));
  assert.deepEqual(published.sort(), ['emqx1 1883:1883', 'lb 8080:8080']);
  const gws = ['gateway-a', 'gateway-b'].map((n) => compose.services[n]);
  for (const g of gws) {
    const env = g.environment!;
    // Every variable is one the gateway reads (a misspelt name would be silently ignored).
    for (const k of Object.keys(env)) assert.ok(declaration(k), `${k} is a gateway variable`);
    // use_username_as_clientid: the session's client id is the login.
    assert.equal(env.MQTT_CLIENT_ID, env.MQTT_USERNAME);
    assert.match(env.STORE_URL, /^postgres:\/\/[^:@]+@/, 'no password in STORE_URL');
    assert.ok(g.volumes!.includes('gateway-data:/data'), 'the shared /data: token-secret and users.json');
    assert.ok(g.command!.join(' ').includes('/run/secrets/pg_password'));
  }
  const [a, b] = gws.map((g) => g.environment!);
  assert.notEqual(a.MQTT_CLIENT_ID, b.MQTT_CLIENT_ID);
  assert.equal(a.MQTT_SHARED_GROUP, b.MQTT_SHARED_GROUP);
  assert.ok(a.MQTT_SHARED_GROUP);
  assert.equal(a.STORE_URL, b.STORE_URL);
  const seeds = compose.services.emqx1.environment!.EMQX_CLUSTER__STATIC__SEEDS;
  for (const n of [1, 2, 3]) {
    assert.equal(compose.services[`emqx${n}`].environment!.EMQX_NODE__NAME, `emqx@node${n}.emqx.region`);
    assert.ok(seeds.includes(`emqx@node${n}.emqx.region`));
  }
});

/** deploy/region/nginx.conf with the test's addresses: the rest of the file as written. */
function nginxConf(dir: string, port: number, upstreams: [number, number]): string {
  let conf = fs.readFileSync(path.join(DIR, 'nginx.conf'), 'utf8');
  const swap = (from: string, to: string) => {
    assert.ok(conf.includes(from), `nginx.conf has "${from}"`);
    conf = conf.replace(from, to);
  };
  swap('pid /tmp/nginx.pid;', `pid ${dir}/nginx.pid;`);
  swap('access_log /var/log/nginx/access.log region;', `access_log ${dir}/access.log region;`);
  swap('listen 8080;', `listen 127.0.0.1:${port};`);
  swap('server gateway-a:8080', `server 127.0.0.1:${upstreams[0]}`);
  swap('server gateway-b:8080', `server 127.0.0.1:${upstreams[1]}`);
  // Workers run as nobody when nginx starts as root: temp files in a dir it may write.
  swap('http {', `http {\n  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;`);
  const file = path.join(dir, 'nginx.conf');
  fs.writeFileSync(file, conf);
  return file;
}

test('nginx.conf: nginx -t accepts it', { skip: NGINX ? false : 'nginx not installed (apt-get install nginx)' }, async () => {
  const dir = await makeTempDir('nginx-t-');
  const r = spawnSync(NGINX!, ['-t', '-p', dir, '-c', nginxConf(dir, 8080, [8081, 8082])], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

let db: Postgres | undefined;
let broker: Mosquitto | undefined;
before(async () => {
  if (!NGINX) return;
  db = await startPostgres();
  broker = await startMosquitto();
});
after(async () => {
  await broker?.stop();
  await db?.stop();
});

test(
  'nginx in front of two real gateways: login, /health and a /live socket through it stay on one gateway; a token from one works on the other; the other takes over',
  { skip: NGINX ? false : 'nginx not installed' },
  async () => {
    const url = await db!.createDatabase();
    // One data dir for both, as the compose file's one /data volume: the token secret and users.json.
    const dataDir = await makeTempDir('region-data-');
    const group = `region-${Date.now()}`;
    const start = (name: string, extra: Record<string, string> = {}) =>
      startGateway({ startTimeoutMs: 90_000, mqttUrl: broker!.url, dataDir, env: { STORE_URL: url, MQTT_SHARED_GROUP: group, MQTT_CLIENT_ID: `region-${name}-${Date.now()}`, ...extra } });
    const a = await start('a');
    // B after A (compose: depends_on gateway-a healthy); A made the admin, B's password is not used.
    const b = await start('b');
    const gws: GatewayProc[] = [a, b];
    const dir = await makeTempDir('nginx-');
    const port = await freePort();
    const out = new OutputBuffer();
    const nginx: ChildProcess = track(spawn(NGINX!, ['-p', dir, '-c', nginxConf(dir, port, [a.port, b.port]), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    out.attach(nginx);
    const lb = `http://127.0.0.1:${port}`;
    let screen: LiveClient | undefined;
    let device: MqttClient | undefined;
    try {
      await waitFor('nginx answers', async () => (await fetch(`${lb}/health`).catch(() => undefined))?.status === 200, { timeoutMs: 10_000, intervalMs: 100 });
      const token = await login(lb, 'admin', a.adminPassword);
      // The token is signed with the shared secret: the gateway that did not make it accepts it.
      for (const g of gws) assert.equal((await api(g.url, token, 'GET', '/api/alarms?limit=1')).status, 200, `token accepted by ${g.url}`);

      screen = await openLive(lb, token);
      await screen.next((f) => f.type === 'snapshot', 20_000);
      const prefix = `lb-${Date.now()}-`;
      const registry = loadRegistry(path.join(REPO_ROOT, 'config/county.json'));
      const button = [...registry.devices.values()].find((d) => d.kind === 'alarm_button')!;
      device = await connectDevice(broker!.url, { clientId: `dev-lb-${Date.now()}` });
      for (let i = 0; i < 6; i++)
        await device.publishAsync(`campus/v1/${button.school}/${button.id}/alarm`, JSON.stringify({ id: `${prefix}${i}`, ts: Date.now(), kind: 'panic' }), { qos: 1 });
      await waitFor('the alarms reach the screen through nginx', () => screen!.frames.filter((f) => f.type === 'alarm' && String(f.data.sourceId).startsWith(prefix) && f.data.state === 'raised').length === 6, {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      assert.equal((await fetch(`${lb}/health`)).status, 200);

      // nginx logs the WebSocket when it ends.
      await screen.close();
      // Sticky: everything this client sent went to one gateway (the log's upstream address).
      const log = () => (fs.existsSync(path.join(dir, 'access.log')) ? fs.readFileSync(path.join(dir, 'access.log'), 'utf8') : '');
      const upstreams = () => [...log().matchAll(/"(?:GET|POST) [^"]*" \d+ \d+ [\d.]+ "([^"]+)"/g)].map((m) => m[1]);
      await waitFor('nginx logs the /live socket (a 101)', () => log().includes('"GET /live" 101'), { timeoutMs: 5_000, intervalMs: 100 });
      const used = new Set(upstreams());
      assert.equal(used.size, 1, `one gateway for one client: ${[...used].join(', ')}`);
      assert.ok(!log().includes(token), 'no token in the access log');
      assert.ok(used.size === 1 && upstreams().length >= 4, 'login, /health and /live all logged');

      // The sticky gateway stops: nginx sends the client to the other, the same token still works.
      const sticky = gws.find((g) => used.has(`127.0.0.1:${g.port}`))!;
      const other = gws.find((g) => g !== sticky)!;
      await sticky.stop();
      assert.equal((await fetch(`${lb}/health`)).status, 200);
      assert.equal((await api(lb, token, 'GET', '/api/alarms?limit=1')).status, 200);
      assert.match(log(), new RegExp(`127\\.0\\.0\\.1:${other.port}"\\s*$`), 'the last request was answered by the other gateway ($upstream_addr ends with it)');
    } catch (err) {
      console.error('--- nginx ---\n' + out.tail(4000));
      throw err;
    } finally {
      await screen?.close();
      await device?.endAsync();
      await stopChild(nginx);
      for (const g of gws) await g.stop();
    }
  },
);
