/**
 * Operators' accounts in `DATA_DIR/users.json`: scrypt hashes only (RFC 7914), never a password.
 * No default password: the first start creates `admin` with GATEWAY_ADMIN_PASSWORD or a random
 * one that is printed once and never stored.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ROLES, type Role } from '../contract/api.js';
import { ConfigError } from '../config-error.js';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));

// OWASP's scrypt minimum: N=2^17; we use 2^16 (64 MiB per hash) so that concurrent logins stay within memory; N is stored per user so it can grow later.
const SCRYPT = { N: 1 << 16, r: 8, p: 1, keylen: 32 };
const USER_RE = /^[A-Za-z0-9_.@-]{1,64}$/;

export interface StoredUser {
  user: string;
  role: Role;
  salt: string;
  hash: string;
  N: number;
  r: number;
  p: number;
  createdAt: string;
}

interface UsersFile {
  version: 1;
  users: StoredUser[];
}

export class UserStore {
  readonly file: string;
  private users = new Map<string, StoredUser>();

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'users.json');
  }

  /** Loads the file; when there is none, creates it with `admin`. Returns the generated password, if one was. */
  async init(adminPassword?: string): Promise<{ createdAdmin: boolean; generatedPassword?: string }> {
    if (fs.existsSync(this.file)) {
      this.load();
      return { createdAdmin: false };
    }
    const generated = adminPassword ? undefined : randomBytes(12).toString('base64url');
    await this.set('admin', adminPassword ?? generated!, 'admin');
    return { createdAdmin: true, generatedPassword: generated };
  }

  private load(): void {
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
      this.users.set(u.user, u);
    });
  }

  /** Creates or replaces a user. */
  async set(user: string, password: string, role: Role): Promise<void> {
    if (!USER_RE.test(user)) throw new Error('user name must match [A-Za-z0-9_.@-]{1,64}');
    if (password.length < 8) throw new Error('password must be at least 8 characters');
    const salt = randomBytes(16);
    const hash = await scrypt(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 256 * 1024 * 1024 });
    this.users.set(user, {
      user,
      role,
      salt: salt.toString('base64'),
      hash: hash.toString('base64'),
      N: SCRYPT.N,
      r: SCRYPT.r,
      p: SCRYPT.p,
      createdAt: new Date().toISOString(),
    });
    this.save();
  }

  list(): { user: string; role: Role; createdAt: string }[] {
    return [...this.users.values()].map(({ user, role, createdAt }) => ({ user, role, createdAt }));
  }

  /** The user's role when the password is right; `null` otherwise (same time whether or not the user exists). */
  async verify(user: string, password: string): Promise<Role | null> {
    const u = this.users.get(user);
    const salt = u ? Buffer.from(u.salt, 'base64') : randomBytes(16);
    const params = u ?? { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p };
    const expected = u ? Buffer.from(u.hash, 'base64') : randomBytes(SCRYPT.keylen);
    const got = await scrypt(password, salt, expected.length, { N: params.N, r: params.r, p: params.p, maxmem: 256 * 1024 * 1024 });
    return u && timingSafeEqual(got, expected) ? u.role : null;
  }

  private save(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    const body: UsersFile = { version: 1, users: [...this.users.values()] };
    fs.writeFileSync(tmp, JSON.stringify(body, null, 2) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }
}

/** The token-signing secret, made once per data directory (so tokens survive a restart). */
export function loadOrCreateSecret(dataDir: string): Buffer {
  const file = path.join(dataDir, 'token-secret');
  if (fs.existsSync(file)) return fs.readFileSync(file);
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32);
  fs.writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

export const roleRank = (r: Role): number => ROLES.indexOf(r);
