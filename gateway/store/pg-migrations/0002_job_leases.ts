/**
 * One-shot jobs claimed by one gateway among several on this database (decision 0009): an alarm's
 * escalation is recorded by whichever gateway takes its lease first; the others look again once
 * the lease is over (by then the escalation is committed, or its holder died and another takes it).
 */
import type { MigrationBuilder } from 'node-pg-migrate';

export function up(pgm: MigrationBuilder): void {
  pgm.sql(`
    CREATE TABLE job_leases (
      key TEXT COLLATE "C" PRIMARY KEY,
      owner TEXT COLLATE "C" NOT NULL,
      until TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX job_leases_until ON job_leases (until);
  `);
}

/** No way down: the ledger is never migrated backwards (restore a backup instead). */
export const down = false;
