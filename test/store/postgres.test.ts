/**
 * The PostgreSQL store against the store contract (test/store/contract.ts), on a throwaway cluster
 * (test/support/postgres.ts): one database per store, reopened as after a restart.
 */
import { after, before } from 'node:test';
import { PostgresStore } from '../../gateway/store/postgres-store.js';
import type { Store } from '../../gateway/store/store.js';
import { startPostgres, type Postgres } from '../support/postgres.js';
import { storeContract } from './contract.js';

let server: Postgres;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

const urls = new WeakMap<Store, string>();
storeContract('postgres', {
  async make() {
    const url = await server.createDatabase();
    const s = new PostgresStore({ url });
    urls.set(s, url);
    return s;
  },
  async reopen(previous) {
    const url = urls.get(previous)!;
    await previous.close();
    const s = new PostgresStore({ url });
    urls.set(s, url);
    return s;
  },
});
