/**
 * The city uplink's outbox (decision 0010): every committed feed frame, queued in the commit that
 * made it, until the city broker acknowledged it. Keyed by the frame's feed seq (frames are
 * committed in seq order: the feed head's row lock orders the commits), leased per row like the
 * InfluxDB outbox, so the gateways of a region forward each frame once between them.
 */
import type { MigrationBuilder } from 'node-pg-migrate';

export function up(pgm: MigrationBuilder): void {
  pgm.sql(`
    CREATE TABLE city_outbox (
      seq BIGINT PRIMARY KEY,
      at BIGINT NOT NULL,
      line TEXT NOT NULL,
      lease_id UUID,
      lease_owner TEXT,
      lease_until BIGINT
    );
    CREATE INDEX city_outbox_leased ON city_outbox (seq) WHERE lease_id IS NOT NULL;
    CREATE INDEX city_outbox_lease_id ON city_outbox (lease_id) WHERE lease_id IS NOT NULL;
    CREATE TABLE city_outbox_quarantine (seq BIGINT PRIMARY KEY, at BIGINT NOT NULL, line TEXT NOT NULL, reason TEXT NOT NULL, quarantined_at BIGINT NOT NULL);
  `);
}

/** No way down: the ledger is never migrated backwards (restore a backup instead). */
export const down = false;
