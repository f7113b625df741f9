/**
 * Notifying the school of its canteen cases (issue: "the school's food-safety officer is notified,
 * on their console and over MQTT/webhook"), pure: what one notification is, its stable delivery id,
 * its signature, where it goes and when a failed delivery is tried again. The transports are
 * `webhook.ts` (HTTP, from the durable outbox) and the bus (MQTT, after the commit).
 */
import { createHmac } from 'node:crypto';

/** The header carrying `sha256=<hex HMAC-SHA256 of the raw body>` (the GitHub webhook convention). */
export const SIGNATURE_HEADER = 'x-campus-signature';
/** The header carrying the delivery id (also in the body): the receiver's dedupe key. */
export const DELIVERY_HEADER = 'x-campus-delivery';

/**
 * The delivery id of a case's step: the case id and the number of its step (1: opened, 2: the
 * first action…), or `overdue` for the escalation (sent once per case). The same step always has
 * the same id, so a receiver that gets a delivery twice (at-least-once) can drop the second.
 */
export const deliveryId = (caseId: string, action: string, steps: number): string => `${caseId}/${action === 'overdue' ? 'overdue' : steps}`;

/** The notification: the live `case` frame with its delivery id (rendered once, so every retry is byte-identical). */
export const notificationBody = (id: string, frame: Record<string, unknown>): string => JSON.stringify({ deliveryId: id, ...frame });

export const sign = (secret: string, body: string): string => `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;

/** The school's receiver: a `{school}` in the configured URL is the school id (one receiver per school), else the county's one URL. */
export const webhookUrlFor = (template: string, school: string): string => template.replaceAll('{school}', encodeURIComponent(school));

/** Full-jitter exponential backoff from 1 s, capped: attempt 1 waits up to 1 s, attempt 2 up to 2 s… */
export function backoffMs(attempt: number, maxMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, 1000 * 2 ** Math.min(attempt - 1, 20));
  return Math.max(10, Math.round(cap * (0.5 + random() / 2)));
}
