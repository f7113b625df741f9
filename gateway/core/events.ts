/**
 * The one event every transport produces (ARCHITECTURE "Rooms"): MQTT, the ONVIF watcher, an
 * operator's HTTP action and vendor pushes all become a `DomainEvent`, and nothing downstream sees a
 * topic string. `EventMap` is the typed map from event type to its data; each module adds its own
 * types to it by declaration merging (the zigbee2mqtt `lib/eventBus.ts` habit):
 *
 *   declare module '../../core/events.js' { interface EventMap { alarm: AlarmPayload } }
 */

// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface EventMap {}

export type EventType = keyof EventMap & string;

export interface DomainEvent<T extends EventType = EventType> {
  type: T;
  school: string;
  /** The registered device it came from (absent for an operator's action on no device). */
  device?: string;
  /** The sender's own id for the event: a second event with the same (device, type, sourceId) is a redelivery. */
  sourceId?: string;
  /** When it happened, by the sender's clock (epoch ms). */
  atMs: number;
  /** When the gateway took it. */
  receivedAtMs: number;
  data: EventMap[T];
}

/** Narrows an event by its type. */
export function isEvent<T extends EventType>(e: DomainEvent, type: T): e is DomainEvent<T> {
  return e.type === type;
}
