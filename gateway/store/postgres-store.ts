/**
 * The store on PostgreSQL (issue #14; docs/decisions/0007-postgresql-store.md), chosen by
 * `STORE_URL=postgres://…`; SQLite stays the embedded default. It passes the same contract suite
 * (test/store/contract.ts) as the SQLite store, with the same semantics:
 *
 * - a `Unit` is one transaction, durable at COMMIT (`synchronous_commit=on` is set on every
 *   connection, whatever the server's default);
 * - core tables come from versioned migrations (node-pg-migrate, under its advisory lock), module
 *   tables from their `TableSpec` at open, created or extended the way the SQLite store does it;
 * - feed seqs come from one counter row (`feed_head`) that each feed-writing commit locks: no gap
 *   after a rollback, and frames are visible in seq order even with several writers;
 * - outbox rows carry their own lease (claimed under an advisory lock, `FOR UPDATE SKIP LOCKED`
 *   against in-flight acknowledgements), acknowledged by lease id, never by seq range.
 *
 * Several gateways on one database (decision 0009): each feed-writing commit NOTIFYs
 * `campus_feed` with the new head, `watchFeed` LISTENs on a connection of its own, and `feedHead`
 * reads the head, so a gateway applies what the others committed. Scheduler leases are not here yet.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import type { Logger } from 'pino';
import type { FeedFrame } from '../contract/api.js';
import { LEDGER_ID_FILE, LedgerOpenError, readMarker, writeFileAtomic } from './sqlite-store.js';
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

export interface PostgresStoreOptions {
  /** postgres://user@host:port/database (a password may come from PGPASSWORD or ~/.pgpass instead). */
  url: string;
  /**
   * The gateway's data directory: its `ledger.id` names the ledger this gateway last used, and a
   * database holding another (a new empty one, the wrong one) is refused, as on SQLite.
   */
  dataDir?: string;
  /** Connections kept open (default 10). */
  poolSize?: number;
  /** Recent feed frames kept in memory so a resuming screen is served without a query. */
  feedCacheFrames?: number;
  now?: () => number;
  /** Where failed writes and a lost connection are reported (once per streak). */
  log?: Logger;
  /** Queue every committed feed frame in the city outbox, in the same commit (a county with an uplink, decision 0010). */
  copyFeedToCity?: boolean;
}

/** The tables of each outbox: the InfluxDB points, and the city uplink's frames. */
const OUTBOX_TABLES: Record<OutboxName, { rows: string; quarantine: string }> = {
  influx: { rows: 'outbox', quarantine: 'outbox_quarantine' },
  city: { rows: 'city_outbox', quarantine: 'city_outbox_quarantine' },
};

/** Run marks failing this many times in a row mean the database cannot be written (1 s apart in the gateway). */
const RUN_MARK_FAILURES_FAULT = 3;
/** Advisory lock keys (any constants of ours; node-pg-migrate has its own). */
const LOCK_SCHEMA = 0x6361_6d70_0001; // module tables' DDL at open
const LOCK_OUTBOX_CLAIM = 0x6361_6d70_0002;
/** NOTIFY channel of feed-writing commits; the payload is the new `feed_head` and the writing store's id (decision 0009). */
const FEED_CHANNEL = 'campus_feed';
const MIGRATIONS_DIR = fileURLToPath(new URL('./pg-migrations', import.meta.url));

const SQL_TYPE = { text: 'TEXT COLLATE "C"', integer: 'BIGINT', real: 'DOUBLE PRECISION' } as const;
const CAST = { text: 'text', integer: 'bigint', real: 'double precision' } as const;
const IDENT = /^[a-z][a-z0-9_]{0,62}$/;
const OPS = new Set(['=', '<>', '<', '<=', '>', '>=']);
/** Hidden insertion order (SQLite's rowid): breaks ties in `find`, kept by `put`. Cannot clash: declared names start with a letter. */
const ROW_SEQ = '_seq';

function ident(name: string): string {
  if (!IDENT.test(name)) throw new Error(`store: "${name}" is not a valid table or column name`);
  return name;
}

/** Quoted: a module may name a column `user` or `order`, words PostgreSQL reserves (SQLite lets them pass). */
const qi = (name: string): string => `"${ident(name)}"`;

/** BIGINT (oid 20) as a JS number: every seq and millisecond time here is far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** SQLSTATE classes and socket errors that mean the database is out of reach, not that one statement was wrong. */
function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  const code = e?.code ?? '';
  if (/^08/.test(code) || ['57P01', '57P02', '57P03', '53300'].includes(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended|Query read timeout/i.test(e?.message ?? '');
}

/** The URL without its password, for messages and logs. */
export function redactStoreUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable STORE_URL)';
  }
}

interface Table {
  spec: TableSpec;
  /** Declared columns (and `doc`), in order: what is written and read back. */
  columns: string[];
  select: string;
  /** ` ON CONFLICT (key) DO UPDATE …`: what makes an INSERT a `put` (tables with a key). */
  onConflict?: string;
}

type Db = pg.Pool | pg.PoolClient;

export class PostgresStore implements Store {
  /** The ledger's own id (`meta.ledger_id`), set by `open`. */
  ledgerId = '';
  /** Where it is, without the password. */
  readonly where: string;
  private readonly url: string;
  /** This store's name on job leases. */
  private readonly owner = randomUUID();
  private readonly pool: pg.Pool;
  private readonly copyFeedToCity: boolean;
  private readonly log?: Logger;
  private readonly dataDir?: string;
  private readonly now: () => number;
  private readonly tables = new Map<string, Table>();
  private readonly failures: Record<string, number> = {};
  private readonly streaks: Record<string, number> = {};
  /** Set while the last operation found the database out of reach; cleared by the next that reaches it. */
  private lost?: string;
  private migrated = false;
  private readonly feedCache: FeedFrame[] = [];
  private readonly feedCacheFrames: number;
  private feedSeq = 0;
  private lastStats = { events: 0, sizeBytes: 0 };

  constructor(opts: PostgresStoreOptions) {
    this.where = redactStoreUrl(opts.url);
    this.url = opts.url;
    this.log = opts.log;
    this.dataDir = opts.dataDir;
    this.now = opts.now ?? Date.now;
    this.feedCacheFrames = opts.feedCacheFrames ?? 10_000;
    this.copyFeedToCity = opts.copyFeedToCity ?? false;
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      types,
      connectionTimeoutMillis: 10_000,
      // A connection cut without a reset (a dead router, a failover) must not hold a commit, and
      // with it every acknowledgement, for ever: TCP keepalive finds the dead peer, and no
      // statement waits longer than a minute (the client then closes that connection).
      keepAlive: true,
      query_timeout: 60_000,
      // Durable at COMMIT whatever the server's default: an acknowledged alarm is on disk.
      options: '-c synchronous_commit=on',
      application_name: 'campus-gateway',
    });
    // An idle connection that breaks (server restarted, network cut) must not crash the gateway:
    // the pool drops it and the next query opens a new one.
    this.pool.on('error', (err) => {
      this.lost = `PostgreSQL at ${this.where} is out of reach: ${err.message}`;
      this.log?.warn({ err: err.message, where: this.where }, 'PostgreSQL connection lost');
    });
  }

  /** Every query goes through here: a connection-class failure marks the store as lost, any success clears it. */
  private async q<R extends pg.QueryResultRow = Record<string, unknown>>(db: Db, text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      const res = await db.query<R>(text, values);
      this.lost = undefined;
      return res;
    } catch (err) {
      if (isConnectionError(err)) this.lost = `PostgreSQL at ${this.where} is out of reach: ${(err as Error).message}`;
      throw err;
    }
  }

  /**
   * A pooled connection for a transaction or the migration. While it is checked out the pool no
   * longer listens for its errors, and a server that ends the session between two statements
   * (shutdown: 57P01, or a FATAL that arrives in the same packet as the last reply) emits 'error'
   * on the client itself: unheard, Node would end the gateway. Heard, the store is marked lost and
   * the connection is closed when given back, not handed to the next caller.
   */
  private async checkout<T>(run: (c: pg.PoolClient, conn: { lost: boolean }) => Promise<T>): Promise<T> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (err) {
      if (isConnectionError(err)) this.lost = `PostgreSQL at ${this.where} is out of reach: ${(err as Error).message}`;
      throw err;
    }
    const conn = { lost: false };
    const onError = (err: Error): void => {
      conn.lost = true;
      this.lost = `PostgreSQL at ${this.where} is out of reach: ${err.message}`;
    };
    c.on('error', onError);
    try {
      return await run(c, conn);
    } catch (err) {
      if (isConnectionError(err)) conn.lost = true;
      throw err;
    } finally {
      // A broken client keeps this listener: it may still report its end after the pool dropped it.
      if (!conn.lost) c.off('error', onError);
      c.release(conn.lost || undefined);
    }
  }

  private tx<T>(run: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.checkout(async (c, conn) => {
      try {
        await this.q(c, 'BEGIN');
        const out = await run(c);
        await this.q(c, 'COMMIT');
        return out;
      } catch (err) {
        // A connection that cannot roll back is closed, not handed to the next caller.
        if (!conn.lost && !isConnectionError(err)) await c.query('ROLLBACK').catch(() => (conn.lost = true));
        throw err;
      }
    });
  }

  /** Every write: failures counted, and logged once per streak (commits are the dispatcher's to report). */
  private async write<T>(op: string, run: () => Promise<T>): Promise<T> {
    try {
      const out = await run();
      if (this.streaks[op]) {
        this.log?.warn({ op, failed: this.streaks[op] }, 'ledger write works again');
        this.streaks[op] = 0;
      }
      return out;
    } catch (err) {
      this.failures[op] = (this.failures[op] ?? 0) + 1;
      this.streaks[op] = (this.streaks[op] ?? 0) + 1;
      if (this.streaks[op] === 1 && op !== 'commit') this.log?.error({ err, op, where: this.where }, 'ledger write failed');
      throw err;
    }
  }

  async open(tables: TableSpec[]): Promise<void> {
    if (!this.migrated) {
      try {
        await this.migrate();
      } catch (err) {
        if (err instanceof LedgerOpenError) throw err;
        const e = err as { message: string; code?: string };
        throw new LedgerOpenError(`ledger at ${this.where} cannot be opened: ${e.message}${e.code ? ` (${e.code})` : ''}`);
      }
    }
    await this.tx(async (c) => {
      // Two gateways opening at once would race on CREATE TABLE IF NOT EXISTS / ADD COLUMN.
      await this.q(c, 'SELECT pg_advisory_xact_lock($1)', [LOCK_SCHEMA]);
      for (const spec of tables) await this.openTable(c, spec);
    });
  }

  /** Core tables up to date, the ledger's id checked against the data directory's, the feed's head read. */
  private async migrate(): Promise<void> {
    await this.checkout(async (c) => {
      await runner({
        dbClient: c,
        dir: MIGRATIONS_DIR,
        // The compiled gateway has .js files there (and maybe maps or declarations); development, .ts.
        ignorePattern: '(?:\\..*|.*\\.d\\.ts|.*\\.map)',
        migrationsTable: 'pgmigrations',
        direction: 'up',
        checkOrder: true,
        singleTransaction: true,
        // Gateways starting together: one migrates, the others wait for it (then find nothing to do).
        advisoryLockMode: 'wait',
        logger: {
          debug: () => undefined,
          info: (msg: string) => this.log?.info({ where: this.where }, msg),
          warn: (msg: string) => this.log?.warn({ where: this.where }, msg),
          error: (msg: string) => this.log?.error({ where: this.where }, msg),
        },
      });
    });
    await this.q(this.pool, `INSERT INTO meta (key, value) VALUES ('ledger_id', $1) ON CONFLICT (key) DO NOTHING`, [randomUUID()]);
    this.ledgerId = (await this.q<{ value: string }>(this.pool, `SELECT value FROM meta WHERE key = 'ledger_id'`)).rows[0].value;
    this.feedSeq = (await this.q<{ seq: number }>(this.pool, 'SELECT seq FROM feed_head')).rows[0].seq;
    if (this.dataDir) {
      const markerFile = path.join(this.dataDir, LEDGER_ID_FILE);
      const marker = readMarker(markerFile);
      // A database that is not the one this gateway used (re-created empty, another county's) would
      // silently lose every alarm it held: refused, as a replaced SQLite file is.
      if (marker && marker !== this.ledgerId)
        throw new LedgerOpenError(
          `ledger at ${this.where} is ledger ${this.ledgerId}, but ${markerFile} says this gateway's ledger is ${marker}; refusing to start on the wrong ledger. ` +
            `Point STORE_URL at the right database (or restore it), or delete ${markerFile} to adopt this one on purpose (also after moving from SQLite to PostgreSQL)`,
        );
      if (!marker) writeFileAtomic(markerFile, `${this.ledgerId}\n`);
    }
    this.migrated = true;
  }

  /** Creates the table, or adds the columns and indexes a newer spec names (additive evolution, as on SQLite). */
  private async openTable(c: pg.PoolClient, spec: TableSpec): Promise<void> {
    const name = ident(spec.name);
    if (this.tables.has(name)) throw new Error(`store: table "${name}" is declared twice`);
    const columns = Object.keys(spec.columns).map(ident);
    if (spec.key && !columns.includes(spec.key)) throw new Error(`store: table "${name}" key "${spec.key}" is not one of its columns`);
    const all = spec.doc ? [...columns, 'doc'] : columns;
    const defs = columns.map((col) => `${qi(col)} ${SQL_TYPE[spec.columns[col]]}${col === spec.key ? ' PRIMARY KEY' : ''}`);
    if (spec.doc) defs.push('doc JSON NOT NULL');
    defs.push(`${ROW_SEQ} BIGINT GENERATED ALWAYS AS IDENTITY`);
    await this.q(c, `CREATE TABLE IF NOT EXISTS ${qi(name)} (${defs.join(', ')})`);
    const have = new Set(
      (await this.q<{ column_name: string }>(c, 'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1', [name])).rows.map(
        (r) => r.column_name,
      ),
    );
    for (const col of all) {
      if (have.has(col)) continue;
      await this.q(c, `ALTER TABLE ${qi(name)} ADD COLUMN ${qi(col)} ${col === 'doc' ? 'JSON' : SQL_TYPE[spec.columns[col]]}`);
      // A column added to a table of documents is filled from them.
      if (spec.doc && have.has('doc')) await this.q(c, `UPDATE ${qi(name)} SET ${qi(col)} = (doc->>'${col}')::${CAST[spec.columns[col]]}`);
    }
    if (!have.has(ROW_SEQ)) await this.q(c, `ALTER TABLE ${qi(name)} ADD COLUMN ${ROW_SEQ} BIGINT GENERATED ALWAYS AS IDENTITY`);
    for (const ix of spec.indexes ?? []) {
      const cols = ix.columns.map(ident);
      await this.q(c, `CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${qi(`${name}__${cols.join('_')}`.slice(0, 63))} ON ${qi(name)} (${cols.map(qi).join(', ')})`);
    }
    const t: Table = { spec, columns: all, select: `SELECT ${all.map(qi).join(', ')} FROM ${qi(name)}` };
    if (spec.key) {
      const sets = all.filter((col) => col !== spec.key).map((col) => `${qi(col)} = excluded.${qi(col)}`);
      t.onConflict = ` ON CONFLICT (${qi(spec.key)}) DO ${sets.length ? 'UPDATE SET ' + sets.join(', ') : 'NOTHING'}`;
    }
    this.tables.set(name, t);
  }

  private table(name: string): Table {
    const t = this.tables.get(name);
    if (!t) throw new Error(`store: no table "${name}" (is its module's TableSpec declared?)`);
    return t;
  }

  private bind(t: Table, row: Record<string, unknown>, json: (value: unknown) => string): Scalar[] {
    return t.columns.map((col) => {
      if (col === 'doc') return json(row.doc);
      const v = row[col];
      return v === undefined ? null : typeof v === 'boolean' ? (v ? 1 : 0) : (v as Scalar);
    });
  }

  /**
   * A unit's rows as few statements as keep their meaning: each run of rows for the same table and
   * operation becomes one multi-row INSERT (3 000 device secrets are one round trip, not 3 000).
   * A run is cut where a `put` repeats a key already in it (one statement may not update a row
   * twice), and before PostgreSQL's limit of 65 535 parameters; runs keep the unit's order.
   */
  private statements(rows: Unit['rows'], json: (value: unknown) => string): { text: string; values: Scalar[] }[] {
    const out: { text: string; values: Scalar[] }[] = [];
    let run: { t: Table; op: 'put' | 'insert'; values: Scalar[][]; keys: Set<unknown> } | undefined;
    const flush = () => {
      if (!run) return;
      const { t, op, values } = run;
      const n = t.columns.length;
      const tuples = values.map((_, i) => `(${t.columns.map((_c, j) => `$${i * n + j + 1}`).join(', ')})`).join(', ');
      out.push({ text: `INSERT INTO ${qi(t.spec.name)} (${t.columns.map(qi).join(', ')}) VALUES ${tuples}${op === 'put' ? t.onConflict! : ''}`, values: values.flat() });
      run = undefined;
    };
    for (const r of rows) {
      const t = this.table(r.table);
      if (r.op === 'put' && !t.spec.key) throw new Error(`store: table "${r.table}" has no key; rows are inserted, not put`);
      const values = this.bind(t, r.row, json);
      const key = r.op === 'put' ? values[t.columns.indexOf(t.spec.key!)] : undefined;
      if (run && (run.t !== t || run.op !== r.op || (r.op === 'put' && run.keys.has(key)) || (run.values.length + 1) * t.columns.length > 60_000)) flush();
      run ??= { t, op: r.op, values: [], keys: new Set() };
      run.values.push(values);
      if (r.op === 'put') run.keys.add(key);
    }
    flush();
    return out;
  }

  health(): StoreHealth {
    const marks = this.streaks.touchRun ?? 0;
    const fault =
      this.lost ?? (marks >= RUN_MARK_FAILURES_FAULT ? `ledger at ${this.where} cannot be written: the run mark failed ${marks} times in a row` : undefined);
    return { fault, writeFailures: { ...this.failures } };
  }

  async probe(): Promise<void> {
    // A real write of fresh WAL, flushed at COMMIT, that leaves nothing behind: it fails when an
    // alarm's commit would (database out of reach, disk full, read-only standby after a failover).
    const key = `probe:${randomUUID()}`;
    await this.write('probe', () =>
      this.tx(async (c) => {
        await this.q(c, 'INSERT INTO meta (key, value) VALUES ($1, $2)', [key, randomBytes(8192).toString('hex')]);
        await this.q(c, 'DELETE FROM meta WHERE key = $1', [key]);
      }),
    );
  }

  async commit(unit: Unit): Promise<FeedFrame[]> {
    const frames = await this.write('commit', () =>
      this.tx(async (c): Promise<FeedFrame[]> => {
        // Refuse a unit naming an unknown table before anything is sent.
        // One JSON text per object for the whole unit: the alarm that is a row's doc and a frame's
        // data is serialized once, and the screens are sent that same text (issue 13).
        const json = jsonOnce();
        const rows = this.statements(unit.rows, json);
        const ev = unit.events;
        if (ev.length > 0)
          await this.q(
            c,
            `INSERT INTO events (type, school, device, source_id, received_at, device_ts, data)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::json[])
             ON CONFLICT DO NOTHING`,
            [
              ev.map((e) => e.type),
              ev.map((e) => e.school ?? null),
              ev.map((e) => e.device ?? null),
              ev.map((e) => e.sourceId ?? null),
              ev.map((e) => e.receivedAt),
              ev.map((e) => e.deviceTs ?? null),
              ev.map((e) => JSON.stringify(e.data ?? null)),
            ],
          );
        for (const r of rows) await this.q(c, r.text, r.values);
        if (unit.outbox.length > 0)
          await this.q(c, 'INSERT INTO outbox (at, line) SELECT * FROM unnest($1::bigint[], $2::text[])', [unit.outbox.map((o) => o.at), unit.outbox.map((o) => o.line)]);
        if (unit.feed.length === 0) return [];
        // The counter row is held until COMMIT: the next feed-writing commit waits for it, so seqs
        // are gapless and committed in order.
        // NOTIFY is delivered at COMMIT, in commit order: it wakes the other gateways' followers (decision 0009).
        const head = (
          await this.q<{ seq: number }>(
            c,
            `WITH h AS (UPDATE feed_head SET seq = seq + $1 RETURNING seq) SELECT seq, pg_notify('${FEED_CHANNEL}', seq::text || ' ' || $2) FROM h`,
            [unit.feed.length, this.owner],
          )
        ).rows[0].seq;
        const first = head - unit.feed.length + 1;
        const data = unit.feed.map((f) => json(f.data));
        const out = unit.feed.map((f, i) => feedFrame(first + i, f.type, f.data, data[i]));
        await this.q(c, 'INSERT INTO feed (seq, type, at, data) SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::json[])', [
          out.map((f) => f.seq),
          out.map((f) => f.type),
          unit.feed.map((f) => f.at),
          data,
        ]);
        // The same frames for the city, in this commit: forwarded once the city broker has them (decision 0010).
        if (this.copyFeedToCity)
          await this.q(c, 'INSERT INTO city_outbox (seq, at, line) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[])', [
            out.map((f) => f.seq),
            unit.feed.map((f) => f.at),
            out.map((f, i) => `{"seq":${f.seq},"at":${unit.feed[i].at},"type":${JSON.stringify(f.type)},"data":${data[i]}}`),
          ]);
        return out;
      }),
    );
    if (frames.length > 0) {
      // Frames another writer committed in between are not in the cache: start it afresh.
      if (frames[0].seq !== this.feedSeq + 1) this.feedCache.length = 0;
      this.feedCache.push(...frames);
      this.feedSeq = Math.max(this.feedSeq, frames[frames.length - 1].seq);
      if (this.feedCache.length > this.feedCacheFrames * 2) this.feedCache.splice(0, this.feedCache.length - this.feedCacheFrames);
    }
    return frames;
  }

  async existing(keys: SourceKey[]): Promise<Set<string>> {
    const out = new Set<string>();
    if (keys.length === 0) return out;
    const res = await this.q<{ device: string; type: string; source_id: string }>(
      this.pool,
      `SELECT e.device, e.type, e.source_id FROM events e
       JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(device, type, source_id)
         ON e.device = k.device AND e.type = k.type AND e.source_id = k.source_id`,
      [keys.map((k) => k.device), keys.map((k) => k.type), keys.map((k) => k.sourceId)],
    );
    for (const r of res.rows) out.add(keyOf({ device: r.device, type: r.type, sourceId: r.source_id }));
    return out;
  }

  private parse<T>(t: Table, row: Record<string, unknown>): T {
    return (t.spec.doc ? row.doc : row) as T;
  }

  async get<T>(table: string, key: Scalar): Promise<T | undefined> {
    const t = this.table(table);
    if (!t.spec.key) throw new Error(`store: table "${table}" has no key`);
    const row = (await this.q(this.pool, `${t.select} WHERE ${qi(t.spec.key)} = $1`, [key])).rows[0];
    return row ? this.parse<T>(t, row) : undefined;
  }

  async find<T>(table: string, q: Query): Promise<T[]> {
    const t = this.table(table);
    const args: unknown[] = [];
    const where = (q.where ?? []).map(([col, op, value]) => {
      if (!t.columns.includes(col) || col === 'doc') throw new Error(`store: table "${table}" has no column "${col}"`);
      if (op === 'in') {
        const values = value as Scalar[];
        if (values.length === 0) return 'FALSE';
        return `${qi(col)} IN (${values.map((v) => (args.push(v), `$${args.length}`)).join(', ')})`;
      }
      if (!OPS.has(op)) throw new Error(`store: unknown operator "${op}"`);
      args.push(value);
      return `${qi(col)} ${op} $${args.length}`;
    });
    const order = (q.orderBy ?? []).map(([col, dir]) => {
      if (!t.columns.includes(col) || col === 'doc') throw new Error(`store: table "${table}" has no column "${col}"`);
      // NULLs sort as in SQLite: first ascending, last descending.
      return `${qi(col)} ${dir === 'desc' ? 'DESC NULLS LAST' : 'ASC NULLS FIRST'}`;
    });
    // Insertion order breaks ties, so equal keys keep the order they were written in (SQLite's rowid).
    order.push(`${ROW_SEQ} ${q.orderBy?.[0]?.[1] === 'desc' ? 'DESC' : 'ASC'}`);
    let sql = `${t.select}${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY ${order.join(', ')}`;
    if (q.limit !== undefined) {
      args.push(q.limit);
      sql += ` LIMIT $${args.length}`;
    }
    return (await this.q(this.pool, sql, args)).rows.map((r) => this.parse<T>(t, r));
  }

  async latestPer<T>(table: string, group: string, order: string, before: number): Promise<T[]> {
    const t = this.table(table);
    for (const col of [group, order]) if (!t.columns.includes(col) || col === 'doc') throw new Error(`store: table "${table}" has no column "${col}"`);
    const rows = (
      await this.q(
        this.pool,
        `SELECT DISTINCT ON (${qi(group)}) ${t.columns.map(qi).join(', ')} FROM ${qi(t.spec.name)} WHERE ${qi(order)} < $1 ORDER BY ${qi(group)}, ${qi(order)} DESC, ${ROW_SEQ} DESC`,
        [before],
      )
    ).rows;
    return rows.map((r) => this.parse<T>(t, r));
  }

  async feedSince(seq: number, limit: number): Promise<FeedFrame[] | null> {
    if (seq >= this.feedSeq) return [];
    const first = this.feedCache[0];
    if (first && first.seq <= seq + 1) {
      const start = seq + 1 - first.seq;
      return this.feedCache.slice(start, start + limit);
    }
    const min = (await this.q<{ s: number | null }>(this.pool, 'SELECT min(seq) AS s FROM feed')).rows[0].s;
    if (min === null || min > seq + 1) return null;
    // LIMIT ALL when the caller wants everything (Number.MAX_SAFE_INTEGER does fit a BIGINT, but say so plainly).
    const rows = (
      await this.q<{ seq: number; type: string; data: string }>(
        this.pool,
        // The text as committed (a json column keeps it as written): sent to the screens as is.
        `SELECT seq, type, data::text AS data FROM feed WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT ${Number.isSafeInteger(limit) && limit < 2 ** 31 ? Math.max(0, limit) : 'ALL'}`,
        [seq, this.feedSeq],
      )
    ).rows;
    return rows.map((r) => feedFrame(r.seq, r.type, JSON.parse(r.data), r.data));
  }

  lastFeedSeq(): number {
    return this.feedSeq;
  }

  async claimJob(key: string, leaseMs: number): Promise<boolean> {
    // The database's clock, not ours: gateways on several machines agree on when a lease is over.
    const res = await this.write('claimJob', () =>
      this.q(
        this.pool,
        `INSERT INTO job_leases (key, owner, until) VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond')
         ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, until = EXCLUDED.until WHERE job_leases.until < clock_timestamp()
         RETURNING owner`,
        [key, this.owner, leaseMs],
      ),
    );
    return res.rowCount === 1;
  }

  async claimJobs(keys: readonly string[], leaseMs: number): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    // claimJob for many keys in one statement: a school's network going down is one round trip.
    const res = await this.write('claimJob', () =>
      this.q<{ key: string }>(
        this.pool,
        `INSERT INTO job_leases (key, owner, until) SELECT k, $2, clock_timestamp() + $3 * interval '1 millisecond' FROM unnest($1::text[]) AS k
         ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, until = EXCLUDED.until WHERE job_leases.until < clock_timestamp()
         RETURNING key`,
        [[...new Set(keys)], this.owner, leaseMs],
      ),
    );
    return new Set(res.rows.map((r) => r.key));
  }

  async renewMembership(ttlMs: number): Promise<{ me: string; live: string[] }> {
    const res = await this.write('renewMembership', () =>
      this.q<{ owner: string }>(
        this.pool,
        `WITH renewed AS (
           INSERT INTO gateway_members (owner, until) VALUES ($1, clock_timestamp() + $2 * interval '1 millisecond')
           ON CONFLICT (owner) DO UPDATE SET until = EXCLUDED.until RETURNING owner
         ),
         -- Gateways gone for an hour (each start is a new member): no row left behind for ever.
         gone AS (DELETE FROM gateway_members WHERE until < clock_timestamp() - interval '1 hour')
         SELECT owner FROM gateway_members WHERE until > clock_timestamp() AND owner <> $1 UNION SELECT owner FROM renewed`,
        [this.owner, ttlMs],
      ),
    );
    return { me: this.owner, live: res.rows.map((r) => r.owner).sort() };
  }

  async leaveMembership(): Promise<void> {
    await this.write('leaveMembership', () => this.q(this.pool, 'DELETE FROM gateway_members WHERE owner = $1', [this.owner]));
  }

  async pruneJobLeases(olderThanMs: number): Promise<number> {
    return this.write(
      'pruneJobLeases',
      async () => (await this.q(this.pool, `DELETE FROM job_leases WHERE until < clock_timestamp() - $1 * interval '1 millisecond'`, [olderThanMs])).rowCount ?? 0,
    );
  }

  async saveLastSeen(seen: ReadonlyMap<string, number>): Promise<void> {
    if (seen.size === 0) return;
    // One statement for every device heard since the last call; a later time never goes back.
    await this.write('saveLastSeen', () =>
      this.q(
        this.pool,
        `INSERT INTO device_last_seen (device, at) SELECT * FROM unnest($1::text[], $2::bigint[])
         ON CONFLICT (device) DO UPDATE SET at = EXCLUDED.at WHERE device_last_seen.at < EXCLUDED.at`,
        [[...seen.keys()], [...seen.values()].map((v) => Math.round(v))],
      ),
    );
  }

  async lastSeen(devices?: readonly string[]): Promise<Map<string, number>> {
    const res = devices
      ? await this.q<{ device: string; at: number }>(this.pool, 'SELECT device, at FROM device_last_seen WHERE device = ANY($1::text[])', [devices])
      : await this.q<{ device: string; at: number }>(this.pool, 'SELECT device, at FROM device_last_seen');
    return new Map(res.rows.map((r) => [r.device, r.at]));
  }

  async feedHead(): Promise<number> {
    const head = (await this.q<{ seq: number }>(this.pool, 'SELECT seq FROM feed_head')).rows[0].seq;
    if (head > this.feedSeq) {
      // Another writer's frames are not in the cache, which must stay contiguous up to feedSeq.
      this.feedCache.length = 0;
      this.feedSeq = head;
    }
    return head;
  }

  /**
   * LISTEN on its own connection (not the pool's: a pooled connection is handed to others). A
   * lost connection is opened again after a second, and `wake()` then says that notifications may
   * have been missed: the follower reads `feed_head`, so nothing is skipped.
   */
  async watchFeed(wake: (seq?: number) => void): Promise<() => Promise<void>> {
    let stopped = false;
    let client: pg.Client | undefined;
    let retry: NodeJS.Timeout | undefined;
    let failing = false;
    const connect = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: this.url, types, keepAlive: true, connectionTimeoutMillis: 10_000, application_name: 'campus-gateway-follower' });
      const again = () => {
        if (stopped || client !== c) return;
        client = undefined;
        c.end().catch(() => undefined);
        retry = setTimeout(() => void connect(), 1000);
        retry.unref();
      };
      client = c;
      c.on('error', (err) => {
        if (!failing) this.log?.warn({ err: err.message, where: this.where }, 'PostgreSQL feed listener lost; listening again once it answers');
        failing = true;
        again();
      });
      c.on('end', again);
      c.on('notification', (n) => {
        // "<head> <store>": this store's own commits are reported by `commit` itself, not woken for.
        const [head, writer] = (n.payload ?? '').split(' ');
        if (writer === this.owner) return;
        const seq = Number(head);
        wake(Number.isSafeInteger(seq) ? seq : undefined);
      });
      try {
        await c.connect();
        await c.query(`LISTEN ${FEED_CHANNEL}`);
      } catch (err) {
        if (!failing) this.log?.warn({ err: (err as Error).message, where: this.where }, 'PostgreSQL feed listener cannot connect; trying again');
        failing = true;
        again();
        return;
      }
      if (failing) this.log?.warn({ where: this.where }, 'PostgreSQL feed listener back');
      failing = false;
      wake();
    };
    await connect();
    return async () => {
      stopped = true;
      clearTimeout(retry);
      await client?.end().catch(() => undefined);
    };
  }

  async pruneFeed(keep: number): Promise<number> {
    const cut = this.feedSeq - keep;
    if (cut <= 0) return 0;
    const idx = this.feedCache.findIndex((f) => f.seq > cut);
    if (idx > 0) this.feedCache.splice(0, idx);
    else if (idx < 0) this.feedCache.length = 0;
    return this.write('pruneFeed', async () => (await this.q(this.pool, 'DELETE FROM feed WHERE seq <= $1', [cut])).rowCount ?? 0);
  }

  async pruneEvents(types: string[], beforeMs: number, maxRows: number): Promise<number> {
    if (types.length === 0) return 0;
    return this.write(
      'pruneEvents',
      async () =>
        (await this.q(this.pool, 'DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE received_at < $1 AND type = ANY($2::text[]) LIMIT $3)', [beforeMs, types, maxRows]))
          .rowCount ?? 0,
    );
  }

  async claimOutbox(owner: string, limit: number, leaseMs: number, outbox: OutboxName = 'influx'): Promise<OutboxClaim> {
    const t = OUTBOX_TABLES[outbox];
    return this.write('claimOutbox', () =>
      this.tx(async (c): Promise<OutboxClaim> => {
        // Claims are made one at a time (they are small and rare); acks run beside them.
        await this.q(c, 'SELECT pg_advisory_xact_lock($1)', [LOCK_OUTBOX_CLAIM]);
        const now = this.now();
        const first = (await this.q<{ seq: number }>(c, `SELECT seq FROM ${t.rows} WHERE lease_id IS NULL OR lease_until < $1 ORDER BY seq LIMIT 1`, [now])).rows[0];
        if (!first) return { id: '', rows: [], outbox };
        // A claim is one contiguous run of rows: it stops where another exporter's lease begins.
        const next = (await this.q<{ s: number | null }>(c, `SELECT min(seq) AS s FROM ${t.rows} WHERE seq > $1 AND lease_id IS NOT NULL AND lease_until >= $2`, [first.seq, now]))
          .rows[0].s;
        const id = randomUUID();
        const rows = (
          await this.q<OutboxRow>(
            c,
            `UPDATE ${t.rows} SET lease_id = $1, lease_owner = $2, lease_until = $3
             WHERE seq IN (SELECT seq FROM ${t.rows} WHERE seq >= $4 AND ($5::bigint IS NULL OR seq < $5) ORDER BY seq LIMIT $6 FOR UPDATE SKIP LOCKED)
             RETURNING seq, at, line`,
            [id, owner, now + leaseMs, first.seq, next, limit],
          )
        ).rows.sort((a, b) => a.seq - b.seq);
        return rows.length > 0 ? { id, rows, outbox } : { id: '', rows: [], outbox };
      }),
    );
  }

  async ackOutbox(claim: OutboxClaim, quarantined: { row: OutboxRow; reason: string }[]): Promise<void> {
    const t = OUTBOX_TABLES[claim.outbox ?? 'influx'];
    if (claim.rows.length === 0) return;
    await this.write('ackOutbox', () =>
      this.tx(async (c) => {
        const now = this.now();
        if (quarantined.length > 0)
          await this.q(
            c,
            `INSERT INTO ${t.quarantine} (seq, at, line, reason, quarantined_at)
             SELECT s, a, l, r, $5 FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS q(s, a, l, r)
             ON CONFLICT (seq) DO UPDATE SET at = excluded.at, line = excluded.line, reason = excluded.reason, quarantined_at = excluded.quarantined_at`,
            [quarantined.map((q) => q.row.seq), quarantined.map((q) => q.row.at), quarantined.map((q) => q.row.line), quarantined.map((q) => q.reason), now],
          );
        // By lease, not by seq range: a row committed later with a seq inside the range is not ours.
        await this.q(c, `DELETE FROM ${t.rows} WHERE lease_id = $1`, [claim.id]);
      }),
    );
  }

  async releaseOutbox(claim: OutboxClaim): Promise<void> {
    if (!claim.id) return;
    const t = OUTBOX_TABLES[claim.outbox ?? 'influx'];
    await this.write('releaseOutbox', () => this.q(this.pool, `UPDATE ${t.rows} SET lease_id = NULL, lease_owner = NULL, lease_until = NULL WHERE lease_id = $1`, [claim.id]));
  }

  async outboxStats(outbox: OutboxName = 'influx'): Promise<OutboxStats> {
    const t = OUTBOX_TABLES[outbox];
    // Exact up to 100 000 rows; beyond, max − min + 1 (an upper bound: rolled-back commits leave
    // gaps in the identity) instead of counting a backlog of millions on every /health.
    const r = (
      await this.q<{ n: number; lo: number | null; hi: number | null; oldest: number | null; quarantined: number }>(
        this.pool,
        `SELECT (SELECT count(*) FROM (SELECT 1 FROM ${t.rows} LIMIT 100001) x) AS n,
                (SELECT min(seq) FROM ${t.rows}) AS lo, (SELECT max(seq) FROM ${t.rows}) AS hi,
                (SELECT at FROM ${t.rows} ORDER BY seq LIMIT 1) AS oldest,
                (SELECT count(*) FROM ${t.quarantine}) AS quarantined`,
      )
    ).rows[0];
    return {
      rows: r.n <= 100_000 || r.lo === null || r.hi === null ? r.n : r.hi - r.lo + 1,
      oldestAt: r.oldest,
      quarantined: r.quarantined,
    };
  }

  async startRun(atMs: number): Promise<number> {
    return this.write('startRun', async () => (await this.q<{ id: number }>(this.pool, 'INSERT INTO gateway_runs (started_at, alive_at) VALUES ($1, $1) RETURNING id', [atMs])).rows[0].id);
  }

  async touchRun(id: number, atMs: number): Promise<void> {
    await this.write('touchRun', () => this.q(this.pool, 'UPDATE gateway_runs SET alive_at = $1 WHERE id = $2', [atMs, id]));
  }

  async runsSince(fromMs: number): Promise<GatewayRun[]> {
    return (await this.q<GatewayRun>(this.pool, 'SELECT id, started_at AS "startedAt", alive_at AS "aliveAt" FROM gateway_runs WHERE alive_at >= $1 ORDER BY id', [fromMs])).rows;
  }

  async stats(): Promise<StoreStats> {
    // The identity's last value, as SQLite's sqlite_sequence: events ever stored, without a count
    // (here an upper bound: a deduplicated redelivery also takes a number).
    try {
      const r = (
        await this.q<{ events: number; size: number }>(
          this.pool,
          `SELECT (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM events_seq_seq) AS events, pg_database_size(current_database()) AS size`,
        )
      ).rows[0];
      this.lastStats = { events: r.events, sizeBytes: r.size };
    } catch (err) {
      // /health must still answer (503, with the fault) while the database is out of reach: the
      // last numbers seen are good enough for it. Other failures are real.
      if (!isConnectionError(err)) throw err;
    }
    return { ...this.lastStats, feedSeq: this.feedSeq };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
