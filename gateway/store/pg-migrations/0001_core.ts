/**
 * The PostgreSQL store's core tables (docs/decisions/0007-postgresql-store.md), run by
 * node-pg-migrate at open under its advisory lock, so gateways starting together migrate once.
 * Append only: a shipped migration is never edited, a change is a new file (0002_…).
 *
 * The same tables as the SQLite BASELINE, in PostgreSQL's types: times and seqs are BIGINT
 * (milliseconds overflow INTEGER); payloads are JSON, kept as written (key order, and the \u0000
 * escape that JSONB refuses); identifiers compare byte-wise (COLLATE "C"), as in SQLite. Module tables are not here: they come from each module's TableSpec at open, as on SQLite.
 */
import type { MigrationBuilder } from 'node-pg-migrate';

export function up(pgm: MigrationBuilder): void {
  pgm.sql(`
    CREATE TABLE events (
      seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      type TEXT COLLATE "C" NOT NULL,
      school TEXT COLLATE "C",
      device TEXT COLLATE "C",
      source_id TEXT COLLATE "C",
      received_at BIGINT NOT NULL,
      device_ts BIGINT,
      data JSON NOT NULL
    );
    -- Contract §1: a redelivery with the same (device, id) is the same event, never a second one.
    CREATE UNIQUE INDEX events_dedupe ON events (device, type, source_id) WHERE source_id IS NOT NULL;
    CREATE INDEX events_received ON events (received_at);

    -- seq is given by feed_head (one row, locked by each commit that adds frames), not by a
    -- sequence: a rolled-back commit leaves no gap, and frames become visible in seq order even
    -- with several writers (the next writer waits for the row until the previous one commits).
    CREATE TABLE feed (seq BIGINT PRIMARY KEY, type TEXT NOT NULL, at BIGINT NOT NULL, data JSON NOT NULL);
    CREATE TABLE feed_head (one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), seq BIGINT NOT NULL);
    INSERT INTO feed_head (seq) VALUES (0);

    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

    -- Outbox rows carry their own lease (per row, not a range: with several writers a later
    -- commit can hold a lower seq than a row already claimed).
    CREATE TABLE outbox (
      seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at BIGINT NOT NULL,
      line TEXT NOT NULL,
      lease_id UUID,
      lease_owner TEXT,
      lease_until BIGINT
    );
    CREATE INDEX outbox_leased ON outbox (seq) WHERE lease_id IS NOT NULL;
    CREATE INDEX outbox_lease_id ON outbox (lease_id) WHERE lease_id IS NOT NULL;
    CREATE TABLE outbox_quarantine (seq BIGINT PRIMARY KEY, at BIGINT NOT NULL, line TEXT NOT NULL, reason TEXT NOT NULL, quarantined_at BIGINT NOT NULL);

    CREATE TABLE gateway_runs (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, started_at BIGINT NOT NULL, alive_at BIGINT NOT NULL);
    CREATE INDEX gateway_runs_alive ON gateway_runs (alive_at);
  `);
}

/** No way down: the ledger is never migrated backwards (restore a backup instead). */
export const down = false;
