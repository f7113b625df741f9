/**
 * The store: the event log, the live feed, module projection tables and the time-series outbox
 * behind one asynchronous interface (ARCHITECTURE "Growing past one machine"). No SQL above it:
 * modules declare their tables as data (`TableSpec`) and query them with `Query`, so a PostgreSQL
 * implementation can stand in for SQLite. Every implementation must pass `test/store/contract.ts`
 * (the aedes-persistence `abstract.js` habit).
 *
 * Writes reach the store only as a `Unit`: everything one batch of events caused, committed in one
 * transaction (all of it durable when `commit` resolves, or none of it).
 */
import type { FeedFrame } from '../contract/api.js';

export type ColumnType = 'text' | 'integer' | 'real';

/** A module's projection table. Every row also carries its JSON document in `doc` when `doc` is true. */
export interface TableSpec {
  /** Unique across modules; the store creates it (and later added columns and indexes) at open. */
  name: string;
  columns: Record<string, ColumnType>;
  /** Primary-key column for tables of records that are updated in place (`put`); absent: append-only rows (`insert`). */
  key?: string;
  /** Keep the whole row object as JSON beside the columns (records whose shape grows). */
  doc?: boolean;
  indexes?: { columns: string[]; unique?: boolean }[];
}

export type Scalar = string | number | null;
export type Condition =
  | readonly [column: string, op: '=' | '<>' | '<' | '<=' | '>' | '>=', value: Scalar]
  | readonly [column: string, op: 'in', values: readonly Scalar[]];

export interface Query {
  where?: readonly Condition[];
  orderBy?: [column: string, dir: 'asc' | 'desc'][];
  limit?: number;
}

/** An input event as stored: `sourceId` is the device's own id for it (deduplicated per device and type). */
export interface StoredEvent {
  type: string;
  school?: string;
  device?: string;
  sourceId?: string;
  receivedAt: number;
  deviceTs?: number;
  data: unknown;
}

export interface SourceKey {
  device: string;
  type: string;
  sourceId: string;
}

/** What one batch wrote: committed together. */
export interface Unit {
  events: StoredEvent[];
  feed: { type: string; data: unknown; at: number }[];
  /** `put`: insert or replace by key; `insert`: append. `row` holds the columns (and the doc, when the table keeps one). */
  rows: { table: string; op: 'put' | 'insert'; row: Record<string, unknown> }[];
  outbox: { at: number; line: string }[];
}

export const emptyUnit = (): Unit => ({ events: [], feed: [], rows: [], outbox: [] });
export const unitIsEmpty = (u: Unit): boolean => u.events.length + u.feed.length + u.rows.length + u.outbox.length === 0;

/**
 * JSON text, made once per object for one commit: the alarm a module `put`s as a row's doc and
 * `feed`s as a frame's data is one object, serialized once for both (issue 13: an alarm was
 * serialized three times on its way to the screens). Scalars are not remembered.
 */
export function jsonOnce(): (value: unknown) => string {
  const made = new Map<object, string>();
  return (value) => {
    if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
    let text = made.get(value);
    if (text === undefined) made.set(value, (text = JSON.stringify(value)));
    return text;
  };
}

/** The wire text of frames whose data's JSON the store wrote (the live feed sends it as is). */
const frameTexts = new WeakMap<FeedFrame, string>();

/**
 * A frame with its wire text `{"seq":…,"type":…,"data":…}` made from the data's JSON as the store
 * wrote it: what `JSON.stringify(frame)` gives, without serializing the data again. The text is
 * the data as committed (what a replay from the ledger would send), even if the object changes later.
 */
export function feedFrame(seq: number, type: string, data: unknown, dataJson: string): FeedFrame {
  const frame: FeedFrame = { seq, type, data };
  frameTexts.set(frame, `{"seq":${seq},"type":${JSON.stringify(type)},"data":${dataJson}}`);
  return frame;
}

/** A frame's wire text: the one the store made, or serialized now (a frame from elsewhere). */
export const frameText = (frame: FeedFrame): string => frameTexts.get(frame) ?? JSON.stringify(frame);

export interface OutboxRow {
  seq: number;
  at: number;
  line: string;
}

/**
 * Which outbox: `influx` (time-series points, the default) or `city` (every committed feed frame,
 * for the city uplink: decision 0010; only filled when the store was opened to copy the feed).
 */
export type OutboxName = 'influx' | 'city';

/** Rows handed to one exporter until `leaseUntil`; another exporter may take them after that. */
export interface OutboxClaim {
  id: string;
  rows: OutboxRow[];
  /** The outbox the rows came from (absent: `influx`). */
  outbox?: OutboxName;
}

export interface OutboxStats {
  rows: number;
  oldestAt: number | null;
  quarantined: number;
}

export interface GatewayRun {
  id: number;
  startedAt: number;
  aliveAt: number;
}

export interface StoreStats {
  events: number;
  feedSeq: number;
  sizeBytes: number;
}

/** What the store knows of its own writes (`/health` shows it; a `fault` makes the gateway refuse inputs). */
export interface StoreHealth {
  /**
   * Why the store cannot be trusted with an alarm now, or undefined: its file was deleted or
   * replaced under it (sticky until a restart), or its run marks keep failing (clears once one is written).
   */
  fault?: string;
  /** Writes that failed since the store was opened, by operation (`commit`, `probe`, `touchRun`, `ackOutbox`, …). */
  writeFailures: Record<string, number>;
}

export interface Store {
  /** Creates or extends the core tables and every module's tables. */
  open(tables: TableSpec[]): Promise<void>;
  /** Commits a unit in one transaction; resolves with the feed frames it added (with their seq). */
  commit(unit: Unit): Promise<FeedFrame[]>;
  /** Which of these (device, type, sourceId) are already stored, as `keyOf` strings. */
  existing(keys: SourceKey[]): Promise<Set<string>>;

  get<T>(table: string, key: Scalar): Promise<T | undefined>;
  find<T>(table: string, q: Query): Promise<T[]>;
  /** For each distinct `group` value, the row with the greatest `order` below `before` (e.g. each device's last transition). */
  latestPer<T>(table: string, group: string, order: string, before: number): Promise<T[]>;

  /** Frames after `seq`, oldest first; `null` when some of them are no longer kept. */
  feedSince(seq: number, limit: number): Promise<FeedFrame[] | null>;
  /** The newest committed frame's seq (as this store last saw it). */
  lastFeedSeq(): number;
  /** Drops feed frames beyond the newest `keep`. */
  pruneFeed(keep: number): Promise<number>;
  /** Deletes raw events of `types` received before `beforeMs`. */
  pruneEvents(types: string[], beforeMs: number, maxRows: number): Promise<number>;

  /** Leases up to `limit` of the oldest unclaimed (or expired) rows of `outbox` (default `influx`) to `owner` for `leaseMs`. */
  claimOutbox(owner: string, limit: number, leaseMs: number, outbox?: OutboxName): Promise<OutboxClaim>;
  /** The database took the claim: its rows leave the outbox, `quarantined` ones moved aside with their reason. */
  ackOutbox(claim: OutboxClaim, quarantined: { row: OutboxRow; reason: string }[]): Promise<void>;
  /** Gives the claim's rows back at once (the exporter is stopping or will retry later). */
  releaseOutbox(claim: OutboxClaim): Promise<void>;
  outboxStats(outbox?: OutboxName): Promise<OutboxStats>;

  startRun(atMs: number): Promise<number>;
  touchRun(id: number, atMs: number): Promise<void>;
  /** The gateway's runs alive at or after `fromMs`, oldest first. */
  runsSince(fromMs: number): Promise<GatewayRun[]>;

  /**
   * Several gateways on one store (PostgreSQL; decision 0009): the newest committed frame's seq as
   * the database has it now (also what `lastFeedSeq` says from then on). Absent: only this process writes.
   */
  feedHead?(): Promise<number>;
  /**
   * Calls `wake(seq)` when another store's commit added frames up to `seq` (this one's own are
   * reported by `commit`), and
   * `wake()` after each (re)connection of the listener, since commits may have been missed while it
   * was away. Resolves once listening, with the function that stops it.
   */
  watchFeed?(wake: (seq?: number) => void): Promise<() => Promise<void>>;

  /**
   * Several gateways on one store (decision 0009): takes the one-shot job `key` (an alarm's
   * escalation) for `leaseMs` unless another gateway holds it: true when this one may run it now.
   * A lease is never renewed, not even by its holder; once it is over the job may be taken again
   * (the holder died, or the job's effect makes running it again a no-op). Absent: one gateway.
   */
  claimJob?(key: string, leaseMs: number): Promise<boolean>;

  /** Deletes the job leases over for more than `olderThanMs` (one row per escalated alarm, per offline transition…). */
  pruneJobLeases?(olderThanMs: number): Promise<number>;
  /** `claimJob` for several keys in one statement: the keys this gateway took. */
  claimJobs?(keys: readonly string[], leaseMs: number): Promise<Set<string>>;

  /**
   * Several gateways on one store (decision 0009): renews this gateway's membership for `ttlMs`
   * (the database's clock) and returns the members whose membership is not over, this one
   * included, as `me` and `live` (sorted). Work split by member (ONVIF probing) follows it.
   * Absent: one gateway does all the work.
   */
  renewMembership?(ttlMs: number): Promise<{ me: string; live: string[] }>;
  /** Ends this gateway's membership at once (a clean stop): the others take its share at their next renewal. */
  leaveMembership?(): Promise<void>;

  /**
   * Several gateways on one store (decision 0009): when this gateway last heard each of these
   * devices (ms), written in one statement; a time older than the stored one is ignored.
   * Absent (SQLite): one gateway hears every device, its memory is the whole truth.
   */
  saveLastSeen?(seen: ReadonlyMap<string, number>): Promise<void>;
  /** The newest last-seen any gateway saved, of these devices (all without `devices`). */
  lastSeen?(devices?: readonly string[]): Promise<Map<string, number>>;

  stats(): Promise<StoreStats>;
  /** Checks the store's own state (for SQLite: is the file still the one it opened?) and reports it. */
  health(): StoreHealth;
  /**
   * A write that needs fresh space and leaves nothing behind: resolves only when a commit of an
   * alarm would also find room. The dispatcher uses it to learn that a failed store works again
   * when no input is there to prove it.
   */
  probe(): Promise<void>;
  close(): Promise<void>;
}

export const keyOf = (k: SourceKey): string => `${k.device}\u0000${k.type}\u0000${k.sourceId}`;
