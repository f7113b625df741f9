// Smoke test of the test harness itself: the real brokers and databases start, stop and keep data.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import mqtt from 'mqtt';
import { collect, connectDevice, topicMatches, waitForMessage } from './support/mqtt.js';
import { waitFor } from './support/wait.js';
import { startMosquitto } from './support/mosquitto.js';
import { freePort } from './support/ports.js';
import { exportSeries, startVictoria } from './support/victoria.js';
import { openLive } from './support/ws.js';

describe('ports', () => {
  it('freePort gives a bindable port that is not 1883', async () => {
    const port = await freePort();
    assert.ok(port > 1024 && port < 65536);
    assert.notEqual(port, 1883);
  });
});

describe('mqtt helpers', () => {
  it('topicMatches follows MQTT wildcards', () => {
    assert.ok(topicMatches('campus/v1/+/+/alarm', 'campus/v1/s1/d1/alarm'));
    assert.ok(!topicMatches('campus/v1/+/+/alarm', 'campus/v1/s1/d1/alarm/state'));
    assert.ok(topicMatches('campus/v1/#', 'campus/v1'));
    assert.ok(topicMatches('campus/v1/#', 'campus/v1/_gateway/status'));
    assert.ok(!topicMatches('#', '$SYS/broker/uptime'));
  });
});

describe('mosquitto', () => {
  it('keeps a retained message across restart and kill -9 (persistence)', async (t) => {
    const broker = await startMosquitto({ persistence: true });
    t.after(() => broker.stop());
    assert.match(broker.url, /^mqtt:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(broker.port, 1883);

    const pub = await connectDevice(broker.url);
    await pub.publishAsync('test/retained', 'kept', { qos: 1, retain: true });
    await pub.endAsync();

    await broker.restart(); // SIGTERM: saved on the way out
    const sub = await connectDevice(broker.url);
    t.after(() => sub.end(true));
    const got = await waitForMessage(sub, 'test/retained');
    assert.equal(got.payload.toString(), 'kept');

    const c = collect(sub, 'test/live/+');
    await c.ready;
    for (const n of [1, 2, 3]) await sub.publishAsync(`test/live/${n}`, String(n), { qos: 1 });
    await waitFor('three live messages', () => c.messages.length >= 3, { timeoutMs: 5000, intervalMs: 20 });
    c.stop();
    assert.deepEqual(c.messages.map((m) => m.payload.toString()), ['1', '2', '3']);

    await sub.publishAsync('test/retained2', 'autosaved', { qos: 1, retain: true });
    await sub.endAsync();
    await new Promise((r) => setTimeout(r, 2500)); // autosave_interval 1 s
    await broker.kill9(); // no final save
    await broker.restart();
    const sub2 = await connectDevice(broker.url);
    t.after(() => sub2.end(true));
    const got2 = await waitForMessage(sub2, 'test/retained2');
    assert.equal(got2.payload.toString(), 'autosaved');
    await sub2.endAsync();
    assert.match(await broker.log(), /mosquitto version/);
  });

  it('queues more than 1000 QoS 1 messages for an offline persistent session (max_queued_messages 0)', async (t) => {
    const broker = await startMosquitto();
    t.after(() => broker.stop());
    const clientId = 'gateway-like';
    const sub = await connectDevice(broker.url, { clientId, clean: false });
    await sub.subscribeAsync('q/#', { qos: 1 });
    await sub.endAsync();

    const pub = await connectDevice(broker.url);
    const n = 1500;
    await Promise.all(Array.from({ length: n }, (_, i) => pub.publishAsync(`q/${i}`, String(i), { qos: 1 })));
    await pub.endAsync();

    // listener before CONNECT: the broker sends the queue right after CONNACK
    const back = mqtt.connect(broker.url, { clientId, clean: false, reconnectPeriod: 0 });
    const topics = new Set<string>();
    back.on('message', (topic) => topics.add(topic));
    await waitFor(() => `${n} queued messages (got ${topics.size})`, () => topics.size >= n, { timeoutMs: 10_000, intervalMs: 50 });
    await back.endAsync();
    assert.equal(topics.size, n);
  });

  it('reports a broker that cannot start, with its output', async (t) => {
    const first = await startMosquitto();
    t.after(() => first.stop());
    await assert.rejects(startMosquitto({ port: first.port }), /mosquitto exited[\s\S]*(in use|Error)/i);
  });
});

describe('victoria-metrics', () => {
  it('answers /health, takes line protocol on /api/v2/write and exports it back', async (t) => {
    const vm = await startVictoria();
    t.after(() => vm.stop());
    const health = await fetch(`${vm.url}/health`);
    assert.equal(health.status, 200);

    const ts = Date.now();
    const write = await fetch(`${vm.url}/api/v2/write?bucket=b&org=o&precision=ms`, {
      method: 'POST',
      body: `campus_alarm,school=s1,kind=panic count=1i,latency_ms=12.5 ${ts}\n`,
    });
    assert.equal(write.status, 204, await write.text());

    const series = await exportSeries(vm.url, '{__name__=~"campus_alarm_.*"}');
    const byName = new Map(series.map((s) => [s.metric.__name__, s]));
    assert.deepEqual([...byName.keys()].sort(), ['campus_alarm_count', 'campus_alarm_latency_ms']);
    const latency = byName.get('campus_alarm_latency_ms')!;
    assert.deepEqual(latency.metric, { __name__: 'campus_alarm_latency_ms', school: 's1', kind: 'panic' });
    assert.deepEqual(latency.values, [12.5]);
    assert.deepEqual(latency.timestamps, [ts]);

    // paused: the port is open but nothing answers
    await vm.pause();
    await assert.rejects(
      fetch(`${vm.url}/health`, { signal: AbortSignal.timeout(300) }).then(async (r) => `answered ${r.status} ${await r.text()}`),
    );
    vm.resume();
    assert.equal((await fetch(`${vm.url}/health`)).status, 200);

    await vm.restart();
    const again = await exportSeries(vm.url, 'campus_alarm_count');
    assert.deepEqual(await exportSeries(vm.url, 'nothing_here', { timeoutMs: 200 }), []);
    assert.deepEqual(again[0]?.values, [1]);
  });
});

describe('live feed client', () => {
  it('sends resume first and hands out each matching frame once', async (t) => {
    const http = createServer();
    const wss = new WebSocketServer({ server: http, path: '/live' });
    const port = await freePort();
    await new Promise<void>((r) => http.listen(port, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => { wss.close(); http.close(() => r()); }));
    const received: unknown[] = [];
    let seenToken: string | null = null;
    wss.on('connection', (sock, req) => {
      seenToken = new URL(req.url ?? '', 'http://x').searchParams.get('token');
      sock.on('message', (m) => {
        received.push(JSON.parse(m.toString()));
        for (let seq = 8; seq <= 10; seq++) sock.send(JSON.stringify({ seq, type: 'alarm', data: { n: seq } }));
      });
    });

    const live = await openLive(`http://127.0.0.1:${port}`, 'tok en', { resumeSince: 7 });
    const a = await live.next((f) => f.type === 'alarm');
    const b = await live.next((f) => f.type === 'alarm');
    assert.deepEqual([a.seq, b.seq], [8, 9]);
    assert.deepEqual(received, [{ type: 'resume', since: 7 }]);
    assert.equal(seenToken, 'tok en');
    await assert.rejects(live.next((f) => f.type === 'nope', 200), /no matching live frame/);
    assert.equal((await live.next()).seq, 10);
    await live.close();
  });
});
