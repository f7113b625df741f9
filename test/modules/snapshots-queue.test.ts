/**
 * The snapshot fetch queue (snapshots/queue.ts): at most `concurrency` jobs at once, at most
 * `capacity` waiting, a job beyond refused at once (never held), and a job that throws does not
 * stall the ones behind it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedQueue } from '../../gateway/modules/snapshots/queue.js';

test('runs at most `concurrency` at once, keeps `capacity` waiting, refuses beyond, drains in order', async () => {
  const release = new Map<number, () => void>();
  const started: number[] = [];
  const q = new BoundedQueue<number>({ concurrency: 2, capacity: 3 }, (n) => {
    started.push(n);
    return new Promise<void>((resolve) => release.set(n, resolve));
  });
  const taken = [1, 2, 3, 4, 5, 6].map((n) => q.push(n));
  assert.deepEqual(taken, [true, true, true, true, true, false], 'two run, three wait, the sixth is refused');
  assert.deepEqual([q.inFlight, q.queued], [2, 3]);
  assert.deepEqual(started, [1, 2]);
  release.get(1)!();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [1, 2, 3], 'a slot freed starts the oldest waiting job');
  for (const n of [2, 3, 4, 5]) {
    while (!release.has(n)) await new Promise((r) => setImmediate(r));
    release.get(n)!();
  }
  await q.idle();
  assert.deepEqual(started, [1, 2, 3, 4, 5]);
  assert.deepEqual([q.inFlight, q.queued], [0, 0]);
});

test('a job that throws frees its slot', async () => {
  const done: number[] = [];
  const q = new BoundedQueue<number>({ concurrency: 1, capacity: 5 }, async (n) => {
    if (n === 1) throw new Error('boom');
    done.push(n);
  });
  q.push(1);
  q.push(2);
  await q.idle();
  assert.deepEqual(done, [2]);
});
