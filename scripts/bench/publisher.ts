/**
 * A publisher process for the benchmarks (forked by lib.ts, driven over IPC). One MQTT.js
 * connection, paced publishing: `rate` messages per second spread evenly (0 = as fast as the
 * connection takes them), never more than `MAX_OUTSTANDING` unconfirmed at a time (QoS 0: written
 * to the socket; QoS 1: PUBACKed by the broker). Reports when its last message was confirmed, so
 * the parent can tell a step the publisher could not keep up with from one the consumer failed.
 */
import { performance } from 'node:perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';

export type PublishKind = 'heartbeat' | 'alarm';

export interface PublishJob {
  /** messages per second for this process (0: flood) */
  rate: number;
  /** global message indexes `shard, shard + shards, …` below `total` are this process's */
  total: number;
  shard: number;
  shards: number;
  qos: 0 | 1;
  kind: PublishKind;
  /** key of a topic list sent before with `topics` */
  topics: string;
  /** alarm ids are `${idPrefix}-${index}` (unique per run) */
  idPrefix: string;
}

export interface PublishResult {
  sent: number;
  /** ms from the job's start until the last message was confirmed */
  elapsedMs: number;
  /** ms the job should have taken at its rate (0 for a flood) */
  plannedMs: number;
  /** worst delay of a message behind its schedule, ms */
  maxLagMs: number;
}

export type ToPublisher =
  | { type: 'connect'; url: string; clientId: string }
  | { type: 'topics'; key: string; list: string[] }
  | { type: 'run'; job: PublishJob }
  | { type: 'exit' };

export type FromPublisher = { type: 'connected' } | { type: 'topics-ok' } | ({ type: 'done' } & PublishResult) | { type: 'error'; message: string };

const MAX_OUTSTANDING = 500; // below the 1000 `drain` listeners Node warns about when the socket is full
let client: MqttClient | undefined;
const topicLists = new Map<string, string[]>();

function reply(msg: FromPublisher): void {
  process.send?.(msg);
}

function payload(job: PublishJob, index: number, nowMs: number): string {
  if (job.kind === 'heartbeat') return `{"ts":${nowMs},"battery":${50 + (index % 50)},"rssi":-${40 + (index % 40)}}`;
  return `{"id":"${job.idPrefix}-${index}","ts":${nowMs},"kind":"panic"}`;
}

function run(job: PublishJob): Promise<PublishResult> {
  const c = client;
  const topics = topicLists.get(job.topics);
  if (!c || !topics) return Promise.reject(new Error(`publisher not ready (client ${!!c}, topics ${job.topics} ${!!topics})`));
  const mine = Math.max(0, Math.ceil((job.total - job.shard) / job.shards));
  const perSec = job.rate;
  const plannedMs = perSec > 0 ? (mine / perSec) * 1000 : 0;
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let i = 0;
    let confirmed = 0;
    let outstanding = 0;
    let maxLagMs = 0;
    let failed = false;
    const onDone = (err?: Error): void => {
      outstanding--;
      if (err && !failed) {
        failed = true;
        reject(err);
        return;
      }
      confirmed++;
      if (confirmed === mine) resolve({ sent: mine, elapsedMs: performance.now() - start, plannedMs, maxLagMs });
      else if (outstanding === MAX_OUTSTANDING - 1) setImmediate(tick);
    };
    const tick = (): void => {
      if (failed) return;
      const now = performance.now();
      const elapsed = now - start;
      const due = perSec > 0 ? Math.min(mine, Math.floor((elapsed * perSec) / 1000) + 1) : mine;
      const nowMs = Date.now();
      let budget = 1000; // let the socket flush between bursts
      while (i < due && outstanding < MAX_OUTSTANDING && budget-- > 0) {
        if (perSec > 0) maxLagMs = Math.max(maxLagMs, elapsed - (i / perSec) * 1000);
        const index = job.shard + i * job.shards;
        const topic = topics[index % topics.length];
        outstanding++;
        i++;
        c.publish(topic, payload(job, index, nowMs), { qos: job.qos }, onDone);
      }
      if (i >= mine) return;
      if (outstanding >= MAX_OUTSTANDING) return; // onDone resumes
      if (i < due) setImmediate(tick);
      else setTimeout(tick, 1);
    };
    if (mine === 0) resolve({ sent: 0, elapsedMs: 0, plannedMs: 0, maxLagMs: 0 });
    else tick();
  });
}

process.on('message', (raw) => {
  const msg = raw as ToPublisher;
  switch (msg.type) {
    case 'connect': {
      const c = mqtt.connect(msg.url, { clientId: msg.clientId, clean: true, reconnectPeriod: 0, connectTimeout: 10_000 });
      c.once('connect', () => {
        client = c;
        reply({ type: 'connected' });
      });
      c.once('error', (err) => reply({ type: 'error', message: `publisher connect: ${err.message}` }));
      return;
    }
    case 'topics':
      topicLists.set(msg.key, msg.list);
      reply({ type: 'topics-ok' });
      return;
    case 'run':
      run(msg.job).then(
        (r) => reply({ type: 'done', ...r }),
        (err: Error) => reply({ type: 'error', message: err.message }),
      );
      return;
    case 'exit':
      if (client) client.end(true, () => process.exit(0));
      else process.exit(0);
      return;
  }
});
process.on('disconnect', () => process.exit(0)); // the bench went away: so do we
