// MQTT helpers for tests: a device (or any tool) connected to a real broker.
import { randomBytes } from 'node:crypto';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';

export type { MqttClient } from 'mqtt';

export interface Received {
  topic: string;
  payload: Buffer;
}

/**
 * Connects with MQTT.js `connectAsync` (clientId random unless given, reconnectPeriod 500 ms).
 * Rejects if no CONNACK arrives within `connectTimeout` + 5 s (default 15 s).
 */
export async function connectDevice(mqttUrl: string, opts: IClientOptions = {}): Promise<MqttClient> {
  const options: IClientOptions = {
    clientId: `test-${randomBytes(6).toString('hex')}`,
    reconnectPeriod: 500,
    connectTimeout: 10_000,
    ...opts,
  };
  const pending = connectAsync(mqttUrl, options);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`MQTT connect to ${mqttUrl} as ${options.clientId}: no CONNACK`)),
      (options.connectTimeout ?? 10_000) + 5_000,
    );
  });
  try {
    return await Promise.race([pending, timeout]);
  } catch (err) {
    // connectAsync keeps retrying in the background; make sure that client goes away
    pending.then((c) => c.end(true)).catch(() => {});
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** MQTT topic filter matching, with `+` and `#` ([MQTT-4.7.1]); `$`-topics are not matched by leading wildcards ([MQTT-4.7.2-1]). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

const subscribed = new WeakMap<MqttClient, Map<string, Promise<void>>>();

/** Subscribes (QoS 1) once per client and filter; later calls reuse the same subscription. */
export function ensureSubscribed(client: MqttClient, topicFilter: string): Promise<void> {
  let subs = subscribed.get(client);
  if (!subs) {
    subs = new Map();
    subscribed.set(client, subs);
  }
  let p = subs.get(topicFilter);
  if (!p) {
    p = client.subscribeAsync(topicFilter, { qos: 1 }).then((granted) => {
      const bad = granted.find((g) => g.qos === 128);
      if (bad) throw new Error(`subscription to ${topicFilter} refused`);
    });
    p.catch(() => subs!.delete(topicFilter));
    subs.set(topicFilter, p);
  }
  return p;
}

/**
 * The next message on `topicFilter` (subscribing first if needed) for which `predicate` holds.
 * Only messages arriving after the call count (a retained one arrives again on a new subscription).
 */
export function waitForMessage(
  client: MqttClient,
  topicFilter: string,
  predicate: (topic: string, payload: Buffer) => boolean = () => true,
  timeoutMs = 5000,
): Promise<Received> {
  return new Promise((resolve, reject) => {
    const onMessage = (topic: string, payload: Buffer): void => {
      if (!topicMatches(topicFilter, topic)) return;
      let ok: boolean;
      try {
        ok = predicate(topic, payload);
      } catch (err) {
        finish();
        reject(err);
        return;
      }
      if (!ok) return;
      finish();
      resolve({ topic, payload });
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`no message on ${topicFilter} matching the predicate within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (): void => {
      clearTimeout(timer);
      client.off('message', onMessage);
    };
    client.on('message', onMessage); // before SUBSCRIBE: a retained message may follow the SUBACK at once
    ensureSubscribed(client, topicFilter).catch((err: Error) => {
      finish();
      reject(err);
    });
  });
}

export interface Collector {
  /** every message on the filter since collect() was called, in arrival order */
  messages: Received[];
  /** resolves once the subscription is granted: await it before publishing what you expect to see */
  ready: Promise<void>;
  stop(): void;
}

/** Collects every message on `topicFilter` until stop() (subscribes if needed; stop() does not unsubscribe). */
export function collect(client: MqttClient, topicFilter: string): Collector {
  const messages: Received[] = [];
  const onMessage = (topic: string, payload: Buffer): void => {
    if (topicMatches(topicFilter, topic)) messages.push({ topic, payload });
  };
  client.on('message', onMessage);
  const ready = ensureSubscribed(client, topicFilter);
  ready.catch(() => {}); // surfaced to whoever awaits `ready`
  return {
    messages,
    ready,
    stop: () => {
      client.off('message', onMessage);
    },
  };
}
