/**
 * A quick same-gateway check of the ingest window (decision 0008), outside the bench: a fresh
 * Mosquitto and gateway (no screens, no export), one device publishing N QoS 1 alarms as fast as
 * it can, the time until the gateway accepted all of them, and how many commits that took.
 * `W=1 N=3000 node --import tsx scripts/bench/drain-pair.ts` (W: MQTT_INGEST_WINDOW, V: 4 or 5,
 * S: live-feed screens to connect (default 0; the bench case has 20), PROF=<dir>: CPU-profile the
 * gateway). Run it back to back with W=1 and W=100, or from two checkouts to compare builds.
 */
import path from 'node:path';
import { login, startGateway, REPO_ROOT } from '../../test/support/gateway.js';
import { cpuSeconds, openCountingScreens } from './lib.js';
import { startMosquitto } from '../../test/support/mosquitto.js';
import { connectDevice } from '../../test/support/mqtt.js';
import { loadRegistry } from '../../gateway/registry.js';
const registry = loadRegistry(path.join(REPO_ROOT, 'config/county.json'));
const buttons = [...registry.devices.values()].filter((d) => d.kind === 'alarm_button');
const N = Number(process.env.N ?? 2000);
const broker = await startMosquitto();
const gw = await startGateway({ mqttUrl: broker.url, env: { MQTT_CLIENT_ID: `gw-${Date.now()}`, LEDGER_SYNC: 'full', ACK_TIMEOUT_SEC: '3600', LOG_LEVEL: 'warn', MQTT_INGEST_WINDOW: process.env.W ?? '100', MQTT_PROTOCOL_VERSION: process.env.V ?? '4', ...(process.env.PROF ? { NODE_OPTIONS: '--import ' + REPO_ROOT + '/scripts/bench/cpu-prof.mjs', BENCH_CPU_PROF_DIR: process.env.PROF } : {}) } });
const S = Number(process.env.S ?? 0);
const screens = S > 0 ? await openCountingScreens(gw.url, await login(gw.url, 'admin', gw.adminPassword), S) : undefined;
const dev = await connectDevice(broker.url);
const metric = async (re: RegExp) => { const t = await (await fetch(`${gw.url}/metrics`)).text(); const m = re.exec(t); return m ? Number(m[1]) : 0; };
const accepted = () => metric(/^campus_gateway_messages_accepted_total\{type="alarm"\}\s+(\S+)/m);
const commits = () => metric(/^campus_gateway_ledger_commit_seconds_count\s+(\S+)/m);
// Every button seen once first (as in the bench case), so the burst pays no first-sight work, nor the
// gateway's lazy start-up (route compilation): a profile's burst is then the last run of activity.
for (const [i, b] of buttons.entries()) await dev.publishAsync(`campus/v1/${b.school}/${b.id}/alarm`, JSON.stringify({ id: `w${Date.now()}-${i}`, ts: Date.now(), kind: 'panic' }), { qos: 1 });
while ((await accepted()) < buttons.length) await new Promise((r) => setTimeout(r, 100));
if (screens) while (screens.alarmAt(buttons.length) === undefined) await new Promise((r) => setTimeout(r, 20));
await new Promise((r) => setTimeout(r, 1500));
const a0 = await accepted();
const c0 = await commits();
const cpu0 = cpuSeconds(gw.proc.pid!);
const t0 = performance.now();
const ps = [];
for (let i = 0; i < N; i++) { const b = buttons[i % buttons.length]; ps.push(dev.publishAsync(`campus/v1/${b.school}/${b.id}/alarm`, JSON.stringify({ id: `d${t0}-${i}`, ts: Date.now(), kind: 'panic' }), { qos: 1 })); }
await Promise.all(ps);
const tp = performance.now() - t0;
// Polled every 100 ms (a scrape costs the gateway a few ms); with screens the figure is their own arrival time.
while ((await accepted()) < a0 + N && performance.now() - t0 < 120000) await new Promise((r) => setTimeout(r, 100));
const ta = performance.now() - t0;
// With screens: done when every screen has had an `alarm` frame of every alarm.
if (screens) while (screens.alarmAt(a0 + N) === undefined && performance.now() - t0 < 120000) await new Promise((r) => setTimeout(r, 20));
const t = screens ? screens.alarmAt(a0 + N)! - t0 : ta;
const c = (await commits()) - c0;
const cpu = cpuSeconds(gw.proc.pid!) - cpu0;
console.log(`W=${process.env.W ?? 100} V=${process.env.V ?? 4} N=${N}: ${(await accepted()) - a0} in ${t.toFixed(0)} ms = ${(N / t * 1000).toFixed(0)}/s; published ${tp.toFixed(0)} ms; committed by ${ta.toFixed(0)} ms; S=${S}; commits ${c} (${(N / c).toFixed(1)}/commit); gateway CPU ${cpu.toFixed(2)} s = ${((cpu / N) * 1000).toFixed(2)} ms/alarm`);
await screens?.close(); await dev.endAsync(); await gw.stop(); await broker.stop();
process.exit(0);
