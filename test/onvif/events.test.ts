/**
 * PullPoint events through CameraWatcher against the simulator: a tamper event emitted by a
 * camera reaches onEvent; the subscription is a sign of life; it is re-created after the camera
 * went down; stop() unsubscribes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { startOnvifSim, type OnvifSim } from '../../scripts/onvif-sim/index.js';
import { CameraWatcher, type CameraEvent, type SubscriptionState } from '../../gateway/ingest/onvif/index.js';
import { waitFor } from '../support/wait.js';

const log = pino({ level: 'silent' });
let sim: OnvifSim;
let watcher: CameraWatcher;
const events: { id: string; e: CameraEvent }[] = [];
const alive = new Map<string, number>();
const states: { id: string; state: SubscriptionState; message?: string }[] = [];

before(async () => {
  sim = await startOnvifSim({ cameras: 4, password: 'pw', discovery: false });
  watcher = new CameraWatcher({
    targets: sim.cameraIds().map((id) => ({ id, url: sim.deviceUrl(id), username: 'admin', password: 'pw' })),
    probeIntervalSec: 1,
    timeoutMs: 1000,
    detailsEveryN: 0,
    concurrency: 8,
    events: true,
    log,
    onResult: () => {},
    onEvent: (id, e) => events.push({ id, e }),
    onAlive: (id, at) => alive.set(id, at),
    onSubscription: (id, state, message) => states.push({ id, state, message }),
  });
  watcher.start();
  await waitFor('every camera subscribed', () => sim.stats().subscriptions === 4 && sim.stats().pendingPulls === 4);
});

after(async () => {
  await watcher?.stop();
  await sim?.close();
});

test('a tamper event emitted by the camera reaches onEvent through the PullPoint subscription', async () => {
  const id = sim.cameraIds()[1];
  const t0 = Date.now();
  assert.equal(sim.emitEvent(id, 'tns1:VideoSource/GlobalSceneChange/ImagingService'), 1);
  await waitFor('the event', () => events.some((x) => x.id === id));
  const got = events.find((x) => x.id === id)!;
  assert.equal(got.e.topic, 'tns1:VideoSource/GlobalSceneChange/ImagingService');
  assert.equal(got.e.data.State, 'true');
  assert.equal(got.e.data.Source, 'VideoSource_1');
  assert.equal(got.e.data.PropertyOperation, 'Changed');
  assert.ok(got.e.data.UtcTime);
  assert.ok(got.e.atMs - t0 < 1000, `delivered in ${got.e.atMs - t0} ms (the long poll answers at once)`);
});

test('health topics arrive with their data; topics outside the filter are dropped', async () => {
  const id = sim.cameraIds()[2];
  events.length = 0;
  sim.emitEvent(id, 'tns1:VideoSource/ImageTooBlurry/ImagingService');
  sim.emitEvent(id, 'tns1:VideoSource/SignalLoss');
  sim.emitEvent(id, 'tns1:Device/HardwareFailure/StorageFailure');
  sim.emitEvent(id, { topic: 'tns1:RuleEngine/CellMotionDetector/Motion' });
  sim.emitEvent(id, 'tns1:Monitoring/ProcessorUsage'); // not ours
  await waitFor('four events', () => events.filter((x) => x.id === id).length >= 4);
  await new Promise((r) => setTimeout(r, 200));
  const mine = events.filter((x) => x.id === id).map((x) => x.e);
  assert.deepEqual(
    mine.map((e) => e.topic),
    ['tns1:VideoSource/ImageTooBlurry/ImagingService', 'tns1:VideoSource/SignalLoss', 'tns1:Device/HardwareFailure/StorageFailure', 'tns1:RuleEngine/CellMotionDetector/Motion'],
  );
  assert.equal(mine[2].data.Failed, 'true');
  assert.equal(mine[3].data.IsMotion, 'true');
});

test('a live subscription is a sign of life', () => {
  for (const id of sim.cameraIds()) assert.ok(alive.has(id), `onAlive for ${id}`);
});

test('after the camera went down (losing its subscription), the subscription is re-created and events flow again', async () => {
  const id = sim.cameraIds()[3];
  sim.setDown(id, 'reset'); // a reboot: subscriptions gone, the pending poll cut
  await waitFor('subscription failed', () => states.some((s) => s.id === id && s.state === 'failed'));
  await new Promise((r) => setTimeout(r, 500));
  sim.setDown(id, false);
  // The next good liveness probe (1 s interval) cuts the backoff short.
  await waitFor('re-subscribed', () => sim.camera(id).subscriptions === 1 && states.filter((s) => s.id === id).at(-1)?.state === 'active', { timeoutMs: 8000 });
  await waitFor('poll pending', () => sim.stats().pendingPulls === 4);
  events.length = 0;
  sim.emitEvent(id, 'tns1:VideoSource/GlobalSceneChange/ImagingService');
  await waitFor('event after re-subscribe', () => events.some((x) => x.id === id));
});

test('stop() ends the long polls and unsubscribes', async () => {
  const t0 = Date.now();
  await watcher.stop();
  assert.ok(Date.now() - t0 < 3000, `stop took ${Date.now() - t0} ms`);
  assert.equal(sim.stats().subscriptions, 0);
  assert.ok((sim.stats().byAction.Unsubscribe ?? 0) >= 4);
});
