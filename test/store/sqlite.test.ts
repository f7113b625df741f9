/** The SQLite store against the store contract (test/store/contract.ts). */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../gateway/store/sqlite-store.js';
import type { Store } from '../../gateway/store/store.js';
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

// The city uplink's outbox (decision 0010): filled only when asked, in the frame's own commit, with its seq.

test('sqlite: with copyFeedToCity every committed frame is queued in the city outbox with its feed seq; without, nothing is', () =>
  cityOutboxCase(async (copyFeedToCity) => {
    const s = new SqliteStore({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'store-')), sync: 'full', copyFeedToCity });
    await s.open([]);
    return s;
  }));
