/**
 * CameraWatcher scheduling against the simulator over real HTTP: 200 cameras at a 1 s interval —
 * every camera probed, at the interval ±10 %, never two probes of one camera at once, never more
 * than `concurrency` in flight; down/wrong-password cameras reported with the right reason;
 * details every N probes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { startOnvifSim, type OnvifSim } from '../../scripts/onvif-sim/index.js';
import { CameraWatcher, type DetailsOutcome, type ProbeOutcome } from '../../gateway/ingest/onvif/index.js';

const log = pino({ level: 'silent' });
let sim: OnvifSim;

before(async () => {
  sim = await startOnvifSim({ cameras: 200, password: 'pw', discovery: false });
});
after(async () => {
  await sim.close();
});

test('200 cameras at probeIntervalSec=1: all probed about every second, one probe per camera at a time, bounded concurrency', async () => {
  const ids = sim.cameraIds();
  const down = ids[10];
  const wrongPw = ids[20];
  const tooSlow = ids[25];
  const slowish = ids.slice(30, 38);
  sim.setDown(down, 'reset');
  sim.setDelay(tooSlow, 1500); // > timeoutMs
  // Answers that take 300 ms make overlapping probes of one camera visible to the simulator.
  for (const id of slowish) sim.setDelay(id, 300);
  const results = new Map<string, { r: ProbeOutcome; at: number }[]>();
  const concurrency = 32;
  const w = new CameraWatcher({
    targets: ids.map((id) => ({ id, url: sim.deviceUrl(id), username: 'admin', password: id === wrongPw ? 'nope' : 'pw' })),
    probeIntervalSec: 1,
    timeoutMs: 1000,
    detailsEveryN: 0, // details are CPU work (the package parses XML with xml2js); tested on their own below
    concurrency,
    log,
    onResult: (id, r, at) => {
      const list = results.get(id) ?? [];
      list.push({ r, at });
      results.set(id, list);
    },
  });
  const t0 = Date.now();
  w.start();
  await new Promise((r) => setTimeout(r, 4500));
  await w.stop();
  const elapsed = Date.now() - t0;

  // Every camera probed, 4–5 times in 4.5 s (first probe spread over the first second).
  for (const id of ids) {
    const n = results.get(id)?.length ?? 0;
    assert.ok(n >= 3 && n <= 6, `${id}: ${n} probes in ${elapsed} ms`);
  }
  // Intervals between the starts of successive probes of one camera (start = result time − RTT):
  // 1 s ± 10 %, plus a little event-loop slack.
  const gaps = ids.flatMap((id) => {
    const starts = results.get(id)!.flatMap((x) => (x.r.ok ? [x.at - x.r.rttMs] : []));
    return starts.slice(1).map((t, i) => t - starts[i]);
  });
  const within = gaps.filter((g) => g >= 880 && g <= 1250).length;
  assert.ok(gaps.length > 500 && within / gaps.length >= 0.97, `${within}/${gaps.length} gaps within 0.88–1.25 s`);

  // Never two probes of one camera at once (seen by the cameras themselves), and the fleet-wide bound.
  // (The camera slower than the timeout is the exception: our probe gives up and closes the
  // connection at 1 s, but the simulator, in this same process, may read the next probe's request
  // before it has processed that close, so it can count 2 for an instant.)
  for (const id of ids) {
    const expected = id === down ? 0 : 1;
    if (id === tooSlow) assert.ok(sim.camera(id).maxInFlight <= 2);
    else assert.equal(sim.camera(id).maxInFlight, expected, `${id} had ${sim.camera(id).maxInFlight} requests at once`);
  }
  assert.ok(w.stats().maxActive <= concurrency, `maxActive ${w.stats().maxActive}`);

  // Outcomes: the down camera unreachable, the slow one a timeout, the wrong password still alive.
  assert.ok(results.get(down)!.every((x) => !x.r.ok && x.r.reason === 'unreachable'));
  assert.ok(results.get(tooSlow)!.every((x) => !x.r.ok && x.r.reason === 'timeout'));
  assert.ok(results.get(wrongPw)!.every((x) => x.r.ok));
  assert.ok(results.get(ids[0])!.every((x) => x.r.ok));
  for (const id of slowish) assert.ok(results.get(id)!.every((x) => x.r.ok && x.r.rttMs >= 290));
  sim.setDown(down, false);
  sim.setDelay(tooSlow, 0);
  for (const id of slowish) sim.setDelay(id, 0);
});

test('details every N-th probe (1st, N+1th, …), after a live probe only; a wrong password is auth', async () => {
  const ids = sim.cameraIds().slice(100, 106);
  const [ok, wrongPw, down] = ids;
  sim.setDown(down, 'reset');
  const probes = new Map<string, number>();
  const details = new Map<string, { d: DetailsOutcome; afterProbe: number }[]>();
  const w = new CameraWatcher({
    targets: ids.map((id) => ({ id, url: sim.deviceUrl(id), username: 'admin', password: id === wrongPw ? 'nope' : 'pw' })),
    probeIntervalSec: 0.25,
    timeoutMs: 1000,
    detailsEveryN: 3,
    concurrency: 8,
    log,
    onResult: (id) => probes.set(id, (probes.get(id) ?? 0) + 1),
    onDetails: (id, d) => details.set(id, [...(details.get(id) ?? []), { d, afterProbe: probes.get(id)! }]),
  });
  w.start();
  await new Promise((r) => setTimeout(r, 2000));
  await w.stop();
  sim.setDown(down, false);
  assert.ok(probes.get(ok)! >= 5, `probes ${probes.get(ok)}`);
  assert.deepEqual(details.get(ok)!.map((x) => x.afterProbe), [1, 4, 7, 10].filter((n) => n <= probes.get(ok)!));
  assert.ok(details.get(ok)!.every((x) => x.d.ok));
  assert.ok(details.get(wrongPw)!.length >= 1 && details.get(wrongPw)!.every((x) => !x.d.ok && x.d.reason === 'auth'));
  assert.equal(details.get(down), undefined);
  assert.equal(sim.camera(ok).requests.GetDeviceInformation, details.get(ok)!.length);
});

test('setTargets adds and removes cameras while running', async () => {
  const ids = sim.cameraIds().slice(0, 4);
  const seen = new Map<string, number>();
  const w = new CameraWatcher({
    targets: ids.slice(0, 2).map((id) => ({ id, url: sim.deviceUrl(id) })),
    probeIntervalSec: 0.3,
    timeoutMs: 500,
    detailsEveryN: 0,
    concurrency: 4,
    log,
    onResult: (id) => seen.set(id, (seen.get(id) ?? 0) + 1),
  });
  w.start();
  await new Promise((r) => setTimeout(r, 700));
  w.setTargets(ids.slice(1).map((id) => ({ id, url: sim.deviceUrl(id) })));
  const before0 = seen.get(ids[0]) ?? 0;
  await new Promise((r) => setTimeout(r, 1000));
  await w.stop();
  assert.ok(before0 >= 1);
  assert.ok((seen.get(ids[0]) ?? 0) <= before0 + 1, 'removed camera no longer probed');
  for (const id of ids.slice(1)) assert.ok((seen.get(id) ?? 0) >= 2, `${id} probed`);
  assert.equal(w.stats().cameras, 3);
});

test('credentials never appear in the logs, whatever fails', async () => {
  const ids = sim.cameraIds().slice(150, 154);
  const lines: string[] = [];
  const capture = pino({ level: 'trace' }, { write: (s: string) => void lines.push(s) });
  const withUserinfo = sim.deviceUrl(ids[1]).replace('http://', 'http://admin:Userinfo-S3cret@');
  sim.setCredentials(ids[1], 'admin', 'Userinfo-S3cret');
  sim.setDown(ids[2], 'reset');
  const w = new CameraWatcher({
    targets: [
      { id: ids[0], url: sim.deviceUrl(ids[0]), username: 'admin', password: 'Wrong-S3cret' },
      { id: ids[1], url: withUserinfo },
      { id: ids[2], url: sim.deviceUrl(ids[2]), username: 'admin', password: 'Down-S3cret' },
      { id: 'bad-scheme', url: 'ftp://admin:Scheme-S3cret@127.0.0.1/onvif/device_service' },
    ],
    probeIntervalSec: 0.3,
    timeoutMs: 500,
    detailsEveryN: 1,
    concurrency: 4,
    events: true,
    log: capture,
    onResult: () => {},
    onDetails: () => {},
  });
  w.start();
  await new Promise((r) => setTimeout(r, 1500));
  await w.stop();
  sim.setDown(ids[2], false);
  const text = lines.join('\n');
  assert.ok(lines.length >= 3, 'something was logged');
  assert.match(text, /unusable address/);
  assert.match(text, /event subscription failed/);
  assert.doesNotMatch(text, /S3cret/);
  // The userinfo URL worked: its credentials were used, not lost.
  assert.equal(sim.camera(ids[1]).requests.NotAuthorized ?? 0, 0);
  assert.ok((sim.camera(ids[1]).requests.GetDeviceInformation ?? 0) >= 1);
});
