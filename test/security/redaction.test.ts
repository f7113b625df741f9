/**
 * Secrets never reach the log nor the public /health (contract §6): the external broker's user and
 * password in MQTT_URL, the InfluxDB URL's credentials and token (even when the database quotes the
 * token back in an error), operators' passwords and tokens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { Aedes } from 'aedes';
import { REPO_ROOT, api, login, startGateway } from '../support/gateway.js';
import { freePort } from '../support/ports.js';
import { connectDevice } from '../support/mqtt.js';
import { waitFor } from '../support/wait.js';
import { loadRegistry } from '../../gateway/registry.js';

const gate = [...loadRegistry(path.join(REPO_ROOT, 'config/county.json')).devices.values()].find((d) => d.kind === 'gate')!;

const BROKER_USER = 'brokeruser-Qx7';
const BROKER_PASS = 'brokerpass-Zk9';
const INFLUX_USER = 'influxuser-Wm3';
const INFLUX_PASS = 'influxpass-Tr5';
const INFLUX_TOKEN = 'influx-token-Hy8';
const WRONG_PASSWORD = 'wrong-password-Vb2';

test('MQTT_URL and INFLUX credentials, passwords and tokens appear neither in the log nor in /health', { timeout: 90_000 }, async () => {
  // An external broker that admits only the gateway's credentials: proves the gateway did use them.
  const broker = await Aedes.createBroker({
    authenticate: (_c, user, pass, done) => done(null, user === BROKER_USER ? pass?.toString() === BROKER_PASS : user === undefined),
  });
  const mqttPort = await freePort();
  const mqttServer = net.createServer(broker.handle);
  await new Promise<void>((r) => mqttServer.listen(mqttPort, '127.0.0.1', r));
  // A database that refuses every write and quotes the token back in its error.
  let writes = 0;
  const influx = http.createServer((req, res) => {
    writes++;
    req.resume();
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 'unauthorized', message: `bad credentials: ${req.headers.authorization ?? ''}` }));
  });
  await new Promise<void>((r) => influx.listen(0, '127.0.0.1', r));
  const influxPort = (influx.address() as net.AddressInfo).port;

  const gw = await startGateway({
    mqttUrl: `mqtt://${BROKER_USER}:${BROKER_PASS}@127.0.0.1:${mqttPort}`,
    env: {
      LOG_LEVEL: 'trace',
      INFLUX_URL: `http://${INFLUX_USER}:${INFLUX_PASS}@127.0.0.1:${influxPort}/`,
      INFLUX_TOKEN,
      INFLUX_BUCKET: 'campus',
      EXPORT_MAX_BATCH_AGE_MS: '0',
      EXPORT_MIN_BACKOFF_MS: '50',
      EXPORT_MAX_BACKOFF_MS: '200',
    },
  });
  const device = await connectDevice(`mqtt://127.0.0.1:${mqttPort}`);
  try {
    // Traffic, so the exporter writes (and fails), and operators' secrets in flight.
    await device.publishAsync(`campus/v1/${gate.school}/${gate.id}/heartbeat`, JSON.stringify({ ts: Date.now(), battery: 80 }), { qos: 1 });
    await waitFor('the exporter to fail against the refusing database', async () => writes >= 2);
    const failed = await fetch(`${gw.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'admin', password: WRONG_PASSWORD }) });
    assert.equal(failed.status, 401);
    const token = await login(gw.url, 'admin', gw.adminPassword);
    assert.equal((await api(gw.url, token, 'GET', '/api/users')).status, 200);
    assert.equal((await api(gw.url, `${token}x`, 'GET', '/api/users')).status, 401);

    const health = await waitFor('/health to show the failed export', async () => {
      const res = await fetch(`${gw.url}/health`);
      const text = await res.text();
      return JSON.parse(text).influx?.lastError ? text : undefined;
    });
    const logs = gw.logs();
    assert.match(logs, /"url":"mqtt:\/\/\*\*\*:\*\*\*@127\.0\.0\.1/, 'the broker URL is logged, without its credentials');
    assert.match(logs, /login failed|bad_credentials|failed login/i, 'the failed login is logged');
    for (const secret of [BROKER_USER, BROKER_PASS, INFLUX_USER, INFLUX_PASS, INFLUX_TOKEN, WRONG_PASSWORD, gw.adminPassword, token]) {
      assert.ok(!logs.includes(secret), `the log shows a secret (${secret.slice(0, 6)}…): ${logs.split("\n").filter((l) => l.includes(secret)).join("\n").slice(0, 1500)}`);
      assert.ok(!health.includes(secret), `/health shows a secret (${secret.slice(0, 6)}…): ${health}`);
    }
  } finally {
    await device.endAsync(true);
    await gw.stop();
    influx.close();
    mqttServer.close();
    await new Promise<void>((r) => broker.close(() => r()));
  }
});
