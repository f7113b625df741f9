/**
 * Time series into a real database (VictoriaMetrics, which takes InfluxDB's /api/v2/write):
 * the points and their schema, and that nothing is lost or doubled when the database is down,
 * hangs, or refuses a point, or when the gateway dies during an outage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { REPO_ROOT, api, login, startGateway, type GatewayProc } from './support/gateway.js';
import { connectDevice, type MqttClient } from './support/mqtt.js';
import { waitFor } from './support/wait.js';
import { makeTempDir } from './support/procs.js';
import { exportSeries, startVictoria, type Victoria, type ExportedSeries } from './support/victoria.js';
import { loadRegistry } from '../gateway/registry.js';

const registry = loadRegistry(path.join(REPO_ROOT, 'config/county.json'));
const devices = [...registry.devices.values()];
const button = devices.find((d) => d.kind === 'alarm_button')!;
const kitchenCam = devices.find((d) => d.kind === 'camera' && d.zone === 'kitchen')!;
const gates = devices.filter((d) => d.kind === 'gate').slice(0, 40);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const FAST_EXPORT = {
  EXPORT_BATCH_SIZE: '100',
  EXPORT_MAX_BATCH_AGE_MS: '100',
  EXPORT_MIN_BACKOFF_MS: '200',
  EXPORT_MAX_BACKOFF_MS: '1000',
  INFLUX_TIMEOUT_MS: '1000',
};

async function withExport(fn: (gw: GatewayProc, vm: Victoria, device: MqttClient) => Promise<void>): Promise<void> {
  const vm = await startVictoria();
  const gw = await startGateway({ env: { ...FAST_EXPORT, INFLUX_URL: vm.url, INFLUX_TOKEN: 'test-token', INFLUX_ORG: 'bureau', INFLUX_BUCKET: 'campus' } });
  const device = await connectDevice(gw.mqttUrl, { reconnectPeriod: 200 });
  try {
    await fn(gw, vm, device);
  } finally {
    await device.endAsync(true);
    await gw.stop();
    await vm.stop();
  }
}

/** Heartbeats round-robin over 40 gates, a few ms apart, so every point has its own (series, ms). */
async function heartbeats(device: MqttClient, from: number, count: number, perSecond: number, during?: (i: number) => Promise<void>): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const g = gates[i % gates.length];
    await device.publishAsync(`campus/v1/${g.school}/${g.id}/heartbeat`, JSON.stringify({ ts: Date.now(), battery: i % 100 }), { qos: 1 });
    await during?.(i);
    await sleep(1000 / perSecond);
  }
}

const samples = (series: ExportedSeries[]) => series.reduce((n, s) => n + s.values.length, 0);

async function expectHeartbeats(vm: Victoria, expected: number, timeoutMs = 60_000): Promise<void> {
  const series = await exportSeries(vm.url, '{__name__="heartbeat_count",device_kind="gate"}', { until: (s) => samples(s) >= expected, timeoutMs });
  assert.equal(samples(series), expected, 'every heartbeat point landed, none twice');
  for (const s of series) assert.ok(s.values.every((v) => v === 1));
}

async function waitExportIdle(gw: GatewayProc, timeoutMs = 60_000): Promise<Record<string, any>> {
  let influx: Record<string, any> = {};
  return waitFor(() => `the outbox drained (last: ${JSON.stringify(influx)})`, async () => {
    influx = (await api(gw.url, '', 'GET', '/health')).body.influx;
    return influx.backlog === 0 && influx;
  }, { timeoutMs, intervalMs: 200 });
}

test('events become points with the documented measurements, tags, fields and timestamps', async () => {
  await withExport(async (gw, vm, device) => {
    const token = await login(gw.url, 'admin', gw.adminPassword);
    const topic = (d: typeof button, t: string) => `campus/v1/${d.school}/${d.id}/${t}`;
    await device.publishAsync(topic(button, 'alarm'), JSON.stringify({ id: 'p1', ts: Date.now(), kind: 'panic' }), { qos: 1 });
    const alarm = (await api(gw.url, token, 'GET', '/api/alarms?state=open&limit=1')).body.alarms[0];
    await sleep(50);
    await api(gw.url, token, 'POST', `/api/alarms/${alarm.id}/ack`, { note: 'ok' });
    await api(gw.url, token, 'POST', `/api/alarms/${alarm.id}/resolve`, {});
    await device.publishAsync(topic(kitchenCam, 'camera'), JSON.stringify({ ts: Date.now(), online: true, rttMs: 42 }), { qos: 1 });
    await device.publishAsync(topic(kitchenCam, 'ai'), JSON.stringify({ id: 'ai-1', ts: Date.now(), kind: 'no_hat', confidence: 0.87 }), { qos: 1 });
    await device.publishAsync(topic(gates[0], 'heartbeat'), JSON.stringify({ ts: Date.now(), battery: 64, rssi: -70 }), { qos: 1 });
    await device.publishAsync(topic(gates[0], 'gate'), JSON.stringify({ ts: Date.now(), state: 'open' }), { qos: 1 });

    const raisedMs = Date.parse(alarm.raisedAt);
    const school = registry.schools.get(button.school)!;
    const [count] = await exportSeries(vm.url, `alarm_count{device="${button.id}"}`);
    assert.deepEqual(count.metric, { __name__: 'alarm_count', school: school.id, region: school.region, device: button.id, kind: 'panic', test: 'false' });
    assert.deepEqual(count.timestamps, [raisedMs], 'the alarm point sits at its raise time');
    const [resolveS] = await exportSeries(vm.url, `alarm_resolve_s{device="${button.id}"}`);
    const ackS = (await exportSeries(vm.url, `alarm_ack_s{device="${button.id}"}`))[0];
    const full = (await api(gw.url, token, 'GET', `/api/alarms/${alarm.id}`)).body;
    assert.equal(ackS.values[0], (Date.parse(full.history[1].at) - raisedMs) / 1000, 'ack_s: seconds from raised to acknowledged');
    assert.equal(resolveS.values[0], (Date.parse(full.history[2].at) - raisedMs) / 1000);
    assert.deepEqual(resolveS.timestamps, [raisedMs]);

    const [rtt] = await exportSeries(vm.url, `camera_rtt_ms{device="${kitchenCam.id}"}`);
    assert.equal(rtt.metric.zone, 'kitchen');
    assert.deepEqual(rtt.values, [42]);
    const [conf] = await exportSeries(vm.url, `ai_confidence{device="${kitchenCam.id}"}`);
    assert.deepEqual([conf.metric.kind, conf.values[0]], ['no_hat', 0.87]);
    const [battery] = await exportSeries(vm.url, `heartbeat_battery{device="${gates[0].id}"}`);
    assert.deepEqual(battery.values, [64]);
    const [gate] = await exportSeries(vm.url, `gate_open{device="${gates[0].id}"}`);
    assert.deepEqual(gate.values, [1]);
    const online = await exportSeries(vm.url, `device_state_online{device="${kitchenCam.id}"}`);
    assert.deepEqual(online[0].values, [1], 'the camera coming online is a transition point');

    const health = await waitExportIdle(gw);
    assert.equal(health.enabled, true);
    assert.equal(health.lagging, false);
    assert.ok(health.exported >= 8);
    const metrics = await fetch(`${gw.url}/metrics`).then((r) => r.text());
    assert.match(metrics, /campus_gateway_export_points_total \d+/);
    assert.match(metrics, /campus_gateway_export_backlog_points 0/);
  });
});

test('the database stopped during a steady flow, then back: every point lands, none twice', async () => {
  await withExport(async (gw, vm, device) => {
    await heartbeats(device, 0, 300, 100, async (i) => {
      if (i === 80) await vm.stop();
      if (i === 220) await vm.restart();
    });
    await expectHeartbeats(vm, 300);
    const h = await waitExportIdle(gw);
    assert.equal(h.quarantined, 0);
  });
});

test('the database hangs (SIGSTOP) during the flow, then resumes: every point lands, none twice', async () => {
  await withExport(async (gw, vm, device) => {
    let health: Record<string, any> | undefined;
    await heartbeats(device, 0, 300, 100, async (i) => {
      if (i === 60) await vm.pause();
      if (i === 200) {
        health = (await api(gw.url, '', 'GET', '/health')).body;
        vm.resume();
      }
    });
    assert.equal(health?.status, 'ok', 'alarms are still taken while the database hangs');
    assert.ok(['sending', 'backoff'].includes(health?.influx.state), health?.influx.state);
    assert.ok(health?.influx.backlog > 0);
    assert.match(health?.influx.lastError ?? '', /timed out|timeout/i);
    await expectHeartbeats(vm, 300);
  });
});

test('the gateway killed during an outage and restarted: the backlog still lands', async () => {
  await withExport(async (gw, vm, device) => {
    await heartbeats(device, 0, 50, 100);
    await vm.stop();
    await heartbeats(device, 50, 150, 100);
    const before = (await api(gw.url, '', 'GET', '/health')).body.influx;
    assert.ok(before.backlog >= 150, `backlog ${before.backlog} kept on disk`);
    await gw.kill9();
    await gw.restart();
    await vm.restart();
    await expectHeartbeats(vm, 200);
  });
});

test('a point the database refuses is quarantined with its reason; the good points of its batch land', async () => {
  await withExport(async (gw, vm, device) => {
    await vm.stop();
    await heartbeats(device, 0, 40, 100);
    // A point InfluxDB would refuse (here: a line past the database's 256 KiB line limit), queued
    // as if by the gateway, between good ones in the same batch.
    const db = new Database(path.join(gw.dataDir, 'ledger.sqlite'));
    db.pragma('busy_timeout = 5000');
    db.prepare('INSERT INTO outbox (at, line) VALUES (?, ?)').run(Date.now(), `heartbeat,device=bad,blob=${'x'.repeat(300_000)} count=1i ${Date.now()}`);
    db.close();
    await heartbeats(device, 40, 40, 100);
    await vm.restart();
    await expectHeartbeats(vm, 80);
    const h = await waitExportIdle(gw);
    assert.equal(h.quarantined, 1);
    const q = new Database(path.join(gw.dataDir, 'ledger.sqlite'), { readonly: true });
    const rows = q.prepare('SELECT reason, length(line) AS len FROM outbox_quarantine').all() as { reason: string; len: number }[];
    q.close();
    assert.equal(rows.length, 1);
    assert.ok(rows[0].len > 300_000);
    assert.match(rows[0].reason, /^400: .*too long line/);
  });
});

test("each school's daily verdict per target lands as points at the day's local start (Grafana charts a rate over a term)", async () => {
  // A term around today, every day a school day, so the day three days ago is one whatever the date.
  const dir = await makeTempDir('export-targets-');
  const policy = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'config/policy.json'), 'utf8'));
  const local = (ms: number) => new Date(ms + 8 * 3_600_000).toISOString().slice(0, 10);
  policy.calendar = { terms: [{ name: 'test term', from: local(Date.now() - 40 * 86_400_000), to: local(Date.now() + 40 * 86_400_000) }], weekdays: [1, 2, 3, 4, 5, 6, 7], holidays: [], extraSchoolDays: [] };
  fs.writeFileSync(path.join(dir, 'policy.json'), JSON.stringify(policy));
  const vm = await startVictoria();
  const gw = await startGateway({ env: { ...FAST_EXPORT, POLICY: path.join(dir, 'policy.json'), INFLUX_URL: vm.url, INFLUX_TOKEN: 'test-token', INFLUX_ORG: 'bureau', INFLUX_BUCKET: 'campus' } });
  const device = await connectDevice(gw.mqttUrl);
  try {
    const day = local(Date.now() - 3 * 86_400_000);
    const terminal = devices.find((d) => d.kind === 'checkin_terminal' && d.post === 'gatehouse')!;
    await device.publishAsync(`campus/v1/${terminal.school}/${terminal.id}/checkin`, JSON.stringify({ ts: Date.parse(`${day}T09:00:00+08:00`), role: 'guard', post: 'gatehouse', person: 'LIC-1' }), { qos: 1 });
    // The day had facts and no verdicts on record: once its late events stop, it is put on record, and exported.
    const series = await exportSeries(vm.url, `{__name__=~"campus_target_(met|not_met|unknown)",school="${terminal.school}"}`, { until: (s) => s.length >= 18, timeoutMs: 60_000 });
    const dayStart = Date.parse(`${day}T00:00:00+08:00`);
    const targets = new Set(series.map((s) => s.metric.target));
    assert.deepEqual([...targets].sort(), ['closed_campus', 'guard_posts', 'hard_barriers', 'one_key_alarm', 'security_guards', 'video_networked']);
    for (const s of series) {
      assert.deepEqual(s.timestamps, [dayStart], `${s.metric.__name__} ${s.metric.target}: one point, at the day's local start`);
      assert.equal(s.metric.region, registry.schools.get(terminal.school)!.region);
    }
    // Exactly one of met / not_met / unknown is 1 for each target that day.
    for (const t of targets) assert.equal(series.filter((s) => s.metric.target === t).reduce((n, s) => n + s.values[0], 0), 1, t);
  } finally {
    await device.endAsync(true);
    await gw.stop();
    await vm.stop();
  }
});
