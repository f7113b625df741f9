// MQTT helpers for tests: a device (or any tool) connected to a real broker.
import { randomBytes } from 'node:crypto';
import mqtt, { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';

export type { MqttClient } from 'mqtt';

export interface Received {
  topic: string;
  payload: Buffer;
}

/** The logins a gateway's embedded broker takes (contract §6): each device's secret, and a tool user. */
export interface MqttLogin {
  devices: Map<string, string>;
  tool: { username: string; password: string };
}
const logins = new Map<string, MqttLogin>();
export const registerMqttLogin = (mqttUrl: string, login: MqttLogin): void => void logins.set(mqttUrl, login);
export const mqttLoginFor = (mqttUrl: string): MqttLogin | undefined => logins.get(mqttUrl);

/**
 * A client for a broker that needs logins (a gateway's embedded broker, once provisioned): the
 * devices of a county, as one object. Each publish goes out on the connection of the device its
 * topic names (`{prefix}/{school}/{device}/…`), logged in as that device; a topic naming no device
 * with a secret goes out as the first device (so the broker's own refusal is what the test sees).
 * Subscriptions and `on('message')` use a tool login (a gateway user).
 */
async function connectFleet(mqttUrl: string, login: MqttLogin, opts: IClientOptions): Promise<MqttClient> {
  const tool = await connectRaw(mqttUrl, { ...opts, username: login.tool.username, password: login.tool.password });
  const conns = new Map<string, Promise<MqttClient>>();
  // Device connections are made on their first publish and, like a device's, keep reconnecting:
  // a publish made while the broker is away (a gateway killed mid-burst) waits in MQTT.js's queue.
  const open = (device: string) => {
    const c = mqtt.connect(mqttUrl, { reconnectPeriod: 500, connectTimeout: 10_000, ...opts, clientId: device, username: device, password: login.devices.get(device) });
    c.on('error', () => undefined); // refusals and resets show as failed publishes; the client retries
    return Promise.resolve(c);
  };
  const first = login.devices.keys().next().value as string;
  const deviceConn = (topic: string) => {
    const named = topic.split('/')[3];
    const device = named !== undefined && login.devices.has(named) ? named : first;
    let c = conns.get(device);
    if (!c) {
      c = open(device);
      conns.set(device, c);
    }
    return c;
  };
  return new Proxy(tool, {
    get(target, prop, receiver) {
      if (prop === 'publishAsync')
        return async (topic: string, payload: string | Buffer, o?: object) => {
          // A message caught in MQTT.js's store when the connection dropped is failed with
          // "Connection closed": a device sends it again once reconnected, as firmware does.
          for (let tries = 0; ; tries++) {
            try {
              return await (await deviceConn(topic)).publishAsync(topic, payload, o);
            } catch (err) {
              if (!/Connection closed/.test((err as Error).message) || tries >= 50) throw err;
              await new Promise((r) => setTimeout(r, 200));
            }
          }
        };
      if (prop === 'publish') return (topic: string, payload: string | Buffer, o?: object, cb?: (err?: Error) => void) => void deviceConn(topic).then((c) => c.publish(topic, payload, o ?? {}, cb));
      if (prop === 'endAsync') return async (force?: boolean) => {
        await Promise.all([...conns.values()].map(async (c) => (await c).endAsync(force)));
        await target.endAsync(force);
      };
      if (prop === 'end') return (force?: boolean, cb?: () => void) => {
        for (const c of conns.values()) void c.then((x) => x.end(force));
        return target.end(force, {}, cb);
      };
      return Reflect.get(target, prop, receiver);
    },
  });
}

/**
 * Connects with MQTT.js `connectAsync` (clientId random unless given, reconnectPeriod 500 ms).
 * Rejects if no CONNACK arrives within `connectTimeout` + 5 s (default 15 s). To a broker with
 * registered logins (and no username given), it connects as that county's devices (connectFleet).
 */
export async function connectDevice(mqttUrl: string, opts: IClientOptions = {}): Promise<MqttClient> {
  const login = logins.get(mqttUrl);
  if (login && opts.username === undefined) return connectFleet(mqttUrl, login, opts);
  return connectRaw(mqttUrl, opts);
}

/** One real connection logged in as `device` with its registered secret (no fleet): its own close is the device's. */
export function connectAs(mqttUrl: string, device: string, opts: IClientOptions = {}): Promise<MqttClient> {
  const login = logins.get(mqttUrl);
  if (!login?.devices.has(device)) throw new Error(`no secret registered for ${device} at ${mqttUrl}`);
  return connectRaw(mqttUrl, { ...opts, clientId: device, username: device, password: login.devices.get(device) });
}

async function connectRaw(mqttUrl: string, opts: IClientOptions = {}): Promise<MqttClient> {
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
