/**
 * Several gateways on this database (decision 0009): each device's heartbeats are spread over the
 * gateways by the broker, so each gateway writes when it last heard each device (one batched
 * upsert a second), and one whose window for a device ran out reads here whether another heard it.
 * Milliseconds since the epoch of the device's newest sign of life that any gateway heard.
 */
import type { MigrationBuilder } from 'node-pg-migrate';

export function up(pgm: MigrationBuilder): void {
  pgm.sql(`
    CREATE TABLE device_last_seen (
      device TEXT COLLATE "C" PRIMARY KEY,
      at BIGINT NOT NULL
    );
  `);
}

/** No way down: the ledger is never migrated backwards (restore a backup instead). */
export const down = false;
