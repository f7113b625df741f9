/**
 * Which cameras a one-key alarm takes pictures from (`alarms/linked-cameras.ts`), on the demo
 * county's own school S001; the plan the raise records; the HTTP Digest answer (RFC 2617's own
 * example); and the age past which a picture is no longer the alarm's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { camerasForAlarm, snapshotPlan, NO_PICTURE_SOURCE, MAX_ALARM_CAMERAS } from '../../gateway/modules/alarms/linked-cameras.js';
import { digestAuthorization, parseDigestChallenge } from '../../gateway/modules/vendors/http-digest.js';
import { MAX_PICTURE_AGE_MS, tooLate } from '../../gateway/modules/alarm-snapshots/index.js';
import { indexRegistry, loadRegistry, type Registry, type RegistryDevice } from '../../gateway/registry.js';
import { REPO_ROOT } from '../support/gateway.js';

const COUNTY = path.join(REPO_ROOT, 'config/county.json');
const registry = loadRegistry(COUNTY);
/** The file as written, to change and index again (the index's own tree carries each device's `school`). */
const rawCounty = (): Registry => JSON.parse(readFileSync(COUNTY, 'utf8')) as Registry;
const S001 = registry.schools.get('S001')!;
/** S001's devices with an ONVIF address on the cameras named (the demo registry has none). */
const withOnvif = (ids: string[]): RegistryDevice[] => S001.devices.map((d) => (ids.includes(d.id) ? { ...d, onvif: `http://10.0.0.1/onvif/${d.id}` } : d));
const button = S001.devices.find((d) => d.id === 'S001-AB03')!; // 值班室, no linked cameras

test('no link: the gatehouse camera first, then the gate from outside, then the rest in registry order, at most 4, never a canteen camera', () => {
  const all = S001.devices.filter((d) => d.kind === 'camera').map((d) => d.id);
  const picked = camerasForAlarm(button, withOnvif(all));
  assert.equal(MAX_ALARM_CAMERAS, 4);
  // CAM03 covers the gatehouse; CAM01 and CAM02 the gate from outside; CAM04 is the next campus camera.
  assert.deepEqual(picked, [
    { camera: 'S001-CAM03', by: 'campus' },
    { camera: 'S001-CAM01', by: 'campus' },
    { camera: 'S001-CAM02', by: 'campus' },
    { camera: 'S001-CAM04', by: 'campus' },
  ]);
});

test('only cameras that can give a picture are chosen; none at all gives an empty plan (the alarm carries no snapshots)', () => {
  assert.deepEqual(camerasForAlarm(button, withOnvif(['S001-CAM14', 'S001-KC01'])), [{ camera: 'S001-CAM14', by: 'campus' }]);
  assert.deepEqual(camerasForAlarm(button, S001.devices), []);
  const viaNvr = S001.devices.map((d) => (d.id === 'S001-CAM05' ? { ...d, snapshotUrl: 'http://10.0.0.2/ISAPI/Streaming/channels/501/picture' } : d));
  assert.deepEqual(camerasForAlarm(button, viaNvr), [{ camera: 'S001-CAM05', by: 'campus' }]);
});

test('a camera at the place of the press (its zone) or of the button comes before the gate cameras', () => {
  const devices = withOnvif(['S001-CAM01', 'S001-CAM03', 'S001-CAM11', 'S001-CAM17']);
  assert.deepEqual(camerasForAlarm(button, devices, '教学楼二楼走廊').slice(0, 2), [
    { camera: 'S001-CAM11', by: 'place' },
    { camera: 'S001-CAM03', by: 'campus' },
  ]);
  assert.deepEqual(camerasForAlarm({ place: '宿舍楼入口' }, devices)[0], { camera: 'S001-CAM17', by: 'place' });
});

test('linked cameras win, in their order, capped; one with no picture source is planned as failed with the reason', () => {
  const linked = { linkedCameras: ['S001-CAM08', 'S001-CAM01', 'S001-CAM08', 'S001-CAM02', 'S001-CAM03', 'S001-CAM04'] };
  const devices = withOnvif(['S001-CAM01', 'S001-CAM02', 'S001-CAM03', 'S001-CAM04']);
  const picked = camerasForAlarm(linked, devices);
  assert.deepEqual(picked.map((p) => p.camera), ['S001-CAM08', 'S001-CAM01', 'S001-CAM02', 'S001-CAM03']);
  assert.ok(picked.every((p) => p.by === 'linked'));
  const byId = new Map(devices.map((d) => [d.id, d]));
  const plan = snapshotPlan(picked, byId, Date.parse('2026-03-01T00:00:00Z'));
  assert.deepEqual(plan[0], { camera: 'S001-CAM08', cameraName: '围墙北侧摄像机', cameraNameEn: 'Camera, north wall', by: 'linked', state: 'failed', error: NO_PICTURE_SOURCE, at: '2026-03-01T00:00:00.000Z' });
  assert.deepEqual(plan[1], { camera: 'S001-CAM01', cameraName: '正门摄像机', cameraNameEn: 'Camera, main gate', by: 'linked', state: 'pending' });
});

test('the registry refuses a link to a camera of another school, and a snapshot URL holding a password', () => {
  const raw = rawCounty();
  const ab = raw.schools[0].devices.findIndex((d) => d.id === 'S001-AB01');
  raw.schools[0].devices[ab].linkedCameras = ['S002-CAM01'];
  assert.throws(() => loadFrom(raw), /links "S002-CAM01", which is not a camera of school "S001"/);
  const raw2 = rawCounty();
  const cam = raw2.schools[0].devices.findIndex((d) => d.id === 'S001-CAM01');
  raw2.schools[0].devices[cam].snapshotUrl = 'http://admin:secret@10.0.0.2/picture';
  assert.throws(() => loadFrom(raw2), (err: Error) => /must not hold credentials/.test(err.message) && !err.message.includes('secret'));
});

test('HTTP Digest: the answer RFC 2617 §3.5 gives for its own example', () => {
  const c = parseDigestChallenge('Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"')!;
  const h = digestAuthorization(c, { username: 'Mufasa', password: 'Circle Of Life', method: 'GET', uri: '/dir/index.html', cnonce: '0a4f113b', nc: 1 });
  assert.match(h, /response="6629fae49393a05397450978507c4ef1"/);
  assert.match(h, /qop=auth, nc=00000001, cnonce="0a4f113b"/);
  assert.match(h, /opaque="5ccc069c403ebaf9f0171e9517f40e41"/);
  assert.equal(parseDigestChallenge('Basic realm="x"'), undefined);
});

test('a picture is the alarm\'s moment only within a minute of the raise', () => {
  assert.equal(tooLate(0, MAX_PICTURE_AGE_MS), undefined);
  assert.match(tooLate(0, 600_000)!, /600 s after the alarm/);
});

function loadFrom(raw: unknown) {
  return indexRegistry(raw as never, 'county.json');
}
