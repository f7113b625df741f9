/**
 * city (issue #14, decision 0010): 13 simulated county gateways — 13 MQTT clients, each logged in
 * to the city broker as its county (own password, ACL on its own subtree), publishing versioned
 * feed frames (`alarm` raised, seqs 1, 2, …) QoS 1 as a county's forwarder does — into one real
 * city gateway. The demo county's schools are split over the 13 counties (the city refuses a
 * school in two). Figures:
 *  - frames/s: all counties publish at once; the clock stops when the city API counts every frame
 *    stored. Baseline: the same number of frames to a bare MQTT subscriber on the same broker.
 *  - latency: one frame at a time from one county, publish → the alarm listed by
 *    `GET /api/city/counties` (polled every 5 ms; there is no city screen yet, so the API stands
 *    for it). Baseline: publish → a bare subscriber has it.
 * The counties' own forwarders (outbox → broker) are not in these figures: test/city covers them.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { startCityBroker } from '../../../test/support/city-broker.js';
import { login, startGateway } from '../../../test/support/gateway.js';
import { COUNTY_PATH, readRegistry, sleep, type BenchCase, type Row } from '../lib.js';

const COUNTIES = Array.from({ length: 13 }, (_, i) => `c${String(i + 1).padStart(2, '0')}`);

const frame = (county: string, seq: number, school: string, id: string) =>
  JSON.stringify({ v: 1, county, seq, at: Date.now(), type: 'alarm', data: { id, school, state: 'raised', sourceId: id, kind: 'panic' } });

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

export const cityCase: BenchCase = {
  name: 'city',
  async run(ctx) {
    const perCounty = ctx.mode.full ? 2000 : 200;
    const latencySamples = ctx.mode.full ? 200 : 40;
    const demo = readRegistry(COUNTY_PATH);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-city-'));
    const schoolsOf = new Map<string, string[]>();
    const countiesDoc = COUNTIES.map((id, k) => {
      const schools = demo.schools.filter((_, i) => i % COUNTIES.length === k);
      schoolsOf.set(id, schools.map((s) => s.id));
      const townships = (demo.county as { townships?: { name: string }[] }).townships?.filter((t) => schools.some((s) => (s as { region?: string }).region === t.name));
      const file = path.join(dir, `${id}.json`);
      writeFileSync(file, JSON.stringify({ ...demo, county: { ...demo.county, name: id, ...(townships ? { townships } : {}) }, schools }));
      return { id, name: id, registry: file };
    });
    const countiesFile = path.join(dir, 'counties.json');
    writeFileSync(countiesFile, JSON.stringify({ counties: countiesDoc }));
    const city = await startCityBroker(COUNTIES);
    const cityPw = path.join(dir, 'city.password');
    writeFileSync(cityPw, `${city.city.password}\n`, { mode: 0o600 });
    const clients: MqttClient[] = [];
    try {
      for (const id of COUNTIES) {
        const c = city.counties.get(id)!;
        clients.push(await mqtt.connectAsync(city.broker.url, { clientId: `bench-county-${id}`, username: c.username, password: c.password }));
      }
      const burst = (tag: string, seq0: number) =>
        Promise.all(COUNTIES.map(async (id, k) => {
          const school = schoolsOf.get(id)![0];
          for (let i = 0; i < perCounty; i++) clients[k].publish(`city/v1/${id}/feed`, frame(id, seq0 + i, school, `${tag}-${id}-${i}`), { qos: 1 });
        }));
      const total = perCounty * COUNTIES.length;

      // Baseline: a bare subscriber (the city's login) on the same broker.
      const bare = await mqtt.connectAsync(city.broker.url, { clientId: 'bench-bare-city', username: city.city.username, password: city.city.password });
      await bare.subscribeAsync('city/v1/+/feed', { qos: 1 });
      let got = 0;
      let lastAt = 0;
      bare.on('message', () => {
        got++;
        lastAt = performance.now();
      });
      let t0 = performance.now();
      await burst('bare', 1_000_000);
      while (got < total) await sleep(5);
      const bareRate = total / ((lastAt - t0) / 1000);
      const bareLat: number[] = [];
      for (let i = 0; i < latencySamples; i++) {
        const want = got + 1;
        const t = performance.now();
        clients[0].publish(`city/v1/${COUNTIES[0]}/feed`, frame(COUNTIES[0], 2_000_000 + i, schoolsOf.get(COUNTIES[0])![0], `bare-lat-${i}`), { qos: 1 });
        while (got < want) await sleep(0);
        bareLat.push(performance.now() - t);
      }
      await bare.endAsync();
      ctx.log(`    bare subscriber: ${bareRate.toFixed(0)} frames/s; latency p50 ${pct(bareLat, 50).toFixed(1)} ms`);

      const gw = await startGateway({
        env: { LOG_LEVEL: 'warn', CITY_COUNTIES_FILE: countiesFile, CITY_INGEST_MQTT_URL: city.broker.url, CITY_INGEST_USERNAME: city.city.username, CITY_INGEST_PASSWORD_FILE: cityPw },
        startTimeoutMs: 120_000,
      });
      try {
        const token = await login(gw.url, 'admin', gw.adminPassword);
        const counties = async () => ((await (await fetch(`${gw.url}/api/city/counties`, { headers: { authorization: `Bearer ${token}` } })).json()) as { counties: { id: string; frames: number; alarms: { list: { sourceId?: string }[] } }[] }).counties;
        const stored = async () => (await counties()).reduce((n, c) => n + c.frames, 0);
        t0 = performance.now();
        await burst('gw', 1);
        let n = 0;
        const deadline = Date.now() + 600_000;
        while ((n = await stored()) < total && Date.now() < deadline) await sleep(50);
        const gwRate = n / ((performance.now() - t0) / 1000);
        const gwLat: number[] = [];
        for (let i = 0; i < latencySamples; i++) {
          const id = `gw-lat-${i}`;
          const t = performance.now();
          clients[0].publish(`city/v1/${COUNTIES[0]}/feed`, frame(COUNTIES[0], perCounty + 1 + i, schoolsOf.get(COUNTIES[0])![0], id), { qos: 1 });
          for (;;) {
            const c0 = (await counties()).find((c) => c.id === COUNTIES[0])!;
            if (c0.alarms.list.some((a) => a.sourceId === id)) break;
            await sleep(5);
          }
          gwLat.push(performance.now() - t);
        }
        ctx.log(`    city gateway: ${gwRate.toFixed(0)} frames/s (${n} of ${total} stored); latency p50 ${pct(gwLat, 50).toFixed(1)} ms, p99 ${pct(gwLat, 99).toFixed(1)} ms`);
        const rows: Row[] = [
          { case: 'city', metric: `13 simulated counties → one city gateway: frames stored per second (vs a bare subscriber)`, unit: 'frames/s', baseline: bareRate, gateway: gwRate, compare: 'ratio', target: '—', met: null },
          { case: 'city', metric: 'county frame published → alarm in GET /api/city/counties, p50 (vs bare subscriber)', unit: 'ms', baseline: pct(bareLat, 50), gateway: pct(gwLat, 50), compare: 'diff', target: '—', met: null },
          { case: 'city', metric: 'the same, p99', unit: 'ms', baseline: pct(bareLat, 99), gateway: pct(gwLat, 99), compare: 'diff', target: '—', met: null, note: 'API polled every 5 ms: up to ~5 ms of the figure is the polling' },
        ];
        return { rows, details: { counties: COUNTIES.length, perCounty, total, stored: n, bareRate, gwRate, bareLatencyMs: bareLat, gatewayLatencyMs: gwLat } };
      } finally {
        await gw.stop();
      }
    } finally {
      for (const c of clients) await c.endAsync().catch(() => undefined);
      await city.broker.stop();
    }
  },
};
