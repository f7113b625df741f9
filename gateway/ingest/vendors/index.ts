/** The vendor adapters by the `{vendor}` of `POST /api/push/{vendor}` (contract §8). */
import type { RegistryIndex } from '../../registry.js';
import type { VendorOptions, VendorResult } from './common.js';
import { mapTrustIvs } from './trustivs.js';
import { mapWebhook } from './webhook.js';

export type VendorAdapter = (body: unknown, registry: RegistryIndex, o: VendorOptions) => VendorResult;
export const VENDOR_ADAPTERS: Readonly<Record<string, VendorAdapter>> = { trustivs: mapTrustIvs, webhook: mapWebhook };
export * from './common.js';
