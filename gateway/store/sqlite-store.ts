/**
 * The default store: one SQLite file in WAL mode (better-sqlite3). better-sqlite3 is synchronous,
 * so every method does its work at once and returns a settled promise: the async interface costs
 * one microtask, and a unit is still one transaction, fsync'd at commit (`synchronous=FULL`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { FeedFrame } from '../contract/api.js';
import { backupDatabase, type BackupResult } from './backup.js';
import { BASELINE, MIGRATIONS } from './sqlite-migrations.js';
import {
  feedFrame,
  jsonOnce,
  keyOf,
  type GatewayRun,
  type OutboxClaim,
  type OutboxName,
  type OutboxRow,
  type OutboxStats,
  type Query,
  type Scalar,
  type SourceKey,
  type Store,
  type StoreHealth,
  type StoreStats,
  type TableSpec,
  type Unit,
} from './store.js';

export interface SqliteStoreOptions {
  dataDir: string;
  sync: 'full' | 'normal';
  /** Recent feed frames kept in memory so a resuming screen is served without a query. */
  feedCacheFrames?: number;
  now?: () => number;
  /** Where failed writes and a replaced ledger are reported (once per streak). */
  log?: Logger;
  /** Every committed feed frame is also queued in the `city` outbox, in the same transaction (decision 0010). */
  copyFeedToCity?: boolean;
}

/** One outbox's statements: the InfluxDB points and the city uplink share the lease logic (decision 0010). */
function outboxStatements(db: Database.Database, table: string, leases: string) {
  return {
    insert: db.prepare(`INSERT INTO ${table} (at, line) VALUES (?, ?)`),
    firstAfter: db.prepare(`SELECT seq FROM ${table} WHERE seq > ? ORDER BY seq LIMIT 1`),
    from: db.prepare(`SELECT seq, at, line FROM ${table} WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT ?`),
    deleteRange: db.prepare(`DELETE FROM ${table} WHERE seq >= ? AND seq <= ?`),
    range: db.prepare(`SELECT min(seq) AS lo, max(seq) AS hi FROM ${table}`),
    oldest: db.prepare(`SELECT at FROM ${table} ORDER BY seq LIMIT 1`),
    expireLeases: db.prepare(`DELETE FROM ${leases} WHERE until < ?`),
    activeLeases: db.prepare(`SELECT lo, hi FROM ${leases} ORDER BY lo`),
    insertLease: db.prepare(`INSERT INTO ${leases} (id, owner, lo, hi, until) VALUES (?, ?, ?, ?, ?)`),
    deleteLease: db.prepare(`DELETE FROM ${leases} WHERE id = ?`),
  };
}

/** The ledger cannot be opened as it is: the message names the file and what to do. */
export class LedgerOpenError extends Error {
  override name = 'LedgerOpenError';
}

/** The file beside the ledger that remembers which ledger this data directory holds. */
export const LEDGER_ID_FILE = 'ledger.id';
/** Run marks failing this many times in a row mean the ledger cannot be written (1 s apart in the gateway). */
const RUN_MARK_FAILURES_FAULT = 3;
const RESTORE_HINT = 'restore it from a backup (docs/backup.md)';

const SQL_TYPE = { text: 'TEXT', integer: 'INTEGER', real: 'REAL' } as const;
const IDENT = /^[a-z][a-z0-9_]{0,62}$/;
const OPS = new Set(['=', '<>', '<', '<=', '>', '>=']);

function ident(name: string): string {
  if (!IDENT.test(name)) throw new Error(`store: "${name}" is not a valid table or column name`);
  return name;
}

interface Table {
  spec: TableSpec;
  put?: Database.Statement;
  insert?: Database.Statement;
  columns: string[];
}

export class SqliteStore implements Store {
  readonly file: string;
  /** The ledger's own id (`meta.ledger_id`), also kept in `DATA_DIR/ledger.id`. */
  readonly ledgerId: string;
  private readonly db: Database.Database;
  /** The file we opened: a file at the same path with another inode is not ours. */
  private readonly identity: { dev: number; ino: number };
  /** Set once the file is found deleted or replaced; never cleared (our connection writes to a ghost). */
  private gone?: string;
  private readonly failures: Record<string, number> = {};
  private readonly streaks: Record<string, number> = {};
  private readonly log?: Logger;
  private readonly stmts;
  private readonly tables = new Map<string, Table>();
  private readonly feedCache: FeedFrame[] = [];
  private readonly feedCacheFrames: number;
  private feedSeq: number;
  private readonly outboxes: Record<OutboxName, ReturnType<typeof outboxStatements>>;
  private readonly quarantineCount: Database.Statement;
  private readonly quarantine: Database.Statement;
  private readonly copyFeedToCity: boolean;
  private readonly now: () => number;

  constructor(opts: SqliteStoreOptions) {
    fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    this.file = path.join(opts.dataDir, 'ledger.sqlite');
    this.now = opts.now ?? Date.now;
    this.log = opts.log;
    const markerFile = path.join(opts.dataDir, LEDGER_ID_FILE);
    const marker = readMarker(markerFile);
    const existed = fs.existsSync(this.file);
    // Opening a missing file would create an empty ledger: in a directory that had one, that is
    // every alarm silently gone (a volume not mounted, a file deleted by hand).
    if (!existed && marker)
      throw new LedgerOpenError(
        `ledger ${this.file} is missing, but ${markerFile} says this data directory holds ledger ${marker}; refusing to start an empty one. ` +
          `Restore the ledger from a backup (docs/backup.md), or delete ${markerFile} to start an empty ledger on purpose`,
      );
    let opened: Database.Database | undefined;
    try {
      opened = new Database(this.file, { fileMustExist: existed });
      // WAL: readers never block the writer; a commit is one sequential append.
      opened.pragma('journal_mode = WAL');
      // The ledger is the operators' and devices' history: owner only (SQLite gives -wal/-shm the
      // main file's mode when it makes them; these may predate this rule).
      for (const f of [this.file, `${this.file}-wal`, `${this.file}-shm`]) if (fs.existsSync(f)) fs.chmodSync(f, 0o600);
      opened.pragma(`synchronous = ${opts.sync === 'full' ? 'FULL' : 'NORMAL'}`);
      opened.pragma('busy_timeout = 5000');
      if (existed) quickCheck(opened, this.file);
      this.db = opened;
      this.migrate();
      this.ledgerId = this.adoptId(marker, markerFile);
    } catch (err) {
      opened?.close();
      if (err instanceof LedgerOpenError) throw err;
      const e = err as { message: string; code?: string };
      throw new LedgerOpenError(`ledger ${this.file} cannot be opened: ${e.message}${e.code ? ` (${e.code})` : ''}; ${RESTORE_HINT}`);
    }
    const st = fs.statSync(this.file);
    this.identity = { dev: st.dev, ino: st.ino };
    this.feedCacheFrames = opts.feedCacheFrames ?? 10_000;
    const db = this.db;
    this.stmts = {
      insertEvent: db.prepare(
        `INSERT INTO events (type, school, device, source_id, received_at, device_ts, data)
         VALUES (@type, @school, @device, @sourceId, @receivedAt, @deviceTs, @data)
         ON CONFLICT DO NOTHING`,
      ),
      eventExists: db.prepare('SELECT 1 FROM events WHERE device = ? AND type = ? AND source_id = ?'),
      insertFeed: db.prepare('INSERT INTO feed (type, at, data) VALUES (?, ?, ?)'),
      feedSince: db.prepare('SELECT seq, type, data FROM feed WHERE seq > ? ORDER BY seq LIMIT ?'),
      feedMin: db.prepare('SELECT min(seq) AS s FROM feed'),
      feedMax: db.prepare(`SELECT seq AS s FROM sqlite_sequence WHERE name = 'feed'`),
      pruneFeed: db.prepare('DELETE FROM feed WHERE seq <= ?'),
      countEvents: db.prepare(`SELECT seq AS n FROM sqlite_sequence WHERE name = 'events'`),
      startRun: db.prepare('INSERT INTO gateway_runs (started_at, alive_at) VALUES (?, ?)'),
      touchRun: db.prepare('UPDATE gateway_runs SET alive_at = ? WHERE id = ?'),
      runsSince: db.prepare('SELECT id, started_at AS startedAt, alive_at AS aliveAt FROM gateway_runs WHERE alive_at >= ? ORDER BY id'),
    };
    this.outboxes = { influx: outboxStatements(db, 'outbox', 'outbox_leases'), city: outboxStatements(db, 'city_outbox', 'city_outbox_leases') };
    this.quarantineCount = db.prepare('SELECT count(*) AS n FROM outbox_quarantine');
    this.quarantine = db.prepare('INSERT OR REPLACE INTO outbox_quarantine (seq, at, line, reason, quarantined_at) VALUES (?, ?, ?, ?, ?)');
    this.copyFeedToCity = opts.copyFeedToCity ?? false;
    this.feedSeq = (this.stmts.feedMax.get() as { s: number } | undefined)?.s ?? 0;
  }

  /**
   * The ledger's id: created with the ledger, kept in its `meta` table (so backups carry it) and
   * in `DATA_DIR/ledger.id`. A marker naming another ledger means this file is not the one the
   * directory held (a wrong copy, a new empty file): refused. A missing marker is written (a
   * restore into a new data directory, a ledger from before the marker).
   */
  private adoptId(marker: string | undefined, markerFile: string): string {
    const row = this.db.prepare(`SELECT value FROM meta WHERE key = 'ledger_id'`).get() as { value: string } | undefined;
    if (marker && row?.value !== marker)
      throw new LedgerOpenError(
        `ledger ${this.file} is ${row ? `ledger ${row.value}` : 'a ledger without an id'}, but ${markerFile} says this data directory holds ledger ${marker}; refusing to start on the wrong ledger. ` +
          `Put the right ledger (or a backup of it, docs/backup.md) back in place, or delete ${markerFile} to adopt this one on purpose`,
      );
    let id = row?.value;
    if (!id) {
      id = randomUUID();
      this.db.prepare(`INSERT INTO meta (key, value) VALUES ('ledger_id', ?)`).run(id);
    }
    if (!marker) writeFileAtomic(markerFile, `${id}\n`);
    return id;
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length)
      throw new Error(`ledger ${this.file} has schema version ${version}, newer than this gateway (${MIGRATIONS.length})`);
    if (version === 0) {
      this.db.transaction(() => {
        this.db.exec(BASELINE);
        this.db.pragma(`user_version = ${MIGRATIONS.length}`);
      })();
      return;
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  async open(tables: TableSpec[]): Promise<void> {
    this.db.transaction(() => {
      for (const spec of tables) this.openTable(spec);
    })();
  }

  /** Creates the table, or adds the columns and indexes a newer spec names (additive evolution). */
  private openTable(spec: TableSpec): void {
    const name = ident(spec.name);
    if (this.tables.has(name)) throw new Error(`store: table "${name}" is declared twice`);
    const columns = Object.keys(spec.columns).map(ident);
    if (spec.key && !columns.includes(spec.key)) throw new Error(`store: table "${name}" key "${spec.key}" is not one of its columns`);
    const all = spec.doc ? [...columns, 'doc'] : columns;
    const defs = columns.map((c) => `${c} ${SQL_TYPE[spec.columns[c]]}${c === spec.key ? ' PRIMARY KEY' : ''}`);
    if (spec.doc) defs.push('doc TEXT NOT NULL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS ${name} (${defs.join(', ')})`);
    const have = new Set((this.db.pragma(`table_info(${name})`) as { name: string }[]).map((c) => c.name));
    for (const c of all) {
      if (have.has(c)) continue;
      this.db.exec(`ALTER TABLE ${name} ADD COLUMN ${c} ${c === 'doc' ? 'TEXT' : SQL_TYPE[spec.columns[c]]}`);
      // A column added to a table of documents is filled from them (SQLite's JSON1; behind this interface).
      if (spec.doc && have.has('doc')) this.db.exec(`UPDATE ${name} SET ${c} = json_extract(doc, '$.${c}')`);
    }
    for (const ix of spec.indexes ?? []) {
      const cols = ix.columns.map(ident);
      this.db.exec(`CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${name}__${cols.join('_')} ON ${name} (${cols.join(', ')})`);
    }
    const t: Table = { spec, columns: all };
    const marks = all.map((c) => '@' + c).join(', ');
    if (spec.key) {
      const sets = all.filter((c) => c !== spec.key).map((c) => `${c} = excluded.${c}`);
      t.put = this.db.prepare(
        `INSERT INTO ${name} (${all.join(', ')}) VALUES (${marks}) ON CONFLICT (${spec.key}) DO ${sets.length ? 'UPDATE SET ' + sets.join(', ') : 'NOTHING'}`,
      );
    }
    t.insert = this.db.prepare(`INSERT INTO ${name} (${all.join(', ')}) VALUES (${marks})`);
    this.tables.set(name, t);
  }

  private table(name: string): Table {
    const t = this.tables.get(name);
    if (!t) throw new Error(`store: no table "${name}" (is its module's TableSpec declared?)`);
    return t;
  }

  private bind(t: Table, row: Record<string, unknown>, json: (value: unknown) => string): Record<string, Scalar> {
    const out: Record<string, Scalar> = {};
    for (const c of t.columns) {
      if (c === 'doc') out.doc = json(row.doc);
      else {
        const v = row[c];
        out[c] = v === undefined ? null : typeof v === 'boolean' ? (v ? 1 : 0) : (v as Scalar);
      }
    }
    return out;
  }

  /**
   * Is the file at our path still the one we opened? Our connection keeps writing to a deleted or
   * replaced file's old inode, so a commit that "succeeds" there is lost at the next restart:
   * checked before every write (one stat, small beside the commit's fsync).
   */
  private checkFile(): string | undefined {
    if (this.gone) return this.gone;
    let why: string | undefined;
    try {
      const st = fs.statSync(this.file);
      if (st.ino !== this.identity.ino || st.dev !== this.identity.dev) why = 'was replaced by another file';
    } catch (err) {
      why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'was deleted' : `cannot be checked (${(err as Error).message})`;
    }
    if (!why) return undefined;
    this.gone = `ledger ${this.file} ${why} while the gateway was running; nothing more is acknowledged. Stop the gateway and put the ledger back, or ${RESTORE_HINT}`;
    this.log?.error({ file: this.file }, this.gone);
    return this.gone;
  }

  /** Every write outside `open`: refused when the file is not ours, failures counted and logged once per streak. */
  private write<T>(op: string, run: () => T): T {
    const gone = this.checkFile();
    if (gone) {
      this.failures[op] = (this.failures[op] ?? 0) + 1;
      throw new Error(gone);
    }
    try {
      const out = run();
      if (this.streaks[op]) {
        this.log?.warn({ op, failed: this.streaks[op] }, 'ledger write works again');
        this.streaks[op] = 0;
      }
      return out;
    } catch (err) {
      this.failures[op] = (this.failures[op] ?? 0) + 1;
      this.streaks[op] = (this.streaks[op] ?? 0) + 1;
      this.checkFile();
      // Commits are reported by the dispatcher, batch by batch; the rest would otherwise be silent.
      if (this.streaks[op] === 1 && op !== 'commit') this.log?.error({ err, op, file: this.file }, 'ledger write failed');
      throw err;
    }
  }

  health(): StoreHealth {
    const marks = this.streaks.touchRun ?? 0;
    const fault =
      this.checkFile() ??
      (marks >= RUN_MARK_FAILURES_FAULT ? `ledger ${this.file} cannot be written: the run mark failed ${marks} times in a row` : undefined);
    return { fault, writeFailures: { ...this.failures } };
  }

  async probe(): Promise<void> {
    // 16 KiB needs new pages (overflow pages of a 4 KiB-page file) unless freed ones are there,
    // so it fails on a full disk (or at max_page_count) just as an alarm's commit would.
    this.write('probe', () =>
      this.db.transaction(() => {
        this.db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('probe', hex(randomblob(8192)))`).run();
        this.db.prepare(`DELETE FROM meta WHERE key = 'probe'`).run();
      })(),
    );
  }

  async commit(unit: Unit): Promise<FeedFrame[]> {
    const seq = this.feedSeq;
    const cached = this.feedCache.length;
    const frames: FeedFrame[] = [];
    const json = jsonOnce();
    try {
      this.write('commit', () => this.db.transaction(() => {
        for (const e of unit.events) {
          this.stmts.insertEvent.run({
            type: e.type,
            school: e.school ?? null,
            device: e.device ?? null,
            sourceId: e.sourceId ?? null,
            receivedAt: e.receivedAt,
            deviceTs: e.deviceTs ?? null,
            data: JSON.stringify(e.data),
          });
        }
        for (const r of unit.rows) {
          const t = this.table(r.table);
          const stmt = r.op === 'put' ? t.put : t.insert;
          if (!stmt) throw new Error(`store: table "${r.table}" has no key; rows are inserted, not put`);
          stmt.run(this.bind(t, r.row, json));
        }
        for (const o of unit.outbox) this.outboxes.influx.insert.run(o.at, o.line);
        for (const f of unit.feed) {
          const data = json(f.data);
          const res = this.stmts.insertFeed.run(f.type, f.at, data);
          const frame = feedFrame(Number(res.lastInsertRowid), f.type, f.data, data);
          if (this.copyFeedToCity) this.outboxes.city.insert.run(f.at, `{"seq":${frame.seq},"at":${f.at},"type":${JSON.stringify(f.type)},"data":${data}}`);
          frames.push(frame);
          this.feedSeq = frame.seq;
          this.feedCache.push(frame);
        }
      })());
    } catch (err) {
      // The frames were rolled back with the transaction: forget them.
      this.feedCache.length = cached;
      this.feedSeq = seq;
      throw err;
    }
    if (this.feedCache.length > this.feedCacheFrames * 2) this.feedCache.splice(0, this.feedCache.length - this.feedCacheFrames);
    return frames;
  }

  async existing(keys: SourceKey[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const k of keys) if (this.stmts.eventExists.get(k.device, k.type, k.sourceId)) out.add(keyOf(k));
    return out;
  }

  private parse<T>(t: Table, row: Record<string, unknown> | undefined): T | undefined {
    if (!row) return undefined;
    return (t.spec.doc ? JSON.parse(row.doc as string) : row) as T;
  }

  async get<T>(table: string, key: Scalar): Promise<T | undefined> {
    const t = this.table(table);
    if (!t.spec.key) throw new Error(`store: table "${table}" has no key`);
    return this.parse<T>(t, this.db.prepare(`SELECT * FROM ${t.spec.name} WHERE ${t.spec.key} = ?`).get(key) as Record<string, unknown> | undefined);
  }

  async find<T>(table: string, q: Query): Promise<T[]> {
    const t = this.table(table);
    const args: Scalar[] = [];
    const where = (q.where ?? []).map(([col, op, value]) => {
      if (!t.columns.includes(col) || col === 'doc') throw new Error(`store: table "${table}" has no column "${col}"`);
      if (op === 'in') {
        const values = value as Scalar[];
        args.push(...values);
        return values.length ? `${col} IN (${values.map(() => '?').join(', ')})` : '0';
      }
      if (!OPS.has(op)) throw new Error(`store: unknown operator "${op}"`);
      args.push(value as Scalar);
      return `${col} ${op} ?`;
    });
    const order = (q.orderBy ?? []).map(([col, dir]) => {
      if (!t.columns.includes(col)) throw new Error(`store: table "${table}" has no column "${col}"`);
      return `${col} ${dir === 'desc' ? 'DESC' : 'ASC'}`;
    });
    // rowid breaks ties in insertion order, so equal keys keep the order they were written in.
    order.push(`rowid ${q.orderBy?.[0]?.[1] === 'desc' ? 'DESC' : 'ASC'}`);
    const sql = `SELECT * FROM ${t.spec.name}${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY ${order.join(', ')}${q.limit !== undefined ? ' LIMIT ?' : ''}`;
    if (q.limit !== undefined) args.push(q.limit);
    return (this.db.prepare(sql).all(...args) as Record<string, unknown>[]).map((r) => this.parse<T>(t, r)!);
  }

  async latestPer<T>(table: string, group: string, order: string, before: number): Promise<T[]> {
    const t = this.table(table);
    for (const c of [group, order]) if (!t.columns.includes(c)) throw new Error(`store: table "${table}" has no column "${c}"`);
    // SQLite returns the bare columns of the row that holds max() in each group.
    const rows = this.db.prepare(`SELECT *, max(${order}) AS latest__ FROM ${t.spec.name} WHERE ${order} < ? GROUP BY ${group}`).all(before) as Record<string, unknown>[];
    return rows.map((r) => {
      delete r.latest__;
      return this.parse<T>(t, r)!;
    });
  }

  async feedSince(seq: number, limit: number): Promise<FeedFrame[] | null> {
    return this.feedSinceSync(seq, limit);
  }

  private feedSinceSync(seq: number, limit: number): FeedFrame[] | null {
    if (seq >= this.feedSeq) return [];
    const first = this.feedCache[0];
    if (first && first.seq <= seq + 1) {
      const start = seq + 1 - first.seq;
      return this.feedCache.slice(start, start + limit);
    }
    const min = (this.stmts.feedMin.get() as { s: number | null }).s;
    if (min === null || min > seq + 1) return null;
    const rows = this.stmts.feedSince.all(seq, limit) as { seq: number; type: string; data: string }[];
    return rows.map((r) => feedFrame(r.seq, r.type, JSON.parse(r.data), r.data));
  }

  lastFeedSeq(): number {
    return this.feedSeq;
  }

  async pruneFeed(keep: number): Promise<number> {
    const cut = this.feedSeq - keep;
    if (cut <= 0) return 0;
    const idx = this.feedCache.findIndex((f) => f.seq > cut);
    if (idx > 0) this.feedCache.splice(0, idx);
    return this.write('pruneFeed', () => this.stmts.pruneFeed.run(cut).changes);
  }

  async pruneEvents(types: string[], beforeMs: number, maxRows: number): Promise<number> {
    if (types.length === 0) return 0;
    const marks = types.map(() => '?').join(',');
    const del = this.db.prepare(`DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE received_at < ? AND type IN (${marks}) LIMIT ?)`);
    return this.write('pruneEvents', () => del.run(beforeMs, ...types, maxRows).changes);
  }

  async claimOutbox(owner: string, limit: number, leaseMs: number, outbox: OutboxName = 'influx'): Promise<OutboxClaim> {
    const st = this.outboxes[outbox];
    return this.write('claimOutbox', () => this.db.transaction((): OutboxClaim => {
      const now = this.now();
      st.expireLeases.run(now);
      const leases = st.activeLeases.all() as { lo: number; hi: number }[];
      let cursor = 0;
      for (;;) {
        const first = st.firstAfter.get(cursor) as { seq: number } | undefined;
        if (!first) return { id: '', rows: [], outbox };
        const held = leases.find((l) => first.seq >= l.lo && first.seq <= l.hi);
        if (held) {
          cursor = held.hi;
          continue;
        }
        // A claim is one contiguous range: it stops where another exporter's lease begins.
        const next = leases.find((l) => l.lo > first.seq);
        const rows = st.from.all(first.seq, next ? next.lo : Number.MAX_SAFE_INTEGER, limit) as OutboxRow[];
        const id = randomUUID();
        st.insertLease.run(id, owner, rows[0].seq, rows[rows.length - 1].seq, now + leaseMs);
        return { id, rows, outbox };
      }
    })());
  }

  async ackOutbox(claim: OutboxClaim, quarantined: { row: OutboxRow; reason: string }[]): Promise<void> {
    if (claim.rows.length === 0) return;
    const st = this.outboxes[claim.outbox ?? 'influx'];
    if (quarantined.length > 0 && claim.outbox === 'city') throw new Error('store: the city outbox has no quarantine');
    this.write('ackOutbox', () => this.db.transaction(() => {
      const now = this.now();
      for (const q of quarantined) this.quarantine.run(q.row.seq, q.row.at, q.row.line, q.reason, now);
      st.deleteRange.run(claim.rows[0].seq, claim.rows[claim.rows.length - 1].seq);
      st.deleteLease.run(claim.id);
    })());
  }

  async releaseOutbox(claim: OutboxClaim): Promise<void> {
    if (claim.id) this.write('releaseOutbox', () => this.outboxes[claim.outbox ?? 'influx'].deleteLease.run(claim.id));
  }

  async outboxStats(outbox: OutboxName = 'influx'): Promise<OutboxStats> {
    const st = this.outboxes[outbox];
    // Rows leave from the front while one exporter acks in order, and AUTOINCREMENT leaves no gaps,
    // so max − min + 1 is the exact count without a scan of a backlog of millions (an upper bound
    // while several exporters ack out of order).
    const { lo, hi } = st.range.get() as { lo: number | null; hi: number | null };
    const oldest = st.oldest.get() as { at: number } | undefined;
    return {
      rows: lo === null || hi === null ? 0 : hi - lo + 1,
      oldestAt: oldest?.at ?? null,
      quarantined: outbox === 'city' ? 0 : (this.quarantineCount.get() as { n: number }).n,
    };
  }


  async startRun(atMs: number): Promise<number> {
    return Number(this.write('startRun', () => this.stmts.startRun.run(atMs, atMs)).lastInsertRowid);
  }

  async touchRun(id: number, atMs: number): Promise<void> {
    this.write('touchRun', () => this.stmts.touchRun.run(atMs, id));
  }

  async runsSince(fromMs: number): Promise<GatewayRun[]> {
    return this.stmts.runsSince.all(fromMs) as GatewayRun[];
  }

  async stats(): Promise<StoreStats> {
    const events = (this.stmts.countEvents.get() as { n: number } | undefined)?.n ?? 0;
    let sizeBytes = 0;
    for (const suffix of ['', '-wal']) {
      try {
        sizeBytes += fs.statSync(this.file + suffix).size;
      } catch {
        /* the WAL may not exist between checkpoints */
      }
    }
    return { events, feedSeq: this.feedSeq, sizeBytes };
  }

  /** An online backup into `file` through this connection, in steps between commits (`backup.ts`). */
  backup(file: string): Promise<BackupResult> {
    return backupDatabase(this.db, file, { oneStep: false });
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** The ledger id a data directory's `ledger.id` names, or undefined when there is none. */
export function readMarker(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LedgerOpenError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Written whole or not at all: a crash or a full disk never leaves a half marker. */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeFileSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** `PRAGMA quick_check` (b-tree structure, O(N) but no index-content cross-check): refuses a damaged ledger at start. */
export function quickCheck(db: Database.Database, file: string): void {
  const rows = db.pragma('quick_check(20)') as { quick_check: string }[];
  const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
  if (problems.length > 0)
    throw new LedgerOpenError(`ledger ${file} failed PRAGMA quick_check (${problems.length === 20 ? '20 or more problems' : `${problems.length} problem(s)`}: ${problems.slice(0, 3).join('; ')}); ${RESTORE_HINT}`);
}
