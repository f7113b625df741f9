/**
 * The PostgreSQL store against the store contract (test/store/contract.ts), on a throwaway cluster
 * (test/support/postgres.ts): one database per store, reopened as after a restart.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PostgresStore } from '../../gateway/store/postgres-store.js';
import { emptyUnit, type Store } from '../../gateway/store/store.js';
import { startPostgres, type Postgres } from '../support/postgres.js';
import { cityOutboxCase, storeContract } from './contract.js';
import { waitFor } from '../support/wait.js';

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

// Beyond the contract: what several gateways sharing one database rely on from the store.

/** Two stores on one new database, open: two gateways of a region. */
async function twoStores(): Promise<[PostgresStore, PostgresStore, string]> {
  const url = await server.createDatabase();
  const a = new PostgresStore({ url });
  const b = new PostgresStore({ url });
  for (const s of [a, b]) await s.open([]);
  return [a, b, url];
}
test('postgres: two stores on one database commit concurrently: feed seqs are unique and gapless, outbox claims disjoint', async () => {
  const [a, b, url] = await twoStores();
  try {
    const commits: Promise<{ seq: number }[]>[] = [];
    for (let i = 0; i < 40; i++) {
      const u = emptyUnit();
      u.feed.push({ type: 'x', data: { i }, at: i }, { type: 'x', data: { i, second: true }, at: i });
      u.outbox.push({ at: i, line: `m f=${i}i ${i}` });
      commits.push((i % 2 ? a : b).commit(u));
    }
    const seqs = (await Promise.all(commits)).flat().map((f) => f.seq).sort((x, y) => x - y);
    assert.deepEqual(seqs, Array.from({ length: 80 }, (_, i) => i + 1));
    const reader = new PostgresStore({ url });
    await reader.open([]);
    assert.equal(reader.lastFeedSeq(), 80, 'a store opened afterwards starts from the shared head');
    assert.deepEqual((await reader.feedSince(0, 1000))!.map((f) => f.seq), seqs);
    await reader.close();

    const [ca, cb] = await Promise.all([a.claimOutbox('A', 25, 60_000), b.claimOutbox('B', 25, 60_000)]);
    const taken = [...ca.rows, ...cb.rows].map((r) => r.seq);
    assert.equal(new Set(taken).size, 40, 'every row claimed once, by one of the two');
    await Promise.all([a.ackOutbox(ca, []), b.ackOutbox(cb, [])]);
    assert.equal((await a.outboxStats()).rows, 0);
  } finally {
    await a.close();
    await b.close();
  }
});

test('postgres: several gateways — a commit wakes the other store\'s watcher with the new head; a job lease goes to one store until it is over', async () => {
  const [a, b] = await twoStores();
  const woken: (number | undefined)[] = [];
  const unwatch = await b.watchFeed((seq) => woken.push(seq));
  try {
    assert.equal(woken.length, 1, 'told once that it is listening (catch up from the head)');
    assert.equal(woken[0], undefined);
    const u = emptyUnit();
    u.feed.push({ type: 'x', data: {}, at: 1 }, { type: 'x', data: {}, at: 1 });
    await a.commit(u);
    await waitFor('b woken by a\'s commit', () => woken.includes(2));
    assert.equal(b.lastFeedSeq(), 0, 'a wake-up is only a wake-up');
    assert.equal(await b.feedHead(), 2);
    assert.equal(b.lastFeedSeq(), 2);
    assert.deepEqual((await b.feedSince(0, 10))!.map((f) => f.seq), [1, 2]);

    const claims = await Promise.all([a.claimJob('job:1', 60_000), b.claimJob('job:1', 60_000)]);
    assert.deepEqual(claims.filter(Boolean).length, 1, 'one of the two takes it');
    assert.equal(await (claims[0] ? a : b).claimJob('job:1', 60_000), false, 'not even its holder takes it again while it runs');
    assert.equal(await a.claimJob('job:2', 1), true);
    await waitFor('the short lease over: another store takes the job', () => b.claimJob('job:2', 60_000));
    // Several keys in one statement: only the free ones are taken.
    assert.deepEqual(await a.claimJobs(['job:1', 'job:3'], 60_000), new Set(['job:3']));
    assert.deepEqual(await b.claimJobs(['job:3', 'job:5'], 60_000), new Set(['job:5']));
    // Leases over for longer than asked are deleted; running ones stay.
    assert.equal(await a.pruneJobLeases(3_600_000), 0, 'nothing over for an hour');
    await a.claimJob('job:6', 1);
    await waitFor('job:6 deleted 50 ms after its lease is over', async () => (await a.pruneJobLeases(50)) === 1, { intervalMs: 100 });
    assert.equal(await a.claimJob('job:1', 60_000), false, 'a running lease is kept');

    // Shared last-seen: a later time wins, an older one is ignored; read by device or all.
    await a.saveLastSeen(new Map([['d1', 1000], ['d2', 2000]]));
    await b.saveLastSeen(new Map([['d1', 900], ['d2', 2500]]));
    assert.deepEqual(await a.lastSeen(['d1', 'd2', 'd3']), new Map([['d1', 1000], ['d2', 2500]]));
    assert.deepEqual((await b.lastSeen()).get('d1'), 1000);
  } finally {
    await unwatch();
    await a.close();
    await b.close();
  }
});

test('postgres: a database out of reach is a fault, cleared once it answers again; a wrong URL is refused at open', async () => {
  const url = await server.createDatabase();
  const s = new PostgresStore({ url });
  await s.open([]);
  const id = await s.startRun(1);
  await server.stop();
  try {
    await assert.rejects(s.touchRun(id, 2));
    assert.match(s.health().fault ?? '', /out of reach/);
    assert.equal((await s.stats()).feedSeq, 0, 'stats still answer, for /health');
  } finally {
    await server.restart();
  }
  await s.touchRun(id, 3);
  assert.equal(s.health().fault, undefined);
  await s.close();
  const nowhere = new PostgresStore({ url: url.replace(/\/[^/]+$/, '/no_such_database') });
  await assert.rejects(nowhere.open([]), /ledger at postgres:.* cannot be opened: .*no_such_database/);
  await nowhere.close();
});

test('postgres: the server ending a session between two statements of a transaction is a fault, not a crash; the next commit opens a new connection', async () => {
  const url = await server.createDatabase();
  const s = new PostgresStore({ url });
  await s.open([]);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    // The private transaction helper, to stop between statements: in a gateway the same happens when
    // the server's FATAL arrives in the packet after a reply (CI, Node 24: the gateway exited).
    const tx = (s as unknown as { tx(run: (c: pg.PoolClient) => Promise<void>): Promise<void> }).tx.bind(s);
    await assert.rejects(
      tx(async (c) => {
        const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
        const ended = new Promise((r) => c.once('end', r));
        await admin.query('SELECT pg_terminate_backend($1)', [pid]);
        await ended;
      }),
    );
    assert.match(s.health().fault ?? '', /is out of reach/);
    const id = await s.startRun(5);
    await s.touchRun(id, 6);
    assert.equal(s.health().fault, undefined);
  } finally {
    await admin.end();
    await s.close();
  }
});

test('postgres: memberships: two stores renewing see each other; one that leaves is gone at once, one that stops renewing once its time is over', async () => {
  const [a, b] = await twoStores();
  try {
    const first = await a.renewMembership(60_000);
    const both = await b.renewMembership(60_000);
    assert.deepEqual(first.live, [first.me]);
    assert.deepEqual(both.live, [first.me, both.me].sort());
    await b.leaveMembership();
    assert.deepEqual((await a.renewMembership(60_000)).live, [first.me]);
    // b renews for 2 s and then no more: a sees it, then, once that is over, not.
    await b.renewMembership(2_000);
    assert.equal((await a.renewMembership(60_000)).live.length, 2);
    await waitFor('b’s membership over', async () => (await a.renewMembership(60_000)).live.length === 1, { timeoutMs: 10_000, intervalMs: 100 });
  } finally {
    await a.close();
    await b.close();
  }
});

test('postgres: with copyFeedToCity every committed frame is queued in the city outbox with its feed seq; without, nothing is', () =>
  cityOutboxCase(async (copyFeedToCity) => {
    const s = new PostgresStore({ url: await server.createDatabase(), copyFeedToCity });
    await s.open([]);
    return s;
  }));
