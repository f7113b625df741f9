/**
 * MQTT in: every message published under the prefix becomes one `DomainEvent` for the dispatcher,
 * or a refusal on `_gateway/rejected` whose reason a device integrator can act on (contract §1).
 * The gateway's own output (`_gateway/…`, `…/alarm/state`) is not input. A QoS 1 message's `done`
 * — what lets the transport send PUBACK — is handed to the dispatcher, which calls it after commit.
 */
import type { Logger } from 'pino';
import { iso } from '../contract/common.js';
import { topics } from '../contract/mqtt.js';
import type { Dispatcher } from '../core/dispatcher.js';
import type { DomainEvent } from '../core/events.js';
import type { RegistryIndex } from '../registry.js';
import type { Bus, InboundHandler } from './bus.js';
import { publishRefusal } from './mqtt-acl.js';
import { isGatewayOutput, parseDeviceMessage, splitTopic, type DeviceInput } from './parse.js';

export interface MqttIngestOptions {
  registry: RegistryIndex;
  topicPrefix: string;
  dispatcher: Dispatcher;
  bus: Bus;
  /** A module's own turn of a topic's message into its event, or a refusal (e.g. the canteen's `record`). */
  refine?: (input: DeviceInput) => { event: DomainEvent } | { refused: string } | undefined;
  log: Logger;
  now?: () => number;
}

/** The device's message as a domain event (plain-text availability becomes `{state}`). */
export function toDomainEvent(input: DeviceInput): DomainEvent {
  const base = { school: input.school, device: input.device.id, atMs: input.deviceTsMs, receivedAtMs: input.receivedAtMs };
  switch (input.topic) {
    case 'availability':
      return { ...base, type: 'availability', data: { state: input.payload } };
    case 'alarm':
    case 'ai':
      return { ...base, type: input.topic, sourceId: input.payload.id, data: input.payload } as DomainEvent;
    default:
      return { ...base, type: input.topic, data: input.payload } as DomainEvent;
  }
}

export function mqttIngest(o: MqttIngestOptions): InboundHandler {
  const names = topics(o.topicPrefix);
  const now = o.now ?? Date.now;
  const refuse = (topic: string, type: string, reason: string, receivedAtMs: number) => {
    o.dispatcher.refused(type, receivedAtMs);
    o.log.debug({ topic, reason }, 'message refused');
    o.bus.publish(names.rejected, JSON.stringify({ topic, reason, receivedAt: iso(receivedAtMs) }), { qos: 0 });
  };
  return (msg, done) => {
    const levels = splitTopic(o.topicPrefix, msg.topic);
    if (msg.from) {
      // The embedded broker knows who published: a device speaks only for itself (contract §6).
      const refusal = publishRefusal(o.topicPrefix, msg.from, levels);
      if (refusal) {
        refuse(msg.topic.slice(0, 512), 'denied', refusal, now());
        return done(undefined, { deliver: false });
      }
    }
    if (!levels || isGatewayOutput(levels)) return done(); // not under the prefix, or our own output (external broker)
    const receivedAtMs = now();
    const parsed = parseDeviceMessage(o.registry, o.topicPrefix, msg.topic, msg.payload, receivedAtMs);
    if (!parsed.ok) {
      refuse(msg.topic, levels.length === 3 ? levels[2] : 'unknown', parsed.reason, receivedAtMs);
      return done(undefined, { deliver: false });
    }
    const refined = o.refine?.(parsed.input);
    if (refined && 'refused' in refined) {
      refuse(msg.topic, parsed.input.topic, refined.refused, receivedAtMs);
      return done(undefined, { deliver: false });
    }
    const event = refined?.event ?? toDomainEvent(parsed.input);
    // QoS 0 carries no promise to the sender, so it does not wait for the commit.
    if (msg.qos === 0) {
      o.dispatcher.submit(event);
      done();
    } else o.dispatcher.submit(event, done);
  };
}
