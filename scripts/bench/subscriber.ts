/**
 * The baseline consumer: a bare MQTT.js subscriber that only counts what the broker delivers —
 * the floor any Node consumer pays. Its own process (forked by lib.ts), so that its CPU is its
 * own and nothing else in the bench slows it down. QoS 1 messages are PUBACKed by MQTT.js as
 * soon as they are handed over, with no work in between.
 */
import mqtt from 'mqtt';

export type ToSubscriber = { type: 'start'; url: string; clientId: string; filter: string; qos: 0 | 1 } | { type: 'count' } | { type: 'exit' };
export type FromSubscriber = { type: 'ready' } | { type: 'count'; n: number } | { type: 'error'; message: string };

let count = 0;
let client: mqtt.MqttClient | undefined;

const reply = (m: FromSubscriber): void => void process.send?.(m);

process.on('message', (raw) => {
  const msg = raw as ToSubscriber;
  if (msg.type === 'start') {
    const c = mqtt.connect(msg.url, { clientId: msg.clientId, clean: true, reconnectPeriod: 0, connectTimeout: 10_000 });
    client = c;
    c.on('message', () => {
      count++;
    });
    c.once('connect', () => {
      c.subscribe(msg.filter, { qos: msg.qos }, (err) => reply(err ? { type: 'error', message: err.message } : { type: 'ready' }));
    });
    c.once('error', (err) => reply({ type: 'error', message: `subscriber: ${err.message}` }));
  } else if (msg.type === 'count') {
    reply({ type: 'count', n: count });
  } else if (msg.type === 'exit') {
    if (client) client.end(true, () => process.exit(0));
    else process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
