/**
 * A picture behind a login (`fetchSnapshot` with a camera's credentials), against a real local
 * HTTP server: Digest is answered, and each refusal says why without the password — no login
 * configured, a wrong password, Basic asked over plain http (never sent), a URI carrying its login.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SNAPSHOT_LIMITS, fetchSnapshot } from '../../gateway/modules/vendors/fetch-snapshot.js';
import { startOnvifSim, type OnvifSim } from '../../scripts/onvif-sim/index.js';

/** Authorization headers the Basic server received. */
const basicSeen: (string | undefined)[] = [];
const basic = http.createServer((req, res) => {
  basicSeen.push(req.headers.authorization);
  res.writeHead(401, { 'www-authenticate': 'Basic realm="cam"' }).end();
});
let basicUrl: string;
let sim: OnvifSim;
let digestUrl: string;

before(async () => {
  await new Promise<void>((resolve) => basic.listen(0, '127.0.0.1', resolve));
  basicUrl = `http://127.0.0.1:${(basic.address() as AddressInfo).port}/picture`;
  sim = await startOnvifSim({ cameras: [{ id: 'cam-1' }], username: 'admin', password: 'right-pw', snapshotAuth: 'digest', discovery: false });
  digestUrl = sim.camera('cam-1').snapshotUrl;
});
after(async () => {
  basic.closeAllConnections();
  await new Promise((resolve) => basic.close(resolve));
  await sim.close();
});

test('Digest with the right login: the camera\'s own JPEG', async () => {
  const got = await fetchSnapshot(digestUrl, { ...SNAPSHOT_LIMITS, auth: { username: 'admin', password: 'right-pw' } });
  assert.ok(got.ok, JSON.stringify(got));
  assert.deepEqual(got.bytes, sim.snapshotBytes('cam-1'));
});

test('a login in the URI is used as the login, and never appears in a reason', async () => {
  const u = new URL(digestUrl);
  u.username = 'admin';
  u.password = 'right-pw';
  assert.ok((await fetchSnapshot(u.toString(), SNAPSHOT_LIMITS)).ok);
  u.password = 'wrong-pw';
  const bad = await fetchSnapshot(u.toString(), SNAPSHOT_LIMITS);
  assert.deepEqual(bad, { ok: false, reason: 'HTTP 401: the camera refused its credentials' });
});

test('no login configured, or a wrong one: refused with the reason', async () => {
  assert.deepEqual(await fetchSnapshot(digestUrl, SNAPSHOT_LIMITS), { ok: false, reason: 'HTTP 401: the picture needs credentials and none are configured for this camera' });
  const wrong = await fetchSnapshot(digestUrl, { ...SNAPSHOT_LIMITS, auth: { username: 'admin', password: 'nope' } });
  assert.equal(wrong.ok, false);
  assert.equal((wrong as { reason: string }).reason, 'HTTP 401: the camera refused its credentials');
});

test('Basic over plain http: the password is never sent', async () => {
  const got = await fetchSnapshot(basicUrl, { ...SNAPSHOT_LIMITS, auth: { username: 'admin', password: 'right-pw' } });
  assert.deepEqual(got, { ok: false, reason: 'HTTP 401: the camera asks for Basic authentication over plain http; the password is not sent in the clear' });
  assert.deepEqual(basicSeen, [undefined], 'one request, without an Authorization header');
});
