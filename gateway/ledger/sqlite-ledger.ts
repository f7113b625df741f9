import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Alarm, FeedFrame } from '../contract/api.js';
import type { AlarmQuery, GatewayRun, Ledger, NewEvent, OutboxRow, OutboxStats, StoredDeviceState, TransitionRow } from './ledger.js';
import type { MaintenanceAlarm } from '../domain/maintenance.js';
import { MIGRATIONS } from './migrations.js';

export interface SqliteLedgerOptions {
  dataDir: string;
  sync: 'full' | 'normal';
  /** Recent feed frames kept in memory so a resuming screen is served without a query. */
  feedCacheFrames?: number;
}

export class SqliteLedger implements Ledger {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly feedCache: FeedFrame[] = [];
  private readonly feedCacheFrames: number;
  private feedSeq: number;

  constructor(opts: SqliteLedgerOptions) {
    fs.mkdirSync(opts.dataDir, { recursive: true });
    this.file = path.join(opts.dataDir, 'ledger.sqlite');
    this.db = new Database(this.file);
    // WAL: readers never block the writer; a commit is one sequential append.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${opts.sync === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
    this.feedCacheFrames = opts.feedCacheFrames ?? 10_000;
    const db = this.db;
    this.stmts = {
      insertEvent: db.prepare(
        `INSERT INTO events (type, school, device, source_id, received_at, device_ts, data)
         VALUES (@type, @school, @device, @sourceId, @receivedAt, @deviceTs, @data)
         ON CONFLICT DO NOTHING`,
      ),
      insertFeed: db.prepare('INSERT INTO feed (type, at, data) VALUES (?, ?, ?)'),
      feedSince: db.prepare('SELECT seq, type, data FROM feed WHERE seq > ? ORDER BY seq LIMIT ?'),
      feedMin: db.prepare('SELECT min(seq) AS s FROM feed'),
      feedMax: db.prepare(`SELECT seq AS s FROM sqlite_sequence WHERE name = 'feed'`),
      saveAlarm: db.prepare(
        `INSERT INTO alarms (id, device, source_id, school, state, raised_at, doc)
         VALUES (@id, @device, @sourceId, @school, @state, @raisedAt, @doc)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, doc = excluded.doc`,
      ),
      getAlarm: db.prepare('SELECT doc FROM alarms WHERE id = ?'),
      alarmBySource: db.prepare('SELECT doc FROM alarms WHERE device = ? AND source_id = ?'),
      openAlarms: db.prepare(`SELECT doc FROM alarms WHERE state <> 'resolved' ORDER BY raised_at`),
      saveDevice: db.prepare(
        'INSERT INTO devices (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc',
      ),
      loadDevices: db.prepare('SELECT doc FROM devices'),
      pruneFeed: db.prepare('DELETE FROM feed WHERE seq <= ?'),
      countEvents: db.prepare(`SELECT seq AS n FROM sqlite_sequence WHERE name = 'events'`),
      insertOutbox: db.prepare('INSERT INTO outbox (at, line) VALUES (?, ?)'),
      readOutbox: db.prepare('SELECT seq, at, line FROM outbox ORDER BY seq LIMIT ?'),
      deleteOutbox: db.prepare('DELETE FROM outbox WHERE seq <= ?'),
      quarantine: db.prepare('INSERT OR REPLACE INTO outbox_quarantine (seq, at, line, reason, quarantined_at) VALUES (?, ?, ?, ?, ?)'),
      outboxRange: db.prepare('SELECT min(seq) AS lo, max(seq) AS hi FROM outbox'),
      outboxOldest: db.prepare('SELECT at FROM outbox ORDER BY seq LIMIT 1'),
      quarantineCount: db.prepare('SELECT count(*) AS n FROM outbox_quarantine'),
      insertTransition: db.prepare('INSERT INTO device_transitions (device, at, online, reason) VALUES (?, ?, ?, ?)'),
      transitionsBetween: db.prepare('SELECT device, at, online, reason FROM device_transitions WHERE at >= ? AND at <= ? ORDER BY at, rowid'),
      // SQLite returns the bare columns of the row that holds max(at) in each group.
      stateBefore: db.prepare('SELECT device, max(at) AS at, online, reason FROM device_transitions WHERE at < ? GROUP BY device'),
      startRun: db.prepare('INSERT INTO gateway_runs (started_at, alive_at) VALUES (?, ?)'),
      touchRun: db.prepare('UPDATE gateway_runs SET alive_at = ? WHERE id = ?'),
      runsSince: db.prepare('SELECT id, started_at AS startedAt, alive_at AS aliveAt FROM gateway_runs WHERE alive_at >= ? ORDER BY id'),
      saveMaintenance: db.prepare(
        `INSERT INTO maintenance_alarms (id, device, state, opened_at, doc) VALUES (@id, @device, @state, @openedAt, @doc)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, doc = excluded.doc`,
      ),
      openMaintenance: db.prepare(`SELECT doc FROM maintenance_alarms WHERE state = 'open' ORDER BY opened_at`),
      lastMaintenance: db.prepare('SELECT doc FROM maintenance_alarms WHERE device = ? ORDER BY opened_at DESC LIMIT 1'),
    };
    this.feedSeq = (this.stmts.feedMax.get() as { s: number } | undefined)?.s ?? 0;
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length)
      throw new Error(`ledger ${this.file} has schema version ${version}, newer than this gateway (${MIGRATIONS.length})`);
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  transaction<T>(fn: () => T): T {
    const seq = this.feedSeq;
    try {
      return this.db.transaction(fn)();
    } catch (err) {
      // Frames appended inside the failed transaction were rolled back with it: forget the
      // cache (reads fall back to the table) rather than risk serving a frame that never was.
      this.feedCache.length = 0;
      this.feedSeq = seq;
      throw err;
    }
  }

  appendEvent(e: NewEvent): number | null {
    const r = this.stmts.insertEvent.run({
      type: e.type,
      school: e.school ?? null,
      device: e.device ?? null,
      sourceId: e.sourceId ?? null,
      receivedAt: e.receivedAt,
      deviceTs: e.deviceTs ?? null,
      data: JSON.stringify(e.data),
    });
    return r.changes === 0 ? null : Number(r.lastInsertRowid);
  }

  appendFeed(type: string, data: unknown, at: number): FeedFrame {
    const r = this.stmts.insertFeed.run(type, at, JSON.stringify(data));
    const frame = { seq: Number(r.lastInsertRowid), type, data };
    this.feedSeq = frame.seq;
    this.feedCache.push(frame);
    if (this.feedCache.length > this.feedCacheFrames * 2) this.feedCache.splice(0, this.feedCache.length - this.feedCacheFrames);
    return frame;
  }

  feedSince(seq: number, limit: number): FeedFrame[] | null {
    if (seq >= this.feedSeq) return [];
    const first = this.feedCache[0];
    if (first && first.seq <= seq + 1) {
      const start = seq + 1 - first.seq;
      return this.feedCache.slice(start, start + limit);
    }
    const min = (this.stmts.feedMin.get() as { s: number | null }).s;
    if (min === null || min > seq + 1) return null;
    const rows = this.stmts.feedSince.all(seq, limit) as { seq: number; type: string; data: string }[];
    return rows.map((r) => ({ seq: r.seq, type: r.type, data: JSON.parse(r.data) }));
  }

  lastFeedSeq(): number {
    return this.feedSeq;
  }

  saveAlarm(alarm: Alarm): void {
    this.stmts.saveAlarm.run({
      id: alarm.id,
      device: alarm.device,
      sourceId: alarm.sourceId,
      school: alarm.school,
      state: alarm.state,
      raisedAt: Date.parse(alarm.raisedAt),
      doc: JSON.stringify(alarm),
    });
  }

  getAlarm(id: string): Alarm | undefined {
    const row = this.stmts.getAlarm.get(id) as { doc: string } | undefined;
    return row ? JSON.parse(row.doc) : undefined;
  }

  findAlarmBySource(device: string, sourceId: string): Alarm | undefined {
    const row = this.stmts.alarmBySource.get(device, sourceId) as { doc: string } | undefined;
    return row ? JSON.parse(row.doc) : undefined;
  }

  listAlarms(q: AlarmQuery): Alarm[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.open) where.push(`state <> 'resolved'`);
    if (q.school) (where.push('school = ?'), args.push(q.school));
    if (q.sinceMs !== undefined) (where.push('raised_at >= ?'), args.push(q.sinceMs));
    const sql = `SELECT doc FROM alarms ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY raised_at DESC, rowid DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, q.limit) as { doc: string }[];
    return rows.map((r) => JSON.parse(r.doc));
  }

  loadOpenAlarms(): Alarm[] {
    return (this.stmts.openAlarms.all() as { doc: string }[]).map((r) => JSON.parse(r.doc));
  }

  saveDevice(state: StoredDeviceState): void {
    this.stmts.saveDevice.run(state.id, JSON.stringify(state));
  }

  loadDevices(): StoredDeviceState[] {
    return (this.stmts.loadDevices.all() as { doc: string }[]).map((r) => JSON.parse(r.doc));
  }

  appendOutbox(lines: string[], at: number): void {
    for (const l of lines) this.stmts.insertOutbox.run(at, l);
  }

  readOutbox(limit: number): OutboxRow[] {
    return this.stmts.readOutbox.all(limit) as OutboxRow[];
  }

  completeOutbox(throughSeq: number, quarantined: { row: OutboxRow; reason: string }[]): void {
    this.db.transaction(() => {
      const now = Date.now();
      for (const q of quarantined) this.stmts.quarantine.run(q.row.seq, q.row.at, q.row.line, q.reason, now);
      this.stmts.deleteOutbox.run(throughSeq);
    })();
  }

  outboxStats(): OutboxStats {
    // Rows leave only from the front and AUTOINCREMENT leaves no gaps, so max − min + 1 is the
    // exact count — without a full scan of a backlog that may hold millions of rows.
    const { lo, hi } = this.stmts.outboxRange.get() as { lo: number | null; hi: number | null };
    const oldest = this.stmts.outboxOldest.get() as { at: number } | undefined;
    return {
      rows: lo === null || hi === null ? 0 : hi - lo + 1,
      oldestAt: oldest?.at ?? null,
      quarantined: (this.stmts.quarantineCount.get() as { n: number }).n,
    };
  }

  pruneEvents(types: string[], beforeMs: number, maxRows: number): number {
    if (types.length === 0) return 0;
    const marks = types.map(() => '?').join(',');
    return this.db
      .prepare(`DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE received_at < ? AND type IN (${marks}) LIMIT ?)`)
      .run(beforeMs, ...types, maxRows).changes;
  }

  appendTransition(t: TransitionRow): void {
    this.stmts.insertTransition.run(t.device, t.atMs, t.online ? 1 : 0, t.reason);
  }

  transitionsBetween(fromMs: number, toMs: number): TransitionRow[] {
    return (this.stmts.transitionsBetween.all(fromMs, toMs) as { device: string; at: number; online: number; reason: string }[]).map(toTransition);
  }

  stateBefore(atMs: number): Map<string, TransitionRow> {
    const rows = this.stmts.stateBefore.all(atMs) as { device: string; at: number; online: number; reason: string }[];
    return new Map(rows.map((r) => [r.device, toTransition(r)]));
  }

  startRun(atMs: number): number {
    return Number(this.stmts.startRun.run(atMs, atMs).lastInsertRowid);
  }

  touchRun(id: number, atMs: number): void {
    this.stmts.touchRun.run(atMs, id);
  }

  runsSince(fromMs: number): GatewayRun[] {
    return this.stmts.runsSince.all(fromMs) as GatewayRun[];
  }

  saveMaintenance(m: MaintenanceAlarm): void {
    this.stmts.saveMaintenance.run({ id: m.id, device: m.device, state: m.state, openedAt: Date.parse(m.openedAt), doc: JSON.stringify(m) });
  }

  openMaintenance(): MaintenanceAlarm[] {
    return (this.stmts.openMaintenance.all() as { doc: string }[]).map((r) => JSON.parse(r.doc));
  }

  lastMaintenance(device: string): MaintenanceAlarm | undefined {
    const row = this.stmts.lastMaintenance.get(device) as { doc: string } | undefined;
    return row ? JSON.parse(row.doc) : undefined;
  }

  listMaintenance(q: { open?: boolean; school?: string; limit: number }): MaintenanceAlarm[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.open) where.push(`state = 'open'`);
    if (q.school) (where.push(`json_extract(doc, '$.school') = ?`), args.push(q.school));
    const sql = `SELECT doc FROM maintenance_alarms ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY opened_at DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, q.limit) as { doc: string }[]).map((r) => JSON.parse(r.doc));
  }

  pruneFeed(keep: number): number {
    const cut = this.feedSeq - keep;
    if (cut <= 0) return 0;
    const idx = this.feedCache.findIndex((f) => f.seq > cut);
    if (idx > 0) this.feedCache.splice(0, idx);
    return this.stmts.pruneFeed.run(cut).changes;
  }

  stats(): { events: number; feedSeq: number; sizeBytes: number } {
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

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function toTransition(r: { device: string; at: number; online: number; reason: string }): TransitionRow {
  return { device: r.device, atMs: r.at, online: r.online === 1, reason: r.reason };
}
