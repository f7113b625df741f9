/**
 * The SQLite store's core schema, as ordered migrations keyed by SQLite's `user_version`. Append
 * only: a shipped migration is never edited, a change is a new one.
 *
 * Migrations 1–3 predate modules and also made some module tables (alarms, devices, transitions,
 * maintenance); a ledger that has them keeps them, and the modules' `TableSpec`s find them there.
 * A new ledger starts from `BASELINE` (the core tables only) and the modules create their own.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: events (every accepted input, append-only), the live feed, projections of alarms and devices.
  `
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    school TEXT,
    device TEXT,
    source_id TEXT,
    received_at INTEGER NOT NULL,
    device_ts INTEGER,
    data TEXT NOT NULL
  );
  -- Contract §1: a redelivery with the same (device, id) is the same event, never a second one.
  CREATE UNIQUE INDEX events_dedupe ON events(device, type, source_id) WHERE source_id IS NOT NULL;
  CREATE INDEX events_received ON events(received_at);

  CREATE TABLE feed (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    at INTEGER NOT NULL,
    data TEXT NOT NULL
  );

  CREATE TABLE alarms (
    id TEXT PRIMARY KEY,
    device TEXT NOT NULL,
    source_id TEXT NOT NULL,
    school TEXT NOT NULL,
    state TEXT NOT NULL,
    raised_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (device, source_id)
  );
  CREATE INDEX alarms_open ON alarms(state) WHERE state <> 'resolved';
  CREATE INDEX alarms_raised ON alarms(raised_at);
  CREATE INDEX alarms_school ON alarms(school, raised_at);

  CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
  );

  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `,
  // 2: the time-series outbox (issue 3): rows leave only once the database has confirmed them.
  `
  CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    line TEXT NOT NULL
  );
  CREATE TABLE outbox_quarantine (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    line TEXT NOT NULL,
    reason TEXT NOT NULL,
    quarantined_at INTEGER NOT NULL
  );
  `,
  // 3: liveness (issue 4): every online/offline transition, the gateway's own runs (to tell
  // "down" from "we were not watching"), and maintenance alarms.
  `
  CREATE TABLE device_transitions (
    device TEXT NOT NULL,
    at INTEGER NOT NULL,
    online INTEGER NOT NULL,
    reason TEXT NOT NULL
  );
  CREATE INDEX device_transitions_at ON device_transitions(at, device);
  CREATE INDEX device_transitions_device ON device_transitions(device, at);

  CREATE TABLE gateway_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at INTEGER NOT NULL,
    alive_at INTEGER NOT NULL
  );

  CREATE TABLE maintenance_alarms (
    id TEXT PRIMARY KEY,
    device TEXT NOT NULL,
    state TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    doc TEXT NOT NULL
  );
  CREATE INDEX maintenance_open ON maintenance_alarms(state) WHERE state = 'open';
  CREATE INDEX maintenance_device ON maintenance_alarms(device, opened_at);
  `,
  // 4: outbox leases (several exporters may share one outbox), module table bookkeeping.
  `
  CREATE TABLE outbox_leases (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    lo INTEGER NOT NULL,
    hi INTEGER NOT NULL,
    until INTEGER NOT NULL
  );
  `,
  // 5: the city uplink's outbox (decision 0010): feed frames kept until the city's broker acknowledged them.
  `
  CREATE TABLE city_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, line TEXT NOT NULL);
  CREATE TABLE city_outbox_leases (id TEXT PRIMARY KEY, owner TEXT NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL, until INTEGER NOT NULL);
  `,
];

/** Schema of a new ledger: the same core tables as MIGRATIONS leave, without the module tables. */
export const BASELINE = `
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    school TEXT,
    device TEXT,
    source_id TEXT,
    received_at INTEGER NOT NULL,
    device_ts INTEGER,
    data TEXT NOT NULL
  );
  -- Contract §1: a redelivery with the same (device, id) is the same event, never a second one.
  CREATE UNIQUE INDEX events_dedupe ON events(device, type, source_id) WHERE source_id IS NOT NULL;
  CREATE INDEX events_received ON events(received_at);
  CREATE TABLE feed (seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, at INTEGER NOT NULL, data TEXT NOT NULL);
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, line TEXT NOT NULL);
  CREATE TABLE outbox_quarantine (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, line TEXT NOT NULL, reason TEXT NOT NULL, quarantined_at INTEGER NOT NULL);
  CREATE TABLE gateway_runs (id INTEGER PRIMARY KEY AUTOINCREMENT, started_at INTEGER NOT NULL, alive_at INTEGER NOT NULL);
  CREATE TABLE outbox_leases (id TEXT PRIMARY KEY, owner TEXT NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL, until INTEGER NOT NULL);
  CREATE TABLE city_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, line TEXT NOT NULL);
  CREATE TABLE city_outbox_leases (id TEXT PRIMARY KEY, owner TEXT NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL, until INTEGER NOT NULL);
`;
