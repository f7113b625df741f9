/** The dispatcher with the real SQLite store and small modules written for the test: the one path, in process. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Dispatcher } from '../../gateway/core/dispatcher.js';
import type { DomainEvent } from '../../gateway/core/events.js';
import { buildModules, type GatewayModule, type ModuleFactory } from '../../gateway/core/module.js';
import { createMetrics } from '../../gateway/metrics.js';
import { SqliteStore } from '../../gateway/store/sqlite-store.js';

const log = pino({ level: 'silent' });

async function setup(modules: GatewayModule[], opts: { maxBatch?: number } = {}) {
  const store = new SqliteStore({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'disp-')), sync: 'full' });
  await store.open(modules.flatMap((m) => m.tables ?? []));
  const feeds: number[][] = [];
  const d = new Dispatcher({ store, metrics: createMetrics(), log, timeSeries: true, onFeed: (f) => feeds.push(f.map((x) => x.seq)), ...opts });
  d.use(modules);
  for (const m of modules) await m.load?.();
  return { store, d, feeds };
}

const ev = (type: string, extra: Partial<DomainEvent> = {}): DomainEvent =>
  ({ type, school: 'S1', device: 'D1', atMs: 1, receivedAtMs: 1, data: {}, ...extra }) as unknown as DomainEvent;

/** Counts events into a table; refuses `bad`; writes to a missing table on `poison`. */
function counter(): GatewayModule & { n: number; loads: number } {
  const m = {
    name: 'counter',
    consumes: ['heartbeat', 'alarm'] as never,
    tables: [{ name: 'counts', key: 'id', columns: { id: 'text' as const, n: 'integer' as const } }],
    n: 0,
    loads: 0,
    async load() {
      m.loads++;
    },
    apply(e: DomainEvent, tx: Parameters<NonNullable<GatewayModule['apply']>>[1]) {
      const data = e.data as { bad?: boolean; poison?: boolean };
      if (data.bad) throw new Error('refused: bad');
      m.n++;
      tx.put(data.poison ? 'missing_table' : 'counts', { id: 'c', n: m.n });
      tx.feed('count', { n: m.n });
      tx.points([`c n=${m.n}i ${m.n}`], 1);
    },
  };
  return m;
}

test('inputs that arrive together are committed together, and acknowledged only once durable', async () => {
  const c = counter();
  const { store, d, feeds } = await setup([c]);
  const acked: number[] = [];
  for (let i = 0; i < 50; i++) d.submit(ev('heartbeat'), (err) => (assert.equal(err, undefined), acked.push(i)));
  assert.equal(acked.length, 0, 'nothing is acknowledged before the commit');
  await d.drain();
  assert.equal(acked.length, 50);
  assert.equal(feeds.length, 1, 'one batch, one commit, one feed poke');
  assert.deepEqual(await store.get('counts', 'c'), { id: 'c', n: 50 });
  assert.equal((await store.outboxStats()).rows, 50);
});

test('a batch is bounded, and past the bound alarms and commands go first (the priority lane); the rest keep their order', async () => {
  const c = counter();
  const { d, feeds } = await setup([c], { maxBatch: 100 });
  const order: string[] = [];
  for (let i = 0; i < 250; i++) d.submit(ev('heartbeat', { sourceId: `h${i}` }), () => order.push(`h${i}`));
  // Queued behind 250 heartbeats: without the lane it would be in the third batch.
  d.submit(ev('alarm', { sourceId: 'a1' }), () => order.push('a1'));
  await d.drain();
  assert.deepEqual(feeds.map((f) => f.length), [100, 100, 51], 'three bounded batches, one commit each');
  assert.equal(order.indexOf('a1'), 0, 'the alarm is acknowledged with the first batch, first');
  const heartbeats = order.filter((x) => x !== 'a1');
  assert.deepEqual(heartbeats, Array.from({ length: 250 }, (_, i) => `h${i}`), 'the heartbeats in arrival order');
});

test('a redelivery (same device, type and sourceId) is not applied twice, in one batch or across batches', async () => {
  const c = counter();
  const dups: string[] = [];
  c.duplicate = (e) => void dups.push(e.sourceId!);
  const { d } = await setup([c]);
  d.submit(ev('alarm', { sourceId: 'p1' }));
  d.submit(ev('alarm', { sourceId: 'p1' }));
  await d.drain();
  d.submit(ev('alarm', { sourceId: 'p1' }));
  d.submit(ev('alarm', { sourceId: 'p2' }));
  await d.drain();
  assert.equal(c.n, 2);
  assert.deepEqual(dups, ['p1', 'p1']);
});

test("a command a module refuses rejects alone: the batch's other work commits", async () => {
  const c = counter();
  const { store, d } = await setup([c]);
  const ok = d.execute(ev('heartbeat'));
  const refused = d.execute(ev('heartbeat', { data: { bad: true } as never }));
  await ok;
  await assert.rejects(refused, /refused: bad/);
  assert.deepEqual(await store.get('counts', 'c'), { id: 'c', n: 1 });
});

test('a commit that fails acknowledges nothing (the broker will redeliver), rebuilds the projections and reports unhealthy until the next commit', async () => {
  const c = counter();
  const { store, d } = await setup([c]);
  const errors: (Error | undefined)[] = [];
  d.submit(ev('heartbeat'), (e) => errors.push(e));
  d.submit(ev('heartbeat', { data: { poison: true } as never }), (e) => errors.push(e));
  await d.drain();
  assert.equal(errors.length, 2);
  assert.ok(errors.every((e) => e instanceof Error), 'both refused, so both are sent again');
  assert.equal(d.healthy(), false);
  assert.equal(c.loads, 2, 'projections rebuilt from the store');
  assert.equal(await store.get('counts', 'c'), undefined, 'nothing of the batch is stored');
  d.submit(ev('heartbeat'));
  await d.drain();
  assert.equal(d.healthy(), true);
});

test('a derived event emitted by one module is applied by its consumers in the same unit', async () => {
  const seen: string[] = [];
  const a: GatewayModule = { name: 'a', consumes: ['heartbeat'] as never, apply: (e, tx) => tx.emit({ ...e, type: 'device_transition' } as DomainEvent) };
  const b: GatewayModule = { name: 'b', consumes: ['device_transition'] as never, apply: (e, tx) => (seen.push(e.type), tx.feed('b', {})) };
  const { d, feeds } = await setup([a, b]);
  d.submit(ev('heartbeat'));
  await d.drain();
  assert.deepEqual(seen, ['device_transition']);
  assert.equal(feeds.length, 1);
});

test('modules are built and ordered by what they depend on; a missing or circular dependency is refused by name', () => {
  const base = { log } as never;
  const f = (name: string, deps: string[] = []): ModuleFactory => (ctx) => {
    for (const dep of deps) ctx.module(dep);
    return { name, dependsOn: deps };
  };
  assert.deepEqual(buildModules({ c: f('c', ['b']), a: f('a'), b: f('b', ['a']) }, base).map((m) => m.name), ['a', 'b', 'c']);
  assert.throws(() => buildModules({ a: f('a', ['ghost']) }, base), /module "a" asks for module "ghost", which is not in the list/);
  assert.throws(() => buildModules({ a: f('a', ['b']), b: f('b', ['a']) }, base), /circle: a → b → a/);
  assert.throws(() => buildModules({ a: () => ({ name: 'x' }) }, base), /listed as "a" calls itself "x"/);
});

test('an input that arrives while a batch is being acknowledged is committed, and so is every one after it', async () => {
  // A device's next message often arrives from the acknowledgement's own continuation. The
  // dispatcher once took it into the running loop and then, at the next wake-up with nothing
  // queued, wedged: nothing after it was ever committed.
  const c = counter();
  const { d } = await setup([c]);
  const acked = (e: DomainEvent) => new Promise<void>((resolve, reject) => d.submit(e, (err) => (err ? reject(err) : resolve())));
  await acked(ev('heartbeat'));
  await acked(ev('heartbeat')); // submitted from the first ack's continuation, during the drain
  await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 3; i++) await acked(ev('heartbeat'));
  const job = await Promise.race([d.transact(() => undefined).then(() => 'ran'), new Promise((r) => setTimeout(() => r('wedged'), 2000))]);
  assert.equal(job, 'ran');
  assert.equal(c.n, 5);
});

test('tx.once writes once per unit, after every event of the batch, with the state the batch left', async () => {
  let total = 0;
  const summary: GatewayModule = {
    name: 'summary',
    consumes: ['alarm'] as never,
    apply(_e, tx) {
      total++;
      tx.feed('alarm', { n: total });
      tx.once('summary:frame', (t) => t.feed('summary', { total }));
    },
  };
  const { store, d, feeds } = await setup([summary]);
  for (let i = 0; i < 5; i++) d.submit(ev('alarm', { sourceId: `s${i}` }), () => undefined);
  await d.drain();
  assert.equal(feeds.length, 1, 'one batch');
  const frames = (await store.feedSince(0, 100))!;
  assert.deepEqual(frames.map((f) => f.type), ['alarm', 'alarm', 'alarm', 'alarm', 'alarm', 'summary'], 'one summary, after the batch');
  assert.deepEqual(frames.at(-1)!.data, { total: 5 });
  d.submit(ev('alarm', { sourceId: 's5' }), () => undefined);
  await d.drain();
  assert.deepEqual((await store.feedSince(frames.at(-1)!.seq, 100))!.map((f) => [f.type, f.data]), [['alarm', { n: 6 }], ['summary', { total: 6 }]], 'and again in the next commit');
});

test('between(): runs alone after the batch committing now, before any batch not started yet; its failure is its own', async () => {
  const c = counter();
  const { d, feeds } = await setup([c]);
  const order: string[] = [];
  let ran: Promise<void> | undefined;
  const apply = c.apply!.bind(c);
  c.apply = (e, tx) => {
    apply(e, tx);
    // Asked for while the first batch is being applied: it waits for that commit.
    ran ??= d.between(async () => {
      order.push(`between starts after ${feeds.length} commit(s)`);
      d.submit(ev('alarm'), () => order.push('second batch acked'));
      await new Promise((r) => setImmediate(r));
      order.push('between ends');
    });
  };
  d.submit(ev('alarm'), () => order.push('first batch acked'));
  await d.drain();
  await ran;
  assert.deepEqual(order, ['first batch acked', 'between starts after 1 commit(s)', 'between ends', 'second batch acked']);
  await assert.rejects(d.between(async () => Promise.reject(new Error('store away'))), /store away/);
  d.submit(ev('alarm'));
  await d.drain();
  assert.equal(c.n, 3, 'the queue goes on after a failed between()');
});
