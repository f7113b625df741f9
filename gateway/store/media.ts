/**
 * Photos (inspection evidence, contract §7) stored by content hash under `DATA_DIR/media`: the
 * same photo sent twice is one file, a name can never point at other content, and the ledger only
 * keeps the hash. Only JPEG and PNG, by their magic bytes (a file's name or declared type proves
 * nothing), and at most 4 MiB.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ensureDataDir, writeFileAtomic } from '../auth/users.js';
import { HttpError } from '../errors.js';

export const MAX_PHOTO_BYTES = 4 * 1024 * 1024;
export type MediaType = 'image/jpeg' | 'image/png';

export class MediaRefused extends Error {
  constructor(
    readonly code: 'photo_not_image' | 'photo_too_large' | 'photo_not_base64',
    message: string,
  ) {
    super(message);
  }
}

/** What the bytes are, by their first bytes. */
export function sniff(b: Buffer): MediaType | undefined {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  return undefined;
}

/** Strict base64 (an optional `data:image/…;base64,` prefix allowed): anything else is refused, not guessed at. */
export function decodePhoto(text: string): Buffer {
  const body = text.replace(/^data:image\/(jpeg|png);base64,/, '');
  if (body.length > Math.ceil(MAX_PHOTO_BYTES / 3) * 4 + 4) throw new MediaRefused('photo_too_large', `photo is over ${MAX_PHOTO_BYTES / 1024 / 1024} MiB`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) throw new MediaRefused('photo_not_base64', 'photo is not base64');
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length > MAX_PHOTO_BYTES) throw new MediaRefused('photo_too_large', `photo is ${(bytes.length / 1024 / 1024).toFixed(1)} MiB, over ${MAX_PHOTO_BYTES / 1024 / 1024} MiB`);
  if (!sniff(bytes)) throw new MediaRefused('photo_not_image', 'photo is not a JPEG or PNG');
  return bytes;
}

export class MediaStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, 'media');
  }

  private file(sha256: string): string {
    return path.join(this.dir, sha256.slice(0, 2), sha256);
  }

  /** Stores checked bytes (see `decodePhoto`); returns their hash and type. */
  put(bytes: Buffer): { sha256: string; type: MediaType; size: number } {
    const type = sniff(bytes);
    if (!type) throw new MediaRefused('photo_not_image', 'photo is not a JPEG or PNG');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const file = this.file(sha256);
    if (!fs.existsSync(file)) {
      ensureDataDir(this.dir);
      ensureDataDir(path.dirname(file));
      writeFileAtomic(file, bytes);
    }
    return { sha256, type, size: bytes.length };
  }

  /** The bytes and type of a stored photo, or undefined. */
  get(sha256: string): { bytes: Buffer; type: MediaType } | undefined {
    if (!/^[0-9a-f]{64}$/.test(sha256)) return undefined;
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(this.file(sha256));
    } catch {
      return undefined;
    }
    const type = sniff(bytes);
    return type && { bytes, type };
  }
}

/** A photo sent in a request body, stored; a refusal becomes the HTTP answer naming it (400, or 413 when too big). */
export function storeBodyPhoto(media: MediaStore, base64: string): string {
  try {
    return media.put(decodePhoto(base64)).sha256;
  } catch (err) {
    if (!(err instanceof MediaRefused)) throw err;
    throw new HttpError(err.code === 'photo_too_large' ? 413 : 400, err.code, `photo: ${err.message}`);
  }
}
