/**
 * Kiosks (issue "wall screen finished"): an admin issues a view-only credential for a named wall
 * screen; its one-time setup code binds one browser; the device secret is traded for short
 * sessions; revoking ends HTTP and /live at once. Against the real gateway process (its log too).
 *
 *   node --import tsx --test --test-force-exit test/security/kiosks.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { api, login, startGateway, type GatewayProc } from '../support/gateway.js';
import { openLive } from '../support/ws.js';

let gw: GatewayProc;
let admin: string;
before(async () => {
  gw = await startGateway({ env: { LOG_LEVEL: 'debug' } });
  admin = await login(gw.url, 'admin', gw.adminPassword);
});
after(async () => {
  await gw?.stop().catch(() => gw.kill9());
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
/** Random bits in a `prefix_` + base64url secret. */
const bits = (secret: string) => secret.slice(3).length * 6;

async function makeViewer(): Promise<string> {
  const pw = 'viewer-password-1';
  assert.equal((await api(gw.url, admin, 'POST', '/api/users', { user: 'wall-viewer', password: pw, role: 'viewer' })).status, 201);
  return login(gw.url, 'wall-viewer', pw);
}

test('a kiosk: issued by an admin, set up once, views, never acts, revoked at once (HTTP 401 and /live 4003)', async () => {
  // Only an admin issues; a viewer or nobody is refused with the usual codes.
  const viewer = await makeViewer();
  assert.equal((await api(gw.url, viewer, 'POST', '/api/kiosks', { name: 'x' })).body.error, 'forbidden');
  assert.equal((await api(gw.url, undefined, 'POST', '/api/kiosks', { name: 'x' })).status, 401);

  const issued = await api(gw.url, admin, 'POST', '/api/kiosks', { name: '指挥中心大屏 1' });
  assert.equal(issued.status, 201, JSON.stringify(issued.body));
  const { id, setupCode, url } = issued.body;
  assert.equal(issued.body.name, '指挥中心大屏 1');
  assert.equal(issued.body.state, 'awaiting_setup');
  assert.ok(bits(setupCode) >= 128, `setup code has ${bits(setupCode)} random bits`);
  assert.equal(url, `${gw.url}/#kiosk-setup=${setupCode}`, 'the link carries the code in the fragment, which a browser never sends');

  // Set-up: once. The second use (another browser) is refused, and so is a made-up code.
  const setup = await api(gw.url, undefined, 'POST', '/api/kiosk/setup', { setupCode });
  assert.equal(setup.status, 201, JSON.stringify(setup.body));
  const { secret, token } = setup.body;
  assert.equal(setup.body.role, 'viewer');
  assert.equal(setup.body.user, `kiosk:${id}`);
  assert.deepEqual(setup.body.kiosk, { id, name: '指挥中心大屏 1' });
  assert.ok(bits(secret) >= 128, `device secret has ${bits(secret)} random bits`);
  const again = await api(gw.url, undefined, 'POST', '/api/kiosk/setup', { setupCode });
  assert.equal(again.status, 409);
  assert.equal(again.body.error, 'setup_used');
  const madeUp = await api(gw.url, undefined, 'POST', '/api/kiosk/setup', { setupCode: 'ks_' + 'A'.repeat(27) });
  assert.equal(madeUp.status, 401);
  assert.equal(madeUp.body.error, 'bad_setup_code');

  // The admin sees where and when it was set up; no secret or hash in the listing.
  const listed = await api(gw.url, admin, 'GET', '/api/kiosks');
  const row = listed.body.kiosks.find((k: { id: string }) => k.id === id);
  assert.equal(row.state, 'active');
  assert.equal(row.boundFrom, '127.0.0.1');
  assert.ok(row.boundAt && row.lastSeenAt);
  assert.match(row.boundAgent, /node/i, "the setting-up client's User-Agent");
  for (const s of [secret, setupCode, sha256(secret), sha256(setupCode)]) assert.ok(!JSON.stringify(listed.body).includes(s), 'no secret or hash in GET /api/kiosks');

  // Views what the wall screen needs; the device secret buys a fresh session.
  for (const route of ['/api/schools', '/api/alarms?state=open', '/api/devices', '/api/targets']) assert.equal((await api(gw.url, token, 'GET', route)).status, 200, route);
  const renewed = await api(gw.url, undefined, 'POST', '/api/kiosk/session', { secret });
  assert.equal(renewed.status, 200);
  assert.ok(Date.parse(renewed.body.expiresAt) - Date.now() <= 3600_000 + 5000, 'a kiosk session is short (≤ 1 h); the secret renews it');
  assert.equal((await api(gw.url, renewed.body.token, 'GET', '/api/schools')).status, 200);
  assert.equal((await api(gw.url, undefined, 'POST', '/api/kiosk/session', { secret: 'kd_not-a-secret' })).body.error, 'bad_kiosk_secret');

  // Never acts: every write is 403 kiosk_read_only (before the route looks at the alarm); admin reads are 403 forbidden.
  for (const [method, route, body] of [
    ['POST', '/api/alarms/any-alarm/ack', {}],
    ['POST', '/api/alarms/any-alarm/resolve', { note: 'x' }],
    ['POST', '/api/users', { user: 'evil', password: 'password-1', role: 'admin' }],
    ['POST', '/api/kiosks', { name: 'another' }],
  ] as const) {
    const r = await api(gw.url, token, method, route, body);
    assert.equal(r.status, 403, `${method} ${route}`);
    assert.equal(r.body.error, 'kiosk_read_only', `${method} ${route}`);
  }
  assert.equal((await api(gw.url, token, 'GET', '/api/audit')).body.error, 'forbidden');
  assert.equal((await api(gw.url, token, 'GET', '/api/kiosks')).body.error, 'forbidden');

  // The live feed works with the session token; revoking closes it with 4003 and ends every session.
  const live = await openLive(gw.url, token);
  assert.equal((await live.next((f) => f.type === 'snapshot')).type, 'snapshot');
  const revoked = await api(gw.url, admin, 'DELETE', `/api/kiosks/${id}`);
  assert.equal(revoked.status, 200);
  assert.equal(revoked.body.state, 'revoked');
  assert.equal(revoked.body.revokedBy, 'admin');
  const closed = await live.closed;
  assert.equal(closed.code, 4003);
  assert.equal(closed.reason, 'kiosk revoked');
  for (const t of [token, renewed.body.token]) {
    const r = await api(gw.url, t, 'GET', '/api/schools');
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'kiosk_revoked');
  }
  await assert.rejects(openLive(gw.url, token), /401/, 'a new /live socket is refused');
  const afterRevoke = await api(gw.url, undefined, 'POST', '/api/kiosk/session', { secret });
  assert.equal(afterRevoke.status, 401);
  assert.equal(afterRevoke.body.error, 'kiosk_revoked');
  assert.equal((await api(gw.url, admin, 'DELETE', '/api/kiosks/k000000000000')).body.error, 'unknown_kiosk');

  // Audited: issuing, the set-up, its refused second use, revoking, and the revoked screen still calling.
  const audit = await api(gw.url, admin, 'GET', '/api/audit?action=kiosk.*');
  const entries = (audit.body.entries as { action: string; user: string; target?: string; status: number; detail?: Record<string, unknown> }[]).filter((e) => e.target === id);
  const seen = entries.map((e) => `${e.action} ${e.user} ${e.status}${e.detail?.error ? ` ${e.detail.error}` : ''}`).reverse();
  assert.deepEqual(seen, [
    'kiosk.issue admin 201',
    `kiosk.setup kiosk:${id} 201`,
    `kiosk.setup kiosk:${id} 409 setup_used`,
    'kiosk.revoke admin 200',
    `kiosk.session kiosk:${id} 401 kiosk_revoked`,
  ]);
  assert.ok(!JSON.stringify(audit.body).includes(secret) && !JSON.stringify(audit.body).includes(setupCode), 'no secret in the audit trail');

  // Stored hashed only (0600), and never in the log (debug level) or /health.
  const file = path.join(gw.dataDir, 'kiosks.json');
  const stored = fs.readFileSync(file, 'utf8');
  assert.ok(stored.includes(sha256(secret)), 'the device secret is stored as its SHA-256');
  assert.ok(!stored.includes(secret) && !stored.includes(setupCode), 'neither secret is stored in clear');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  const health = await api(gw.url, undefined, 'GET', '/health');
  const logs = gw.logs();
  assert.match(logs, /kiosk revoked/, 'the log was captured');
  for (const [what, text] of [['log', logs], ['/health', JSON.stringify(health.body)]] as const)
    for (const s of [secret, setupCode, token]) assert.ok(!text.includes(s), `no kiosk secret or token in the ${what}`);
});

test('a kiosk bound to a school sees that school only, and survives a gateway restart', async () => {
  const issued = await api(gw.url, admin, 'POST', '/api/kiosks', { name: 'S001 门卫室', school: 'S001' });
  assert.equal(issued.status, 201);
  assert.equal((await api(gw.url, admin, 'POST', '/api/kiosks', { name: 'x', school: 'NOPE' })).body.error, 'bad_request');
  const setup = await api(gw.url, undefined, 'POST', '/api/kiosk/setup', { setupCode: issued.body.setupCode });
  const { token, secret } = setup.body;
  assert.equal((await api(gw.url, token, 'GET', '/api/alarms?school=S002')).body.error, 'other_school');
  const schools = await api(gw.url, token, 'GET', '/api/devices');
  assert.ok(schools.body.devices.length > 0 && schools.body.devices.every((d: { school: string }) => d.school === 'S001'));

  await gw.restart();
  assert.equal((await api(gw.url, token, 'GET', '/api/schools')).status, 200, 'its session survives the restart');
  assert.equal((await api(gw.url, undefined, 'POST', '/api/kiosk/session', { secret })).status, 200, 'and so does its secret');
  assert.equal((await api(gw.url, undefined, 'POST', '/api/kiosk/setup', { setupCode: issued.body.setupCode })).body.error, 'setup_used', 'the spent code stays spent');
});

test('a setup code dies after 24 h unused; a revoked kiosk refuses its unused code and its secret', async () => {
  const { KioskStore, SETUP_TTL_MS } = await import('../../gateway/auth/kiosks.js');
  const { makeTempDir } = await import('../support/procs.js');
  let now = Date.parse('2026-03-01T08:00:00Z');
  const store = new KioskStore(await makeTempDir('kiosks-'), () => now);
  const late = store.issue('late screen', undefined, 'admin');
  now += SETUP_TTL_MS;
  assert.deepEqual(store.setup(late.setupCode, '10.0.0.9', undefined), { ok: false, kiosk: store.get(late.kiosk.id), code: 'setup_expired' });
  assert.equal(store.list().find((k) => k.id === late.kiosk.id)?.state, 'setup_expired');

  const never = store.issue('never set up', undefined, 'admin');
  store.revoke(never.kiosk.id, 'admin');
  assert.equal((store.setup(never.setupCode, '10.0.0.9', undefined) as { code: string }).code, 'kiosk_revoked');

  const used = store.issue('used', undefined, 'admin');
  const bound = store.setup(used.setupCode, '10.0.0.9', 'Chromium');
  assert.ok(bound.ok);
  assert.equal(store.active(used.kiosk.id)?.id, used.kiosk.id);
  store.revoke(used.kiosk.id, 'admin');
  assert.equal(store.active(used.kiosk.id), undefined);
  assert.ok(store.bySecret(bound.secret)?.revokedAt, 'the secret is still recognised, to be refused as revoked');

  // Reloaded from the file: the same verdicts.
  const again = new KioskStore(path.dirname(store.file), () => now);
  again.load();
  assert.deepEqual(again.list(), store.list());
});
