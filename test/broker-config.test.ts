/**
 * broker-config's files, in process (contract §6): the shape each broker loads, and the grants
 * derived from the topic table. The real Mosquitto runs them in test/security/broker-config.test.ts;
 * EMQX cannot be installed here, so its files are checked against the EMQX 5 formats only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cityEmqxFiles, cityMosquittoFiles, countyUser } from '../scripts/broker-config/city.js';
import { emqxFiles } from '../scripts/broker-config/emqx.js';
import { deviceGrants, type DeviceHashes } from '../scripts/broker-config/grants.js';
import { mosquittoFiles } from '../scripts/broker-config/mosquitto.js';
import { mosquittoHash, verifyMosquittoHash } from '../gateway/modules/identity/mosquitto-hash.js';
import Database from 'better-sqlite3';
import path from 'node:path';
import { buildInProcess } from './routes/harness.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const devices: DeviceHashes[] = [
  { device: 'S1-AB01', school: 'S1', kind: 'alarm_button', sha256: sha('b'), brokerHash: mosquittoHash('b') },
  { device: 'S1-CAM01', school: 'S1', kind: 'camera', sha256: sha('c'), brokerHash: mosquittoHash('c') },
];

test("the Mosquitto hash is mosquitto_passwd's: $7$, 101 iterations, 12-byte salt, 64-byte PBKDF2-SHA512", () => {
  // Written by `mosquitto_passwd -b file alice secret` (Mosquitto 2.0.11).
  const fromMosquitto = '$7$101$bouGTAkP6o925b3m$duqE43xugUTCJCicB8n2JZ8g9RJvuQyRyFrNS2EhmN/7ZNzm2cCWlCBiiP5uqPmqXKkyN9tRmL9HYLZFFmPw5w==';
  assert.ok(verifyMosquittoHash(fromMosquitto, 'secret'));
  assert.ok(!verifyMosquittoHash(fromMosquitto, 'Secret'));
  const ours = mosquittoHash('secret');
  assert.match(ours, /^\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
  assert.ok(verifyMosquittoHash(ours, 'secret'));
  assert.notEqual(mosquittoHash('secret'), ours, 'a random salt each time');
});

test('grants: a device publishes only its own topics of its kind; only a button hears its alarm/state', () => {
  assert.deepEqual(deviceGrants('campus/v1', devices[0]), {
    publish: ['campus/v1/S1/S1-AB01/alarm', 'campus/v1/S1/S1-AB01/heartbeat', 'campus/v1/S1/S1-AB01/availability'],
    subscribe: ['campus/v1/S1/S1-AB01/alarm/state'],
  });
  const cam = deviceGrants('campus/v1', devices[1]);
  assert.ok(!cam.publish.some((t) => t.endsWith('/alarm')), 'a camera cannot raise an alarm');
  assert.ok(cam.publish.includes('campus/v1/S1/S1-CAM01/ai'));
  assert.deepEqual(cam.subscribe, []);
  // A canteen terminal reads its own school's case notifications (and no other school's).
  const terminal = deviceGrants('campus/v1', { device: 'S1-CT1', school: 'S1', kind: 'canteen_terminal' });
  assert.deepEqual(terminal.subscribe, ['campus/v1/_gateway/S1/canteen/case']);
});

test('mosquitto: password_file, acl_file and a conf that loads them by absolute path, with the contract settings', () => {
  const f = mosquittoFiles({ dir: '/etc/cg', port: 1884, bind: '127.0.0.1', prefix: 'campus/v1', gateway: { users: ['campus-gateway'], brokerHash: mosquittoHash('g') }, devices: devices as (DeviceHashes & { brokerHash: string })[] });
  const pw = f.password_file.trim().split('\n');
  assert.deepEqual(pw.map((l) => l.split(':')[0]), ['campus-gateway', 'S1-AB01', 'S1-CAM01']);
  assert.ok(verifyMosquittoHash(pw[1].slice(pw[1].indexOf(':') + 1), 'b'));
  assert.match(f.acl_file, /^user campus-gateway\ntopic readwrite campus\/v1\/#\n/m);
  assert.match(f.acl_file, /^user S1-AB01\ntopic write campus\/v1\/S1\/S1-AB01\/alarm\n(topic write .*\n)*topic read campus\/v1\/S1\/S1-AB01\/alarm\/state\n/m);
  assert.ok(!/^topic /m.test(f.acl_file.split('\nuser ')[0]), 'no topic line applies to everyone');
  const conf = f['mosquitto.conf'].split('\n');
  for (const line of ['per_listener_settings false', 'allow_anonymous false', 'password_file /etc/cg/password_file', 'acl_file /etc/cg/acl_file', 'persistence true', 'persistence_location /etc/cg/', 'autosave_interval 1', 'autosave_on_changes false', 'max_packet_size 65536', 'max_queued_messages 0', 'use_username_as_clientid true'])
    assert.ok(conf.includes(line), line);
  // A listener option before any listener line would open a second, default listener on 1883.
  assert.ok(conf.indexOf('use_username_as_clientid true') > conf.indexOf('listener 1884 127.0.0.1'));
  assert.throws(() => mosquittoFiles({ dir: 'rel', port: 1, prefix: 'p', gateway: { users: ['g'], brokerHash: 'h' }, devices: [] }), /absolute/);
  assert.throws(() => mosquittoFiles({ dir: '/x', port: 1, prefix: 'p', gateway: { users: ['S1-AB01'], brokerHash: 'h' }, devices: devices as never }), /also a device/);
});

test('emqx: users to import (sha256, no salt), Erlang-term ACL ending in deny, settings with no_match = deny and 64KB packets', () => {
  const f = emqxFiles({ dir: '/etc/cg', port: 1883, prefix: 'campus/v1', gateway: { users: ['campus-gateway'], password: 'g' }, devices });
  const users = JSON.parse(f['users.json']) as Record<string, unknown>[];
  assert.deepEqual(users[0], { user_id: 'campus-gateway', password_hash: sha('g'), salt: '', is_superuser: false });
  assert.deepEqual(users[1], { user_id: 'S1-AB01', password_hash: sha('b'), salt: '', is_superuser: false });
  assert.equal(f['users.csv'].split('\n')[0], 'user_id,password_hash,salt,is_superuser');
  assert.equal(f['users.csv'].split('\n')[2], `S1-AB01,${sha('b')},,false`);

  const rules = f['acl.conf'].split('\n').filter((l) => l && !l.startsWith('%%'));
  // Every rule is one Erlang tuple ending with a period.
  for (const r of rules) assert.match(r, /^\{(allow|deny), .*\}\.$/, r);
  assert.ok(rules.includes('{allow, {username, "campus-gateway"}, all, ["campus/v1/#"]}.'));
  assert.ok(rules.includes('{allow, {username, "S1-AB01"}, publish, ["campus/v1/S1/S1-AB01/alarm", "campus/v1/S1/S1-AB01/heartbeat", "campus/v1/S1/S1-AB01/availability"]}.'));
  assert.ok(rules.includes('{allow, {username, "S1-AB01"}, subscribe, [{eq, "campus/v1/S1/S1-AB01/alarm/state"}]}.'));
  assert.ok(!rules.some((r) => r.includes('"S1-CAM01"}, subscribe')), 'a camera subscribes to nothing');
  assert.equal(rules.at(-1), '{deny, all}.');

  const conf = f['emqx.conf.example'];
  assert.match(conf, /password_hash_algorithm \{ name = sha256, salt_position = disable \}/);
  assert.match(conf, /no_match = deny/);
  assert.match(conf, /max_packet_size = 64KB/);
  assert.match(conf, /use_username_as_clientid = true/);
  assert.match(conf, /path = "\/etc\/cg\/acl\.conf"/);
  assert.match(conf, /durable_sessions \{ enable = true \}/);
});

test('GET /api/devices/credentials/hashes (admin): the hashes of the secrets just made; a row from before broker hashes says null', async () => {
  const g = await buildInProcess();
  try {
    const made = await g.call('POST', '/api/devices/credentials', { token: g.tokens.admin, body: { school: 'S001' } });
    assert.equal(made.status, 201);
    const secret = new Map<string, string>(made.body.credentials.map((c: { device: string; password: string }) => [c.device, c.password]));
    assert.equal((await g.call('GET', '/api/devices/credentials/hashes', { token: g.tokens.operator })).status, 403);
    assert.equal((await g.call('GET', '/api/devices/credentials/hashes')).status, 401);

    const res = await g.call('GET', '/api/devices/credentials/hashes', { token: g.tokens.admin });
    assert.equal(res.status, 200);
    const rows = res.body.devices as DeviceHashes[];
    const b = rows.find((r) => r.device === 'S001-AB01')!;
    assert.equal(b.school, 'S001');
    assert.equal(b.kind, 'alarm_button');
    assert.equal(b.sha256, sha(secret.get('S001-AB01')!));
    assert.ok(verifyMosquittoHash(b.brokerHash!, secret.get('S001-AB01')!));
    assert.ok(!JSON.stringify(res.body).includes(secret.get('S001-AB01')!), 'never the secret itself');
    assert.equal(res.body.missing.length, 0, 'the harness provisioned every device');

    // A secret made before the gateway kept broker hashes: its row has none (the column was added to the old table).
    const db = new Database(path.join(g.services.config.dataDir, 'ledger.sqlite'));
    db.prepare('UPDATE device_credentials SET broker_hash = NULL WHERE device = ?').run('S001-AB02');
    db.close();
    const after = await g.call('GET', '/api/devices/credentials/hashes', { token: g.tokens.admin });
    assert.equal((after.body.devices as DeviceHashes[]).find((r) => r.device === 'S001-AB02')!.brokerHash, null);
  } finally {
    await g.close();
  }
});

test('city (0010): each county writes only city/v1/<county>/#, the city only reads city/v1/+/feed; EMQX users and rules in the same formats', () => {
  const login = (user: string, password: string) => ({ user, password, brokerHash: mosquittoHash(password) });
  const input = { dir: '/etc/city', port: 1883, city: login('city-gateway', 'c'), counties: [{ county: 'east', ...login(countyUser('east'), 'e') }, { county: 'west', ...login(countyUser('west'), 'w') }] };
  const m = cityMosquittoFiles(input);
  const pw = m.password_file.trim().split('\n');
  assert.deepEqual(pw.map((l) => l.split(':')[0]), ['city-gateway', 'county-east', 'county-west']);
  assert.ok(verifyMosquittoHash(pw[1].slice(pw[1].indexOf(':') + 1), 'e'));
  const blocks = m.acl_file.split('\n\n').filter((b) => b.startsWith('user '));
  assert.deepEqual(blocks.map((b) => b.trim()), ['user city-gateway\ntopic read city/v1/+/feed', 'user county-east\ntopic write city/v1/east/#', 'user county-west\ntopic write city/v1/west/#']);
  for (const line of ['allow_anonymous false', 'password_file /etc/city/password_file', 'acl_file /etc/city/acl_file', 'persistence true', 'max_queued_messages 0', 'use_username_as_clientid true'])
    assert.ok(m['mosquitto.conf'].split('\n').includes(line), line);

  const e = cityEmqxFiles(input);
  assert.deepEqual(JSON.parse(e['users.json']), [
    { user_id: 'city-gateway', password_hash: sha('c'), salt: '', is_superuser: false },
    { user_id: 'county-east', password_hash: sha('e'), salt: '', is_superuser: false },
    { user_id: 'county-west', password_hash: sha('w'), salt: '', is_superuser: false },
  ]);
  const rules = e['acl.conf'].split('\n').filter((l) => l && !l.startsWith('%%'));
  for (const r of rules) assert.match(r, /^\{(allow|deny), .*\}\.$/, r);
  assert.ok(rules.includes('{allow, {username, "city-gateway"}, subscribe, [{eq, "city/v1/+/feed"}]}.'));
  assert.ok(rules.includes('{allow, {username, "county-east"}, publish, ["city/v1/east/#"]}.'));
  assert.ok(!rules.some((r) => r.includes('"county-east"}, subscribe') || r.includes('"city-gateway"}, publish')), 'a county reads nothing, the city writes nothing');
  assert.equal(rules.at(-1), '{deny, all}.');
  assert.match(e['emqx.conf.example'], /no_match = deny/);
  assert.match(e['emqx.conf.example'], /use_username_as_clientid = true/);
  assert.match(e['README.md'], /CITY_INGEST_USERNAME=city-gateway/);

  assert.throws(() => cityMosquittoFiles({ ...input, dir: 'rel' }), /absolute/);
  assert.throws(() => cityEmqxFiles({ ...input, city: login('county-east', 'x') }), /also county "east"'s login/);
  assert.throws(() => cityMosquittoFiles({ ...input, counties: [{ county: 'East/#', ...login('county-x', 'x') }] }), /cannot be written into a broker file/);
});

test('--gateway-user repeated (one login per gateway of a region): each a login with the one password and the gateway rule; duplicates and device ids refused', () => {
  const users = ['gw-a', 'gw-b'];
  const m = mosquittoFiles({ dir: '/etc/cg', port: 1883, prefix: 'campus/v1', gateway: { users, brokerHash: mosquittoHash('g') }, devices: devices as (DeviceHashes & { brokerHash: string })[] });
  const pw = m.password_file.trim().split('\n');
  assert.deepEqual(pw.map((l) => l.split(':')[0]), ['gw-a', 'gw-b', 'S1-AB01', 'S1-CAM01']);
  for (const line of pw.slice(0, 2)) assert.ok(verifyMosquittoHash(line.slice(line.indexOf(':') + 1), 'g'));
  for (const u of users) assert.match(m.acl_file, new RegExp(`^user ${u}\\ntopic readwrite campus/v1/#\\n`, 'm'));

  const e = emqxFiles({ dir: '/etc/cg', port: 1883, prefix: 'campus/v1', gateway: { users, password: 'g' }, devices });
  const rows = JSON.parse(e['users.json']) as Record<string, unknown>[];
  assert.deepEqual(rows.slice(0, 2), users.map((u) => ({ user_id: u, password_hash: sha('g'), salt: '', is_superuser: false })));
  assert.deepEqual(e['users.csv'].split('\n').slice(1, 3), users.map((u) => `${u},${sha('g')},,false`));
  for (const u of users) assert.ok(e['acl.conf'].includes(`{allow, {username, "${u}"}, all, ["campus/v1/#"]}.`));

  assert.throws(() => emqxFiles({ dir: '/x', port: 1, prefix: 'p', gateway: { users: ['a', 'a'], password: 'g' }, devices: [] }), /twice/);
  assert.throws(() => emqxFiles({ dir: '/x', port: 1, prefix: 'p', gateway: { users: [], password: 'g' }, devices: [] }), /at least one/);
  assert.throws(() => mosquittoFiles({ dir: '/x', port: 1, prefix: 'p', gateway: { users: ['gw-a', 'S1-AB01'], brokerHash: 'h' }, devices: devices as never }), /also a device/);
});
