/**
 * Mosquitto 2's own password hash, as `mosquitto_passwd` writes it into a `password_file`:
 * `$7$<iterations>$<base64 salt>$<base64 PBKDF2-SHA512>` (12-byte salt, 64-byte key, 101
 * iterations: mosquitto_passwd 2.0's defaults). The gateway keeps only a SHA-256 of each device
 * secret, which Mosquitto cannot check, so this hash is made beside it when the secret exists in
 * plaintext: at provisioning.
 */
import { pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export const MOSQUITTO_ITERATIONS = 101;
const SALT_BYTES = 12;
const KEY_BYTES = 64;

export function mosquittoHash(password: string, iterations = MOSQUITTO_ITERATIONS, salt = randomBytes(SALT_BYTES)): string {
  const key = pbkdf2Sync(password, salt, iterations, KEY_BYTES, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Whether `hash` (a `$7$` string) is the hash of `password`; false for anything malformed. */
export function verifyMosquittoHash(hash: string, password: string): boolean {
  const m = /^\$7\$(\d{1,7})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(hash);
  if (!m) return false;
  const want = Buffer.from(m[3], 'base64');
  const got = pbkdf2Sync(password, Buffer.from(m[2], 'base64'), Number(m[1]), want.length, 'sha512');
  return want.length > 0 && timingSafeEqual(got, want);
}
