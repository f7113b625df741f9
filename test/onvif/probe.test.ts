/**
 * The ONVIF probes against the simulator over real HTTP: liveness with RTT and clock skew, the
 * failure reasons (down, slow, wrong password), details, and the snapshot JPEG.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOnvifSim, type OnvifSim } from '../../scripts/onvif-sim/index.js';
import { parseSystemDateAndTime, probeDetails, probeLiveness, type OnvifTarget } from '../../gateway/ingest/onvif/index.js';

let sim: OnvifSim;
const target = (id: string, password = 'secret-1'): OnvifTarget => ({ id, url: sim.deviceUrl(id), username: 'admin', password });

before(async () => {
  sim = await startOnvifSim({ cameras: 8, password: 'secret-1', discovery: false });
  sim.addCamera({ id: 'strict-1', password: 'secret-1', timeNeedsAuth: true, clockSkewMs: 20 * 60_000 }); // beyond the 5 min Created window
});
after(async () => {
  await sim.close();
});

test('liveness: ok, with the RTT and the clock skew the camera has', async () => {
  const [a, b, c] = sim.cameraIds();
  sim.setClockSkew(a, 90_000);
  sim.setClockSkew(b, -3_600_000);
  for (const [id, skew] of [[a, 90_000], [b, -3_600_000], [c, 0]] as const) {
    const r = await probeLiveness(target(id), 2000);
    assert.ok(r.ok, JSON.stringify(r));
    assert.ok(r.rttMs >= 0 && r.rttMs < 1000, `rtt ${r.rttMs}`);
    // ONVIF time has whole seconds: ±0.5 s, plus half the RTT.
    assert.ok(Math.abs(r.clockSkewMs - skew) <= 600, `skew ${r.clockSkewMs} vs ${skew}`);
  }
});

test('liveness needs no credentials (GetSystemDateAndTime is unauthenticated)', async () => {
  const r = await probeLiveness({ id: 'x', url: sim.deviceUrl(sim.cameraIds()[0]) }, 2000);
  assert.ok(r.ok, JSON.stringify(r));
});

test('a camera that wants credentials even for its clock: retried with a digest; refused is auth, not offline', async () => {
  const ok = await probeLiveness(target('strict-1'), 2000);
  assert.ok(ok.ok && Math.abs(ok.clockSkewMs - 20 * 60_000) <= 600, JSON.stringify(ok));
  const wrong = await probeLiveness(target('strict-1', 'bad'), 2000);
  assert.equal(!wrong.ok && wrong.reason, 'auth', JSON.stringify(wrong));
  const none = await probeLiveness({ id: 'strict-1', url: sim.deviceUrl('strict-1') }, 2000);
  assert.equal(!none.ok && none.reason, 'auth', JSON.stringify(none));
  assert.equal((await probeDetails(target('strict-1'), 3000)).ok, true);
});

test('a camera taken down (reset) is unreachable at once, and back when it returns', async () => {
  const id = sim.cameraIds()[3];
  sim.setDown(id, 'reset');
  const t0 = Date.now();
  const r = await probeLiveness(target(id), 3000);
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.reason, 'unreachable', JSON.stringify(r));
  assert.ok(Date.now() - t0 < 1000, 'a reset must not wait for the timeout');
  sim.setDown(id, false);
  assert.ok((await probeLiveness(target(id), 2000)).ok);
});

test('a camera taken down (blackhole) times out within the timeout', async () => {
  const id = sim.cameraIds()[4];
  sim.setDown(id, 'blackhole');
  const t0 = Date.now();
  const r = await probeLiveness(target(id), 600);
  const took = Date.now() - t0;
  assert.equal(!r.ok && r.reason, 'timeout', JSON.stringify(r));
  assert.ok(took >= 590 && took < 1200, `took ${took} ms`);
  sim.setDown(id, false);
});

test('a slow camera (delay > timeout) is a timeout; under the timeout it is ok with a larger RTT', async () => {
  const id = sim.cameraIds()[5];
  sim.setDelay(id, 1500);
  const r = await probeLiveness(target(id), 500);
  assert.equal(!r.ok && r.reason, 'timeout', JSON.stringify(r));
  sim.setDelay(id, 200);
  const r2 = await probeLiveness(target(id), 2000);
  assert.ok(r2.ok && r2.rttMs >= 190, JSON.stringify(r2));
  sim.setDelay(id, 0);
});

test('wrong password: details say auth while liveness is still ok', async () => {
  const id = sim.cameraIds()[6];
  const wrong = target(id, 'not-the-password');
  const live = await probeLiveness(wrong, 2000);
  assert.ok(live.ok, JSON.stringify(live));
  const d = await probeDetails(wrong, 3000);
  assert.equal(d.ok, false);
  assert.equal(!d.ok && d.reason, 'auth', JSON.stringify(d));
  assert.doesNotMatch(JSON.stringify(d), /not-the-password/);
  // The camera saw (and refused) WS-Security digests, not cleartext.
  assert.ok((sim.camera(id).requests.NotAuthorized ?? 0) >= 1);
  // Credentials changed on the camera: our (old) password is now wrong, the new one right.
  sim.setCredentials(id, 'admin', 'rotated');
  assert.equal((await probeDetails(target(id), 3000)).ok, false);
  assert.equal((await probeDetails(target(id, 'rotated'), 3000)).ok, true);
});

test('details: device information, profiles and a snapshot URI serving a real JPEG', async () => {
  const id = sim.cameraIds()[0]; // skewed by 90 s: WS-Security must use the camera's clock
  const d = await probeDetails(target(id), 3000);
  assert.ok(d.ok, JSON.stringify(d));
  assert.equal(d.manufacturer, sim.camera(id).manufacturer);
  assert.equal(d.serial, sim.camera(id).serial);
  assert.equal(d.firmware, sim.camera(id).firmware);
  assert.deepEqual(d.profiles, sim.camera(id).profiles === 2 ? ['Profile_1', 'Profile_2'] : ['Profile_1']);
  assert.ok(d.snapshotUri);
  const res = await fetch(d.snapshotUri);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/jpeg');
  const jpg = Buffer.from(await res.arrayBuffer());
  assert.deepEqual([...jpg.subarray(0, 2)], [0xff, 0xd8], 'SOI');
  assert.deepEqual([...jpg.subarray(-2)], [0xff, 0xd9], 'EOI');
  assert.ok(jpg.includes(Buffer.from([0xff, 0xc0])), 'a baseline frame header');
});

test('details of a camera that is down: unreachable / timeout, never auth', async () => {
  const id = sim.cameraIds()[7];
  sim.setDown(id, 'reset');
  const d = await probeDetails(target(id), 2000);
  assert.equal(!d.ok && d.reason, 'unreachable', JSON.stringify(d));
  sim.setDown(id, 'blackhole');
  const d2 = await probeDetails(target(id), 500);
  assert.equal(!d2.ok && d2.reason, 'timeout', JSON.stringify(d2));
  sim.setDown(id, false);
});

test('an address with nothing listening is unreachable; a non-ONVIF answer is a protocol error', async () => {
  const closed = await probeLiveness({ id: 'gone', url: 'http://127.0.0.1:9/onvif/device_service' }, 1000);
  assert.equal(!closed.ok && closed.reason, 'unreachable', JSON.stringify(closed));
  const notOnvif = await probeLiveness({ id: 'x', url: `${sim.baseUrl}/onvif/no-such-camera/device_service` }, 1000);
  assert.equal(!notOnvif.ok && notOnvif.reason, 'protocol', JSON.stringify(notOnvif));
});

test('controls over HTTP: /_control/<id> takes a camera down and up and skews its clock', async () => {
  const id = sim.cameraIds()[2];
  const post = (body: unknown) =>
    fetch(`${sim.baseUrl}/_control/${id}`, { method: 'POST', body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, unknown> }));
  let r = await post({ down: true });
  assert.equal(r.status, 200);
  assert.equal(r.json.down, 'reset');
  assert.equal(r.json.password, undefined, 'the state never shows the password');
  assert.equal(((await probeLiveness(target(id), 1000)) as { reason?: string }).reason, 'unreachable');
  r = await post({ down: false, clockSkewMs: 42_000 });
  const live = await probeLiveness(target(id), 1000);
  assert.ok(live.ok && Math.abs(live.clockSkewMs - 42_000) <= 600, JSON.stringify(live));
  await post({ clockSkewMs: 0 });
  const list = (await (await fetch(`${sim.baseUrl}/_control`)).json()) as { cameras: number };
  assert.equal(list.cameras, 9);
});

test('parseSystemDateAndTime: UTC, or local time with a POSIX TZ when UTC is missing', () => {
  const t = (tag: string, h: number) =>
    `<tt:${tag}><tt:Time><tt:Hour>${h}</tt:Hour><tt:Minute>30</tt:Minute><tt:Second>5</tt:Second></tt:Time><tt:Date><tt:Year>2026</tt:Year><tt:Month>3</tt:Month><tt:Day>1</tt:Day></tt:Date></tt:${tag}>`;
  const utc = `<tds:SystemDateAndTime>${t('UTCDateTime', 2)}${t('LocalDateTime', 10)}</tds:SystemDateAndTime>`;
  assert.equal(parseSystemDateAndTime(utc), Date.UTC(2026, 2, 1, 2, 30, 5));
  const local = `<tds:SystemDateAndTime><tt:TimeZone><tt:TZ>CST-8</tt:TZ></tt:TimeZone>${t('LocalDateTime', 10)}</tds:SystemDateAndTime>`;
  assert.equal(parseSystemDateAndTime(local), Date.UTC(2026, 2, 1, 2, 30, 5));
  assert.equal(parseSystemDateAndTime('<x/>'), undefined);
});
