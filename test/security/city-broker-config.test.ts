/**
 * Decision 0010 on the city's broker: the REAL Mosquitto 2, run with exactly the files
 * `npm run broker-config -- mosquitto --city` writes from a city's counties file. A county writes
 * its own feed and the city login reads it; a county cannot write as another county nor read
 * anything; nobody gets in without a login. (The city's own write is not probed: a second city
 * connection would take its client id, and 2.0.11 closes a client on a denied publish.) Each fails on an open broker.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { connectAsync, type MqttClient } from 'mqtt';
import { REPO_ROOT } from '../support/gateway.js';
import { startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { freePort } from '../support/ports.js';
import { makeTempDir } from '../support/procs.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);
let dir: string;
let conf: string;
let port: number;
let broker: Mosquitto | undefined;
const opened: MqttClient[] = [];

const brokerConfig = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'scripts/broker-config.ts', 'mosquitto', '--city', '--out', dir, '--port', String(port), '--bind', '127.0.0.1', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, CITY_COUNTIES_FILE: '' },
  });
const passwordOf = (user: string) => fs.readFileSync(path.join(dir, `${user}.password`), 'utf8').trim();

/** One connection with exactly these credentials; no retry, so a refusal is the answer. */
async function connect(username?: string, password = username ? passwordOf(username) : undefined): Promise<MqttClient> {
  const c = await connectAsync(broker!.url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, username, password });
  opened.push(c);
  return c;
}

/** One QoS 1 publish on its own connection, done when the broker answered: PUBACK, or (2.0.11, a denied publish) closing it. */
async function publishAs(user: string, topic: string, payload: string): Promise<void> {
  const c = await connect(user);
  await new Promise<void>((resolve) => {
    c.once('close', () => resolve());
    c.publish(topic, payload, { qos: 1 }, () => resolve());
  });
  await c.endAsync(true);
}

before(async () => {
  dir = await makeTempDir('city-broker-config-');
  port = await freePort();
  // Two counties with disjoint schools: the demo county and a copy of two of its schools under other ids.
  const eastRegistry = path.join(REPO_ROOT, 'config/county.json');
  const demo = JSON.parse(fs.readFileSync(eastRegistry, 'utf8'));
  const westSchools = demo.schools.slice(0, 2) as { region: string }[];
  const westDoc = { ...demo, county: { ...demo.county, townships: demo.county.townships.filter((t: { name: string }) => westSchools.some((s) => s.region === t.name)) }, schools: westSchools };
  fs.writeFileSync(path.join(dir, 'west.json'), JSON.stringify(westDoc).replace(/"S(\d{3})/g, '"W$1'));
  const counties = (list: unknown[]) => {
    const file = path.join(dir, `counties-${list.length}.json`);
    fs.writeFileSync(file, JSON.stringify({ counties: list }));
    return file;
  };
  const east = { id: 'east', name: '东区', registry: eastRegistry };
  const west = { id: 'west', name: '西区', registry: 'west.json' };

  // The counties file is checked as the city gateway checks it, before anything is written.
  await assert.rejects(brokerConfig(), /--city needs --counties FILE/);
  await assert.rejects(brokerConfig('--counties', counties([east, east])), /county "east" is listed twice/);
  await assert.rejects(brokerConfig('--counties', counties([])), /at least one county/);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.password')), [], 'a refused run wrote a password');

  const good = counties([east, west]);
  const first = await brokerConfig('--counties', good);
  assert.match(first.stdout, /2 counties and "city-gateway" written/);
  const kept = ['city-gateway', 'county-east', 'county-west'].map(passwordOf);
  await brokerConfig('--counties', good);
  assert.deepEqual(['city-gateway', 'county-east', 'county-west'].map(passwordOf), kept, 'a second run keeps every password');
  for (const f of ['password_file', 'city-gateway.password', 'county-east.password', 'county-west.password']) assert.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, f);
  const files = ['password_file', 'acl_file', 'mosquitto.conf'].map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
  for (const secret of kept) assert.ok(!files.includes(secret) && !first.stdout.includes(secret), 'a password in clear');

  conf = path.join(dir, 'mosquitto.conf');
  broker = await startMosquitto({ port, configFile: conf });
});

after(async () => {
  for (const c of opened) await c.endAsync(true).catch(() => undefined);
  await broker?.stop();
});

test('no anonymous client, no wrong password', async () => {
  await assert.rejects(connect(), /Not authorized/i, 'anonymous');
  await assert.rejects(connect('county-east', 'guess'), /Not authorized|Bad username or password/i, 'wrong password');
  await assert.rejects(connect('county-east', passwordOf('county-west')), /Not authorized|Bad username or password/i, "another county's password");
});

test("a county's feed reaches the city login; a county cannot write as another, nor read anything", async () => {
  const city = await connect('city-gateway');
  const got: { topic: string; payload: string }[] = [];
  city.on('message', (topic, buf) => got.push({ topic, payload: buf.toString('utf8') }));
  await city.subscribeAsync('city/v1/+/feed', { qos: 1 });
  // West listens to everything it asks for: its ACL grants no read, so nothing may arrive.
  const westSpy = await connect('county-west');
  const spied: string[] = [];
  westSpy.on('message', (topic) => spied.push(topic));
  await westSpy.subscribeAsync(['city/v1/#', 'city/v1/+/feed'], { qos: 1 });

  await publishAs('county-west', 'city/v1/east/feed', 'forged-by-west');
  // The marker, after the broker dealt with the others: once it is delivered, they would have been.
  await publishAs('county-east', 'city/v1/east/feed', 'east-own');
  await waitFor("east's own frame at the city", () => got.some((m) => m.payload === 'east-own'));
  await new Promise((r) => setTimeout(r, 300)); // any forged copy had the same chance, plus a margin
  assert.deepEqual(got, [{ topic: 'city/v1/east/feed', payload: 'east-own' }]);
  assert.deepEqual(spied, [], 'a county read the feed');
});
