/**
 * The audit trail's hash chain (contract §6): each entry's hash is sha256(previous hash + the
 * entry's canonical text), so changing, removing or reordering any stored entry breaks every hash
 * after it. Pure: the module stores rows, this decides what they mean.
 */
import { createHash } from 'node:crypto';

/** The `prevHash` of the first entry. */
export const GENESIS = '0'.repeat(64);

/** One stored entry, as its columns. `detail` is kept as the JSON text that was hashed. */
export interface AuditRow {
  seq: number;
  at: number;
  user: string;
  origin: string;
  action: string;
  target: string | null;
  status: number | null;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

export type AuditFields = Omit<AuditRow, 'prev_hash' | 'hash'>;

/** What is hashed: every field, in a fixed order (no object key order to disagree on). */
export function canonical(r: AuditFields): string {
  return JSON.stringify([r.seq, r.at, r.user, r.origin, r.action, r.target, r.status, r.detail]);
}

export function chainHash(prevHash: string, r: AuditFields): string {
  return createHash('sha256').update(prevHash + canonical(r)).digest('hex');
}

export interface ChainVerdict {
  intact: boolean;
  /** Entries checked. */
  entries: number;
  /** The newest entry's hash: write it down elsewhere to detect a later truncation of the tail. */
  head: string;
  /** The first entry that does not follow from the one before it. */
  brokenAt?: number;
  reason?: string;
}

/** Walks rows (in seq order, possibly in several pages) and says where the chain first breaks. */
export class ChainChecker {
  private prev = GENESIS;
  private expectSeq = 1;
  private n = 0;
  private broken?: { seq: number; reason: string };

  /** Returns false once the chain is broken (no need to read further). */
  check(rows: readonly AuditRow[]): boolean {
    for (const r of rows) {
      if (this.broken) return false;
      this.n++;
      if (r.seq !== this.expectSeq) this.broken = { seq: r.seq, reason: `entry ${this.expectSeq} is missing (next stored is ${r.seq})` };
      else if (r.prev_hash !== this.prev) this.broken = { seq: r.seq, reason: `entry ${r.seq} does not point at the hash of entry ${r.seq - 1}` };
      else if (chainHash(r.prev_hash, r) !== r.hash) this.broken = { seq: r.seq, reason: `entry ${r.seq} was changed after it was written (its hash does not match)` };
      this.prev = r.hash;
      this.expectSeq = r.seq + 1;
    }
    return !this.broken;
  }

  verdict(): ChainVerdict {
    return this.broken
      ? { intact: false, entries: this.n, head: this.prev, brokenAt: this.broken.seq, reason: this.broken.reason }
      : { intact: true, entries: this.n, head: this.prev };
  }
}
