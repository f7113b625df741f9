/** The SQLite store against the store contract (test/store/contract.ts). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../gateway/store/sqlite-store.js';
import type { Store } from '../../gateway/store/store.js';
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
