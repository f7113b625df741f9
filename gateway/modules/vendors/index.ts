/**
 * Vendor analytics platforms pushing over HTTP (contract §8, `POST /api/push/{vendor}`): each
 * vendor adapter (gateway/ingest/vendors/) has its own key, made by an admin and shown once,
 * stored only as its SHA-256 (contract §6, like a device's secret: 192 random bits, so a fast hash
 * is right). A push is mapped by the pure adapter to the same `ai` event an MQTT camera sends; its
 * snapshot goes to the media store, owned by the school, and the event carries its `snapshot`
 * (sha256) for the canteen module and the screens.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { GatewayModule, ModuleContext } from '../../core/module.js';
import type { DomainEvent } from '../../core/events.js';
import { VENDOR_ADAPTERS } from '../../ingest/vendors/index.js';
import { vendorRoutes } from './routes.js';

declare module '../../core/events.js' {
  interface EventMap {
    /** A vendor's push key was made or replaced (only its hash is ever stored). */
    vendor_key: { vendor: string; hash: string; by: string };
  }
}

export interface VendorsModule extends GatewayModule {
  /** The vendors a key can be made for: the adapters that exist. */
  readonly vendors: readonly string[];
  /** Whether `key` is the current key of `vendor` (timing-safe; false when none was made). */
  verify(vendor: string, key: string | undefined): boolean;
  /** When the vendor's current key was made, if one was. */
  keyMadeAt(vendor: string): number | undefined;
  /** Makes a new key for `vendor` (ending the old one); the key is returned once and never stored. */
  makeKey(vendor: string, by: string): Promise<string>;
  /**
   * Submits an `ai` event and resolves once it is durable, with whether it was a redelivery of one
   * already stored (same device, type and sourceId: the dispatcher keeps the first).
   */
  submitAi(e: DomainEvent): Promise<{ duplicate: boolean }>;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();
/** Vendor keys are told apart from operators' JWTs at a glance (and by log scanners). */
export const KEY_PREFIX = 'cgv_';

export function vendorsModule(ctx: ModuleContext): VendorsModule {
  const keys = new Map<string, { hash: Buffer; at: number }>();
  /** Pushed events waiting for their commit → set when the dispatcher found it a redelivery. */
  const pending = new Map<DomainEvent, { duplicate: boolean }>();
  return {
    name: 'vendors',
    vendors: Object.keys(VENDOR_ADAPTERS),
    // targets: the media store's owners (the `media` event) that the push route writes and reads.
    dependsOn: ['targets'],
    // `ai` only to learn of redeliveries (duplicate); the activity and canteen modules apply it.
    consumes: ['vendor_key', 'ai'],
    tables: [{ name: 'vendor_keys', key: 'vendor', columns: { vendor: 'text', hash: 'text', created_at: 'integer', by: 'text' } }],

    async load() {
      keys.clear();
      for (const r of await ctx.store.find<{ vendor: string; hash: string; created_at: number }>('vendor_keys', {})) keys.set(r.vendor, { hash: Buffer.from(r.hash, 'hex'), at: r.created_at });
    },

    apply(e, tx) {
      if (e.type !== 'vendor_key') return;
      const d = e.data as DomainEvent<'vendor_key'>['data'];
      tx.put('vendor_keys', { vendor: d.vendor, hash: d.hash, created_at: e.receivedAtMs, by: d.by });
      keys.set(d.vendor, { hash: Buffer.from(d.hash, 'hex'), at: e.receivedAtMs });
    },

    duplicate(e) {
      const p = pending.get(e);
      if (p) p.duplicate = true;
    },

    verify(vendor, key) {
      const want = keys.get(vendor);
      if (!want || !key) return false;
      return timingSafeEqual(sha256(key), want.hash);
    },

    keyMadeAt: (vendor) => keys.get(vendor)?.at,

    async makeKey(vendor, by) {
      if (!(vendor in VENDOR_ADAPTERS)) throw new Error(`unknown vendor "${vendor}"`);
      const key = KEY_PREFIX + randomBytes(24).toString('base64url'); // 192 bits
      const now = ctx.now();
      await ctx.dispatcher.execute({ type: 'vendor_key', school: '', atMs: now, receivedAtMs: now, data: { vendor, hash: sha256(key).toString('hex'), by } });
      return key;
    },

    async submitAi(e) {
      // The dispatcher hands `duplicate` the very event object it was given: exact even for two
      // pushes of one record in the same batch (the second is the redelivery).
      const mine = { duplicate: false };
      pending.set(e, mine);
      try {
        // An input like an MQTT camera's (dispatcher.submit): stored even if a module cannot apply
        // it, acknowledged once durable, refused only when the commit fails.
        await new Promise<void>((resolve, reject) => ctx.dispatcher.submit(e, (err) => (err ? reject(err) : resolve())));
      } finally {
        pending.delete(e);
      }
      return { duplicate: mine.duplicate };
    },

    routes: vendorRoutes,
  };
}
