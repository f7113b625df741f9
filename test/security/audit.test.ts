/**
 * The audit trail (contract §6): logins and failed logins (HTTP and MQTT tools), user changes
 * (through the API and through `npm run user` while the gateway runs), credential changes and
 * alarm actions are recorded with who, when, from where and what; entries are hash-chained, and
 * `GET /api/audit/verify` finds an entry changed or removed behind the gateway's back.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { buildInProcess, type InProcessGateway } from '../routes/harness.js';
import { REPO_ROOT } from '../support/gateway.js';
import { connectDevice, mqttLoginFor, type MqttClient } from '../support/mqtt.js';
import { waitFor } from '../support/wait.js';
import { loadRegistry } from '../../gateway/registry.js';

const button = [...loadRegistry(path.join(REPO_ROOT, 'config/county.json')).devices.values()].find((d) => d.kind === 'alarm_button')!;

interface Entry {
  seq: number;
  at: string;
  user: string;
  from: string;
  action: string;
  target: string | null;
  status: number | null;
  detail: Record<string, unknown> | null;
  hash: string;
  prevHash: string;
}

let g: InProcessGateway;
let device: MqttClient;
before(async () => {
  g = await buildInProcess();
  device = await connectDevice(g.mqttUrl);
});
after(async () => {
  await device?.endAsync(true);
  await g?.close();
});

async function entries(query = ''): Promise<Entry[]> {
  const res = await g.call('GET', `/api/audit${query}`, { token: g.tokens.admin });
  assert.equal(res.status, 200, res.text);
  return res.body.entries;
}
const newest = async (action: string, target?: string) => (await entries(`?action=${action}`)).find((e) => target === undefined || e.target === target);

test('logins are recorded: success, wrong password (401, bad_credentials) and the lock-out (429), with the name tried and where from', async () => {
  const user = `op-${randomBytes(3).toString('hex')}`;
  const pw = randomBytes(12).toString('base64url');
  assert.equal((await g.call('POST', '/api/users', { token: g.tokens.admin, body: { user, password: pw, role: 'operator' } })).status, 201);
  assert.equal((await g.call('POST', '/api/login', { body: { user, password: pw } })).status, 200);
  for (let i = 0; i < 5; i++) assert.equal((await g.call('POST', '/api/login', { body: { user, password: `wrong-${i}-password` } })).status, 401);
  assert.equal((await g.call('POST', '/api/login', { body: { user, password: pw } })).status, 429);

  const mine = await entries(`?user=${user}&action=login`);
  assert.deepEqual(mine.map((e) => e.status).reverse(), [200, 401, 401, 401, 401, 401, 429]);
  assert.deepEqual(mine.map((e) => e.detail?.error).reverse(), [undefined, ...Array(5).fill('bad_credentials'), 'too_many_attempts']);
  for (const e of mine) assert.equal(e.from, '127.0.0.1');
  // Never the password, right or wrong.
  assert.doesNotMatch(JSON.stringify(mine), new RegExp(`${pw}|wrong-\\d-password`));

  const save = await newest('user.save', user);
  assert.equal(save?.user, 'admin');
  assert.deepEqual(save?.detail, { role: 'operator' });
});

test('an MQTT tool login is recorded like an HTTP one, a failed one too', async () => {
  const url = g.mqttUrl;
  const c = mqtt.connect(url, { username: 'maintenance-1', password: 'not-the-password', clientId: `tool-${randomBytes(3).toString('hex')}`, reconnectPeriod: 0 });
  await new Promise<void>((resolve) => c.once('error', () => resolve()).once('close', () => resolve()));
  c.end(true);
  const e = await waitFor('the MQTT login entry', async () => (await entries('?user=maintenance-1&action=login')).find((x) => x.from === 'mqtt'));
  assert.equal(e.status, 401);
  assert.equal(e.detail?.via, 'mqtt');
});

test('user deletion, device credentials and alarm actions are recorded with who and on what; a refused action too', async () => {
  const user = `gone-${randomBytes(3).toString('hex')}`;
  await g.call('POST', '/api/users', { token: g.tokens.admin, body: { user, password: randomBytes(12).toString('base64url'), role: 'viewer' } });
  assert.equal((await g.call('DELETE', `/api/users/${user}`, { token: g.tokens.admin })).status, 200);
  assert.equal((await newest('user.delete', user))?.status, 200);

  const made = await g.call('POST', `/api/devices/${button.id}/credentials`, { token: g.tokens.admin });
  assert.equal(made.status, 201);
  const cred = await newest('device.credentials', button.id);
  assert.equal(cred?.user, 'admin');
  assert.doesNotMatch(JSON.stringify(await entries()), new RegExp(made.body.password), 'the secret is never in the trail');
  // The button's old secret is over: reconnect the fleet with the new one.
  await device.endAsync(true);
  mqttLoginFor(g.mqttUrl)!.devices.set(button.id, made.body.password);
  device = await connectDevice(g.mqttUrl);

  const alarmId = `audit-${randomBytes(4).toString('hex')}`;
  await device.publishAsync(`campus/v1/${button.school}/${button.id}/alarm`, JSON.stringify({ id: alarmId, ts: Date.now(), kind: 'panic' }), { qos: 1 });
  const alarm = await waitFor('the alarm', async () => (await g.call('GET', '/api/alarms', { token: g.tokens.viewer })).body.alarms.find((a: { sourceId?: string; device: string }) => a.device === button.id));
  assert.equal((await g.call('POST', `/api/alarms/${alarm.id}/ack`, { token: g.tokens.operator, body: { note: '值班员已确认' } })).status, 200);
  const again = await g.call('POST', `/api/alarms/${alarm.id}/ack`, { token: g.tokens.operator });
  assert.equal(again.status, 409, again.text);
  assert.equal((await g.call('POST', `/api/alarms/${alarm.id}/resolve`, { token: g.tokens.viewer })).status, 403);

  const acks = (await entries(`?action=alarm.*`)).filter((e) => e.target === alarm.id);
  assert.deepEqual(acks.map((e) => [e.user, e.action, e.status, e.detail?.error ?? null]).reverse(), [
    ['operator-1', 'alarm.ack', 200, null],
    ['operator-1', 'alarm.ack', 409, 'illegal_transition'],
    ['viewer-1', 'alarm.resolve', 403, 'forbidden'],
  ]);
  assert.equal(acks.at(-1)?.detail?.note, '值班员已确认');
});

test('anonymous requests to audited routes are not recorded (they changed nothing); the trail is for admins only', async () => {
  const before = (await entries('?limit=1'))[0].seq;
  assert.equal((await g.call('POST', `/api/alarms/whatever/ack`)).status, 401);
  assert.equal((await g.call('DELETE', '/api/users/operator-1')).status, 401);
  assert.equal((await entries('?limit=1'))[0].seq, before);
  assert.equal((await g.call('GET', '/api/audit', { token: g.tokens.operator })).status, 403);
  assert.equal((await g.call('GET', '/api/audit/verify', { token: g.tokens.operator })).status, 403);
  assert.equal((await g.call('GET', '/api/audit')).status, 401);
});

test('filters: since/until, user, an action family, limit; bad times are refused by name', async () => {
  const all = await entries('?limit=100000');
  assert.ok(all.length >= 20);
  for (let i = 1; i < all.length; i++) assert.equal(all[i].seq, all[i - 1].seq - 1, 'newest first, no gaps');
  const mid = all[Math.floor(all.length / 2)];
  const since = await entries(`?since=${encodeURIComponent(mid.at)}&limit=100000`);
  assert.ok(since.every((e) => e.at >= mid.at) && since.some((e) => e.seq === mid.seq));
  const until = await entries(`?until=${Date.parse(mid.at)}&limit=100000`);
  assert.ok(until.every((e) => e.at < mid.at) && until.length > 0);
  assert.equal((await entries('?limit=3')).length, 3);
  assert.ok((await entries('?action=alarm.*')).every((e) => e.action.startsWith('alarm.')));
  assert.ok((await entries('?user=admin')).every((e) => e.user === 'admin'));
  const bad = await g.call('GET', '/api/audit?since=yesterday', { token: g.tokens.admin });
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /^since: /);
  assert.equal((await g.call('GET', `/api/audit?since=${Date.now()}&until=${Date.now() - 1000}`, { token: g.tokens.admin })).status, 400);
});

test('CSV export: a BOM for Excel, one row per entry, and a formula typed as a user name is neutralized', async () => {
  await g.call('POST', '/api/login', { body: { user: '=HYPERLINK("x")', password: 'whatever-password' } });
  const res = await g.call('GET', '/api/audit?format=csv&limit=100000', { token: g.tokens.admin });
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/csv/);
  assert.match(String(res.headers['content-disposition']), /attachment; filename="audit.csv"/);
  assert.ok(res.text.startsWith('\ufeffseq,at,user,from,action,target,status,detail,prev_hash,hash\r\n'));
  const lines = res.text.trim().split('\r\n');
  assert.equal(lines.length - 1, (await entries('?limit=100000')).length);
  assert.ok(lines.some((l) => l.includes(`"'=HYPERLINK(""x"")"`)), 'the formula is quoted and prefixed');
});

test('npm run user while the gateway runs: the change is seen, audited, and the old tokens end', async () => {
  const before = await g.call('GET', '/api/alarms', { token: g.tokens.operator });
  assert.equal(before.status, 200);
  await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/user.ts', 'add', 'operator-1', 'operator'], {
    cwd: REPO_ROOT,
    env: { ...process.env, DATA_DIR: g.services.config.dataDir, GATEWAY_USER_PASSWORD: randomBytes(12).toString('base64url') },
  });
  await waitFor("operator-1's old token refused", async () => (await g.call('GET', '/api/alarms', { token: g.tokens.operator })).status === 401);
  const e = await waitFor('the users-file entry', async () => newest('user.save', 'operator-1').then((x) => (x?.user === 'users-file' ? x : undefined)));
  assert.equal(e.detail?.change, 'changed');
});

test('verify: intact as written; an entry changed, or removed, behind the gateway is found', async () => {
  const ok = await g.call('GET', '/api/audit/verify', { token: g.tokens.admin });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.intact, true);
  const all = await entries('?limit=100000');
  assert.equal(ok.body.entries, all.length);
  assert.equal(ok.body.head, all[0].hash);

  const db = new Database(path.join(g.services.config.dataDir, 'ledger.sqlite'));
  try {
    db.prepare("UPDATE audit SET user = 'nobody' WHERE seq = 3").run();
    let v = (await g.call('GET', '/api/audit/verify', { token: g.tokens.admin })).body;
    assert.deepEqual([v.intact, v.brokenAt], [false, 3]);
    assert.match(v.reason, /changed/);

    db.prepare("UPDATE audit SET user = ? WHERE seq = 3").run(all.find((e) => e.seq === 3)!.user);
    assert.equal((await g.call('GET', '/api/audit/verify', { token: g.tokens.admin })).body.intact, true, 'restored, it verifies again');

    db.prepare('DELETE FROM audit WHERE seq = 5').run();
    v = (await g.call('GET', '/api/audit/verify', { token: g.tokens.admin })).body;
    assert.deepEqual([v.intact, v.brokenAt], [false, 6]);
    assert.match(v.reason, /entry 5 is missing/);
  } finally {
    db.close();
  }
});

test('the chain continues across a restart (the head is read back from the ledger)', async () => {
  const dir = (await import('../support/procs.js')).makeTempDir;
  const dataDir = await dir('audit-restart-');
  const pw = randomBytes(12).toString('base64url');
  const first = await buildInProcess({ DATA_DIR: dataDir, GATEWAY_ADMIN_PASSWORD: pw });
  await first.close();
  const second = await buildInProcess({ DATA_DIR: dataDir, GATEWAY_ADMIN_PASSWORD: pw });
  try {
    const res = await second.call('GET', '/api/audit?limit=100000', { token: second.tokens.admin });
    const seqs = res.body.entries.map((e: Entry) => e.seq);
    assert.ok(seqs.length > 10, 'both runs recorded their logins');
    assert.deepEqual(seqs, [...seqs].sort((a: number, b: number) => b - a));
    const v = await second.call('GET', '/api/audit/verify', { token: second.tokens.admin });
    assert.equal(v.body.intact, true);
    assert.equal(v.body.entries, seqs.length);
  } finally {
    await second.close();
  }
});
