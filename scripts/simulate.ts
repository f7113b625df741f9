/**
 * Device simulator for the demo county. It speaks only MQTT, as real devices do: one connection
 * per device, each logged in as itself, heartbeats spread evenly, one-key alarms, canteen
 * analytics, availability flaps, and it shows the alarm lamp feedback. For the 6 × 100% targets
 * it plays the county's day (`scripts/scenario.ts`) on the real clock in the county's local time:
 * gate openings in the open windows, check-ins at the gate posts in the peaks on school days,
 * guard rounds at the gatehouse round the clock, the NVRs' police uplink keepalives, test presses
 * of the alarm buttons, and the scenario's planned failures at fixed schools.
 * With `canteen` (the demo) it also runs the canteens over the gateway's HTTP API where people and
 * the vendor platform speak (`simulate-canteen.ts`): records, vendor pushes, the cases' handling;
 * one township's records come from their canteen terminals over MQTT. Each school's first canteen
 * terminal reads its school's case notifications and logs them.
 *
 *   npm run simulate -- --credentials devices.csv --gates --checkins
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { ConfigError } from '../gateway/config-error.js';
import { loadRegistry, type IndexedDevice, type RegistryIndex } from '../gateway/registry.js';
import type { RegistrySchool } from '../gateway/contract/registry.js';
import type { AiKind, AlarmKind, DeviceTopic } from '../gateway/contract/mqtt.js';
import { loadPolicy, type PolicyIndex } from '../gateway/policy.js';
import { FAILURES, createScenario, type PlannedEvent } from './scenario.js';
import { CANTEEN_FAULTS, TERMINAL_REGION, VENDOR_REGION } from './canteen-scenario.js';
import { startCanteenSim, type CanteenSim } from './simulate-canteen.js';
import { schoolLogins, type GatewayHttp } from './canteen-io.js';

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
  /** Mean seconds between random canteen analytics events (without `canteen`); 0 = none. */
  aiEverySec?: number;
  /**
   * The canteens per the scenario, through the gateway's HTTP API too (`simulate-canteen.ts`): records,
   * AI frames at realistic rates (the vendor's schools via its push key), the cases' handling.
   */
  canteen?: GatewayHttp;
  /** Mean seconds between availability flaps; 0 = none. */
  flapEverySec?: number;
  /** Gate controllers open and close per the scenario (the policy's open windows, school days). */
  gates?: boolean;
  /** Check-ins per the scenario: gate posts in the peaks on school days, gatehouse rounds round the clock. */
  checkins?: boolean;
  /** Policy file path, or an index already loaded (calendar, windows, utcOffset). Default config/policy.json. */
  policy?: string | PolicyIndex;
  /** Scenario events before this instant are not played (the demo seed sent them). Default: the start. */
  planFromMs?: number;
  /** Seconds between each NVR's police uplink keepalive; 0 = none. */
  uplinkEverySec?: number;
  /** Mean seconds between test presses (each button in turn); 0 = none. */
  testEverySec?: number;
  durationSec?: number;
  quiet?: boolean;
  log?: (line: string) => void;
  /** Each device's MQTT secret (contract §6): every device logs in as itself. Absent: anonymous (a broker without logins). */
  credentials?: ReadonlyMap<string, string>;
}

export interface SimulatorStats {
  schools: number; devices: number; /** devices connected */ connected: number;
  heartbeats: number; alarms: number; ai: number; flaps: number; gates: number; checkins: number; uplinks: number; tests: number; feedback: number; errors: number;
  /** Case notifications a canteen terminal received (`_gateway/{school}/canteen/case`), once per delivery id. */
  caseNotices: number;
  /** With `canteen`: records posted, vendor pushes, case steps taken, HTTP errors. */
  canteen?: CanteenSim['stats'];
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

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const o = {
    url: 'mqtt://127.0.0.1:1883', registry: 'config/county.json', prefix: 'campus/v1', heartbeatScale: 1,
    alarmEverySec: 45, aiEverySec: 20, flapEverySec: 90, uplinkEverySec: 180, testEverySec: 120, quiet: false,
    // An option passed as undefined keeps its default.
    ...(Object.fromEntries(Object.entries(options).filter(([, x]) => x !== undefined)) as SimulatorOptions),
  };
  const log = o.log ?? ((line: string) => console.log(`${clock()} ${line}`));
  const info = (line: string) => { if (!o.quiet) log(line); };
  const index = typeof o.registry === 'string' ? loadRegistry(o.registry) : o.registry;
  const chosen = index.registry.schools.slice(0, o.schools ?? undefined);
  const policy = typeof o.policy === 'object' ? o.policy : loadPolicy(o.policy ?? 'config/policy.json', index, { unknownSchools: 'ignore' });
  const scenario = createScenario(index, policy);
  const t0 = Date.now();
  const planFrom = o.planFromMs ?? t0;
  const stats: SimulatorStats = {
    schools: chosen.length, devices: 0, connected: 0,
    heartbeats: 0, alarms: 0, ai: 0, flaps: 0, gates: 0, checkins: 0, uplinks: 0, tests: 0, feedback: 0, errors: 0, caseNotices: 0,
  };
  const wireLocal = (ms: number) => new Date(ms + policy.offsetMs).toISOString().replace('Z', policy.policy.utcOffset);
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
  const caseTopic = (school: string) => `${o.prefix}/_gateway/${school}/canteen/case`;
  /** One canteen terminal per school reads its school's case notifications: its first. */
  const caseReaders = new Set<string>();
  for (const s of schools) {
    const first = s.devices.find((x) => x.d.kind === 'canteen_terminal');
    if (first) caseReaders.add(first.d.id);
  }
  const seenCases = new Set<string>();
  let lastError: string | undefined;

  const firstConnects = all.map((dev) => new Promise<void>((resolve) => {
    dev.client.on('connect', () => {
      stats.connected++;
      lastError = undefined;
      if (dev.d.kind === 'alarm_button') dev.client.subscribe(`${topic(dev.d, 'alarm')}/state`, { qos: 1 });
      // The school's first canteen terminal (the food-safety officer's) is told of its school's cases.
      if (caseReaders.has(dev.d.id)) dev.client.subscribe(caseTopic(dev.d.school), { qos: 1 });
      // Retained availability, re-sent on every connect: an embedded broker may have restarted empty.
      publish(dev, 'availability', dev.downUntil ? 'offline' : 'online', 1, true);
      // Tell the gateway where each gate stands now; later the scenario drives it.
      if (o.gates && dev.d.kind === 'gate') gateNow(dev, Date.now());
      resolve();
    });
    dev.client.on('close', () => { stats.connected = all.filter((x) => x.client.connected).length; });
    dev.client.on('error', (err) => {
      if (err.message !== lastError) log(`mqtt   ${dev.d.id} ${err.message}`); // once per distinct error, not per device and retry
      lastError = err.message;
    });
    dev.client.on('message', (t, buf) => (t === caseTopic(dev.d.school) ? onCase(dev, buf) : onFeedback(dev.s, t, buf)));
  }));

  function onCase(dev: SimDevice, buf: Buffer) {
    let n: { deliveryId?: unknown; id?: unknown; action?: unknown; state?: unknown; overdue?: unknown };
    try { n = JSON.parse(buf.toString('utf8')); } catch { return log(`case   ${dev.d.id} unreadable notification: ${buf.toString('utf8').slice(0, 80)}`); }
    // At least once: the same change may come again (a reconnect); dedupe by its delivery id.
    const key = String(n.deliveryId);
    if (seenCases.has(key)) return;
    seenCases.add(key);
    if (seenCases.size > 10_000) seenCases.delete(seenCases.values().next().value!);
    stats.caseNotices++;
    info(`case   ${dev.d.school} ${dev.d.id} case ${String(n.id)} ${String(n.action)} → ${String(n.state)}${n.overdue ? ' (overdue)' : ''}`);
  }

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

  // The scenario's day (gates, check-ins, uplinks) on the real clock, one local day at a time.
  const byId = new Map(all.map((dev) => [dev.d.id, dev]));
  const wanted = (e: PlannedEvent) => (e.type === 'gate' ? o.gates : e.type === 'checkin' ? o.checkins : e.type === 'uplink' ? o.uplinkEverySec > 0 : false);
  let planDay = '';
  let plan: PlannedEvent[] = [];
  let planAt = 0;
  const loadPlan = (now: number) => {
    planDay = policy.localDay(now);
    plan = schools.flatMap((s) => scenario.dayEvents(s.school.id, planDay, planFrom)).filter(wanted).sort((a, b) => a.atMs - b.atMs);
    planAt = 0;
    while (planAt < plan.length && plan[planAt].atMs < Math.max(planFrom, now)) planAt++;
  };
  const play = (e: PlannedEvent) => {
    const dev = byId.get(e.device);
    // Terminals and controllers store and forward: a planned event is sent even while the device "flaps" (QoS 1 waits for the link).
    if (!dev) return;
    publish(dev, e.type, { ts: wireLocal(e.atMs), ...e.payload }, 1);
    if (e.type === 'gate') stats.gates++;
    else if (e.type === 'checkin') stats.checkins++;
    else if (e.type === 'uplink') stats.uplinks++;
  };
  /** A gate's state now per today's plan, said on (re)connect; the gateway ignores a state it already has. */
  const gateNow = (dev: SimDevice, now: number) => {
    const last = scenario.dayEvents(dev.s.school.id, policy.localDay(now), planFrom).filter((e) => e.device === dev.d.id && e.atMs <= now).at(-1);
    publish(dev, 'gate', { ts: wireLocal(now), state: (last?.payload.state as string | undefined) ?? 'closed' }, 1);
    stats.gates++;
  };
  const nvrs = all.filter((dev) => dev.d.kind === 'nvr');
  const nextUplink = new Map(nvrs.map((dev) => [dev.d.id, t0 + Math.random() * o.uplinkEverySec * 1000]));
  const buttons = all.filter((dev) => dev.d.kind === 'alarm_button').sort((a, b) => (a.d.id < b.d.id ? -1 : 1));
  let nextTestButton = Math.floor(Math.random() * Math.max(1, buttons.length));
  let nextTest = t0 + (o.testEverySec > 0 ? expo(o.testEverySec) : Infinity);
  function testPress(now: number) {
    const dev = buttons[nextTestButton++ % buttons.length];
    if (!dev || !up(dev)) return;
    const id = `test-${now.toString(36)}-${++dev.seq}`;
    publish(dev, 'alarm', { id, ts: wireLocal(now), kind: 'panic', zone: dev.d.place, test: true }, 1);
    sentAt.set(`${dev.d.id}/${id}`, now);
    stats.tests++;
    info(`test   ${dev.s.school.id} ${dev.d.id} monthly test press id=${id}`);
  }
  loadPlan(t0);
  const canteenSim = o.canteen
    ? startCanteenSim({
        // The school's own steps by the school's own user (made on first use), the rest as the center.
        g: { schoolToken: schoolLogins(o.canteen.base, o.canteen.token), ...o.canteen }, canteen: scenario.canteen, registry: index, policy, schools: schools.map((s) => s.school.id), planFromMs: planFrom, log,
        publishAi: (e) => {
          const dev = byId.get(e.device);
          if (!dev) return;
          publish(dev, 'ai', { id: e.id, ts: wireLocal(e.atMs), kind: e.kind, confidence: e.confidence }, 1);
          stats.ai++;
          info(`ai     ${e.school} ${e.device} ${e.kind} ${e.confidence}`);
        },
        publishRecord: (r) => {
          const dev = byId.get(r.device!);
          if (!dev) return false;
          // Stored and forwarded like a check-in: sent even while the terminal "flaps" (QoS 1 waits for the link).
          publish(dev, 'record', r.body, 1);
          info(`record ${r.school} ${r.device} ${r.body.kind} ${r.body.id}`);
          return true;
        },
      })
    : undefined;
  stats.canteen = canteenSim?.stats;

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
    if (policy.localDay(now) !== planDay) loadPlan(now);
    while (planAt < plan.length && plan[planAt].atMs <= now) play(plan[planAt++]);
    if (o.uplinkEverySec > 0)
      for (const dev of nvrs) {
        if (now < nextUplink.get(dev.d.id)!) continue;
        nextUplink.set(dev.d.id, now + o.uplinkEverySec * 1000 * rand(0.9, 1.1));
        publish(dev, 'uplink', { ts: wireLocal(now), target: 'police', up: scenario.uplinkUp(dev.s.school.id, now, planFrom) }, 1);
        stats.uplinks++;
      }
    for (; now >= nextTest; nextTest += expo(o.testEverySec)) testPress(now);
    for (; now >= nextAlarm; nextAlarm += expo(o.alarmEverySec)) alarm();
    for (; now >= nextAi; nextAi += expo(o.aiEverySec)) ai();
    canteenSim?.tick(now);
    for (; now >= nextFlap; nextFlap += expo(o.flapEverySec)) flap(now);
    if (now >= nextSummary) {
      nextSummary += 60_000;
      info(`stats  ${stats.connected}/${stats.devices} devices connected · heartbeats ${stats.heartbeats} · alarms ${stats.alarms} · ai ${stats.ai} · flaps ${stats.flaps} · gates ${stats.gates} · checkins ${stats.checkins} · uplinks ${stats.uplinks} · tests ${stats.tests} · feedback ${stats.feedback} · errors ${stats.errors}` +
        ` · case notices ${stats.caseNotices}` +
        (stats.canteen ? ` · canteen records ${stats.canteen.records} (HTTP) + ${stats.canteen.terminalRecords} (terminals, MQTT), vendor pushes ${stats.canteen.vendorPushes}, case steps ${stats.canteen.caseSteps}, errors ${stats.canteen.errors}` : ''));
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
      info(`stop   sent heartbeats ${stats.heartbeats} · alarms ${stats.alarms} · ai ${stats.ai} · flaps ${stats.flaps} · gates ${stats.gates} · checkins ${stats.checkins} · uplinks ${stats.uplinks} · tests ${stats.tests} · feedback ${stats.feedback} · errors ${stats.errors}`);
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
    `${waited ? '' : ' (others keep retrying)'} · alarms every ~${o.alarmEverySec || '∞'} s · ai every ~${o.aiEverySec || '∞'} s · flaps every ~${o.flapEverySec || '∞'} s · heartbeat ×${o.heartbeatScale}` +
    ` · scenario: gates ${o.gates ? 'on' : 'off'}, check-ins ${o.checkins ? 'on' : 'off'}, uplinks every ${o.uplinkEverySec || '∞'} s, test presses every ~${o.testEverySec || '∞'} s` +
    (o.canteen ? ` · canteens per the scenario (records over HTTP, ${TERMINAL_REGION}'s by their canteen terminals over MQTT; cases over HTTP; ${VENDOR_REGION} AI via the trustivs push, the rest over MQTT)` : ''));
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
      policy: { type: 'string', default: 'config/policy.json' },
      'uplink-every-sec': { type: 'string', default: '180' },
      'test-every-sec': { type: 'string', default: '120' },
      'duration-sec': { type: 'string' },
      gates: { type: 'boolean', default: false },
      checkins: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      credentials: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (v.help) {
    console.log(`usage: npm run simulate -- [--url mqtt://127.0.0.1:1883] [--registry config/county.json] [--policy config/policy.json]
  [--prefix campus/v1] [--schools N] [--heartbeat-scale X] [--alarm-every-sec N] [--ai-every-sec N] [--flap-every-sec N]
  [--gates] [--checkins] [--uplink-every-sec N] [--test-every-sec N] [--duration-sec N] [--quiet]   (0 turns an "every" off)
  [--credentials FILE]   the CSV of POST /api/devices/credentials?format=csv (or npm run devices -- credentials):
                         each device logs in as itself (contract §6); without it, devices connect anonymously

The 6 × 100% targets' inputs follow the real clock in the policy's local time (utcOffset), school
days and windows from the policy (scripts/scenario.ts):
  --gates      each gate controller opens at the start of each open window and closes before its end (school days)
  --checkins   each gate post has 2-3 people (guard + parent volunteer or teacher, sometimes police or a
               teacher) in each peak on school days; a guard round at the gatehouse in every 2-hour slot,
               round the clock; every licensed guard reports on duty once per school day (person = licence id)
  uplinks      each NVR reports its police uplink every --uplink-every-sec (default 180 s; GB/T 28181 keepalive)
  tests        an alarm button (each in turn) makes a test press every ~--test-every-sec (default 120 s)
Planned failures, every day, at fixed schools:
  ${FAILURES.gateLeftOpen.school} closed_campus     gate "${FAILURES.gateLeftOpen.gate}" opened again 18:10 and left open until about 19:05
  ${FAILURES.shortPost.school} guard_posts       post ${FAILURES.shortPost.post} has only its guard in the ${FAILURES.shortPost.peak} peak
  ${FAILURES.lapsedLicence.school} security_guards   one of the guards it needs has a licence that lapsed (seeded by npm run demo)
  ${FAILURES.staleBarrier.school} hard_barriers     gate "${FAILURES.staleBarrier.gate}" barrier inspection ${FAILURES.staleBarrier.ageDays} days old (seeded by npm run demo)
  ${FAILURES.uplinkDown.school} video_networked   the NVR reports its police uplink down
Canteens (npm run demo: needs the gateway's HTTP API and a trustivs key; scripts/canteen-scenario.ts):
  records of every meal (${TERMINAL_REGION}'s schools by their canteen terminal over MQTT), AI events at realistic rates
  (${VENDOR_REGION}'s schools via the trustivs push), cases handled; each school's first canteen terminal logs its case notifications
  ${CANTEEN_FAULTS.underweight.school} a ${CANTEEN_FAULTS.underweight.grams} g sample at ${CANTEEN_FAULTS.underweight.meal}; ${CANTEEN_FAULTS.noAccompany.school} no leader at ${CANTEEN_FAULTS.noAccompany.meal}; ${CANTEEN_FAULTS.abnormalCheck.school} an abnormal morning check one school day in ${CANTEEN_FAULTS.abnormalCheck.everyDays}`);
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
      policy: v.policy,
      uplinkEverySec: num('uplink-every-sec', v['uplink-every-sec']),
      testEverySec: num('test-every-sec', v['test-every-sec']),
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
