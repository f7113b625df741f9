/**
 * County → city end to end (decision 0010): two real county gateways forward to a real Mosquitto
 * (the city broker: per-county logins and ACLs), and a real city gateway reads it and serves
 * /api/city. East's uplink goes through a TCP proxy the test cuts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { api, login, REPO_ROOT, startGateway, type GatewayProc } from '../support/gateway.js';
import { connectDevice, type MqttClient } from '../support/mqtt.js';
import { startCityBroker, type CityBroker } from '../support/city-broker.js';
import { makeTempDir } from '../support/procs.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';

// East is the demo county; west five of its schools under other ids (W001…): the city refuses a school in two counties.
const eastRegistry = path.join(REPO_ROOT, 'config/county.json');
const demo = JSON.parse(fs.readFileSync(eastRegistry, 'utf8'));
const westSchools = demo.schools.slice(0, 5) as { region: string }[];
const westTownships = (demo.county.townships as { name: string }[]).filter((t) => westSchools.some((s) => s.region === t.name));
const westDoc = JSON.parse(JSON.stringify({ ...demo, county: { ...demo.county, name: '西区', townships: westTownships }, schools: westSchools }).replace(/"S(\d{3})/g, '"W$1'));
const schoolOf = (doc: typeof demo) => doc.schools[0] as { id: string; devices: { id: string; kind: string }[] };
const buttonOf = (doc: typeof demo) => schoolOf(doc).devices.find((d) => d.kind === 'alarm_button')!;

interface County {
  id: string;
  gw: GatewayProc;
  token: string;
  device: MqttClient;
  school: string;
  button: string;
}

let city: CityBroker;
let proxy: TcpProxy;
let hub: GatewayProc;
let hubToken: string;
const counties: Record<string, County> = {};
let uniq = 0;

async function startCounty(id: string, registry: string, doc: typeof demo, cityUrl: string): Promise<County> {
  const creds = city.counties.get(id)!;
  const gw = await startGateway({ env: { REGISTRY: registry, COUNTY_ID: id, CITY_MQTT_URL: cityUrl, CITY_MQTT_USERNAME: creds.username, CITY_MQTT_PASSWORD_FILE: creds.passwordFile } });
  return { id, gw, token: await login(gw.url, 'admin', gw.adminPassword), device: await connectDevice(gw.mqttUrl), school: schoolOf(doc).id, button: buttonOf(doc).id };
}

const raise = (c: County, sourceId: string) =>
  c.device.publishAsync(`campus/v1/${c.school}/${c.button}/alarm`, JSON.stringify({ id: sourceId, ts: Date.now(), kind: 'panic' }), { qos: 1 });

interface Summary {
  id: string;
  frames: number;
  lastSeq: number;
  alarms: { open: number; list: { sourceId?: string; school: string }[] };
  rates: Record<string, unknown>;
  canteen: { openCases: number };
}
const summaries = async (): Promise<Record<string, Summary>> =>
  Object.fromEntries(((await api(hub.url, hubToken, 'GET', '/api/city/counties')).body.counties as Summary[]).map((c) => [c.id, c]));
const atCity = (s: Summary, sourceId: string) => s.alarms.list.filter((a) => a.sourceId === sourceId).length;
const metric = async (name: string, labels: string) => {
  const text = await (await fetch(`${hub.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
};

before(async () => {
  city = await startCityBroker(['east', 'west']);
  proxy = await startTcpProxy(city.broker.port);
  const dir = await makeTempDir('city-conf-');
  const westRegistry = path.join(dir, 'west.json');
  fs.writeFileSync(westRegistry, JSON.stringify(westDoc));
  const countiesFile = path.join(dir, 'counties.json');
  fs.writeFileSync(countiesFile, JSON.stringify({ counties: [{ id: 'east', name: '东区', registry: eastRegistry }, { id: 'west', name: '西区', registry: 'west.json' }] }));
  const cityPw = path.join(dir, 'city.password');
  fs.writeFileSync(cityPw, `${city.city.password}\n`, { mode: 0o600 });
  hub = await startGateway({ env: { CITY_COUNTIES_FILE: countiesFile, CITY_INGEST_MQTT_URL: city.broker.url, CITY_INGEST_USERNAME: city.city.username, CITY_INGEST_PASSWORD_FILE: cityPw } });
  hubToken = await login(hub.url, 'admin', hub.adminPassword);
  counties.east = await startCounty('east', eastRegistry, demo, `mqtt://127.0.0.1:${proxy.port}`);
  counties.west = await startCounty('west', westRegistry, westDoc, city.broker.url);
});
after(async () => {
  for (const c of Object.values(counties)) {
    await c.device.endAsync();
    await c.gw.stop();
  }
  await hub?.stop();
  await proxy?.close();
  await city?.broker.stop();
});

test('alarms raised at two counties appear in the city API once each, under their county, with the drill-down to the school', async () => {
  const ids = { east: [0, 1, 2].map(() => `e-${uniq++}`), west: [0, 1, 2].map(() => `w-${uniq++}`) };
  for (const id of ids.east) await raise(counties.east, id);
  for (const id of ids.west) await raise(counties.west, id);
  const s = await waitFor('every alarm at the city', async () => {
    const all = await summaries();
    return ids.east.every((id) => atCity(all.east, id) === 1) && ids.west.every((id) => atCity(all.west, id) === 1) ? all : undefined;
  }, { timeoutMs: 20_000 });
  assert.ok(ids.east.every((id) => atCity(s.west, id) === 0) && ids.west.every((id) => atCity(s.east, id) === 0), 'each under its own county');
  for (const c of Object.values(s)) {
    assert.equal(c.frames, c.lastSeq, `${c.id}: every county seq 1..${c.lastSeq} stored once`);
    assert.deepEqual(Object.keys(c.rates).sort(), ['closed_campus', 'guard_posts', 'hard_barriers', 'one_key_alarm', 'security_guards', 'video_networked']);
    assert.equal(typeof c.canteen.openCases, 'number');
  }
  const drill = (await api(hub.url, hubToken, 'GET', '/api/city/counties/west/schools')).body;
  assert.equal(drill.schools.length, 5);
  assert.equal(drill.schools.find((x: { id: string }) => x.id === counties.west.school).openAlarms, 3);
  assert.equal((await api(hub.url, hubToken, 'GET', '/api/city/counties/north/schools')).status, 404);
});

test("east's uplink cut: the county takes and holds its alarms; once back the city has every one exactly once", async () => {
  proxy.cut();
  await waitFor('east sees its uplink down', async () => (await api(counties.east.gw.url, counties.east.token, 'GET', '/health')).body.cityUplink?.connected === false);
  const ids = Array.from({ length: 15 }, () => `cut-${uniq++}`);
  for (const id of ids) await raise(counties.east, id);
  const held = (await api(counties.east.gw.url, counties.east.token, 'GET', '/api/alarms?state=all&limit=1000')).body.alarms as { sourceId: string }[];
  for (const id of ids) assert.ok(held.some((a) => a.sourceId === id), `${id} held at east`);
  const during = (await summaries()).east;
  assert.ok(ids.every((id) => atCity(during, id) === 0), 'nothing crossed the cut');
  proxy.mend();
  const s = await waitFor('every alarm of the cut at the city', async () => {
    const all = await summaries();
    return ids.every((id) => atCity(all.east, id) >= 1) ? all : undefined;
  }, { timeoutMs: 30_000 });
  for (const id of ids) assert.equal(atCity(s.east, id), 1, id);
  assert.equal(s.east.frames, s.east.lastSeq, 'each east seq stored once');
});

test('a frame the county sends again (a lost PUBACK) is stored once; malformed and foreign-county frames are refused by reason', async () => {
  const east = city.counties.get('east')!;
  const asEast = await mqtt.connectAsync(city.broker.url, { username: east.username, password: east.password, clientId: 'east-replay' });
  const before = (await summaries()).east;
  const dupBefore = await metric('campus_gateway_duplicates_total', 'type="city_feed"');
  // Seq 1 again, as the forwarder re-sends a batch whose PUBACK it did not get.
  await asEast.publishAsync('city/v1/east/feed', JSON.stringify({ v: 1, county: 'east', seq: 1, at: Date.now(), type: 'alarm', data: { id: 'replayed', school: counties.east.school, state: 'raised', sourceId: 'replayed' } }), { qos: 1 });
  await waitFor('the replay handled', async () => (await metric('campus_gateway_duplicates_total', 'type="city_feed"')) > dupBefore || (await summaries()).east.frames > before.frames);
  const afterReplay = (await summaries()).east;
  assert.equal(afterReplay.frames, before.frames, 'the repeat is not stored again');
  assert.equal(atCity(afterReplay, 'replayed'), 0);

  const bad: [string, string][] = [
    ['not_json', '{"v":1,'],
    ['version', JSON.stringify({ v: 2, county: 'east', seq: 999_999, at: 0, type: 'alarm', data: {} })],
    ['foreign_county', JSON.stringify({ v: 1, county: 'west', seq: 999_999, at: 0, type: 'alarm', data: {} })],
    ['seq', JSON.stringify({ v: 1, county: 'east', seq: -3, at: 0, type: 'alarm', data: {} })],
  ];
  for (const [, payload] of bad) await asEast.publishAsync('city/v1/east/feed', payload, { qos: 1 });
  for (const [reason] of bad) await waitFor(`a refusal counted as ${reason}`, async () => (await metric('campus_gateway_city_frames_refused_total', `reason="${reason}"`)) === 1);
  assert.equal((await summaries()).east.frames, before.frames, 'nothing refused was stored');
  await asEast.endAsync();
});

test('at the city a viewer sees every county, a county-bound user only its own (other county 403, city-wide APIs 403); a school-bound user is refused, no token is 401', async () => {
  assert.equal((await api(hub.url, hubToken, 'POST', '/api/users', { user: 'city-viewer', password: 'city-viewer-pw', role: 'viewer' })).status, 201);
  assert.equal((await api(hub.url, hubToken, 'POST', '/api/users', { user: 'school-user', password: 'school-user-pw', role: 'viewer', school: 'S001' })).status, 201);
  const viewer = await login(hub.url, 'city-viewer', 'city-viewer-pw');
  const ids = ((await api(hub.url, viewer, 'GET', '/api/city/counties')).body.counties as { id: string }[]).map((c) => c.id);
  assert.deepEqual(ids, ['east', 'west']);
  const schoolUser = await login(hub.url, 'school-user', 'school-user-pw');
  for (const route of ['/api/city/counties', '/api/city/counties/east/schools']) {
    const r = await api(hub.url, schoolUser, 'GET', route);
    assert.equal(r.status, 403, route);
    assert.equal(r.body.error, 'other_school');
  }

  // A county's own officer at the city: west only.
  const saved = await api(hub.url, hubToken, 'POST', '/api/users', { user: 'west-officer', password: 'west-officer-pw', role: 'operator', county: 'west' });
  assert.equal(saved.status, 201);
  assert.equal(saved.body.county, 'west');
  const listed = ((await api(hub.url, hubToken, 'GET', '/api/users')).body.users as { user: string; county?: string }[]).find((u) => u.user === 'west-officer');
  assert.equal(listed?.county, 'west');
  const loggedIn = await api(hub.url, '', 'POST', '/api/login', { user: 'west-officer', password: 'west-officer-pw' });
  assert.equal(loggedIn.body.county, 'west');
  const west = loggedIn.body.token as string;
  const seen = (await api(hub.url, west, 'GET', '/api/city/counties')).body.counties as { id: string; schools: number }[];
  assert.deepEqual(seen.map((c) => c.id), ['west']);
  assert.equal(seen[0].schools, westSchools.length);
  const drill = await api(hub.url, west, 'GET', '/api/city/counties/west/schools');
  assert.equal(drill.status, 200);
  assert.ok((drill.body.schools as { id: string }[]).every((s) => s.id.startsWith('W')), 'only west schools');
  const other = await api(hub.url, west, 'GET', '/api/city/counties/east/schools');
  assert.equal(other.status, 403);
  assert.equal(other.body.error, 'other_county');
  // The city's own APIs span every county (its registry is the union): not for a county's user.
  for (const route of ['/api/schools', '/api/alarms', '/api/stats']) {
    const r = await api(hub.url, west, 'GET', route);
    assert.equal(r.status, 403, route);
    assert.equal(r.body.error, 'other_county', route);
  }

  // Refused by reason: a county not of this city, a county at a county gateway, both scopes, an admin with one.
  const refusals: [string, Record<string, string>, RegExp][] = [
    [hub.url, { county: 'north' }, /no county "north" here/],
    [hub.url, { county: 'west', school: 'W001' }, /a school or to a county, not both/],
    [hub.url, { county: 'west', role: 'admin' }, /an admin sees everything and cannot be bound to a county/],
    [counties.west.gw.url, { county: 'west' }, /no county "west" here/],
  ];
  for (const [url, extra, why] of refusals) {
    const token = url === hub.url ? hubToken : counties.west.token;
    const r = await api(url, token, 'POST', '/api/users', { user: 'refused-user', password: 'refused-user-pw', role: 'viewer', ...extra });
    assert.equal(r.status, 400, JSON.stringify(extra));
    assert.match(r.body.message, why);
  }

  assert.equal((await fetch(`${hub.url}/api/city/counties`)).status, 401);
  // A county gateway is not a city.
  assert.equal((await api(counties.west.gw.url, counties.west.token, 'GET', '/api/city/counties')).body.error, 'not_a_city');
});
