/**
 * A generic analytics webhook: `{stream_id, event_type, timestamp, image_base64}`, the shape many
 * edge-AI boxes and video platforms post. Field mapping in docs/vendors.md. Pure.
 *
 * - `stream_id` → the camera: a 20-digit GB/T 28181 id (registry `gb28181Id`), else the gateway's
 *   own device id of a camera (the box's stream named after the registry, as the integrator sets it up).
 * - `event_type` → the AI kind: the contract's own names (`no_mask`), or a common alias (`rat`,
 *   `mouse`, `cat`, `dog`, `shirtless`, `playing_phone`, …), case-insensitive.
 * - `timestamp` → ts: epoch seconds or milliseconds, ISO-8601 with an offset, or local
 *   `yyyy-MM-dd HH:mm:ss` in the county's offset.
 * - `image_base64` → the snapshot (optional).
 * - `event_id` (optional) → ai.id; absent, the id is `<stream_id>:<event_type>:<epoch ms>`, so a
 *   redelivered post is the same event. `confidence` (optional, 0..1) → ai.confidence.
 */
import { Type } from '@sinclair/typebox';
import { iso } from '../../contract/common.js';
import { AI_KINDS, type AiKind, type AiPayload } from '../../contract/mqtt.js';
import type { RegistryIndex } from '../../registry.js';
import { MAX_SNAPSHOT_BYTES, decodeSnapshot, parseVendorTime, refuse, shapeChecker, type VendorAi, type VendorOptions, type VendorResult } from './common.js';

export const WEBHOOK_ALIASES: Readonly<Record<string, AiKind>> = {
  rat: 'rodent', mouse: 'rodent', mice: 'rodent', cat: 'animal', dog: 'animal', pet: 'animal',
  hat: 'no_hat', no_chef_hat: 'no_hat', mask: 'no_mask', no_workwear: 'no_uniform', uniform: 'no_uniform', gloves: 'no_gloves',
  shirtless: 'bare_chested', smoke: 'smoking', playing_phone: 'phone', mobile_phone: 'phone', trash_uncovered: 'bin_uncovered',
  garbage_uncovered: 'bin_uncovered', leave_post: 'off_post', sleeping: 'off_post', intrude: 'intrusion',
};

export const WebhookEvent = Type.Object({
  stream_id: Type.String({ minLength: 1, maxLength: 64 }),
  event_type: Type.String({ minLength: 1, maxLength: 64 }),
  timestamp: Type.Union([Type.Number(), Type.String({ minLength: 1, maxLength: 64 })]),
  image_base64: Type.Optional(Type.String()),
  event_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '^[\\x21-\\x7e]+$' })),
  confidence: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
});
type WebhookEvent = import('@sinclair/typebox').Static<typeof WebhookEvent>;
const shape = shapeChecker<WebhookEvent>(WebhookEvent);

export function kindOf(eventType: string): AiKind | undefined {
  const t = eventType.trim().toLowerCase().replace(/[\s-]+/g, '_');
  return (AI_KINDS as readonly string[]).includes(t) ? (t as AiKind) : WEBHOOK_ALIASES[t];
}

export function mapWebhook(body: unknown, registry: RegistryIndex, o: VendorOptions): VendorResult {
  const s = shape(body);
  if (!s.ok) return refuse('bad_payload', s.reason);
  const w = s.value;

  const stream = w.stream_id.trim();
  const camera = /^\d{20}$/.test(stream) ? registry.cameraByGb28181Id(stream) : registry.devices.get(stream);
  if (!camera)
    return refuse('unknown_stream', `stream_id "${stream.slice(0, 64)}": no camera in the registry has this ${/^\d{20}$/.test(stream) ? 'GB/T 28181 id' : 'id (a GB/T 28181 id is 20 digits)'}`);
  if (camera.kind !== 'camera') return refuse('not_a_camera', `stream_id "${stream}" is device ${camera.id} of kind ${camera.kind}, not a camera`);

  const kind = kindOf(w.event_type);
  if (!kind) return refuse('unknown_event_type', `event_type "${w.event_type.slice(0, 40)}" is not a kind the gateway knows (${AI_KINDS.join(', ')}, or an alias: ${Object.keys(WEBHOOK_ALIASES).join(', ')})`);

  const t = parseVendorTime(w.timestamp, o.offsetMs, 'timestamp');
  if (!t.ok) return refuse('bad_time', t.reason);

  const id = `webhook:${w.event_id ?? `${stream}:${kind}:${t.ms}`}`;
  const data: AiPayload = { id, ts: iso(t.ms), kind };
  if (w.confidence !== undefined) data.confidence = w.confidence;
  const event: VendorAi = { school: camera.school, device: camera.id, sourceId: id, atMs: t.ms, data };
  if (w.image_base64 !== undefined && w.image_base64 !== '') {
    const snap = decodeSnapshot(w.image_base64, o.maxSnapshotBytes ?? MAX_SNAPSHOT_BYTES, 'image_base64');
    if (!('bytes' in snap)) return snap;
    event.snapshot = { bytes: snap.bytes, type: snap.type };
  }
  return { ok: true, event };
}
