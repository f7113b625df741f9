/** The SQLite store against the store contract (test/store/contract.ts). */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../gateway/store/sqlite-store.js';
import { emptyUnit, type Store } from '../../gateway/store/store.js';
import { storeContract } from './contract.js';

const dirs = new WeakMap<Store, string>();
storeContract('sqlite', {
  async make() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-'));
    const s = new SqliteStore({ dataDir: dir, sync: 'full' });
    dirs.set(s, dir);
    return s;
  },
  async reopen(previous) {
    const dir = dirs.get(previous)!;
    await previous.close();
    const s = new SqliteStore({ dataDir: dir, sync: 'full' });
    dirs.set(s, dir);
    return s;
  },
});

// The city uplink's outbox (decision 0010): filled only when asked, in the frame's own commit, with its seq.

test('sqlite: with copyFeedToCity every committed frame is queued in the city outbox with its feed seq; without, nothing is', async () => {
  const unit = () => {
    const u = emptyUnit();
    u.feed.push({ type: 'alarm', data: { id: 'a1', state: 'raised' }, at: 1000 }, { type: 'alarm', data: { id: 'a1', state: 'acknowledged' }, at: 1001 });
    u.outbox.push({ at: 1000, line: 'm f=1i 1000' });
    return u;
  };
  const plain = new SqliteStore({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'store-')), sync: 'full' });
  await plain.open([]);
  await plain.commit(unit());
  assert.equal((await plain.outboxStats('city')).rows, 0, 'a single county queues nothing for a city');
  await plain.close();

  const s = new SqliteStore({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'store-')), sync: 'full', copyFeedToCity: true });
  await s.open([]);
  const frames = await s.commit(unit());
  const claim = await s.claimOutbox('fwd', 10, 60_000, 'city');
  assert.deepEqual(claim.rows.map((r) => JSON.parse(r.line)), frames.map((f, i) => ({ seq: f.seq, at: 1000 + i, type: 'alarm', data: f.data })));
  // The two outboxes are apart: the InfluxDB line is still there, leased by no one.
  assert.deepEqual((await s.claimOutbox('exp', 10, 60_000)).rows.map((r) => r.line), ['m f=1i 1000']);
  assert.deepEqual((await s.claimOutbox('other', 10, 60_000, 'city')).rows, [], 'leased to the first forwarder');
  await s.releaseOutbox(claim);
  const again = await s.claimOutbox('other', 10, 60_000, 'city');
  assert.equal(again.rows.length, 2, 'given back, claimed again');
  await s.ackOutbox(again, []);
  assert.equal((await s.outboxStats('city')).rows, 0);
  assert.equal((await s.outboxStats()).rows, 1);
  await s.close();
});
