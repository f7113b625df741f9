/**
 * Device identity (contract §6): every device has its own random secret, stored only as a hash,
 * shown once when made. The embedded broker asks this module at CONNECT whether a device id and
 * secret belong together.
 *
 * A fast hash is right here: the secrets are 192 random bits, so there is nothing to brute-force,
 * and a slow KDF per CONNECT would melt under a reconnect storm of a whole province's devices.
 * Operators' passwords, chosen by people, stay scrypt (gateway/auth/users.ts).
 *
 * For an external broker (contract §6, `npm run broker-config`) each secret also gets Mosquitto's
 * own `$7$` hash, made at provisioning: the only moment the plaintext exists.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { GatewayModule, ModuleContext } from '../../core/module.js';
import type { DomainEvent } from '../../core/events.js';
import { credentialRoutes } from './routes.js';
import { mosquittoHash } from './mosquitto-hash.js';

declare module '../../core/events.js' {
  interface EventMap {
    /** A device's secret was made or replaced (only its hash is ever stored). */
    device_credentials: { device: string; hash: string; by: string; brokerHash?: string };
  }
}

export interface DeviceCredential {
  /** What the device sends as MQTT username, and as client id. */
  username: string;
  clientId: string;
  /** The secret: shown once, never stored. */
  password: string;
}

/** What an external broker needs to check a device's secret (never the secret itself). */
export interface CredentialHashes {
  device: string;
  /** hex SHA-256 of the secret (EMQX: `sha256`, salt disabled) */
  sha256: string;
  /** Mosquitto `$7$` hash; null for secrets made before the gateway kept one (provision again) */
  brokerHash: string | null;
}

export interface IdentityModule extends GatewayModule {
  /** Whether `password` is the current secret of `device`. */
  verify(device: string, password: Buffer | string | undefined): boolean;
  has(device: string): boolean;
  /** Makes new secrets for `devices` (ending the old ones, and closing their connections). */
  provision(devices: string[], by: string): Promise<DeviceCredential[]>;
  /** The stored hashes of every device that has a secret. */
  hashes(): Promise<CredentialHashes[]>;
}

const sha256 = (s: Buffer | string) => createHash('sha256').update(s).digest();

export function identityModule(ctx: ModuleContext): IdentityModule {
  const hashes = new Map<string, Buffer>();
  return {
    name: 'identity',
    consumes: ['device_credentials'],
    // broker_hash came later: the store adds the column to an older ledger, whose rows keep it null.
    tables: [{ name: 'device_credentials', key: 'device', columns: { device: 'text', hash: 'text', created_at: 'integer', broker_hash: 'text' } }],

    async load() {
      hashes.clear();
      for (const r of await ctx.store.find<{ device: string; hash: string }>('device_credentials', {})) hashes.set(r.device, Buffer.from(r.hash, 'hex'));
    },

    apply(e, tx) {
      const d = e.data as { device: string; hash: string; brokerHash?: string };
      tx.put('device_credentials', { device: d.device, hash: d.hash, created_at: e.receivedAtMs, broker_hash: d.brokerHash ?? null });
      hashes.set(d.device, Buffer.from(d.hash, 'hex'));
    },

    verify(device, password) {
      const want = hashes.get(device);
      if (!want || password === undefined) return false;
      return timingSafeEqual(sha256(password), want);
    },

    has: (device) => hashes.has(device),

    async hashes() {
      const rows = await ctx.store.find<{ device: string; hash: string; broker_hash: string | null }>('device_credentials', {});
      return rows.map((r) => ({ device: r.device, sha256: r.hash, brokerHash: r.broker_hash ?? null }));
    },

    async provision(devices, by) {
      const now = ctx.now();
      const made = devices.map((device) => {
        const d = ctx.registry.devices.get(device);
        if (!d) throw new Error(`unknown device "${device}"`);
        const password = randomBytes(24).toString('base64url'); // 192 bits
        const e: DomainEvent = { type: 'device_credentials', school: d.school, device, atMs: now, receivedAtMs: now, data: { device, hash: sha256(password).toString('hex'), brokerHash: mosquittoHash(password), by } };
        return { device, password, done: ctx.dispatcher.execute(e) };
      });
      await Promise.all(made.map((m) => m.done));
      // The old secret is over: so is any connection that used it.
      for (const m of made) ctx.bus.disconnect?.(m.device);
      return made.map((m) => ({ username: m.device, clientId: m.device, password: m.password }));
    },

    routes: credentialRoutes,
  };
}
