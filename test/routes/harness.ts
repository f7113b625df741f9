/**
 * The real gateway built in the test process (`buildGateway`), for `app.inject` route tests: real
 * ledger in a temp DATA_DIR, real embedded broker on a port the kernel picks, no HTTP listener.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildGateway } from '../../gateway/app.js';
import { loadConfig } from '../../gateway/config.js';
import type { Role } from '../../gateway/contract/api.js';
import type { EmbeddedBroker } from '../../gateway/ingest/embedded-broker.js';
import type { Services } from '../../gateway/services.js';
import { makeTempDir } from '../support/procs.js';
import { registerMqttLogin } from '../support/mqtt.js';

export interface InProcessGateway {
  app: FastifyInstance;
  services: Services;
  /** mqtt://127.0.0.1:PORT of the embedded broker */
  mqttUrl: string;
  /** a token per role (accounts made through POST /api/users) */
  tokens: Record<Role, string>;
  /** `app.inject` with an optional bearer token; the body is parsed when it is JSON */
  call(method: InjectOptions['method'], url: string, opts?: { token?: string; body?: unknown }): Promise<Reply>;
  close(): Promise<void>;
}

export interface Reply {
  status: number;
  headers: LightMyRequestResponse['headers'];
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

export async function buildInProcess(env: Record<string, string> = {}): Promise<InProcessGateway> {
  // A test that restarts on the same DATA_DIR passes the password the first start stored.
  const adminPassword = env.GATEWAY_ADMIN_PASSWORD ?? randomBytes(12).toString('base64url');
  const config = loadConfig({
    DATA_DIR: await makeTempDir('gateway-inject-'),
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: '0',
    GATEWAY_ADMIN_PASSWORD: adminPassword,
    // No scheduled discovery and no multicast from a test.
    ONVIF_DISCOVERY_INTERVAL_SEC: '0',
    ONVIF_DISCOVERY_MULTICAST: 'false',
    ...env,
  });
  const { app, services } = await buildGateway(config, pino({ level: 'silent' }));
  await app.ready();

  const call: InProcessGateway['call'] = async (method, url, opts = {}) => {
    const res = await app.inject({
      method,
      url,
      headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
      ...(opts.body === undefined ? {} : { payload: opts.body as object }),
    });
    const json = /json/.test(String(res.headers['content-type'] ?? ''));
    return { status: res.statusCode, headers: res.headers, text: res.body, body: json && res.body ? JSON.parse(res.body) : undefined };
  };
  const login = async (user: string, password: string): Promise<string> => {
    const res = await call('POST', '/api/login', { body: { user, password } });
    if (res.status !== 200) throw new Error(`login ${user}: ${res.status} ${res.text}`);
    return res.body.token as string;
  };

  const tokens = { admin: await login('admin', adminPassword) } as Record<Role, string>;
  for (const role of ['viewer', 'maintenance', 'operator'] as const) {
    const password = randomBytes(12).toString('base64url');
    const res = await call('POST', '/api/users', { token: tokens.admin, body: { user: `${role}-1`, password, role } });
    if (res.status !== 201) throw new Error(`creating ${role}: ${res.status} ${res.text}`);
    tokens[role] = await login(`${role}-1`, password);
  }

  const mqttUrl = `mqtt://127.0.0.1:${(services.bus as EmbeddedBroker).port}`;
  const made = await call('POST', '/api/devices/credentials', { token: tokens.admin, body: {} });
  if (made.status !== 201) throw new Error(`provisioning device credentials: ${made.status} ${made.text}`);
  registerMqttLogin(mqttUrl, { devices: new Map(made.body.credentials.map((c: { device: string; password: string }) => [c.device, c.password])), tool: { username: 'admin', password: adminPassword } });

  return {
    app,
    services,
    mqttUrl,
    tokens,
    call,
    close: () => app.close(),
  };
}
