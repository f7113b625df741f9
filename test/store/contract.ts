/**
 * The store contract: what every `Store` implementation must do, as one suite that each runs
 * (the aedes-persistence `abstract.js` habit). SQLite runs it in `sqlite.test.ts`; a PostgreSQL
 * store will run the same suite before it may stand in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyUnit, frameText, keyOf, type Store, type TableSpec } from '../../gateway/store/store.js';

export interface StoreHarness {
  /** A fresh, empty store (tables not yet opened). */
  make(): Promise<Store>;
  /** The same data opened again, as after a restart. */
  reopen(previous: Store): Promise<Store>;
}

const THINGS: TableSpec = {
  name: 'things',
  key: 'id',
  columns: { id: 'text', school: 'text', state: 'text', at: 'integer' },
  doc: true,
  indexes: [{ columns: ['school', 'at'] }],
};
const MOVES: TableSpec = { name: 'moves', columns: { device: 'text', at: 'integer', online: 'integer' }, indexes: [{ columns: ['device', 'at'] }] };

export function storeContract(name: string, h: StoreHarness): void {
  const open = async () => {
    const s = await h.make();
    await s.open([THINGS, MOVES]);
    return s;
  };

  test(`${name}: a unit commits events, rows, feed frames and outbox lines together`, async () => {
    const s = await open();
    const u = emptyUnit();
    u.events.push({ type: 'alarm', school: 'S1', device: 'D1', sourceId: 'a1', receivedAt: 1000, deviceTs: 990, data: { kind: 'panic' } });
    u.rows.push({ table: 'things', op: 'put', row: { id: 't1', school: 'S1', state: 'open', at: 10, doc: { id: 't1', note: '中文 ok', n: [1, 2] } } });
    u.rows.push({ table: 'moves', op: 'insert', row: { device: 'D1', at: 5, online: 0 } });
    u.feed.push({ type: 'alarm', data: { id: 't1' }, at: 1000 }, { type: 'device', data: { id: 'D1' }, at: 1001 });
    u.outbox.push({ at: 1000, line: 'm,a=b f=1i 1000' });
    const frames = await s.commit(u);
    assert.deepEqual(frames.map((f) => [f.seq, f.type]), [[1, 'alarm'], [2, 'device']]);
    assert.equal(s.lastFeedSeq(), 2);
    assert.deepEqual(await s.get('things', 't1'), { id: 't1', note: '中文 ok', n: [1, 2] });
    assert.deepEqual(await s.find('moves', {}), [{ device: 'D1', at: 5, online: 0 }]);
    assert.deepEqual((await s.feedSince(0, 10))!.map((f) => f.seq), [1, 2]);
    assert.equal((await s.outboxStats()).rows, 1);
    assert.equal((await s.stats()).feedSeq, 2);
    await s.close();
  });

  test(`${name}: a frame goes to the screens as the text the ledger holds, serialized once with its row`, async () => {
    let s = await open();
    // One object as a row's doc and as a frame's data (what the alarms module does with an alarm).
    const alarm = { id: 'a1', school: 'S1', note: '中文 "quoted" \u2028', n: [1, 2.5], nested: { ok: true } };
    const u = emptyUnit();
    u.rows.push({ table: 'things', op: 'put', row: { id: 'a1', school: 'S1', state: 'raised', at: 1, doc: alarm } });
    u.feed.push({ type: 'alarm', data: alarm, at: 1000 }, { type: 'device', data: { id: 'D1' }, at: 1001 });
    const frames = await s.commit(u);
    const committed = frames.map((f) => JSON.stringify(f));
    assert.deepEqual(frames.map(frameText), committed, 'the wire text is JSON.stringify of the frame');
    // Changed after its commit: the screens get what was committed (what a replay would send), not the change.
    alarm.note = 'changed later';
    assert.equal(frameText(frames[0]), committed[0]);
    assert.deepEqual(await s.get('things', 'a1'), { ...alarm, note: '中文 "quoted" \u2028' });
    // Read back after a restart (not from the commit's cache): the same text.
    s = await h.reopen(s);
    await s.open([THINGS, MOVES]);
    assert.deepEqual((await s.feedSince(0, 10))!.map(frameText), committed);
    await s.close();
  });

  test(`${name}: a unit that fails leaves nothing behind, and the feed seq does not move`, async () => {
    const s = await open();
    const ok = emptyUnit();
    ok.feed.push({ type: 'x', data: {}, at: 1 });
    await s.commit(ok);
    const bad = emptyUnit();
    bad.events.push({ type: 'alarm', school: 'S1', device: 'D1', sourceId: 'b', receivedAt: 1, data: {} });
    bad.rows.push({ table: 'things', op: 'put', row: { id: 't2', school: 'S1', state: 'open', at: 1, doc: {} } });
    bad.feed.push({ type: 'x', data: {}, at: 2 });
    bad.rows.push({ table: 'no_such_table', op: 'put', row: { id: 'z' } });
    await assert.rejects(s.commit(bad), /no table "no_such_table"/);
    assert.equal(s.lastFeedSeq(), 1);
    assert.equal(await s.get('things', 't2'), undefined);
    assert.equal((await s.existing([{ device: 'D1', type: 'alarm', sourceId: 'b' }])).size, 0);
    assert.deepEqual((await s.feedSince(0, 10))!.map((f) => f.seq), [1]);
    const next = emptyUnit();
    next.feed.push({ type: 'x', data: {}, at: 3 });
    assert.deepEqual((await s.commit(next)).map((f) => f.seq), [2], 'the seq continues where the last durable frame left it');
    await s.close();
  });

  test(`${name}: events are deduplicated per (device, type, sourceId)`, async () => {
    const s = await open();
    const u = emptyUnit();
    u.events.push({ type: 'alarm', device: 'D1', sourceId: 'p1', receivedAt: 1, data: {} }, { type: 'ai', device: 'D1', sourceId: 'p1', receivedAt: 1, data: {} });
    await s.commit(u);
    const keys = [
      { device: 'D1', type: 'alarm', sourceId: 'p1' },
      { device: 'D1', type: 'ai', sourceId: 'p1' },
      { device: 'D2', type: 'alarm', sourceId: 'p1' },
      { device: 'D1', type: 'alarm', sourceId: 'p2' },
    ];
    assert.deepEqual([...(await s.existing(keys))].sort(), [keyOf(keys[0]), keyOf(keys[1])].sort());
    const again = emptyUnit();
    again.events.push({ type: 'alarm', device: 'D1', sourceId: 'p1', receivedAt: 2, data: {} });
    await s.commit(again); // a redelivery that slipped past `existing` is absorbed, not an error
    assert.equal(await s.pruneEvents(['alarm', 'ai'], 10, 100), 2, 'two events stored, not three');
    await s.close();
  });

  test(`${name}: put replaces by key; find filters, orders and limits; latestPer takes each group's last row`, async () => {
    const s = await open();
    const u = emptyUnit();
    for (let i = 0; i < 6; i++) u.rows.push({ table: 'things', op: 'put', row: { id: `t${i}`, school: i % 2 ? 'S1' : 'S2', state: 'open', at: i, doc: { id: `t${i}`, v: 1 } } });
    u.rows.push({ table: 'things', op: 'put', row: { id: 't3', school: 'S1', state: 'closed', at: 3, doc: { id: 't3', v: 2 } } });
    for (const [device, at, online] of [['A', 1, 1], ['A', 5, 0], ['B', 2, 0], ['A', 9, 1], ['B', 7, 1]] as const) u.rows.push({ table: 'moves', op: 'insert', row: { device, at, online } });
    await s.commit(u);
    assert.deepEqual(await s.get('things', 't3'), { id: 't3', v: 2 });
    const s1 = await s.find<{ id: string }>('things', { where: [['school', '=', 'S1'], ['state', '<>', 'closed']], orderBy: [['at', 'desc']] });
    assert.deepEqual(s1.map((r) => r.id), ['t5', 't1']);
    assert.deepEqual((await s.find<{ id: string }>('things', { where: [['at', '>=', 2]], orderBy: [['at', 'asc']], limit: 2 })).map((r) => r.id), ['t2', 't3']);
    assert.deepEqual((await s.find<{ id: string }>('things', { where: [['id', 'in', ['t0', 't4', 'zz']]], orderBy: [['id', 'asc']] })).map((r) => r.id), ['t0', 't4']);
    const last = await s.latestPer<{ device: string; at: number; online: number }>('moves', 'device', 'at', 8);
    assert.deepEqual(last.sort((a, b) => a.device.localeCompare(b.device)), [{ device: 'A', at: 5, online: 0 }, { device: 'B', at: 7, online: 1 }]);
    await assert.rejects(s.find('things', { where: [['nope', '=', 1]] }), /no column "nope"/);
    await s.close();
  });

  test(`${name}: the feed survives a restart; pruned frames are reported as gone`, async () => {
    const s = await open();
    for (let i = 0; i < 5; i++) {
      const u = emptyUnit();
      u.feed.push({ type: 'x', data: { i }, at: i });
      await s.commit(u);
    }
    await s.pruneFeed(2);
    assert.equal(await s.feedSince(0, 10), null, 'frames 1–3 are gone: the client needs a snapshot');
    assert.deepEqual((await s.feedSince(3, 10))!.map((f) => f.data), [{ i: 3 }, { i: 4 }]);
    const r = await h.reopen(s);
    await r.open([THINGS, MOVES]);
    assert.equal(r.lastFeedSeq(), 5);
    const u = emptyUnit();
    u.feed.push({ type: 'x', data: {}, at: 9 });
    assert.deepEqual((await r.commit(u)).map((f) => f.seq), [6]);
    await r.close();
  });

  test(`${name}: outbox rows are leased to one exporter at a time, acknowledged or given back`, async () => {
    const s = await open();
    const u = emptyUnit();
    for (let i = 1; i <= 10; i++) u.outbox.push({ at: i, line: `m f=${i}i ${i}` });
    await s.commit(u);
    const a = await s.claimOutbox('A', 4, 60_000);
    const b = await s.claimOutbox('B', 4, 60_000);
    assert.deepEqual(a.rows.map((r) => r.at), [1, 2, 3, 4]);
    assert.deepEqual(b.rows.map((r) => r.at), [5, 6, 7, 8], 'a second exporter gets the next rows, not the same ones');
    await s.releaseOutbox(a);
    const a2 = await s.claimOutbox('A', 10, 60_000);
    assert.deepEqual(a2.rows.map((r) => r.at), [1, 2, 3, 4], 'given-back rows are claimed again first, up to the next lease');
    await s.ackOutbox(a2, [{ row: a2.rows[1], reason: 'bad point' }]);
    await s.ackOutbox(b, []);
    const rest = await s.claimOutbox('A', 10, 60_000);
    assert.deepEqual(rest.rows.map((r) => r.at), [9, 10]);
    await s.ackOutbox(rest, []);
    const stats = await s.outboxStats();
    assert.equal(stats.rows, 0);
    assert.equal(stats.quarantined, 1);
    assert.deepEqual((await s.claimOutbox('A', 10, 60_000)).rows, []);
    await s.close();
  });

  test(`${name}: a lease that runs out returns its rows (an exporter that died)`, async () => {
    const s = await open();
    const u = emptyUnit();
    for (let i = 1; i <= 3; i++) u.outbox.push({ at: i, line: `m f=${i}i ${i}` });
    await s.commit(u);
    const dead = await s.claimOutbox('A', 10, 1);
    assert.equal(dead.rows.length, 3);
    const t = Date.now();
    while (Date.now() <= t + 2) await new Promise((r) => setTimeout(r, 1));
    assert.deepEqual((await s.claimOutbox('B', 10, 60_000)).rows.map((r) => r.at), [1, 2, 3]);
    await s.close();
  });

  test(`${name}: runs are recorded and read back`, async () => {
    const s = await open();
    const id = await s.startRun(1000);
    await s.touchRun(id, 5000);
    const id2 = await s.startRun(9000);
    assert.deepEqual(await s.runsSince(4000), [{ id, startedAt: 1000, aliveAt: 5000 }, { id: id2, startedAt: 9000, aliveAt: 9000 }]);
    assert.deepEqual((await s.runsSince(6000)).map((r) => r.id), [id2]);
    await s.close();
  });

  test(`${name}: raw events are pruned by type and age; others stay`, async () => {
    const s = await open();
    const u = emptyUnit();
    u.events.push({ type: 'heartbeat', device: 'D', receivedAt: 1, data: {} }, { type: 'heartbeat', device: 'D', receivedAt: 50, data: {} }, { type: 'alarm', device: 'D', sourceId: 'x', receivedAt: 1, data: {} });
    await s.commit(u);
    assert.equal(await s.pruneEvents(['heartbeat'], 10, 100), 1);
    assert.equal((await s.existing([{ device: 'D', type: 'alarm', sourceId: 'x' }])).size, 1);
    await s.close();
  });

  test(`${name}: a table spec that grows gains its new columns, filled from the documents`, async () => {
    const s = await h.make();
    await s.open([{ name: 'grow', key: 'id', columns: { id: 'text' }, doc: true }]);
    const u = emptyUnit();
    u.rows.push({ table: 'grow', op: 'put', row: { id: 'g1', doc: { id: 'g1', school: 'S9' } } });
    await s.commit(u);
    const r = await h.reopen(s);
    await r.open([{ name: 'grow', key: 'id', columns: { id: 'text', school: 'text' }, doc: true, indexes: [{ columns: ['school'] }] }]);
    assert.deepEqual(await r.find('grow', { where: [['school', '=', 'S9']] }), [{ id: 'g1', school: 'S9' }]);
    await r.close();
  });
  test(`${name}: a healthy store reports no fault, its probe leaves nothing behind, and a failed commit is counted`, async () => {
    const s = await open();
    assert.deepEqual(s.health(), { fault: undefined, writeFailures: {} });
    const before = await s.stats();
    await s.probe();
    const after = await s.stats();
    assert.deepEqual([after.events, after.feedSeq], [before.events, before.feedSeq], 'the probe adds no event and no frame');
    const bad = emptyUnit();
    bad.rows.push({ table: 'nowhere', op: 'put', row: { id: 'x' } });
    await assert.rejects(s.commit(bad));
    assert.equal(s.health().writeFailures.commit, 1);
    assert.equal(s.health().fault, undefined, 'one failed commit is the dispatcher\'s business, not a store fault');
    await s.close();
  });
}

/**
 * The city uplink's outbox (decision 0010), for either store: `make(copyFeedToCity)` gives an open
 * store. With the copy every committed frame is queued with its feed seq, apart from the InfluxDB
 * outbox; leased to one forwarder, given back, acknowledged. Without it nothing is queued.
 */
export async function cityOutboxCase(make: (copyFeedToCity: boolean) => Promise<Store>): Promise<void> {
  const unit = () => {
    const u = emptyUnit();
    u.feed.push({ type: 'alarm', data: { id: 'a1', state: 'raised' }, at: 1000 }, { type: 'alarm', data: { id: 'a1', state: 'acknowledged' }, at: 1001 });
    u.outbox.push({ at: 1000, line: 'm f=1i 1000' });
    return u;
  };
  const plain = await make(false);
  await plain.commit(unit());
  assert.equal((await plain.outboxStats('city')).rows, 0, 'a single county queues nothing for a city');
  await plain.close();

  const s = await make(true);
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
}
