// The real gateway as a child process (`node --import tsx gateway/server.ts`), on free ports,
// with a fresh data dir. Tests talk to it over HTTP, WebSocket and MQTT like everyone else.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { fetchTrusting, type Fetch } from './https.js';
import { freePort } from './ports.js';
import { mqttLoginFor, registerMqttLogin } from './mqtt.js';
import { OutputBuffer, isRunning, makeTempDir, stopChild, track } from './procs.js';
import { startPostgres, type Postgres } from './postgres.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface GatewayOptions {
  /** extra environment, applied last (may override anything below) */
  env?: Record<string, string>;
  /** reuse a data dir (default: a fresh temp dir) */
  dataDir?: string;
  /** an external broker: sets MQTT_URL, and no embedded broker is started */
  mqttUrl?: string;
  /**
   * When start()/restart() resolve: 'ok' (default) once GET /health answers 200;
   * 'listening' once it answers at all (e.g. 503 while an external broker is down).
   */
  ready?: 'ok' | 'listening';
  /** how long to wait for readiness (default 30 s) */
  startTimeoutMs?: number;
  /** the gateway serves HTTPS (env has TLS_CERT_FILE/TLS_KEY_FILE) with a certificate this CA signed */
  tls?: { ca: string | Buffer };
}

export interface GatewayProc {
  /** http://127.0.0.1:PORT (https:// with `tls`) */
  url: string;
  /** fetch that reaches `url` (trusting the test CA with `tls`); pass it to api() and login() */
  fetch: Fetch;
  port: number;
  /** the embedded broker's mqtt://127.0.0.1:MQTT_PORT, or the external one */
  mqttUrl: string;
  adminPassword: string;
  dataDir: string;
  /** the current child process (a new one after restart()) */
  readonly proc: ChildProcess;
  /** everything the gateway wrote to stdout/stderr, across restarts */
  logs(): string;
  /** SIGTERM and wait for the exit; SIGKILL and throw if it takes over 20 s */
  stop(): Promise<void>;
  kill9(): Promise<void>;
  /** stop (if running), then start again with the same data dir, ports and env */
  restart(): Promise<void>;
}

// Inherited settings that would make a test talk to someone else's broker, database or files.
const SCRUBBED_ENV = [
  'GATEWAY_PORT',
  'GATEWAY_HOST',
  'MQTT_URL',
  'MQTT_PORT',
  'MQTT_TOPIC_PREFIX',
  'MQTT_USERNAME',
  'MQTT_PASSWORD_FILE',
  'DATA_DIR',
  'STORE_URL',
  'REGISTRY',
  'INFLUX_URL',
  'INFLUX_TOKEN',
  'INFLUX_ORG',
  'INFLUX_BUCKET',
  'GATEWAY_ADMIN_PASSWORD',
  'LOG_LEVEL',
  'TLS_CERT_FILE',
  'TLS_KEY_FILE',
  'TLS_CA_FILE',
  'MQTT_TLS_PORT',
  'MQTT_PLAIN',
  'MQTT_CA_FILE',
  'NODE_TEST_CONTEXT', // set by `node --test` for the file under test, not for grandchildren
];

export async function startGateway(opts: GatewayOptions = {}): Promise<GatewayProc> {
  const extra = opts.env ?? {};
  const port = extra.GATEWAY_PORT ? Number(extra.GATEWAY_PORT) : await freePort();
  const external = opts.mqttUrl ?? extra.MQTT_URL;
  const mqttPort = external ? undefined : extra.MQTT_PORT ? Number(extra.MQTT_PORT) : await freePort();
  const dataDir = opts.dataDir ?? extra.DATA_DIR ?? (await makeTempDir('gateway-data-'));
  const adminPassword = extra.GATEWAY_ADMIN_PASSWORD ?? randomBytes(12).toString('base64url');

  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of SCRUBBED_ENV) delete env[key];
  Object.assign(env, {
    GATEWAY_PORT: String(port),
    GATEWAY_HOST: '127.0.0.1', // tests need no outside access
    DATA_DIR: dataDir,
    GATEWAY_ADMIN_PASSWORD: adminPassword,
    LOG_LEVEL: 'warn',
  });
  if (external) env.MQTT_URL = external;
  else env.MQTT_PORT = String(mqttPort);
  // TEST_STORE=postgres: every gateway a test starts keeps its ledger in PostgreSQL (one throwaway
  // cluster per test process, one database per data dir), to run any suite on that store.
  if (process.env.TEST_STORE === 'postgres' && extra.STORE_URL === undefined) env.STORE_URL = await databaseFor(dataDir);
  Object.assign(env, extra);

  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const get: Fetch = opts.tls ? fetchTrusting(opts.tls.ca) : fetch;
  const output = new OutputBuffer();
  const readyStatus = opts.ready ?? 'ok';
  const timeoutMs = opts.startTimeoutMs ?? 30_000;
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const c = spawn(process.execPath, ['--import', 'tsx', 'gateway/server.ts'], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    track(c);
    output.attach(c);
    c.once('exit', (code, signal) => output.append(`\n[test harness] gateway exited: ${code ?? signal}\n`));
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    for (;;) {
      if (!isRunning(c)) {
        throw new Error(`gateway exited (${c.exitCode ?? c.signalCode}) before it was ready\n--- gateway output ---\n${output.tail(8000)}`);
      }
      try {
        const res = await get(`${url}/health`, { signal: AbortSignal.timeout(2000) });
        const body = await res.text();
        last = `${res.status} ${body.slice(0, 500)}`;
        if (res.status === 200 || readyStatus === 'listening') return;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline) {
        await stopChild(c, 'SIGKILL');
        throw new Error(
          `gateway not ready within ${timeoutMs} ms (last /health: ${last})\n--- gateway output ---\n${output.tail(8000)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  await launch();
  // Contract §6: no anonymous device. Every device of the registry gets its own secret, and the
  // MQTT helpers (support/mqtt.ts) log in as the device a topic names, and as `admin` to read.
  if (!external && readyStatus === 'ok') await provisionMqtt(url, `mqtt://127.0.0.1:${mqttPort}`, adminPassword, get);

  const gw: GatewayProc = {
    url,
    fetch: get,
    port,
    mqttUrl: external ?? `mqtt://127.0.0.1:${mqttPort}`,
    adminPassword,
    dataDir,
    get proc(): ChildProcess {
      return child!;
    },
    logs: () => output.toString(),
    async stop() {
      if (!child) return;
      const graceful = await stopChild(child, 'SIGTERM', 20_000);
      if (!graceful) throw new Error(`gateway did not exit within 20 s of SIGTERM (killed)\n${output.tail(8000)}`);
    },
    async kill9() {
      if (child) await stopChild(child, 'SIGKILL');
    },
    async restart() {
      await gw.stop();
      await launch();
    },
  };
  return gw;
}

let sharedPostgres: Promise<Postgres> | undefined;
const databases = new Map<string, Promise<string>>();

/** The database of a data dir (the same one when a test starts a new gateway on an old data dir). */
function databaseFor(dataDir: string): Promise<string> {
  let url = databases.get(dataDir);
  if (!url) {
    sharedPostgres ??= startPostgres();
    url = sharedPostgres.then((pg) => pg.createDatabase());
    databases.set(dataDir, url);
  }
  return url;
}

/** Makes (or, on a restarted gateway, keeps) every device's MQTT secret and registers them for `connectDevice(mqttUrl)`. */
export async function provisionMqtt(url: string, mqttUrl: string, adminPassword: string, get: Fetch = fetch): Promise<void> {
  if (mqttLoginFor(mqttUrl)) return;
  const token = await login(url, 'admin', adminPassword, get);
  const res = await api<{ credentials: { device: string; password: string }[] }>(url, token, 'POST', '/api/devices/credentials', {}, get);
  if (res.status !== 201) throw new Error(`provisioning device credentials: ${res.status} ${JSON.stringify(res.body)}`);
  registerMqttLogin(mqttUrl, { devices: new Map(res.body.credentials.map((c) => [c.device, c.password])), tool: { username: 'admin', password: adminPassword } });
}

/** POST /api/login; returns the token (throws with status and body otherwise). */
export async function login(url: string, user: string, password: string, get: Fetch = fetch): Promise<string> {
  const res = await get(`${url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, password }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`login as ${user}: ${res.status} ${text}`);
  const body = JSON.parse(text) as { token?: unknown };
  if (typeof body.token !== 'string') throw new Error(`login as ${user}: no token in ${text}`);
  return body.token;
}

export interface ApiResponse<T = any> {
  status: number;
  /** parsed JSON when the response is JSON, else the text ('' when empty) */
  body: T;
  headers: Headers;
}

/** One HTTP call with `Authorization: Bearer token` (omitted when token is empty); body is sent as JSON. */
export async function api<T = any>(
  url: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  get: Fetch = fetch,
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await get(new URL(path, url), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const isJson = (res.headers.get('content-type') ?? '').includes('json');
  let parsed: unknown = text;
  if (isJson && text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}
