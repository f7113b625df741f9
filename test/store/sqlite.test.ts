/** The SQLite store against the store contract (test/store/contract.ts). */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../gateway/store/sqlite-store.js';
import { emptyUnit, frameText, type Store, type TableSpec } from '../../gateway/store/store.js';
import { cityOutboxCase, storeContract } from './contract.js';

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

test('sqlite: a frame goes to the screens as the text the ledger holds, serialized once with its row', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-'));
  let s = new SqliteStore({ dataDir: dir, sync: 'full' });
  const THINGS: TableSpec = { name: 'things', key: 'id', doc: true, columns: { id: 'text', state: 'text' } };
  await s.open([THINGS]);
  // One object as a row's doc and as a frame's data (what the alarms module does with an alarm).
  const alarm = { id: 'a1', school: 'S1', note: '中文 "quoted" \u2028', n: [1, 2.5], nested: { ok: true } };
  const u = emptyUnit();
  u.rows.push({ table: 'things', op: 'put', row: { id: 'a1', state: 'raised', doc: alarm } });
  u.feed.push({ type: 'alarm', data: alarm, at: 1000 }, { type: 'device', data: { id: 'D1' }, at: 1001 });
  const frames = await s.commit(u);
  const committed = frames.map((f) => JSON.stringify(f));
  assert.deepEqual(frames.map(frameText), committed, 'the wire text is JSON.stringify of the frame');
  // Changed after its commit: the screens get what was committed (what a replay would send), not the change.
  alarm.note = 'changed later';
  assert.equal(frameText(frames[0]), committed[0]);
  assert.deepEqual(await s.get('things', 'a1'), { ...alarm, note: '中文 "quoted" \u2028' });
  // Read back from the file after a restart (not from the commit's cache): the same text.
  await s.close();
  s = new SqliteStore({ dataDir: dir, sync: 'full' });
  await s.open([THINGS]);
  const replay = (await s.feedSince(0, 10))!;
  assert.deepEqual(replay.map(frameText), committed);
  await s.close();
});

// The city uplink's outbox (decision 0010): filled only when asked, in the frame's own commit, with its seq.

test('sqlite: with copyFeedToCity every committed frame is queued in the city outbox with its feed seq; without, nothing is', () =>
  cityOutboxCase(async (copyFeedToCity) => {
    const s = new SqliteStore({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'store-')), sync: 'full', copyFeedToCity });
    await s.open([]);
    return s;
  }));
