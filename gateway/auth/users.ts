/**
 * Operators' accounts in `DATA_DIR/users.json`: scrypt hashes only (RFC 7914), never a password.
 * No default password: the first start creates `admin` with GATEWAY_ADMIN_PASSWORD or a random
 * one that is printed once and never stored.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROLES, type Role } from '../contract/api.js';
import { ConfigError } from '../config-error.js';
import { Limiter } from './limiter.js';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));

// OWASP's scrypt minimum: N=2^17; we use 2^16 (64 MiB per hash) so that concurrent logins stay within memory; N is stored per user so it can grow later.
const SCRYPT = { N: 1 << 16, r: 8, p: 1, keylen: 32 };
const USER_RE = /^[A-Za-z0-9_.@-]{1,64}$/;

export interface StoredUser {
  user: string;
  role: Role;
  /** Bound to one school (contract §7): sees and records for it only. Absent: the whole county. */
  school?: string;
  /** At a city gateway, bound to one of its counties (decision 0010): sees that county only. */
  county?: string;
  salt: string;
  hash: string;
  N: number;
  r: number;
  p: number;
  createdAt: string;
  /**
   * Tokens carry the version they were signed under; replacing or deleting the user changes it,
   * which ends every earlier token at once. A fresh value per change (never reused, even for a
   * name deleted and made again), so an old token cannot come back to life. Absent: 0.
   */
  tokenVersion?: number;
}

/** Why a user's tokens ended. */
export type Revocation = 'changed' | 'deleted';

interface UsersFile {
  version: 1;
  users: StoredUser[];
}

/** Where a user may look: one school, one county of a city, or (neither) everything this gateway holds. */
export interface UserScope {
  school?: string;
  county?: string;
}

export class UserStore {
  readonly file: string;
  private users = new Map<string, StoredUser>();
  /**
   * Password hashes at once (logins, and admins saving users): one core always stays with alarm
   * intake (at most 4 even on a big machine: the libuv pool has 4 threads), 16 more may wait.
   */
  readonly hashing = new Limiter(Math.min(4, Math.max(1, os.availableParallelism() - 1)), 16);
  private readonly revokeListeners: ((user: string, why: Revocation) => void)[] = [];

  constructor(private readonly dataDir: string) {
    this.file = path.join(dataDir, 'users.json');
  }

  /** Called after a user's tokens were ended (the live hub closes their sockets). */
  onRevoke(fn: (user: string, why: Revocation) => void): void {
    this.revokeListeners.push(fn);
  }

  /** Loads the file; when there is none, creates it with `admin`. Returns the generated password, if one was. */
  async init(adminPassword?: string): Promise<{ createdAdmin: boolean; generatedPassword?: string }> {
    if (fs.existsSync(this.file)) {
      tighten(this.file);
      this.load();
      return { createdAdmin: false };
    }
    const generated = adminPassword ? undefined : randomBytes(12).toString('base64url');
    await this.set('admin', adminPassword ?? generated!, 'admin');
    return { createdAdmin: true, generatedPassword: generated };
  }

  private load(): void {
    this.users = this.read();
  }

  /**
   * Follows changes others make to the file while the gateway runs (`npm run user -- add …`, an
   * edit by hand): a changed or deleted user's tokens end at once, as if changed here, and
   * `onChange` hears of every difference. A file that no longer parses is reported and ignored:
   * the accounts stay as they were. Our own writes change nothing here (memory already matches).
   */
  watch(onChange: (user: string, change: 'added' | Revocation, role: Role | undefined) => void, onError: (err: Error) => void): () => void {
    const listener = (cur: fs.Stats, prev: fs.Stats) => {
      if (cur.mtimeMs === prev.mtimeMs && cur.ino === prev.ino && cur.size === prev.size) return;
      let read: Map<string, StoredUser>;
      try {
        read = this.read();
      } catch (err) {
        return onError(err as Error);
      }
      const before = this.users;
      const same = (a: StoredUser, b: StoredUser) => a.hash === b.hash && a.salt === b.salt && a.role === b.role && a.school === b.school && a.county === b.county && (a.tokenVersion ?? 0) === (b.tokenVersion ?? 0);
      // An unchanged account keeps its object: a password check under way compares identities (verify).
      const next = new Map([...read].map(([name, u]) => [name, before.get(name) && same(before.get(name)!, u) ? before.get(name)! : u]));
      this.users = next;
      for (const [name, u] of before) {
        const now = next.get(name);
        if (!now) (this.revoked(name, 'deleted'), onChange(name, 'deleted', undefined));
        else if (now !== u) (this.revoked(name, 'changed'), onChange(name, 'changed', now.role));
      }
      for (const [name, u] of next) if (!before.has(name)) onChange(name, 'added', u.role);
    };
    // Polling, not fs.watch: our own writes and `npm run user` replace the file (rename), which an inode watch loses.
    fs.watchFile(this.file, { interval: 1000, persistent: false }, listener);
    return () => fs.unwatchFile(this.file, listener);
  }

  private read(): Map<string, StoredUser> {
    const users = new Map<string, StoredUser>();
    let data: UsersFile;
    try {
      data = JSON.parse(fs.readFileSync(this.file, 'utf8'));
    } catch (err) {
      throw new ConfigError(this.file, '(file)', `cannot read users file: ${(err as Error).message}`);
    }
    if (data?.version !== 1 || !Array.isArray(data.users)) throw new ConfigError(this.file, '/version', 'expected {"version":1,"users":[…]}');
    data.users.forEach((u, i) => {
      if (!USER_RE.test(u?.user ?? '')) throw new ConfigError(this.file, `/users/${i}/user`, 'invalid user name');
      if (!ROLES.includes(u.role)) throw new ConfigError(this.file, `/users/${i}/role`, `role must be one of ${ROLES.join(', ')}`);
      users.set(u.user, u);
    });
    return users;
  }

  /**
   * Creates or replaces a user. Replacing one (new password, maybe a new role) ends its tokens.
   * The file is written before the change is made in memory: a failed write (disk full) leaves no
   * account that works until the next restart.
   */
  async set(user: string, password: string, role: Role, { school, county }: UserScope = {}): Promise<void> {
    if (!USER_RE.test(user)) throw new Error('user name must match [A-Za-z0-9_.@-]{1,64}');
    if (password.length < 8) throw new Error('password must be at least 8 characters');
    const salt = randomBytes(16);
    const hash = await this.hashing.run(() => scrypt(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 256 * 1024 * 1024 }));
    const previous = this.users.get(user);
    const next = new Map(this.users).set(user, {
      user,
      role,
      ...(school ? { school } : {}),
      ...(county ? { county } : {}),
      salt: salt.toString('base64'),
      hash: hash.toString('base64'),
      N: SCRYPT.N,
      r: SCRYPT.r,
      p: SCRYPT.p,
      createdAt: new Date().toISOString(),
      tokenVersion: this.freshVersion(previous),
    });
    this.save(next);
    this.users = next;
    if (previous) this.revoked(user, 'changed');
  }

  /** Deletes a user and ends its tokens; false when there was no such user. */
  delete(user: string): boolean {
    if (!this.users.has(user)) return false;
    const next = new Map(this.users);
    next.delete(user);
    this.save(next);
    this.users = next;
    this.revoked(user, 'deleted');
    return true;
  }

  get(user: string): ({ user: string; role: Role; tokenVersion: number } & UserScope) | undefined {
    const u = this.users.get(user);
    return u && { user: u.user, role: u.role, school: u.school, county: u.county, tokenVersion: u.tokenVersion ?? 0 };
  }

  admins(): number {
    let n = 0;
    for (const u of this.users.values()) if (u.role === 'admin') n++;
    return n;
  }

  list(): ({ user: string; role: Role; createdAt: string } & UserScope)[] {
    return [...this.users.values()].map(({ user, role, school, county, createdAt }) => ({ user, role, ...(school ? { school } : {}), ...(county ? { county } : {}), createdAt }));
  }

  /**
   * The user's role and token version when the password is right; `null` otherwise (same time
   * whether or not the user exists). Throws `Busy` when too many checks are already waiting.
   */
  async verify(user: string, password: string): Promise<{ role: Role; tokenVersion: number } | null> {
    const u = this.users.get(user);
    const salt = u ? Buffer.from(u.salt, 'base64') : randomBytes(16);
    const params = u ?? { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p };
    const expected = u ? Buffer.from(u.hash, 'base64') : randomBytes(SCRYPT.keylen);
    const got = await this.hashing.run(() => scrypt(password, salt, expected.length, { N: params.N, r: params.r, p: params.p, maxmem: 256 * 1024 * 1024 }));
    // The user may have been replaced or deleted during the check: answer from what is current.
    const now = this.users.get(user);
    return u && now === u && timingSafeEqual(got, expected) ? { role: u.role, tokenVersion: u.tokenVersion ?? 0 } : null;
  }

  /** A version no earlier token of this name can carry: the time, past any version it had. */
  private freshVersion(previous: StoredUser | undefined): number {
    return Math.max(Date.now(), (previous?.tokenVersion ?? 0) + 1);
  }

  private revoked(user: string, why: Revocation): void {
    for (const fn of this.revokeListeners) fn(user, why);
  }

  private save(users: Map<string, StoredUser>): void {
    ensureDataDir(this.dataDir);
    const body: UsersFile = { version: 1, users: [...users.values()] };
    writeFileAtomic(this.file, JSON.stringify(body, null, 2) + '\n');
  }
}

/** DATA_DIR holds the ledger, hashes and the token secret: owner only when we make it. */
export function ensureDataDir(dir: string): void {
  if (!fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * Writes `file` (mode 0600) so that it is either the old content or the whole new one, never
 * half: a temp file, fsync'd, renamed over it, and the directory fsync'd so the rename survives
 * power loss. On failure the temp file is removed and the old file is untouched.
 */
export function writeFileAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', 0o600);
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  const dirFd = fs.openSync(path.dirname(file), 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}

const SECRET_BYTES = 32;

/** A secret file made before this rule (or copied in) loses group and other access. */
function tighten(file: string): void {
  if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
}

/**
 * The token-signing secret, made once per data directory (so tokens survive a restart). A file
 * too short to be one of ours (an older gateway's write cut short by a full disk) is replaced:
 * no token was ever signed with it that should stay valid.
 */
export function loadOrCreateSecret(dataDir: string): Buffer {
  const file = path.join(dataDir, 'token-secret');
  if (fs.existsSync(file)) {
    const existing = fs.readFileSync(file);
    if (existing.length >= SECRET_BYTES) {
      tighten(file);
      return existing;
    }
  }
  ensureDataDir(dataDir);
  const secret = randomBytes(SECRET_BYTES);
  writeFileAtomic(file, secret);
  return secret;
}

export const roleRank = (r: Role): number => ROLES.indexOf(r);
