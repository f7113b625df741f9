/**
 * The ledger's narrow interface (ARCHITECTURE "Growing past one machine"): append with dedupe,
 * read the feed since a seq, load and store projections. SQLite specifics stay behind it so that
 * PostgreSQL can stand in when several gateways serve one region.
 */
import type { Alarm, FeedFrame } from '../contract/api.js';
import type { LivenessRecord } from '../domain/liveness.js';
import type { MaintenanceAlarm } from '../domain/maintenance.js';

export interface NewEvent {
  type: string;
  school?: string;
  device?: string;
  /** The device's own id for the event (alarm, ai): deduplicated per (device, type). */
  sourceId?: string;
  receivedAt: number;
  deviceTs?: number;
  data: unknown;
}

export type StoredDeviceState = LivenessRecord;

export interface TransitionRow {
  device: string;
  atMs: number;
  online: boolean;
  reason: string;
}

export interface GatewayRun {
  id: number;
  startedAt: number;
  aliveAt: number;
}

export interface AlarmQuery {
  open?: boolean;
  school?: string;
  sinceMs?: number;
  limit: number;
}

export interface OutboxRow {
  seq: number;
  at: number;
  line: string;
}

export interface OutboxStats {
  rows: number;
  oldestAt: number | null;
  quarantined: number;
}

export interface Ledger {
  /** Runs `fn` in one transaction: all of it is durable when this returns, or none of it. */
  transaction<T>(fn: () => T): T;
  /** Appends an event; `null` when (device, type, sourceId) is already there. */
  appendEvent(e: NewEvent): number | null;
  appendFeed(type: string, data: unknown, at: number): FeedFrame;
  /** Frames after `seq`, oldest first; `null` when some of them are no longer kept. */
  feedSince(seq: number, limit: number): FeedFrame[] | null;
  lastFeedSeq(): number;
  saveAlarm(alarm: Alarm): void;
  getAlarm(id: string): Alarm | undefined;
  findAlarmBySource(device: string, sourceId: string): Alarm | undefined;
  listAlarms(q: AlarmQuery): Alarm[];
  loadOpenAlarms(): Alarm[];
  saveDevice(state: StoredDeviceState): void;
  loadDevices(): StoredDeviceState[];
  /** Queues time-series lines for export (inside the event's transaction). */
  appendOutbox(lines: string[], at: number): void;
  /** The oldest `limit` rows still to export. */
  readOutbox(limit: number): OutboxRow[];
  /** Removes every row up to `throughSeq` (confirmed by the database), moving `quarantined` aside with their reasons. */
  completeOutbox(throughSeq: number, quarantined: { row: OutboxRow; reason: string }[]): void;
  outboxStats(): OutboxStats;
  /** Deletes raw events of `types` received before `beforeMs` (alarms and their history are never deleted). */
  pruneEvents(types: string[], beforeMs: number, maxRows: number): number;
  appendTransition(t: TransitionRow): void;
  /** Transitions in [fromMs, toMs], in time order. */
  transitionsBetween(fromMs: number, toMs: number): TransitionRow[];
  /** Each device's last transition before `atMs`. */
  stateBefore(atMs: number): Map<string, TransitionRow>;
  startRun(atMs: number): number;
  touchRun(id: number, atMs: number): void;
  /** The gateway's runs that overlap [fromMs, ∞), oldest first. */
  runsSince(fromMs: number): GatewayRun[];
  saveMaintenance(m: MaintenanceAlarm): void;
  openMaintenance(): MaintenanceAlarm[];
  lastMaintenance(device: string): MaintenanceAlarm | undefined;
  listMaintenance(q: { open?: boolean; school?: string; limit: number }): MaintenanceAlarm[];
  /** Drops feed frames beyond the newest `keep`. */
  pruneFeed(keep: number): number;
  stats(): { events: number; feedSeq: number; sizeBytes: number };
  close(): void;
}
