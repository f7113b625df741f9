/**
 * Several gateways on this database (decision 0009): each one renews its row here every few
 * seconds, and the rows not yet over are the region's live gateways. Work split by owner (each
 * ONVIF camera probed by one gateway, by rendezvous hashing over this list) moves to the others
 * once a dead gateway's row is over.
 */
import type { MigrationBuilder } from 'node-pg-migrate';

export function up(pgm: MigrationBuilder): void {
  pgm.sql(`
    CREATE TABLE gateway_members (
      owner TEXT COLLATE "C" PRIMARY KEY,
      until TIMESTAMPTZ NOT NULL
    );
  `);
}

/** No way down: the ledger is never migrated backwards (restore a backup instead). */
export const down = false;
