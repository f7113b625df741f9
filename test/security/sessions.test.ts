/**
 * Operators' sessions (contract §6, issue 9): login throttling, a login flood that cannot starve
 * alarm intake, tokens that end when their user changes or goes (HTTP and /live), the per-user
 * socket cap, security headers, and the data directory's file modes. In process (`buildInProcess`),
 * with the real embedded broker and a real listener for the WebSockets.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { buildInProcess, type InProcessGateway } from '../routes/harness.js';
import { REPO_ROOT } from '../support/gateway.js';
import { connectDevice, type MqttClient } from '../support/mqtt.js';
import { openLive } from '../support/ws.js';
import { waitFor } from '../support/wait.js';
import { LoginThrottle } from '../../gateway/auth/throttle.js';
import { loadRegistry } from '../../gateway/registry.js';

const button = [...loadRegistry(path.join(REPO_ROOT, 'config/county.json')).devices.values()].find((d) => d.kind === 'alarm_button')!;

let g: InProcessGateway;
let url: string;
let device: MqttClient;
before(async () => {
  g = await buildInProcess();
  await g.app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(g.app.server.address() as import('node:net').AddressInfo).port}`;
  device = await connectDevice(g.mqttUrl);
});
after(async () => {
  await device?.endAsync(true);
  await g?.close();
});

const password = () => randomBytes(12).toString('base64url');
const loginAs = (user: string, pw: string) => g.call('POST', '/api/login', { body: { user, password: pw } });

async function makeUser(role: 'viewer' | 'operator' | 'admin'): Promise<{ user: string; pw: string; token: string }> {
  const user = `${role}-${randomBytes(4).toString('hex')}`;
  const pw = password();
  assert.equal((await g.call('POST', '/api/users', { token: g.tokens.admin, body: { user, password: pw, role } })).status, 201);
  const res = await loginAs(user, pw);
  assert.equal(res.status, 200);
  return { user, pw, token: res.body.token };
}

/** ms from publishing an alarm to its PUBACK, which the gateway sends only after the commit. */
async function alarmCommitMs(): Promise<number> {
  const started = performance.now();
  await device.publishAsync(`campus/v1/${button.school}/${button.id}/alarm`, JSON.stringify({ id: `a-${randomBytes(6).toString('hex')}`, ts: Date.now(), kind: 'panic' }), { qos: 1 });
  return performance.now() - started;
}

test('5 failed logins lock that user name for the window (429 + Retry-After), even with the right password; others are unaffected', async () => {
  const u = await makeUser('operator');
  for (let i = 1; i <= 5; i++) {
    const res = await loginAs(u.user, `wrong-${i}-password`);
    assert.equal(res.status, 401, `failure ${i} is an ordinary 401`);
    assert.equal(res.body.error, 'bad_credentials');
  }
  const locked = await loginAs(u.user, u.pw);
  assert.equal(locked.status, 429);
  assert.equal(locked.body.error, 'too_many_attempts');
  const retryAfter = Number(locked.headers['retry-after']);
  assert.ok(retryAfter > 14 * 60 && retryAfter <= 15 * 60, `Retry-After ${locked.headers['retry-after']} is the rest of the 15-minute window`);
  // An unknown name is counted alike (a 429 must not tell whether an account exists).
  const ghost = `ghost-${randomBytes(4).toString('hex')}`;
  for (let i = 0; i < 5; i++) assert.equal((await loginAs(ghost, 'wrong-password')).status, 401);
  assert.equal((await loginAs(ghost, 'wrong-password')).status, 429);
  // Another user logs in as usual, and the locked user's existing token still works.
  assert.equal((await loginAs('admin', 'not-the-password')).status, 401);
  assert.equal((await g.call('GET', '/api/alarms', { token: u.token })).status, 200);
});

test('the throttle window slides: a locked name may try again once its oldest failure is 15 minutes old', () => {
  let now = 1_000_000;
  const t = new LoginThrottle({ now: () => now });
  for (let i = 0; i < 5; i++) {
    assert.equal(t.retryAfterSec('u'), 0);
    t.failed('u');
    now += 60_000; // one failure a minute
  }
  // Failures at 0, 1, 2, 3, 4 min; now = 5 min: the first leaves the window at 15 min.
  assert.equal(t.retryAfterSec('u'), 10 * 60);
  now += 10 * 60_000 - 1;
  assert.equal(t.retryAfterSec('u'), 1);
  now += 1;
  assert.equal(t.retryAfterSec('u'), 0);
  t.failed('u');
  assert.equal(t.retryAfterSec('u'), 60, 'locked again until the second failure ages out');
  t.succeeded('u');
  const small = new LoginThrottle({ maxNames: 3, now: () => now });
  for (const n of ['a', 'b', 'c', 'd']) for (let i = 0; i < 5; i++) small.failed(n);
  assert.equal(small.retryAfterSec('a'), 0, 'the least recently failed name is forgotten past maxNames');
  assert.ok(small.retryAfterSec('d') > 0);
});

test('a flood of wrong logins neither starves alarm intake nor queues without bound', async () => {
  const quiet: number[] = [];
  for (let i = 0; i < 5; i++) quiet.push(await alarmCommitMs());
  // 60 logins at once, each a different name (so throttling does not shortcut the password check).
  const flood = Array.from({ length: 60 }, () => loginAs(`flood-${randomBytes(6).toString('hex')}`, 'wrong-password'));
  await waitFor('password checks to be running', () => g.services.users.hashing.active > 0);
  const busy: number[] = [];
  while (g.services.users.hashing.active > 0) busy.push(await alarmCommitMs());
  const answers = await Promise.all(flood);
  const sorted = [...busy].sort((a, b) => a - b);
  const p95 = sorted[Math.floor(sorted.length * 0.95)];
  const worst = sorted.at(-1)!;
  // Bounds with room for a machine shared with other work; an unbounded hash pool (one scrypt
  // per login at once, 64 MiB each) pushes them well past these on 2 cores.
  const P95_BOUND_MS = 100;
  const MAX_BOUND_MS = 1000;
  console.log(
    `alarm commit: quiet max ${Math.max(...quiet).toFixed(1)} ms; during the login flood p50 ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${worst.toFixed(1)} ms over ${busy.length} alarms`,
  );
  assert.ok(busy.length >= 3, 'alarms were committed while the flood ran');
  assert.ok(p95 < P95_BOUND_MS, `p95 of alarm commits during a login flood is ${p95.toFixed(0)} ms (bound ${P95_BOUND_MS} ms)`);
  assert.ok(worst < MAX_BOUND_MS, `an alarm took ${worst.toFixed(0)} ms to commit during a login flood (bound ${MAX_BOUND_MS} ms)`);
  const by = (s: number) => answers.filter((a) => a.status === s);
  const { concurrency, queue } = g.services.users.hashing;
  assert.equal(by(401).length, concurrency + queue, 'as many checks as run and wait were done');
  assert.equal(by(503).length, 60 - concurrency - queue, 'the rest were refused at once');
  for (const r of by(503)) {
    assert.equal(r.body.error, 'busy');
    assert.ok(Number(r.headers['retry-after']) >= 1);
  }
});

test('changing a user ends its tokens at once: role change, password change, deletion', async () => {
  const u = await makeUser('operator');
  assert.equal((await g.call('GET', '/api/alarms', { token: u.token })).status, 200);
  // New role (and password): the old token is refused, a new login works with the new role.
  const pw2 = password();
  assert.equal((await g.call('POST', '/api/users', { token: g.tokens.admin, body: { user: u.user, password: pw2, role: 'viewer' } })).status, 201);
  const revoked = await g.call('GET', '/api/alarms', { token: u.token });
  assert.equal(revoked.status, 401);
  assert.equal(revoked.body.error, 'token_revoked');
  assert.equal((await loginAs(u.user, u.pw)).status, 401, 'the old password is gone');
  const fresh = await loginAs(u.user, pw2);
  assert.equal(fresh.body.role, 'viewer');
  // Deleted: 200 once, then 404; its token is refused; recreating the name does not revive it.
  const del = await g.call('DELETE', `/api/users/${u.user}`, { token: g.tokens.admin });
  assert.equal(del.status, 200);
  assert.deepEqual(del.body, { user: u.user, deleted: true });
  assert.equal((await g.call('GET', '/api/alarms', { token: fresh.body.token })).body.error, 'token_revoked');
  assert.equal((await g.call('DELETE', `/api/users/${u.user}`, { token: g.tokens.admin })).status, 404);
  assert.equal((await g.call('POST', '/api/users', { token: g.tokens.admin, body: { user: u.user, password: pw2, role: 'viewer' } })).status, 201);
  assert.equal((await g.call('GET', '/api/alarms', { token: fresh.body.token })).status, 401, 'a token of the deleted account stays dead');
  // Only admins delete; the file on disk agrees.
  assert.equal((await g.call('DELETE', `/api/users/${u.user}`, { token: g.tokens.operator })).status, 403);
  const file = JSON.parse(fs.readFileSync(g.services.users.file, 'utf8'));
  assert.ok(file.users.some((x: { user: string }) => x.user === u.user));
});

test('the last admin can be neither deleted nor demoted (409); with a second admin it can', async () => {
  const del = await g.call('DELETE', '/api/users/admin', { token: g.tokens.admin });
  assert.equal(del.status, 409);
  assert.equal(del.body.error, 'last_admin');
  const demote = await g.call('POST', '/api/users', { token: g.tokens.admin, body: { user: 'admin', password: password(), role: 'operator' } });
  assert.equal(demote.status, 409);
  const second = await makeUser('admin');
  const other = await g.call('DELETE', `/api/users/${second.user}`, { token: g.tokens.admin });
  assert.equal(other.status, 200);
  assert.equal((await g.call('GET', '/api/users', { token: g.tokens.admin })).status, 200, 'the admin token is untouched');
});

test("a revoked user's /live sockets are closed at once (4003), others stay", async () => {
  const u = await makeUser('viewer');
  const other = await makeUser('viewer');
  const mine = [await openLive(url, u.token), await openLive(url, u.token)];
  const theirs = await openLive(url, other.token);
  for (const l of [...mine, theirs]) await l.next((f) => f.type === 'snapshot');
  assert.equal((await g.call('DELETE', `/api/users/${u.user}`, { token: g.tokens.admin })).status, 200);
  for (const l of mine) assert.deepEqual(await l.closed, { code: 4003, reason: 'user deleted' });
  // The other user's socket still gets frames.
  await alarmCommitMs();
  assert.equal((await theirs.next((f) => f.type === 'alarm')).type, 'alarm');
  // The revoked token cannot open a new one.
  const status = await new Promise<number>((resolve) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/live?token=${u.token}`);
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => (ws.close(), resolve(101)));
    ws.on('error', () => undefined);
  });
  assert.equal(status, 401);
  await theirs.close();
});

test('one user may hold at most 20 /live sockets: the 21st is refused with 429 before the upgrade', async () => {
  const u = await makeUser('viewer');
  const open = await Promise.all(Array.from({ length: 20 }, () => openLive(url, u.token)));
  const refused = await new Promise<{ status: number; body: string; retryAfter?: string }>((resolve) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/live?token=${u.token}`);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, retryAfter: res.headers['retry-after'] as string | undefined }));
    });
    ws.on('open', () => (ws.close(), resolve({ status: 101, body: '' })));
    ws.on('error', () => undefined);
  });
  assert.equal(refused.status, 429);
  assert.equal(JSON.parse(refused.body).error, 'too_many_sockets');
  assert.ok(refused.retryAfter);
  // Another user is not affected; closing one of the 20 makes room again.
  const other = await makeUser('viewer');
  const theirs = await openLive(url, other.token);
  await theirs.next((f) => f.type === 'snapshot');
  await open[0].close();
  await waitFor('the closed socket to leave the count', () => !g.services.hub.refusal(u.user));
  const again = await openLive(url, u.token);
  await again.next((f) => f.type === 'snapshot');
  for (const l of [...open.slice(1), again, theirs]) await l.close();
});

test('every HTTP answer carries the security headers (the screen, the API, errors)', async () => {
  for (const [p, status] of [['/health', 200], ['/api/alarms', 401], ['/no/such/route', 404], ['/openapi.json', 200]] as const) {
    const res = await fetch(`${url}${p}`);
    assert.equal(res.status, status, p);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/, p);
    assert.match(csp, /frame-ancestors 'none'/, p);
    assert.match(csp, new RegExp(`connect-src 'self' ws://${url.slice(7)} wss://${url.slice(7)}`), p);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|upgrade-insecure/, p);
    assert.equal(res.headers.get('x-frame-options'), 'DENY', p);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', p);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer', p);
  }
  // A Host header that is not a plain host:port is never reflected into the policy.
  const odd = await g.app.inject({ method: 'GET', url: '/health', headers: { host: 'evil.example; script-src *' } });
  assert.doesNotMatch(String(odd.headers['content-security-policy']), /evil/);
});

test('DATA_DIR files are owner-only: users file, token secret and ledger 0600', () => {
  const dir = path.dirname(g.services.users.file);
  for (const f of ['users.json', 'token-secret', 'ledger.sqlite', 'ledger.sqlite-wal']) {
    const mode = fs.statSync(path.join(dir, f)).mode & 0o777;
    assert.equal(mode.toString(8), '600', f);
  }
  // No temp file of an atomic write is left behind.
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
});
