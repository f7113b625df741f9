/**
 * County side of county → city (decision 0010): a real county gateway forwards its committed feed
 * to a real Mosquitto standing for the city's broker (password + ACL, no anonymous login), through
 * a TCP proxy the test cuts to take the uplink away.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import mqtt from 'mqtt';
import { api, login, REPO_ROOT, startGateway, type GatewayProc } from '../support/gateway.js';
import { collect, connectDevice, type Collector, type MqttClient } from '../support/mqtt.js';
import { startCityBroker, type CityBroker } from '../support/city-broker.js';
import { startPostgres } from '../support/postgres.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';
import { loadRegistry } from '../../gateway/registry.js';

const registry = loadRegistry(path.join(REPO_ROOT, 'config/county.json'));
const school = registry.registry.schools[0];
const button = school.devices.find((d) => d.kind === 'alarm_button')!;

interface Forwarded {
  v: number;
  county: string;
  seq: number;
  at: number;
  type: string;
  data: { sourceId?: string; state?: string };
}

let city: CityBroker;
let proxy: TcpProxy;
let county: GatewayProc;
let token: string;
let device: MqttClient;
let reader: MqttClient;
let feed: Collector;
let uniq = 0;

const forwarded = (): Forwarded[] => feed.messages.map((m) => JSON.parse(m.payload.toString()) as Forwarded);
const raise = async (id: string) =>
  device.publishAsync(`campus/v1/${school.id}/${button.id}/alarm`, JSON.stringify({ id, ts: Date.now(), kind: 'panic' }), { qos: 1 });
const raisedAtCity = (id: string) => forwarded().filter((f) => f.type === 'alarm' && f.data.sourceId === id && f.data.state === 'raised');

before(async () => {
  city = await startCityBroker(['east']);
  proxy = await startTcpProxy(city.broker.port);
  const login_ = city.counties.get('east')!;
  county = await startGateway({
    env: {
      COUNTY_ID: 'east',
      CITY_MQTT_URL: `mqtt://127.0.0.1:${proxy.port}`,
      CITY_MQTT_USERNAME: login_.username,
      CITY_MQTT_PASSWORD_FILE: login_.passwordFile,
      CITY_UPLINK_PUBACK_TIMEOUT_MS: '2000',
    },
  });
  token = await login(county.url, 'admin', county.adminPassword);
  device = await connectDevice(county.mqttUrl);
  reader = await mqtt.connectAsync(city.broker.url, { username: city.city.username, password: city.city.password, clientId: 'city-test-reader' });
  feed = collect(reader, 'city/v1/+/feed');
  await feed.ready;
});
after(async () => {
  await device?.endAsync();
  await reader?.endAsync();
  await county?.stop();
  await proxy?.close();
  await city?.broker.stop();
});

test('every committed frame reaches the city broker, versioned, with the county and its feed seq, in seq order', async () => {
  const ids = Array.from({ length: 10 }, () => `up-${uniq++}`);
  for (const id of ids) await raise(id);
  await waitFor('the ten alarms at the city', () => ids.every((id) => raisedAtCity(id).length > 0), { timeoutMs: 15_000 });
  const frames = forwarded();
  assert.ok(frames.every((f) => f.v === 1 && f.county === 'east'));
  assert.ok(feed.messages.every((m) => m.topic === 'city/v1/east/feed'));
  // The city's broker got them in the county's commit order.
  const seqs = frames.map((f) => f.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  const up = await waitFor('the backlog drained and the last seq reported', async () => {
    const h = (await api(county.url, token, 'GET', '/health')).body.cityUplink;
    return h.backlog === 0 && h.lastForwardedSeq >= Math.max(...seqs) ? h : undefined;
  });
  assert.equal(up.connected, true);
  const metrics = await (await fetch(`${county.url}/metrics`)).text();
  assert.match(metrics, /campus_gateway_city_uplink_last_seq \d+/);
});

test('with the uplink cut the county keeps taking alarms; once it is back the city gets every one', async () => {
  proxy.cut();
  await waitFor('the county sees the uplink down', async () => (await api(county.url, token, 'GET', '/health')).body.cityUplink?.connected === false);
  const ids = Array.from({ length: 20 }, () => `cut-${uniq++}`);
  for (const id of ids) await raise(id);
  // The county holds them: its API and its own screen's ledger have every alarm.
  const all = (await api(county.url, token, 'GET', '/api/alarms?state=all&limit=1000')).body.alarms as { sourceId: string }[];
  for (const id of ids) assert.ok(all.some((a) => a.sourceId === id), `${id} at the county`);
  const h = (await api(county.url, token, 'GET', '/health')).body;
  assert.equal(h.status, 'degraded');
  assert.ok(h.cityUplink.backlog >= ids.length, `backlog ${h.cityUplink.backlog}`);
  assert.ok(ids.every((id) => raisedAtCity(id).length === 0), 'nothing crossed the cut');

  proxy.mend();
  await waitFor('every alarm raised during the cut at the city', () => ids.every((id) => raisedAtCity(id).length > 0), { timeoutMs: 20_000 });
  // Every county seq since the first test arrived (repeats allowed: the city dedupes), none missing.
  const seqs = [...new Set(forwarded().map((f) => f.seq))].sort((a, b) => a - b);
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, `no gap after seq ${seqs[i - 1]}`);
  await waitFor('the backlog drained', async () => (await api(county.url, token, 'GET', '/health')).body.cityUplink.backlog === 0);
});

test('the county cannot publish as another county, and the city broker takes no anonymous login', async () => {
  const east = city.counties.get('east')!;
  const spy = collect(reader, 'city/v1/west/feed');
  const own = collect(reader, 'city/v1/east/probe');
  await Promise.all([spy.ready, own.ready]);
  const asEast = await mqtt.connectAsync(city.broker.url, { username: east.username, password: east.password, clientId: 'east-probe' });
  // Mosquitto 2 acknowledges a denied QoS 1 publish but does not deliver it.
  await asEast.publishAsync('city/v1/west/feed', JSON.stringify({ v: 1, county: 'west', seq: 1, at: 0, type: 'x', data: {} }), { qos: 1 });
  await asEast.publishAsync('city/v1/east/probe', 'marker', { qos: 1 });
  await asEast.endAsync();
  // Its own subtree goes through (the reader sees it, after the refused one was published).
  await waitFor('the probe on its own topic', () => own.messages.length === 1);
  await assert.rejects(mqtt.connectAsync(city.broker.url, { clientId: 'anon', reconnectPeriod: 0 }), /Not authorized|Bad username|unauthorized/i);
  assert.equal(spy.messages.length, 0);
  spy.stop();
  own.stop();
});

test('a county on PostgreSQL (a region’s shared ledger) queues and forwards its frames the same way', async () => {
  const db = await startPostgres();
  const westCity = await startCityBroker(['west']);
  const creds = westCity.counties.get('west')!;
  let gw: GatewayProc | undefined;
  let dev: MqttClient | undefined;
  const westReader = await mqtt.connectAsync(westCity.broker.url, { username: westCity.city.username, password: westCity.city.password, clientId: 'city-test-reader-pg' });
  try {
    const got = collect(westReader, 'city/v1/+/feed');
    gw = await startGateway({ env: { STORE_URL: await db.createDatabase(), COUNTY_ID: 'west', CITY_MQTT_URL: westCity.broker.url, CITY_MQTT_USERNAME: creds.username, CITY_MQTT_PASSWORD_FILE: creds.passwordFile } });
    dev = await connectDevice(gw.mqttUrl);
    const ids = Array.from({ length: 5 }, () => `pg-up-${uniq++}`);
    for (const id of ids) await dev.publishAsync(`campus/v1/${school.id}/${button.id}/alarm`, JSON.stringify({ id, ts: Date.now(), kind: 'panic' }), { qos: 1 });
    const frames = () => got.messages.map((m) => JSON.parse(m.payload.toString()) as Forwarded);
    await waitFor('the five alarms at the city', () => ids.every((id) => frames().some((f) => f.type === 'alarm' && f.data.sourceId === id && f.data.state === 'raised')), { timeoutMs: 20_000 });
    const seqs = frames().map((f) => f.seq);
    assert.ok(frames().every((f) => f.v === 1 && f.county === 'west'));
    assert.deepEqual(seqs, [...new Set(seqs)].sort((a, b) => a - b), 'each frame once, in seq order');
    const token2 = await login(gw.url, 'admin', gw.adminPassword);
    await waitFor('the outbox drained', async () => (await api(gw!.url, token2, 'GET', '/health')).body.cityUplink?.backlog === 0);
  } finally {
    await dev?.endAsync();
    await westReader.endAsync();
    await gw?.stop();
    await westCity.broker.stop();
    await db.stop();
  }
});
