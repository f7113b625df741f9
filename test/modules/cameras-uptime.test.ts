import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combine, uptime } from '../../gateway/modules/cameras/uptime.js';

const H = 3600_000;
const W = { fromMs: 0, toMs: 24 * H };

test('a known set of transitions gives exactly the expected figures', () => {
  // Up from before the window; down 02:00–03:00 and 10:00–14:00; up since.
  const f = uptime(W, { online: true, sinceMs: -5 * H }, [
    { atMs: 2 * H, online: false },
    { atMs: 3 * H, online: true },
    { atMs: 10 * H, online: false },
    { atMs: 14 * H, online: true },
  ], []);
  assert.equal(f.downMs, 5 * H);
  assert.equal(f.upMs, 19 * H);
  assert.equal(f.unknownMs, 0);
  assert.equal(f.ratio, 19 / 24);
  assert.equal(f.outages, 2);
  assert.equal(f.longestOutageMs, 4 * H);
  assert.equal(f.mttrMs, 2.5 * H);
  assert.equal(f.downSince, null);
});

test('time the gateway was down is unknown, not up, and is left out of the ratio', () => {
  const f = uptime(W, { online: true, sinceMs: 0 }, [{ atMs: 20 * H, online: false }], [{ fromMs: 6 * H, toMs: 12 * H }]);
  assert.equal(f.unknownMs, 6 * H);
  assert.equal(f.upMs, 14 * H);
  assert.equal(f.downMs, 4 * H);
  assert.equal(f.ratio, 14 / 18);
  assert.equal(f.downSince, 20 * H, 'still down at the end');
  assert.equal(f.longestOutageMs, 4 * H);
  assert.equal(f.mttrMs, null, 'no outage has been repaired');
});

test('never heard from before its first transition: unknown', () => {
  const f = uptime(W, { online: null, sinceMs: null }, [{ atMs: 12 * H, online: true }], []);
  assert.deepEqual([f.unknownMs, f.upMs, f.ratio], [12 * H, 12 * H, 1]);
  assert.equal(uptime(W, { online: null, sinceMs: null }, [], []).ratio, null);
});

test('an outage that began before the window counts its whole length when it is repaired', () => {
  const f = uptime(W, { online: false, sinceMs: -6 * H }, [{ atMs: 2 * H, online: true }], []);
  assert.equal(f.downMs, 2 * H);
  assert.equal(f.mttrMs, 8 * H);
  assert.equal(f.outages, 0, 'it did not begin in the window');
});

test('groups combine by known time', () => {
  const a = uptime(W, { online: true, sinceMs: 0 }, [], []);
  const b = uptime(W, { online: true, sinceMs: 0 }, [{ atMs: 12 * H, online: false }], []);
  const c = combine([a, b]);
  assert.equal(c.ratio, 36 / 48);
  assert.equal(c.devices, 2);
  assert.equal(c.down, 1);
});
