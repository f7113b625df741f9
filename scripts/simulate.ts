/**
 * Device simulator for the demo county. It speaks only MQTT, as real devices do: one connection
 * per school (like a school's edge box), heartbeats spread evenly, one-key alarms, canteen
 * analytics, availability flaps, gates and duty check-ins, and it shows the alarm lamp feedback.
 *
 *   npm run simulate -- --heartbeat-scale 0.1 --alarm-every-sec 20 --gates --checkins --day-sec 600
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { ConfigError } from '../gateway/config-error.js';
import { loadRegistry, type IndexedDevice, type RegistryIndex } from '../gateway/registry.js';
import type { RegistrySchool } from '../gateway/contract/registry.js';
import type { AiKind, AlarmKind, DeviceTopic } from '../gateway/contract/mqtt.js';

export interface SimulatorOptions {
  url?: string;
  /** Registry file path, or an index already loaded. */
  registry?: string | RegistryIndex;
  prefix?: string;
  /** Simulate only the first N schools. */
  schools?: number;
  /** Multiplies heartbeat intervals (0.1 = ten times faster). */
  heartbeatScale?: number;
  /** Mean seconds between one-key alarms across the county; 0 = none. */
  alarmEverySec?: number;
  /** Mean seconds between canteen analytics events; 0 = none. */
  aiEverySec?: number;
  /** Mean seconds between availability flaps; 0 = none. */
  flapEverySec?: number;
  gates?: boolean;
  checkins?: boolean;
  /** Length of a simulated school day in seconds, starting at 06:30; 0 = follow the real clock (UTC+8). */
  daySec?: number;
  durationSec?: number;
  quiet?: boolean;
  log?: (line: string) => void;
  /** Each device's MQTT secret (contract §6): every device logs in as itself. Absent: anonymous (a broker without logins). */
  credentials?: ReadonlyMap<string, string>;
}

export interface SimulatorStats {
  schools: number; devices: number; /** devices connected */ connected: number;
  heartbeats: number; alarms: number; ai: number; flaps: number; gates: number; checkins: number; feedback: number; errors: number;
}

export interface Simulator {
  stop(): Promise<void>;
  /** Resolves once stopped (by stop(), or at durationSec). */
  done: Promise<void>;
  stats: SimulatorStats;
}

interface SimSchool { school: RegistrySchool; devices: SimDevice[] }
interface SimDevice {
  d: IndexedDevice; s: SimSchool; client: MqttClient; intervalMs: number; nextHb: number;
  /** While > 0 the device is "down" (flap) until this time. */
  downUntil: number; seq: number; battery: number;
}

const TICK_MS = 100;
const rand = (lo: number, hi: number) => lo + Math.random() * (hi - lo);
const randInt = (lo: number, hi: number) => Math.floor(rand(lo, hi + 1));
const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(Math.random() * xs.length)];
/** Exponential gap: events arrive as a Poisson process with this mean. */
const expo = (meanSec: number) => -Math.log(1 - Math.random()) * meanSec * 1000;
const weighted = <T>(table: readonly [T, number][]): T => {
  let r = Math.random() * table.reduce((a, [, w]) => a + w, 0);
  for (const [v, w] of table) if ((r -= w) < 0) return v;
  return table[table.length - 1][0];
};
/** Devices in the field send both forms; the gateway must accept either. */
const wireTs = (ms = Date.now()): string | number =>
  Math.random() < 0.5 ? ms : new Date(ms + 8 * 3600_000).toISOString().replace('Z', '+08:00');
const clock = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(11, 19);

const ALARM_MIX: [AlarmKind, number][] = [['panic', 70], ['intrusion', 12], ['medical', 8], ['fire', 5], ['duress', 5]];
const AI_MIX: [AiKind, number][] = [['no_hat', 30], ['no_mask', 25], ['no_uniform', 15], ['phone', 10], ['smoking', 5], ['rodent', 5], ['other', 10]];
const AI_MIX_STORAGE: [AiKind, number][] = [['rodent', 50], ['no_hat', 15], ['no_mask', 15], ['other', 20]];
const LAMP: Record<string, string> = { received: 'amber steady', acknowledged: 'green blinking', dispatched: 'green steady', resolved: 'off' };
// Minutes after midnight (UTC+8). Gates open for arrival and dismissal; duty posts report before opening.
const GATE_TIMES: [number, 'open' | 'closed'][] = [[6 * 60 + 40, 'open'], [8 * 60 + 10, 'closed'], [16 * 60 + 40, 'open'], [17 * 60 + 40, 'closed']];
const POST_TIMES = [6 * 60 + 30, 16 * 60 + 30];

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const o = {
    url: 'mqtt://127.0.0.1:1883', registry: 'config/county.json', prefix: 'campus/v1', heartbeatScale: 1,
    alarmEverySec: 45, aiEverySec: 20, flapEverySec: 90, daySec: 0, quiet: false,
    // An option passed as undefined keeps its default.
    ...(Object.fromEntries(Object.entries(options).filter(([, x]) => x !== undefined)) as SimulatorOptions),
  };
  const log = o.log ?? ((line: string) => console.log(`${clock()} ${line}`));
  const info = (line: string) => { if (!o.quiet) log(line); };
  const index = typeof o.registry === 'string' ? loadRegistry(o.registry) : o.registry;
  const chosen = index.registry.schools.slice(0, o.schools ?? undefined);
  const t0 = Date.now();
  const stats: SimulatorStats = {
    schools: chosen.length, devices: 0, connected: 0,
    heartbeats: 0, alarms: 0, ai: 0, flaps: 0, gates: 0, checkins: 0, feedback: 0, errors: 0,
  };
  const sentAt = new Map<string, number>(); // `${device}/${alarmId}` → when sent, for feedback latency

  const topic = (d: IndexedDevice, type: DeviceTopic) => `${o.prefix}/${d.school}/${d.id}/${type}`;
  const publish = (dev: SimDevice, type: DeviceTopic, payload: unknown, qos: 0 | 1, retain = false) => {
    const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
    dev.client.publish(topic(dev.d, type), body, { qos, retain }, (err) => {
      if (err) stats.errors++;
    });
  };

  // One connection per device, each logged in as itself (contract §6): as real devices do.
  const schools: SimSchool[] = chosen.map((school) => {
    const s: SimSchool = { school, devices: [] };
    s.devices = school.devices.map((dd) => {
      const d = index.devices.get(dd.id)!;
      const secret = o.credentials?.get(d.id);
      if (o.credentials && secret === undefined) log(`sim    ${d.id} has no credentials: it will be refused`);
      const client = mqtt.connect(o.url, {
        clientId: d.id, clean: true, reconnectPeriod: 2000 + Math.random() * 3000, connectTimeout: 10_000,
        ...(o.credentials ? { username: d.id, password: secret ?? '' } : {}),
        queueQoSZero: false, // a stale heartbeat is worthless; alarms (QoS 1) are kept and sent on reconnect
        resubscribe: false, // we subscribe on every connect ourselves
      });
      const intervalMs = Math.max(200, index.heartbeatIntervalSec(d.id) * 1000 * o.heartbeatScale);
      // Random phase per device: no thundering herd at start or on every interval.
      return { d, s, client, intervalMs, nextHb: t0 + Math.random() * intervalMs, downUntil: 0, seq: 0, battery: randInt(55, 100) };
    });
    return s;
  });
  const all = schools.flatMap((s) => s.devices);
  stats.devices = all.length;
  const up = (dev: SimDevice) => dev.downUntil === 0 && dev.client.connected;
  let lastError: string | undefined;

  const firstConnects = all.map((dev) => new Promise<void>((resolve) => {
    dev.client.on('connect', () => {
      stats.connected++;
      lastError = undefined;
      if (dev.d.kind === 'alarm_button') dev.client.subscribe(`${topic(dev.d, 'alarm')}/state`, { qos: 1 });
      // Retained availability, re-sent on every connect: an embedded broker may have restarted empty.
      publish(dev, 'availability', dev.downUntil ? 'offline' : 'online', 1, true);
      // Tell the gateway where each gate stands now; later the schedule drives it.
      if (o.gates && dev.d.kind === 'gate') gateState(dev, gateNow(simMinute(Date.now())));
      resolve();
    });
    dev.client.on('close', () => { stats.connected = all.filter((x) => x.client.connected).length; });
    dev.client.on('error', (err) => {
      if (err.message !== lastError) log(`mqtt   ${dev.d.id} ${err.message}`); // once per distinct error, not per device and retry
      lastError = err.message;
    });
    dev.client.on('message', (t, buf) => onFeedback(dev.s, t, buf));
  }));

  function onFeedback(s: SimSchool, t: string, buf: Buffer) {
    const deviceId = t.slice(o.prefix.length + 1).split('/')[1];
    let fb: { id?: unknown; state?: unknown; by?: unknown };
    try { fb = JSON.parse(buf.toString('utf8')); } catch { return log(`lamp   ${deviceId} unreadable feedback: ${buf.toString('utf8').slice(0, 80)}`); }
    stats.feedback++;
    const key = `${deviceId}/${String(fb.id)}`;
    const sent = sentAt.get(key);
    const latency = fb.state === 'received' && sent ? ` +${Date.now() - sent} ms` : '';
    if (fb.state === 'resolved') sentAt.delete(key);
    info(`lamp   ${s.school.id} ${deviceId} alarm=${String(fb.id)} → ${String(fb.state)}${fb.by ? ` by ${String(fb.by)}` : ''} (lamp ${LAMP[String(fb.state)] ?? '?'})${latency}`);
  }

  function heartbeat(dev: SimDevice) {
    stats.heartbeats++;
    if (dev.d.kind === 'alarm_button') {
      dev.battery = Math.max(5, dev.battery - 0.01);
      publish(dev, 'heartbeat', { ts: wireTs(), battery: Math.round(dev.battery), rssi: randInt(-85, -40) }, 0);
    } else publish(dev, 'heartbeat', { ts: wireTs() }, 0);
  }

  function alarm() {
    const dev = pick(all.filter((x) => x.d.kind === 'alarm_button' && up(x)));
    if (!dev) return;
    const id = `${Date.now().toString(36)}-${++dev.seq}`;
    const kind = weighted(ALARM_MIX);
    const test = Math.random() < 0.2;
    publish(dev, 'alarm', { id, ts: wireTs(), kind, zone: dev.d.place, ...(test ? { test: true } : {}) }, 1);
    sentAt.set(`${dev.d.id}/${id}`, Date.now());
    if (sentAt.size > 10_000) sentAt.delete(sentAt.keys().next().value!); // feedback may never come
    stats.alarms++;
    info(`alarm  ${dev.s.school.id} ${dev.s.school.name} ${dev.d.id} ${dev.d.place ?? ''} ${kind}${test ? ' [test]' : ''} id=${id}`);
  }

  function ai() {
    const dev = pick(all.filter((x) => x.d.kind === 'camera' && x.d.zone !== 'campus' && up(x)));
    if (!dev) return;
    const kind = weighted(dev.d.zone === 'storage' ? AI_MIX_STORAGE : AI_MIX);
    publish(dev, 'ai', { id: `${Date.now().toString(36)}-${++dev.seq}`, ts: wireTs(), kind, confidence: Math.round(rand(0.6, 0.99) * 100) / 100 }, 1);
    stats.ai++;
  }

  function flap(now: number) {
    const dev = pick(all.filter(up));
    if (!dev) return;
    const downSec = randInt(10, 60);
    dev.downUntil = now + downSec * 1000;
    publish(dev, 'availability', 'offline', 1, true);
    if (dev.d.kind === 'camera') publish(dev, 'camera', { ts: wireTs(now), online: false, error: 'no response from camera (ONVIF timeout)' }, 1);
    stats.flaps++;
    info(`flap   ${dev.s.school.id} ${dev.d.id} (${dev.d.kind}) offline for ${downSec} s`);
  }

  function comeBack(dev: SimDevice, now: number) {
    dev.downUntil = 0;
    dev.nextHb = now; // first heartbeat right away, as a rebooted device does
    publish(dev, 'availability', 'online', 1, true);
    if (dev.d.kind === 'camera') publish(dev, 'camera', { ts: wireTs(now), online: true, rttMs: randInt(8, 120) }, 1);
    info(`flap   ${dev.s.school.id} ${dev.d.id} back online`);
  }

  // School-day schedule (gates, duty posts): minute-of-day events, fired when the clock passes them.
  const simMinute = (now: number) =>
    o.daySec > 0 ? (390 + ((now - t0) / (o.daySec * 1000)) * 1440) % 1440 : ((now + 8 * 3600_000) / 60_000) % 1440;
  const schedule: { minute: number; run: () => void }[] = [];
  const gateState = (dev: SimDevice, state: 'open' | 'closed') => {
    if (!up(dev)) return;
    publish(dev, 'gate', { ts: wireTs(), state }, 1);
    stats.gates++;
  };
  const gateNow = (m: number) => (GATE_TIMES.some(([a, st], i) => st === 'open' && m >= a && m < GATE_TIMES[i + 1][0]) ? 'open' : 'closed');
  const checkin = (dev: SimDevice, role: 'guard' | 'parent_volunteer', person: string) => {
    if (!up(dev)) return;
    // The post the terminal stands at (contract §7: a registry post, else the check-in is refused).
    publish(dev, 'checkin', { ts: wireTs(), role, post: dev.d.post ?? 'gatehouse', person }, 1);
    stats.checkins++;
  };
  for (const dev of all) {
    const jitter = rand(-8, 8); // schools do not all open at the same minute
    if (o.gates && dev.d.kind === 'gate')
      for (const [m, state] of GATE_TIMES) schedule.push({ minute: m + jitter, run: () => gateState(dev, state) });
    if (o.checkins && dev.d.kind === 'checkin_terminal') {
      // Parent volunteers (护学岗) stand at primary schools and kindergartens.
      const volunteers = dev.d.post !== 'gatehouse' && ['primary', 'kindergarten', 'nine_year'].includes(dev.s.school.type) ? randInt(1, 3) : 0;
      for (const m of POST_TIMES) {
        schedule.push({ minute: m + jitter, run: () => checkin(dev, 'guard', `保安${randInt(1, 6)}号`) });
        for (let v = 1; v <= volunteers; v++) schedule.push({ minute: m + jitter + rand(2, 15), run: () => checkin(dev, 'parent_volunteer', `家长志愿者${v}`) });
      }
    }
  }
  const passed = (m: number, from: number, to: number) => {
    const x = ((m % 1440) + 1440) % 1440;
    return from <= to ? x > from && x <= to : x > from || x <= to;
  };

  let lastMinute = simMinute(t0);
  let nextAlarm = t0 + (o.alarmEverySec > 0 ? expo(o.alarmEverySec) : Infinity);
  let nextAi = t0 + (o.aiEverySec > 0 ? expo(o.aiEverySec) : Infinity);
  let nextFlap = t0 + (o.flapEverySec > 0 ? expo(o.flapEverySec) : Infinity);
  let nextSummary = t0 + 60_000;

  // One timer for everything: cheap for thousands of devices and trivial to stop.
  const tick = setInterval(() => {
    const now = Date.now();
    for (const dev of all) {
      if (dev.downUntil && now >= dev.downUntil) comeBack(dev, now);
      if (now >= dev.nextHb) {
        if (up(dev)) heartbeat(dev);
        dev.nextHb = Math.max(dev.nextHb + dev.intervalMs * rand(0.97, 1.03), now); // small jitter keeps phases apart
      }
    }
    const minute = simMinute(now);
    for (const e of schedule) if (passed(e.minute, lastMinute, minute)) e.run();
    lastMinute = minute;
    for (; now >= nextAlarm; nextAlarm += expo(o.alarmEverySec)) alarm();
    for (; now >= nextAi; nextAi += expo(o.aiEverySec)) ai();
    for (; now >= nextFlap; nextFlap += expo(o.flapEverySec)) flap(now);
    if (now >= nextSummary) {
      nextSummary += 60_000;
      info(`stats  ${stats.connected}/${stats.devices} devices connected · heartbeats ${stats.heartbeats} · alarms ${stats.alarms} · ai ${stats.ai} · flaps ${stats.flaps} · gates ${stats.gates} · checkins ${stats.checkins} · feedback ${stats.feedback} · errors ${stats.errors}`);
    }
  }, TICK_MS);

  let stopping: Promise<void> | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const durationTimer = o.durationSec ? setTimeout(() => void stop(), o.durationSec * 1000) : undefined;

  function stop(): Promise<void> {
    stopping ??= (async () => {
      clearInterval(tick);
      clearTimeout(durationTimer);
      await Promise.all(all.map(async (dev) => {
        // Devices going away say so, as their last will would.
        if (dev.client.connected) publish(dev, 'availability', 'offline', 1, true);
        const timeout = new Promise<'timeout'>((r) => setTimeout(r, 5000, 'timeout').unref());
        if ((await Promise.race([dev.client.endAsync(), timeout])) === 'timeout') await dev.client.endAsync(true);
      }));
      info(`stop   sent heartbeats ${stats.heartbeats} · alarms ${stats.alarms} · ai ${stats.ai} · flaps ${stats.flaps} · gates ${stats.gates} · checkins ${stats.checkins} · feedback ${stats.feedback} · errors ${stats.errors}`);
      resolveDone();
    })();
    return stopping;
  }

  // Wait for the first connections, but do not hang on a broker that is not there: MQTT.js keeps retrying.
  let waitTimer: NodeJS.Timeout | undefined;
  const waited = await Promise.race([
    Promise.all(firstConnects).then(() => true),
    done.then(() => true), // stopped meanwhile (duration, signal)
    new Promise<false>((r) => (waitTimer = setTimeout(r, 10_000, false))),
  ]);
  clearTimeout(waitTimer);
  if (!stopping) log(`sim    ${stats.connected}/${all.length} devices of ${schools.length} schools connected to ${o.url}` +
    `${waited ? '' : ' (others keep retrying)'} · alarms every ~${o.alarmEverySec || '∞'} s · ai every ~${o.aiEverySec || '∞'} s · flaps every ~${o.flapEverySec || '∞'} s · heartbeat ×${o.heartbeatScale}`);
  return { stop, done, stats };
}

/** device → secret, from the credentials CSV (header `device,…,password,…`). */
export function readCredentialsCsv(file: string): Map<string, string> {
  const [header, ...rows] = readFileSync(file, 'utf8').trim().split(/\r?\n/);
  const cols = header.split(',');
  const di = cols.indexOf('device'), pi = cols.indexOf('password');
  if (di < 0 || pi < 0) throw new Error(`${file}: not a credentials CSV (needs the columns device and password)`);
  return new Map(rows.map((r) => r.split(',')).map((c) => [c[di], c[pi]]));
}

async function main() {
  const { values: v } = parseArgs({
    options: {
      url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
      registry: { type: 'string', default: 'config/county.json' },
      prefix: { type: 'string', default: 'campus/v1' },
      schools: { type: 'string' },
      'heartbeat-scale': { type: 'string', default: '1' },
      'alarm-every-sec': { type: 'string', default: '45' },
      'ai-every-sec': { type: 'string', default: '20' },
      'flap-every-sec': { type: 'string', default: '90' },
      'day-sec': { type: 'string', default: '0' },
      'duration-sec': { type: 'string' },
      gates: { type: 'boolean', default: false },
      checkins: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      credentials: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (v.help) {
    console.log(`usage: npm run simulate -- [--url mqtt://127.0.0.1:1883] [--registry config/county.json] [--prefix campus/v1]
  [--schools N] [--heartbeat-scale X] [--alarm-every-sec N] [--ai-every-sec N] [--flap-every-sec N]
  [--gates] [--checkins] [--day-sec N] [--duration-sec N] [--quiet]      (0 turns an "every" off)
  [--credentials FILE]   the CSV of POST /api/devices/credentials?format=csv (or npm run devices -- credentials):
                         each device logs in as itself (contract §6); without it, devices connect anonymously`);
    return;
  }
  const num = (name: string, s: string | undefined, positive = false): number | undefined => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isFinite(n) || n < 0 || (positive && n === 0)) {
      console.error(`--${name}: "${s}" is not a ${positive ? 'positive' : 'non-negative'} number`);
      process.exit(2);
    }
    return n;
  };
  let sim: Simulator;
  try {
    sim = await startSimulator({
      url: v.url, registry: v.registry, prefix: v.prefix,
      credentials: v.credentials ? readCredentialsCsv(v.credentials) : undefined,
      schools: num('schools', v.schools, true),
      heartbeatScale: num('heartbeat-scale', v['heartbeat-scale'], true),
      alarmEverySec: num('alarm-every-sec', v['alarm-every-sec']),
      aiEverySec: num('ai-every-sec', v['ai-every-sec']),
      flapEverySec: num('flap-every-sec', v['flap-every-sec']),
      daySec: num('day-sec', v['day-sec']),
      durationSec: num('duration-sec', v['duration-sec'], true),
      gates: v.gates, checkins: v.checkins, quiet: v.quiet,
    });
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  }
  const onSignal = () => void sim.stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  await sim.done;
  process.exit(0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
