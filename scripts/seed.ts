/**
 * The demo's history (issue 10): 30 days of the scenario (`scripts/scenario.ts`) played through the
 * gateway's real inputs, so the 6 × 100% rates, their freshness and the month's daily verdicts mean
 * something the moment the demo is up. Nothing is written to the ledger behind the gateway's back:
 *
 * 1. HTTP, as an admin: each school's licensed guards (`PUT /api/schools/{id}/guards?at=`, dated
 *    45 days ago, when every licence on it was valid) and its perimeter and per-gate barrier
 *    inspections with a small generated PNG photo (`POST /api/inspections` with `at`, dated
 *    5–150 days ago);
 * 2. MQTT, each device logged in as itself (contract §6) with past `ts` values, QoS 1, in time
 *    order, a bounded number in flight: every check-in, gate opening and police uplink report of
 *    the last 30 days up to `untilMs` (of weekends and holidays before yesterday only the uplink
 *    reports: no verdict reads their gatehouse rounds), one test press per alarm button, and a
 *    fresh uplink report;
 * 3. HTTP, as an admin: the seeded test presses acknowledged and resolved, as the command center
 *    does after a test, so the wall screen does not open on 200 test alarms.
 * The canteens (`seed-canteen.ts`): the records of the last school days and the vendor's AI pushes
 * over HTTP before 2, the cameras' AI events and the canteen terminals' records in 2, and after 3 every case taken through the steps of
 * its plan due by now, so cases stand in every state.
 *
 * The gateway puts the past days' verdicts on record by itself once the late events stop
 * (targets module: a past day not on record is closed from its facts).
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { PolicyIndex } from '../gateway/policy.js';
import type { RegistryIndex } from '../gateway/registry.js';
import { GUARDS_RECORDED_DAYS_AGO, createScenario, hash, lastDays, type PlannedEvent, type Scenario } from './scenario.js';
import { png } from './png.js';
import { seedCanteen, type CanteenSeed } from './seed-canteen.js';

export { png };

export interface SeedOptions {
  /** http://host:port of the gateway. */
  base: string;
  /** An admin's token. */
  token: string;
  mqttUrl: string;
  prefix?: string;
  /** Each device's MQTT secret. */
  credentials: ReadonlyMap<string, string>;
  registry: RegistryIndex;
  policy: PolicyIndex;
  /** Days of history (default 30). */
  days?: number;
  /** History up to this instant (default: now); the simulator takes over from here. */
  untilMs?: number;
  /** The trustivs push key: the vendor schools' canteen AI history goes through `POST /api/push/trustivs`. */
  vendorKey?: string;
  /** QoS 1 messages in flight at once (default 400). */
  inFlight?: number;
  log?: (line: string) => void;
}

export interface SeedResult {
  untilMs: number;
  tookMs: number;
  http: number;
  published: number;
  byType: Record<string, number>;
  scenario: Scenario;
  canteen: CanteenSeed['result'];
}

const DAY_MS = 86_400_000;

export async function seedHistory(o: SeedOptions): Promise<SeedResult> {
  const t0 = Date.now();
  const untilMs = o.untilMs ?? t0;
  const prefix = o.prefix ?? 'campus/v1';
  const log = o.log ?? (() => {});
  const scenario = createScenario(o.registry, o.policy);
  const schools = [...o.registry.schools.keys()];
  let http = 0;

  const call = async (method: string, route: string, body: unknown): Promise<Record<string, unknown>> => {
    http++;
    const res = await fetch(o.base + route, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${o.token}` }, body: JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`seed: ${method} ${route}: ${res.status} ${text.slice(0, 300)}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
  const localIso = (ms: number) => new Date(ms + o.policy.offsetMs).toISOString().replace('Z', o.policy.policy.utcOffset);

  // 1. Records people make: guards and inspections.
  const recordedAt = localIso(untilMs - GUARDS_RECORDED_DAYS_AGO * DAY_MS);
  await pool(schools, 8, async (school) => {
    await call('PUT', `/api/schools/${school}/guards?at=${encodeURIComponent(recordedAt)}`, scenario.guards(school, untilMs));
    for (const i of scenario.inspections(school, untilMs)) {
      const photo = i.item === 'barrier' ? png(hash(`${school}|${i.gate}`)).toString('base64') : undefined;
      await call('POST', '/api/inspections', { school, item: i.item, gate: i.gate, result: i.result, note: i.note, at: localIso(i.atMs), ...(photo ? { photo } : {}) });
    }
  });
  const tHttp = Date.now();
  log(`seed   guards and inspections of ${schools.length} schools recorded (${http} requests, ${tHttp - t0} ms)`);

  // 1b. The canteens' records and the vendor platform's AI records (HTTP); the cameras' own AI events join the MQTT below.
  const canteen = seedCanteen({ base: o.base, token: o.token, vendorKey: o.vendorKey }, scenario.canteen, o.registry, o.policy, untilMs, o.days ?? 30, log);
  await canteen.http();
  const tCanteen = Date.now();

  // 2. What the devices said.
  const events: PlannedEvent[] = [...canteen.mqttEvents];
  // Weekends and holidays before yesterday keep only their uplink reports: no verdict reads their rounds (a lighter seed).
  const recent = o.policy.localDay(untilMs - DAY_MS);
  for (const day of lastDays(o.policy, untilMs, o.days ?? 30)) {
    const all = o.policy.isSchoolDay(day) || day >= recent;
    for (const school of schools) for (const e of scenario.dayEvents(school, day, untilMs)) if (e.atMs < untilMs && (all || e.type !== 'checkin')) events.push(e);
  }
  events.push(...scenario.testPresses(untilMs, schools));
  for (const school of schools)
    for (const d of o.registry.devices.values())
      if (d.school === school && d.kind === 'nvr') events.push({ atMs: untilMs - 1000, school, device: d.id, type: 'uplink', payload: { target: 'police', up: scenario.uplinkUp(school, untilMs, untilMs) } });
  events.sort((a, b) => a.atMs - b.atMs);

  const clients = new Map<string, MqttClient>();
  const deviceIds = [...new Set(events.map((e) => e.device))];
  await pool(deviceIds, 64, async (id) => {
    const client = await mqtt.connectAsync(o.mqttUrl, { clientId: id, username: id, password: o.credentials.get(id) ?? '', clean: true, reconnectPeriod: 1000, connectTimeout: 10_000 });
    clients.set(id, client);
  });
  const tConnect = Date.now();
  log(`seed   ${clients.size} devices connected (${tConnect - tCanteen} ms)`);

  const byType: Record<string, number> = {};
  const limit = o.inFlight ?? 400;
  let inFlight = 0;
  let failed: Error | undefined;
  let wake: (() => void) | undefined;
  for (const e of events) {
    while (inFlight >= limit) await new Promise<void>((r) => (wake = r));
    if (failed) throw failed;
    inFlight++;
    byType[e.type] = (byType[e.type] ?? 0) + 1;
    const client = clients.get(e.device)!;
    // A canteen record's time is its own (`at`, `takenAt`): its body has no `ts`.
    const body = e.type === 'record' ? e.payload : { ts: localIso(e.atMs), ...e.payload };
    client.publish(`${prefix}/${e.school}/${e.device}/${e.type}`, JSON.stringify(body), { qos: 1 }, (err) => {
      if (err) failed ??= err;
      inFlight--;
      const w = wake;
      wake = undefined;
      w?.();
    });
  }
  while (inFlight > 0) await new Promise<void>((r) => (wake = r));
  if (failed) throw failed;
  await Promise.all([...clients.values()].map((c) => c.endAsync()));
  const tPublish = Date.now();
  log(`seed   ${events.length} device messages of ${o.days ?? 30} days published and acknowledged (${tPublish - tConnect} ms, ${Math.round(events.length / ((tPublish - tConnect) / 1000))} msg/s)`);

  // 3. The test presses acknowledged and resolved by the command center.
  const tests = events.filter((e) => e.type === 'alarm').map((e) => `${e.device}|${String(e.payload.id)}`);
  const open = await fetch(`${o.base}/api/alarms?state=open&limit=1000`, { headers: { authorization: `Bearer ${o.token}` } }).then((r) => r.json() as Promise<{ alarms?: { id: string; device: string; test: boolean }[] } | { id: string; device: string; test: boolean }[]>);
  const list = Array.isArray(open) ? open : (open.alarms ?? []);
  const seededTests = list.filter((a) => a.test && tests.some((t) => t.startsWith(`${a.device}|`)));
  await pool(seededTests, 8, async (a) => {
    await call('POST', `/api/alarms/${encodeURIComponent(a.id)}/ack`, { note: '月度测试' });
    await call('POST', `/api/alarms/${encodeURIComponent(a.id)}/resolve`, { note: '月度测试，按键与联动正常' });
  });
  log(`seed   ${seededTests.length} test presses acknowledged and resolved (${Date.now() - tPublish} ms)`);

  // 4. The canteen cases handled so far: the steps of each one's plan due by now (stamped now: the API takes no past time for them).
  await canteen.cases();
  http += canteen.result.http;
  return { untilMs, tookMs: Date.now() - t0, http, published: events.length, byType, scenario, canteen: canteen.result };
}

/** Runs `work` over `items`, `n` at a time. */
async function pool<T>(items: readonly T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  }));
}
