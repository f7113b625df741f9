/**
 * The audit trail (contract §6): who did what, when, from where — every login and failed login,
 * user change, credential change and operator action. Entries are append-only and hash-chained
 * (chain.ts); `GET /api/audit/verify` walks the chain.
 *
 * Entries are written through the dispatcher's commit queue (a job, not an input event), so they
 * take the same group commit as everything else and are numbered in commit order. The chain's head
 * lives in memory and is reloaded from the store after a failed commit, like every projection.
 */
import type { GatewayModule, ModuleContext } from '../../core/module.js';
import type { Condition } from '../../store/store.js';
import { ChainChecker, GENESIS, chainHash, type AuditRow, type ChainVerdict } from './chain.js';
import { auditRoutes } from './routes.js';

export interface AuditEntry {
  /** Who: the operator, the user name tried at a failed login, or a local tool (`users-file`). */
  user: string;
  /** From where: the client's address, or the door (`mqtt`, `users-file`). */
  from: string;
  /** What: `login`, `user.save`, `alarm.ack`, `device.credentials`, … */
  action: string;
  /** On what: an alarm id, a device id, a user name. */
  target?: string;
  /** The answer given (HTTP status; 401 for a failed login). */
  status?: number;
  /** Anything else worth keeping (never a secret). */
  detail?: Record<string, unknown>;
}

export interface AuditQuery {
  sinceMs?: number;
  untilMs?: number;
  user?: string;
  /** An action (`alarm.ack`), or a family ending in `.*` (`alarm.*`). */
  action?: string;
  limit: number;
}

export interface AuditModule extends GatewayModule {
  /** Resolves once the entry is durable. */
  record(entry: AuditEntry): Promise<void>;
  /** Newest first. */
  list(q: AuditQuery): Promise<AuditRow[]>;
  verify(): Promise<ChainVerdict>;
}

const VERIFY_PAGE = 5000;
// An entry is evidence, not a document store: a detail beyond this is cut (and says so).
const MAX_DETAIL_CHARS = 2000;

export function auditModule(ctx: ModuleContext): AuditModule {
  let head = { seq: 0, hash: GENESIS };

  return {
    name: 'audit',
    tables: [
      {
        name: 'audit',
        key: 'seq',
        columns: { seq: 'integer', at: 'integer', user: 'text', origin: 'text', action: 'text', target: 'text', status: 'integer', detail: 'text', prev_hash: 'text', hash: 'text' },
        indexes: [{ columns: ['at'] }, { columns: ['user', 'at'] }, { columns: ['action', 'at'] }],
      },
    ],

    async load() {
      const [last] = await ctx.store.find<AuditRow>('audit', { orderBy: [['seq', 'desc']], limit: 1 });
      head = last ? { seq: last.seq, hash: last.hash } : { seq: 0, hash: GENESIS };
    },

    record(entry) {
      const kept = Object.entries(entry.detail ?? {}).filter(([, v]) => v !== undefined);
      let detail = kept.length > 0 ? JSON.stringify(Object.fromEntries(kept)) : null;
      if (detail && detail.length > MAX_DETAIL_CHARS) detail = JSON.stringify({ truncated: detail.slice(0, MAX_DETAIL_CHARS) });
      return ctx.dispatcher.transact((tx) => {
        const fields = {
          seq: head.seq + 1,
          at: tx.now,
          user: entry.user.slice(0, 128),
          origin: entry.from.slice(0, 128),
          action: entry.action,
          target: entry.target?.slice(0, 256) ?? null,
          status: entry.status ?? null,
          detail,
        };
        const hash = chainHash(head.hash, fields);
        tx.put('audit', { ...fields, prev_hash: head.hash, hash });
        head = { seq: fields.seq, hash };
      });
    },

    list(q) {
      const where: Condition[] = [];
      if (q.sinceMs !== undefined) where.push(['at', '>=', q.sinceMs]);
      if (q.untilMs !== undefined) where.push(['at', '<', q.untilMs]);
      if (q.user !== undefined) where.push(['user', '=', q.user]);
      if (q.action?.endsWith('.*')) {
        const family = q.action.slice(0, -1); // "alarm."
        // A prefix as a range: every action from "alarm." up to the next string after the prefix.
        where.push(['action', '>=', family], ['action', '<', family.slice(0, -1) + String.fromCharCode(family.charCodeAt(family.length - 1) + 1)]);
      } else if (q.action !== undefined) where.push(['action', '=', q.action]);
      return ctx.store.find<AuditRow>('audit', { where, orderBy: [['seq', 'desc']], limit: q.limit });
    },

    async verify() {
      const checker = new ChainChecker();
      for (let after = 0; ; ) {
        const rows = await ctx.store.find<AuditRow>('audit', { where: [['seq', '>', after]], orderBy: [['seq', 'asc']], limit: VERIFY_PAGE });
        if (!checker.check(rows) || rows.length < VERIFY_PAGE) break;
        after = rows[rows.length - 1].seq;
      }
      return checker.verdict();
    },

    routes: auditRoutes,
  };
}
