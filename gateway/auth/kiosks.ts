/**
 * Kiosks: wall screens that run unattended (issue "wall screen finished"). An admin issues one for
 * a named screen and gets a one-time setup code; the first browser that presents it is bound to
 * the kiosk and receives a device secret, which it keeps and trades for short-lived session tokens
 * (`POST /api/kiosk/session`). Both secrets are random (160 / 256 bits) and stored only as their
 * SHA-256 (high-entropy secrets need no slow hash) in `DATA_DIR/kiosks.json` (0600, atomic writes).
 * A kiosk is view-only (role viewer, no method but GET) and ends when revoked.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Static } from '@sinclair/typebox';
import { ConfigError } from '../config-error.js';
import type { KioskView as KioskViewSchema } from '../contract/kiosk.js';
import { ensureDataDir, writeFileAtomic } from './users.js';

/** A setup code not used within this long is dead (the admin issues another). */
export const SETUP_TTL_MS = 24 * 3_600_000;
/** Last-seen is kept in memory at every request, written to the file at most this often per kiosk. */
const SEEN_WRITE_MS = 60_000;

export interface StoredKiosk {
  id: string;
  name: string;
  school?: string;
  createdAt: string;
  createdBy: string;
  /** SHA-256 (hex) of the setup code; null once used. */
  setupHash: string | null;
  /** SHA-256 of the spent (or revoked) setup code, so that a second use is told why, not "unknown". */
  usedSetupHash?: string;
  setupExpiresAt: string;
  /** SHA-256 (hex) of the device secret the bound browser holds; null until set up. */
  secretHash: string | null;
  boundAt?: string;
  boundFrom?: string;
  boundAgent?: string;
  lastSeenAt?: string;
  lastSeenFrom?: string;
  revokedAt?: string;
  revokedBy?: string;
}

/** What GET /api/kiosks shows: no hash (the contract's schema). */
export type KioskView = Static<typeof KioskViewSchema>;

export type SetupResult =
  | { ok: true; kiosk: StoredKiosk; secret: string }
  | { ok: false; kiosk?: StoredKiosk; code: 'bad_setup_code' | 'setup_used' | 'setup_expired' | 'kiosk_revoked' };

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const KIOSK_ID_RE = /^k[0-9a-f]{12}$/;

export class KioskStore {
  readonly file: string;
  private kiosks = new Map<string, StoredKiosk>();
  private readonly seenWritten = new Map<string, number>();
  private readonly revokeListeners: ((id: string) => void)[] = [];

  constructor(
    private readonly dataDir: string,
    private readonly now: () => number = Date.now,
  ) {
    this.file = path.join(dataDir, 'kiosks.json');
  }

  load(): void {
    if (!fs.existsSync(this.file)) return;
    let data: { version?: number; kiosks?: StoredKiosk[] };
    try {
      data = JSON.parse(fs.readFileSync(this.file, 'utf8'));
    } catch (err) {
      throw new ConfigError(this.file, '(file)', `cannot read kiosks file: ${(err as Error).message}`);
    }
    if (data?.version !== 1 || !Array.isArray(data.kiosks)) throw new ConfigError(this.file, '/version', 'expected {"version":1,"kiosks":[…]}');
    this.kiosks = new Map(data.kiosks.map((k) => [k.id, k]));
  }

  /** Called after a kiosk was revoked (the live hub closes its sockets). */
  onRevoke(fn: (id: string) => void): void {
    this.revokeListeners.push(fn);
  }

  /** A new kiosk and its setup code (returned once, stored only hashed). */
  issue(name: string, school: string | undefined, by: string): { kiosk: StoredKiosk; setupCode: string } {
    const setupCode = `ks_${randomBytes(20).toString('base64url')}`;
    const at = this.now();
    const kiosk: StoredKiosk = {
      id: `k${randomBytes(6).toString('hex')}`,
      name,
      ...(school ? { school } : {}),
      createdAt: new Date(at).toISOString(),
      createdBy: by,
      setupHash: sha256(setupCode),
      setupExpiresAt: new Date(at + SETUP_TTL_MS).toISOString(),
      secretHash: null,
    };
    this.commit(new Map(this.kiosks).set(kiosk.id, kiosk));
    return { kiosk, setupCode };
  }

  /**
   * Binds the kiosk whose setup code this is to the caller: the code is spent (a second use is
   * refused) and a device secret is made. A refusal names the kiosk when the code was one of ours.
   */
  setup(code: string, from: string, agent: string | undefined): SetupResult {
    const hash = sha256(code);
    const kiosk = [...this.kiosks.values()].find((k) => k.setupHash === hash || k.usedSetupHash === hash);
    if (!kiosk) return { ok: false, code: 'bad_setup_code' };
    if (kiosk.revokedAt) return { ok: false, kiosk, code: 'kiosk_revoked' };
    if (kiosk.setupHash === null) return { ok: false, kiosk, code: 'setup_used' };
    if (Date.parse(kiosk.setupExpiresAt) <= this.now()) return { ok: false, kiosk, code: 'setup_expired' };
    const secret = `kd_${randomBytes(32).toString('base64url')}`;
    const at = new Date(this.now()).toISOString();
    const bound: StoredKiosk = {
      ...kiosk,
      setupHash: null,
      usedSetupHash: hash,
      secretHash: sha256(secret),
      boundAt: at,
      boundFrom: from,
      ...(agent ? { boundAgent: agent.slice(0, 200) } : {}),
      lastSeenAt: at,
      lastSeenFrom: from,
    };
    this.commit(new Map(this.kiosks).set(kiosk.id, bound));
    this.seenWritten.set(kiosk.id, this.now());
    return { ok: true, kiosk: bound, secret };
  }

  /** The kiosk a device secret belongs to (revoked ones too: the caller says why it refuses). */
  bySecret(secret: string): StoredKiosk | undefined {
    const hash = sha256(secret);
    for (const k of this.kiosks.values()) if (k.secretHash === hash) return k;
    return undefined;
  }

  /** A kiosk that may still be used (set up, not revoked). */
  active(id: string): StoredKiosk | undefined {
    const k = this.kiosks.get(id);
    return k && !k.revokedAt && k.secretHash ? k : undefined;
  }

  get(id: string): StoredKiosk | undefined {
    return KIOSK_ID_RE.test(id) ? this.kiosks.get(id) : undefined;
  }

  /** Notes that the kiosk was seen (every request); written to the file at most once a minute. */
  seen(id: string, from: string): void {
    const k = this.kiosks.get(id);
    if (!k || k.revokedAt) return;
    k.lastSeenAt = new Date(this.now()).toISOString();
    k.lastSeenFrom = from;
    if (this.now() - (this.seenWritten.get(id) ?? 0) < SEEN_WRITE_MS) return;
    this.seenWritten.set(id, this.now());
    try {
      this.commit(this.kiosks);
    } catch {
      // last-seen is a courtesy: a full disk must not refuse the screen
    }
  }

  /** Revokes at once; false when there is no such kiosk. Revoking twice keeps the first time. */
  revoke(id: string, by: string): StoredKiosk | undefined {
    const k = this.get(id);
    if (!k) return undefined;
    if (k.revokedAt) return k;
    const revoked: StoredKiosk = { ...k, setupHash: null, ...(k.setupHash ? { usedSetupHash: k.setupHash } : {}), revokedAt: new Date(this.now()).toISOString(), revokedBy: by };
    this.commit(new Map(this.kiosks).set(id, revoked));
    for (const fn of this.revokeListeners) fn(id);
    return revoked;
  }

  list(): KioskView[] {
    return [...this.kiosks.values()].map((k) => view(k, this.now()));
  }

  view(k: StoredKiosk): KioskView {
    return view(k, this.now());
  }

  /** The file first, then memory: a failed write leaves no kiosk that works only until restart. */
  private commit(next: Map<string, StoredKiosk>): void {
    ensureDataDir(this.dataDir);
    writeFileAtomic(this.file, JSON.stringify({ version: 1, kiosks: [...next.values()] }, null, 2) + '\n');
    this.kiosks = next;
  }
}

function view(k: StoredKiosk, now: number): KioskView {
  const state: KioskView['state'] = k.revokedAt ? 'revoked' : k.secretHash ? 'active' : Date.parse(k.setupExpiresAt) <= now ? 'setup_expired' : 'awaiting_setup';
  return {
    id: k.id,
    name: k.name,
    ...(k.school ? { school: k.school } : {}),
    createdAt: k.createdAt,
    createdBy: k.createdBy,
    state,
    ...(state === 'awaiting_setup' || state === 'setup_expired' ? { setupExpiresAt: k.setupExpiresAt } : {}),
    ...pick(k, ['boundAt', 'boundFrom', 'boundAgent', 'lastSeenAt', 'lastSeenFrom', 'revokedAt', 'revokedBy']),
  };
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (o[key] !== undefined) out[key] = o[key];
  return out;
}
