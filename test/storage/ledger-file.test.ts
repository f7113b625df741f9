/**
 * The ledger file itself: its id marker (a restart never starts a fresh empty ledger where one
 * was), quick_check at start (a damaged file is refused by name), a file deleted or replaced under
 * an open store (nothing more is committed to the ghost), and backups of a store while it commits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { LEDGER_ID_FILE, LedgerOpenError, SqliteStore } from '../../gateway/store/sqlite-store.js';
import { backupLedgerFile, listBackups } from '../../gateway/store/backup.js';
import { emptyUnit, type TableSpec } from '../../gateway/store/store.js';
import { makeTempDir } from '../support/procs.js';

const THINGS: TableSpec = { name: 'things', key: 'id', columns: { id: 'text', at: 'integer' }, doc: true };

async function fresh(dir?: string): Promise<{ dir: string; store: SqliteStore }> {
  dir ??= await makeTempDir('ledger-');
  const store = new SqliteStore({ dataDir: dir, sync: 'full' });
  await store.open([THINGS]);
  return { dir, store };
}

async function alarms(store: SqliteStore, from: number, n: number): Promise<void> {
  const u = emptyUnit();
  for (let i = from; i < from + n; i++) {
    u.events.push({ type: 'alarm', school: 'S1', device: 'D1', sourceId: `a${i}`, receivedAt: i, data: { kind: 'panic', pad: 'x'.repeat(200) } });
    u.rows.push({ table: 'things', op: 'put', row: { id: `a${i}`, at: i, doc: { id: `a${i}` } } });
  }
  await store.commit(u);
}

const opening = (dir: string) => () => new SqliteStore({ dataDir: dir, sync: 'full' });

test('a new ledger gets an id, kept in its meta table and in DATA_DIR/ledger.id; reopening it is fine', async () => {
  const { dir, store } = await fresh();
  const marker = fs.readFileSync(path.join(dir, LEDGER_ID_FILE), 'utf8').trim();
  assert.match(marker, /^[0-9a-f-]{36}$/);
  assert.equal(store.ledgerId, marker);
  await store.close();
  const again = opening(dir)();
  assert.equal(again.ledgerId, marker);
  await again.close();
});

test('a ledger deleted while stopped is not silently replaced by an empty one: the start is refused, naming the file and the way back', async () => {
  const { dir, store } = await fresh();
  await alarms(store, 0, 3);
  await store.close();
  const file = path.join(dir, 'ledger.sqlite');
  for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
  assert.throws(opening(dir), (err: Error) => {
    assert.ok(err instanceof LedgerOpenError);
    assert.ok(err.message.includes(file), err.message);
    assert.match(err.message, /missing.*refusing to start an empty one.*docs\/backup\.md/);
    return true;
  });
  assert.equal(fs.existsSync(file), false, 'no empty ledger was created');
});

test('another ledger put in its place is refused (the ids differ)', async () => {
  const a = await fresh();
  const b = await fresh();
  await a.store.close();
  await b.store.close();
  fs.copyFileSync(path.join(b.dir, 'ledger.sqlite'), path.join(a.dir, 'ledger.sqlite'));
  for (const s of ['-wal', '-shm']) fs.rmSync(path.join(a.dir, `ledger.sqlite${s}`), { force: true });
  assert.throws(opening(a.dir), (err: Error) => {
    assert.ok(err instanceof LedgerOpenError);
    assert.ok(err.message.includes(`is ledger ${b.store.ledgerId}`) && err.message.includes(`holds ledger ${a.store.ledgerId}`), err.message);
    return true;
  });
});

test('a damaged ledger (bytes overwritten in the middle) is refused at start by PRAGMA quick_check, naming the file', async () => {
  const { dir, store } = await fresh();
  for (let i = 0; i < 20; i++) await alarms(store, i * 100, 100);
  await store.close(); // checkpoints the WAL into the file
  const file = path.join(dir, 'ledger.sqlite');
  const size = fs.statSync(file).size;
  assert.ok(size > 200_000, `a ledger of ${size} bytes has many pages`);
  // One whole page in the middle, at a page boundary, overwritten with garbage.
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, Math.floor(size / 2 / 4096) * 4096);
  fs.closeSync(fd);
  assert.throws(opening(dir), (err: Error) => {
    assert.ok(err instanceof LedgerOpenError);
    assert.ok(err.message.includes(file), err.message);
    assert.match(err.message, /quick_check|cannot be opened/);
    assert.match(err.message, /docs\/backup\.md/);
    return true;
  });
});

for (const how of ['deleted', 'replaced'] as const) {
  test(`a ledger ${how} under the open store: no commit is taken (it would land in a ghost file), the fault names the file`, async () => {
    const { dir, store } = await fresh();
    await alarms(store, 0, 1);
    assert.equal(store.health().fault, undefined);
    const file = path.join(dir, 'ledger.sqlite');
    if (how === 'deleted') fs.rmSync(file);
    else {
      fs.copyFileSync(file, `${file}.other`);
      fs.renameSync(`${file}.other`, file); // same content, another inode: not the file we write to
    }
    await assert.rejects(alarms(store, 1, 1), (err: Error) => err.message.includes(file) && err.message.includes(how === 'deleted' ? 'was deleted' : 'was replaced'));
    await assert.rejects(store.probe());
    await assert.rejects(store.touchRun(1, 2));
    const h = store.health();
    assert.ok(h.fault?.includes(file), h.fault);
    assert.equal(h.writeFailures.commit, 1);
    await store.close();
  });
}

test('a backup taken while the store commits is a consistent ledger with the same id, and restoring it into a new DATA_DIR opens it', async () => {
  const { dir, store } = await fresh();
  await alarms(store, 0, 2000);
  const target = path.join(await makeTempDir('backup-'), 'copy.sqlite');
  // The in-process backup (scheduled backups) runs in steps between commits; keep committing meanwhile.
  let committed = 2000;
  const backup = store.backup(target);
  let done = false;
  void backup.finally(() => (done = true));
  while (!done) {
    await alarms(store, committed, 10);
    committed += 10;
    await new Promise((r) => setImmediate(r));
  }
  const r = await backup;
  assert.ok(committed > 2000, 'commits went on during the backup');
  assert.equal(r.ledgerId, store.ledgerId);
  await assert.rejects(store.backup(target), /already exists/);

  // A second backup through another, read-only connection (what `npm run backup` does).
  const cli = path.join(path.dirname(target), 'cli.sqlite');
  const r2 = await backupLedgerFile(path.join(dir, 'ledger.sqlite'), cli);
  assert.equal(r2.ledgerId, store.ledgerId);
  await store.close();

  const restored = await makeTempDir('restored-');
  fs.copyFileSync(target, path.join(restored, 'ledger.sqlite'));
  const back = new SqliteStore({ dataDir: restored, sync: 'full' });
  await back.open([THINGS]);
  assert.equal(back.ledgerId, r.ledgerId, 'the restored ledger keeps its id');
  assert.equal(fs.readFileSync(path.join(restored, LEDGER_ID_FILE), 'utf8').trim(), r.ledgerId, 'and the new directory remembers it');
  const rows = await back.find<{ id: string }>('things', {});
  assert.ok(rows.length >= 2000, `${rows.length} rows restored`);
  // Every row the backup has is whole: the events of the same commits are there too.
  assert.equal((await back.stats()).events, rows.length);
  await back.close();
  assert.deepEqual(listBackups(path.dirname(target)), [], 'files not named by the scheduler are not counted as its backups');
});
