/**
 * TLS (contract §5, §6), against the real gateway process and a real Mosquitto, with certificates
 * made by `openssl` for this run: HTTPS (and wss) on GATEWAY_PORT, mqtts on MQTT_TLS_PORT with
 * passwords or device client certificates (CN = device id, signed by TLS_CA_FILE), the 64 KiB
 * guard on mqtts, MQTT_PLAIN=false, an external broker over mqtts:// with MQTT_CA_FILE, and
 * start-up faults that name the file. Each check is one that fails if its protection is missing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { REPO_ROOT, api, login, startGateway, type GatewayProc } from '../support/gateway.js';
import { fetchTrusting } from '../support/https.js';
import { MOSQUITTO_BIN } from '../support/mosquitto.js';
import { mqttLoginFor } from '../support/mqtt.js';
import { freePort, waitForTcp } from '../support/ports.js';
import { OutputBuffer, isRunning, makeTempDir, stopChild, track } from '../support/procs.js';
import { waitFor } from '../support/wait.js';

const A = { school: 'S001', device: 'S001-AB01' };
const B = { school: 'S002', device: 'S002-AB01' };

interface Pki {
  dir: string;
  ca: Buffer;
  server: { cert: string; key: string };
  /** Signed by the CA: CN = A.device, CN = B.device. */
  clientA: { cert: Buffer; key: Buffer };
  clientB: { cert: Buffer; key: Buffer };
  /** Self-signed, CN = A.device: not from the CA. */
  rogueA: { cert: Buffer; key: Buffer };
  /** Another CA, for a broker the gateway must not trust. */
  otherCa: Buffer;
}

const openssl = (dir: string, ...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

/** A CA, a server certificate for 127.0.0.1/localhost, device certificates and a rogue one (EC P-256: quick to make). */
async function makePki(): Promise<Pki> {
  const dir = await makeTempDir('tls-pki-');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const selfSigned = (name: string, cn: string, ca: boolean) =>
    openssl(dir, 'req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${cn}`,
      ...(ca ? ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'] : ['-addext', 'extendedKeyUsage=clientAuth']));
  const signed = (name: string, cn: string, ext: string) => {
    openssl(dir, 'req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    writeFileSync(path.join(dir, `${name}.ext`), `${ext}\n`);
    openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
  };
  selfSigned('ca', 'campus-gateway test CA', true);
  selfSigned('other-ca', 'someone else', true);
  signed('server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth');
  signed('client-a', A.device, 'extendedKeyUsage=clientAuth');
  signed('client-b', B.device, 'extendedKeyUsage=clientAuth');
  selfSigned('rogue-a', A.device, false);
  const pair = (name: string) => ({ cert: readFileSync(path.join(dir, `${name}.crt`)), key: readFileSync(path.join(dir, `${name}.key`)) });
  return {
    dir,
    ca: readFileSync(path.join(dir, 'ca.crt')),
    server: { cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key') },
    clientA: pair('client-a'),
    clientB: pair('client-b'),
    rogueA: pair('rogue-a'),
    otherCa: readFileSync(path.join(dir, 'other-ca.crt')),
  };
}

let pki: Pki;
let gw: GatewayProc;
let mqttsUrl: string;
let adminToken: string;
const opened: MqttClient[] = [];

before(async () => {
  pki = await makePki();
  const tlsPort = await freePort();
  gw = await startGateway({
    tls: { ca: pki.ca },
    // info: the broker's refusals, with their reasons, are logged at info.
    env: { TLS_CERT_FILE: pki.server.cert, TLS_KEY_FILE: pki.server.key, TLS_CA_FILE: path.join(pki.dir, 'ca.crt'), MQTT_TLS_PORT: String(tlsPort), LOG_LEVEL: 'info' },
  });
  mqttsUrl = `mqtts://127.0.0.1:${tlsPort}`;
  adminToken = await login(gw.url, 'admin', gw.adminPassword, gw.fetch);
});
after(async () => {
  for (const c of opened) await c.endAsync(true).catch(() => undefined);
  await gw?.stop();
});

/** One mqtts connection with exactly these options, trusting the test CA; no retry: a refusal is the answer. */
async function mqtts(opts: IClientOptions): Promise<MqttClient> {
  const pending = mqtt.connectAsync(mqttsUrl, { ca: pki.ca, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  pending.then((c) => opened.push(c), () => undefined);
  return pending;
}
const secretOf = (device: string) => mqttLoginFor(gw.mqttUrl)!.devices.get(device)!;

async function openAlarms(): Promise<{ sourceId: string; device: string }[]> {
  const res = await api(gw.url, adminToken, 'GET', '/api/alarms?state=open', undefined, gw.fetch);
  assert.equal(res.status, 200);
  return res.body.alarms;
}

test('HTTPS on GATEWAY_PORT: /health, login and the /live feed (wss) with the CA-verified certificate; plain HTTP gets nothing', async () => {
  const health = await gw.fetch(`${gw.url}/health`);
  assert.equal(health.status, 200);
  assert.equal(((await health.json()) as { status: string }).status, 'ok');
  const res = await gw.fetch(`${gw.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'admin', password: gw.adminPassword }) });
  assert.equal(res.status, 200);
  assert.equal(typeof ((await res.json()) as { token: unknown }).token, 'string');
  // Not plain HTTP on that port any more, and not a certificate of someone else's CA.
  await assert.rejects(fetch(`http://127.0.0.1:${gw.port}/health`, { signal: AbortSignal.timeout(5000) }));
  await assert.rejects(fetchTrusting(pki.otherCa)(`${gw.url}/health`), /self[- ]signed|unable to verify|certificate/i);
  // The live feed is wss on the same server.
  const ws = new WebSocket(`wss://127.0.0.1:${gw.port}/live?token=${adminToken}`, { ca: pki.ca });
  const first = await new Promise<{ type: string }>((resolve, reject) => {
    ws.once('message', (raw) => resolve(JSON.parse(raw.toString())));
    ws.once('error', reject);
  });
  assert.equal(first.type, 'snapshot');
  ws.close();
});

test('mqtts with a password: a device logs in with its secret, and a wrong secret is still refused', async () => {
  const c = await mqtts({ clientId: A.device, username: A.device, password: secretOf(A.device) });
  assert.equal(c.connected, true);
  await assert.rejects(mqtts({ clientId: A.device, username: A.device, password: 'guess' }), /Bad username or password/i);
  await assert.rejects(mqtts({ clientId: 'anyone' }), /Bad username or password|Not authorized/i, 'anonymous, no certificate');
  await c.endAsync();
});

test('mqtts with a device certificate and no password: admitted as that device, its alarm is stored and acknowledged to it', async () => {
  const c = await mqtts({ clientId: A.device, cert: pki.clientA.cert, key: pki.clientA.key });
  // Its identity is the device's: it may subscribe to its own alarm/state (refused to anyone else).
  const states: string[] = [];
  c.on('message', (_t, payload) => states.push(payload.toString()));
  const granted = await c.subscribeAsync(`campus/v1/${A.school}/${A.device}/alarm/state`, { qos: 1 });
  assert.equal(granted[0].qos, 1);
  await c.publishAsync(`campus/v1/${A.school}/${A.device}/alarm`, JSON.stringify({ id: 'tls-cert-1', ts: Date.now(), kind: 'panic' }), { qos: 1 });
  const alarm = (await openAlarms()).find((a) => a.sourceId === 'tls-cert-1');
  assert.ok(alarm, 'the alarm is stored (its PUBACK came after the commit)');
  assert.equal(alarm.device, A.device);
  await waitFor('the "received" feedback', () => states.some((s) => JSON.parse(s).id === 'tls-cert-1' && JSON.parse(s).state === 'received'));
  // A user name, if given, must be the certificate's device too.
  await assert.rejects(mqtts({ clientId: A.device, username: 'admin', cert: pki.clientA.cert, key: pki.clientA.key }), /Not authorized/i);
  await c.endAsync();
});

test("a certificate speaks only for the device it names: CN = A with client id B is refused, even with B's secret", async () => {
  await assert.rejects(mqtts({ clientId: B.device, cert: pki.clientA.cert, key: pki.clientA.key }), /Not authorized/i);
  await assert.rejects(mqtts({ clientId: B.device, username: B.device, password: secretOf(B.device), cert: pki.clientA.cert, key: pki.clientA.key }), /Not authorized/i);
  // B's own certificate works for B: the refusal above is about the name, not the certificate.
  const b = await mqtts({ clientId: B.device, cert: pki.clientB.cert, key: pki.clientB.key });
  assert.equal(b.connected, true);
  await b.endAsync();
  await waitFor('the refusals in the log', () => /issued to \\?"S001-AB01\\?", not to client id \\?"S002-AB01/.test(gw.logs()));
});

test('a certificate not signed by the device CA proves nothing: without a password it is refused', async () => {
  await assert.rejects(mqtts({ clientId: A.device, cert: pki.rogueA.cert, key: pki.rogueA.key }), /Not authorized/i);
  await assert.rejects(mqtts({ clientId: A.device, username: A.device, cert: pki.rogueA.cert, key: pki.rogueA.key }), /Not authorized/i);
  await waitFor('the reason in the log', () => /not signed by the device CA \(DEPTH_ZERO_SELF_SIGNED_CERT\)/.test(gw.logs()));
});

test('the 64 KiB packet guard holds on mqtts too', async () => {
  const big = await mqtts({ clientId: A.device, cert: pki.clientA.cert, key: pki.clientA.key });
  let closed = false;
  big.once('close', () => (closed = true));
  big.publish(`campus/v1/${A.school}/${A.device}/alarm`, Buffer.alloc(200 * 1024, 0x20), { qos: 0 });
  await waitFor('the broker to close the connection', () => closed);
  await waitFor('the log line', () => /mqtt packet over 64 KiB refused; connection closed/.test(gw.logs()));
  await big.endAsync(true);
});

test('the plain port stays open by default (MQTT_PLAIN); MQTT_PLAIN=false leaves mqtts only', async () => {
  // Default: plain MQTT on MQTT_PORT still takes a device's secret (the gateway above).
  const plain = await mqtt.connectAsync(gw.mqttUrl, { clientId: A.device, username: A.device, password: secretOf(A.device), reconnectPeriod: 0 });
  await plain.endAsync();

  const plainPort = await freePort();
  const tlsPort = await freePort();
  const only = await startGateway({
    tls: { ca: pki.ca },
    env: { TLS_CERT_FILE: pki.server.cert, TLS_KEY_FILE: pki.server.key, MQTT_PORT: String(plainPort), MQTT_TLS_PORT: String(tlsPort), MQTT_PLAIN: 'false' },
  });
  try {
    await waitForTcp(tlsPort);
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: plainPort });
      s.once('connect', () => (s.destroy(), resolve('connected')));
      s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
    assert.equal(refused, 'ECONNREFUSED', 'nothing listens on MQTT_PORT');
  } finally {
    await only.stop();
  }
});

/** Mosquitto with one TLS listener (server certificate from the test CA); anonymous clients allowed. */
async function mosquittoTls(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const dir = await makeTempDir('mosquitto-tls-');
  const log = path.join(dir, 'mosquitto.log');
  const conf = [
    `listener ${port} 127.0.0.1`,
    `cafile ${path.join(pki.dir, 'ca.crt')}`,
    `certfile ${pki.server.cert}`,
    `keyfile ${pki.server.key}`,
    'allow_anonymous true',
    `log_dest file ${log}`,
    ...(process.getuid?.() === 0 ? ['user root'] : []),
  ];
  writeFileSync(path.join(dir, 'mosquitto.conf'), conf.join('\n') + '\n');
  const output = new OutputBuffer();
  const child = track(spawn(MOSQUITTO_BIN, ['-c', path.join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] }));
  output.attach(child);
  await waitForTcp(port, { abort: () => (isRunning(child) ? undefined : new Error(`mosquitto exited: ${output.tail(2000)}`)) });
  return { url: `mqtts://127.0.0.1:${port}`, stop: async () => void (await stopChild(child, 'SIGTERM', 10_000)) };
}

test('an external broker over mqtts://: with MQTT_CA_FILE the gateway connects and takes an alarm; without it the broker is not trusted', async () => {
  const broker = await mosquittoTls();
  try {
    const caFile = path.join(pki.dir, 'ca.crt');
    const ext = await startGateway({ mqttUrl: broker.url, env: { MQTT_CA_FILE: caFile } });
    try {
      const health = (await api(ext.url, undefined, 'GET', '/health')).body;
      assert.equal(health.mqtt.connected, true);
      const device = await mqtt.connectAsync(broker.url, { ca: pki.ca, clientId: A.device, reconnectPeriod: 0 });
      await device.publishAsync(`campus/v1/${A.school}/${A.device}/alarm`, JSON.stringify({ id: 'tls-ext-1', ts: Date.now(), kind: 'fire' }), { qos: 1 });
      await device.endAsync();
      const token = await login(ext.url, 'admin', ext.adminPassword);
      await waitFor('the alarm from the external broker', async () =>
        ((await api(ext.url, token, 'GET', '/api/alarms?state=open')).body.alarms as { sourceId: string }[]).some((a) => a.sourceId === 'tls-ext-1'),
      );
    } finally {
      await ext.stop();
    }
    // The same broker without MQTT_CA_FILE: its certificate is not one the system trusts.
    const untrusting = await startGateway({ mqttUrl: broker.url, ready: 'listening' });
    try {
      await waitFor(() => `the certificate error; logs: ${untrusting.logs().slice(-3000)}`, () => /"err":"(self[- ]signed certificate|unable to verify|unable to get local issuer)[^"]*","msg":"MQTT error"/i.test(untrusting.logs()), { timeoutMs: 15_000 });
      assert.equal((await api(untrusting.url, undefined, 'GET', '/health')).body.mqtt.connected, false);
    } finally {
      await untrusting.stop();
    }
  } finally {
    await broker.stop();
  }
});

/** Starts the gateway with `env` and expects it to stop at once with a configuration error. */
function startFails(env: Record<string, string>): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'gateway/server.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, DATA_DIR: path.join(pki.dir, `data-${Math.random()}`), GATEWAY_PORT: '0', MQTT_PORT: '0', MQTT_TLS_PORT: '0', LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 1, r.stderr);
  return r.stderr;
}

test('a missing or mismatched certificate file stops the gateway, naming the file and the variable', () => {
  const missing = path.join(pki.dir, 'nope.crt');
  assert.match(startFails({ TLS_CERT_FILE: missing, TLS_KEY_FILE: pki.server.key }), new RegExp(`invalid configuration: ${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} at \\(file\\): cannot read the file named by TLS_CERT_FILE \\(ENOENT\\)`));
  const wrongKey = path.join(pki.dir, 'client-a.key');
  const stderr = startFails({ TLS_CERT_FILE: pki.server.cert, TLS_KEY_FILE: wrongKey });
  assert.match(stderr, /at \(file\): the key named by TLS_KEY_FILE does not belong to the certificate of TLS_CERT_FILE/);
  assert.ok(!stderr.includes('PRIVATE KEY'), 'no key material in the message');
  assert.match(startFails({ TLS_CERT_FILE: pki.server.key, TLS_KEY_FILE: pki.server.key }), /TLS_CERT_FILE holds no PEM certificate/);
  assert.match(startFails({ TLS_CERT_FILE: pki.server.cert }), /TLS_KEY_FILE at value: must be set when TLS_CERT_FILE is/);
});
