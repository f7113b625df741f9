/** Rendezvous hashing (decision 0009): how a region's gateways split the ONVIF cameras. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ownerOf, shareOf } from '../../gateway/core/rendezvous.js';

const cameras = Array.from({ length: 1400 }, (_, i) => `S${String(1 + (i % 84)).padStart(3, '0')}-CAM${String(i).padStart(4, '0')}`);
const members = ['8a1f0c2e-0000-4000-8000-000000000001', '3c9d5b7a-0000-4000-8000-000000000002', 'f02e6d41-0000-4000-8000-000000000003'];

test('every camera has exactly one owner, the same whichever gateway computes it, and the shares are near even', () => {
  const shares = members.map((m) => shareOf(cameras, members, m));
  assert.equal(shares.reduce((n, s) => n + s.length, 0), cameras.length);
  assert.equal(new Set(shares.flat()).size, cameras.length, 'no camera in two shares');
  // The member list in another order (another gateway's reply) gives the same owners.
  const reversed = [...members].reverse();
  for (const c of cameras) assert.equal(ownerOf(c, reversed), ownerOf(c, members));
  for (const s of shares) assert.ok(s.length > 1400 / 3 - 90 && s.length < 1400 / 3 + 90, `share of ${s.length}`);
});

test('a gateway that leaves gives its cameras to the others; nobody else moves; one that joins takes about 1/N', () => {
  const [a, b, c] = members;
  const before = new Map(cameras.map((k) => [k, ownerOf(k, members)]));
  const after = new Map(cameras.map((k) => [k, ownerOf(k, [a, b])]));
  for (const k of cameras) if (before.get(k) !== c) assert.equal(after.get(k), before.get(k), `${k} moved between survivors`);
  assert.deepEqual(new Set(after.values()), new Set([a, b]));
  const joined = cameras.filter((k) => ownerOf(k, [...members, 'd-new']) === 'd-new').length;
  assert.ok(joined > 1400 / 4 - 90 && joined < 1400 / 4 + 90, `the fourth took ${joined}`);
  assert.equal(ownerOf('S001-CAM0001', []), undefined);
  assert.deepEqual(shareOf(cameras, [a], a), cameras);
});
