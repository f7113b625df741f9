/**
 * The modules' projections, in process: the real gateway built by `buildGateway` (real SQLite
 * store, real embedded broker for the buttons' feedback), with domain events handed straight to
 * the dispatcher, as the ONVIF watcher and vendor pushes hand theirs. No MQTT round trip for the
 * input, so each rule is checked fast and exactly; restarts reopen the same data directory.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alarm, FeedFrame } from '../../gateway/contract/api.js';
import type { DomainEvent } from '../../gateway/core/events.js';
import type { AlarmsModule } from '../../gateway/modules/alarms/index.js';
import type { BatteryModule } from '../../gateway/modules/battery/index.js';
import type { DevicesModule } from '../../gateway/modules/devices/index.js';
import { buildInProcess, type InProcessGateway } from '../routes/harness.js';
import { collect, connectDevice } from '../support/mqtt.js';
import { makeTempDir } from '../support/procs.js';
import { waitFor } from '../support/wait.js';

const open: InProcessGateway[] = [];
after(async () => {
  for (const g of open) await g.close().catch(() => undefined);
});

async function gateway(env: Record<string, string> = {}): Promise<InProcessGateway> {
  const g = await buildInProcess(env);
  open.push(g);
  return g;
}

const school = 'S001';
const button = 'S001-AB01';
const camera = 'S001-CAM01';

function event(type: string, device: string, data: unknown, extra: Partial<DomainEvent> = {}): DomainEvent {
  const now = Date.now();
  return { type, school, device, atMs: now, receivedAtMs: now, data, ...extra } as DomainEvent;
}

/** Submits like a device input and resolves once it is durable. */
function input(g: InProcessGateway, e: DomainEvent): Promise<void> {
  return new Promise((resolve, reject) => g.services.dispatcher.submit(e, (err) => (err ? reject(err) : resolve())));
}

async function frames(g: InProcessGateway, type: string): Promise<FeedFrame[]> {
  return ((await g.services.store.feedSince(0, 100_000)) ?? []).filter((f) => f.type === type);
}

test('alarms: a press raises one alarm and tells its button; a redelivery is told again, never a second alarm', async () => {
  const g = await gateway();
  const alarms = g.services.module<AlarmsModule>('alarms');
  const device = await connectDevice(g.mqttUrl);
  const feedback = collect(device, `campus/v1/${school}/${button}/alarm/state`);
  await feedback.ready;
  const press = { id: 'p-1', ts: Date.now(), kind: 'panic' };
  await input(g, event('alarm', button, press, { sourceId: 'p-1' }));
  await input(g, event('alarm', button, press, { sourceId: 'p-1' }));
  assert.equal(alarms.open.size, 1);
  const [a] = alarms.open.values();
  assert.equal(a.state, 'raised');
  assert.deepEqual(await g.services.store.get('alarms', a.id), a, 'the projection is what the store holds');
  await waitFor('two feedback messages', () => feedback.messages.length >= 2);
  assert.deepEqual(feedback.messages.map((m) => JSON.parse(m.payload.toString()).state), ['received', 'received']);
  feedback.stop();
  await device.endAsync();
});

test('alarms: an operator step is durable before it is answered; an illegal one changes nothing', async () => {
  const g = await gateway();
  const alarms = g.services.module<AlarmsModule>('alarms');
  await input(g, event('alarm', button, { id: 'p-2', ts: Date.now(), kind: 'fire' }, { sourceId: 'p-2' }));
  const [a] = alarms.open.values();
  const acked = await alarms.act(a.id, 'ack', 'op-1', '到场核实');
  assert.equal(acked.state, 'acknowledged');
  assert.equal((await g.services.store.get<Alarm>('alarms', a.id))!.state, 'acknowledged');
  const seq = g.services.store.lastFeedSeq();
  await assert.rejects(alarms.act(a.id, 'ack', 'op-1'), /cannot ack an alarm that is acknowledged/);
  assert.equal(g.services.store.lastFeedSeq(), seq, 'nothing was written for the refused step');
  const resolved = await alarms.act(a.id, 'resolve', 'op-1');
  assert.equal(resolved.state, 'resolved');
  assert.equal(alarms.open.size, 0);
  await assert.rejects(alarms.act('no-such-id', 'ack', 'op-1'), /no alarm with id "no-such-id"/);
});

test('alarms: escalation is never early, and a restart re-arms it (one already overdue fires at once)', async () => {
  const dataDir = await makeTempDir('proj-restart-');
  const g1 = await gateway({ DATA_DIR: dataDir, ACK_TIMEOUT_SEC: '1', GATEWAY_ADMIN_PASSWORD: 'restart-pw-1' });
  await input(g1, event('alarm', button, { id: 'p-3', ts: Date.now(), kind: 'intrusion' }, { sourceId: 'p-3' }));
  const escalated = await waitFor('the escalation', async () => (await frames(g1, 'alarm')).map((f) => f.data as Alarm).find((a) => a.escalated));
  assert.ok(Date.parse(escalated.escalatedAt!) - Date.parse(escalated.raisedAt) >= 1000, 'escalated no earlier than ACK_TIMEOUT_SEC');
  // A second alarm left unacknowledged while the gateway is down.
  await input(g1, event('alarm', button, { id: 'p-4', ts: Date.now(), kind: 'panic' }, { sourceId: 'p-4' }));
  await g1.close();
  await new Promise((r) => setTimeout(r, 1200)); // the gateway is down past p-4's deadline (the point of this test)
  const g2 = await gateway({ DATA_DIR: dataDir, ACK_TIMEOUT_SEC: '1', GATEWAY_ADMIN_PASSWORD: 'restart-pw-1' });
  const alarms = g2.services.module<AlarmsModule>('alarms');
  assert.equal(alarms.open.size, 2, 'open alarms restored from the store');
  const p4 = await waitFor('the overdue escalation after restart', () => [...alarms.open.values()].find((a) => a.sourceId === 'p-4' && a.escalated));
  assert.ok(Date.parse(p4.escalatedAt!) - Date.parse(p4.raisedAt) >= 1000);
  assert.equal([...alarms.open.values()].find((a) => a.sourceId === 'p-3')!.escalatedAt, escalated.escalatedAt, 'escalated once, not again');
});

test('devices: a camera reported down is offline at once with a maintenance alarm; back after two good reports', async () => {
  const g = await gateway();
  const devices = g.services.module<DevicesModule>('devices');
  const report = (online: boolean) => input(g, event('camera', camera, { ts: Date.now(), online, ...(online ? {} : { error: 'no signal' }) }));
  await report(true);
  assert.equal(devices.records.get(camera)!.online, true);
  await report(false);
  assert.equal(devices.records.get(camera)!.online, false);
  assert.equal(devices.maintenance.get(camera)?.reason, 'reported_down');
  await report(true);
  assert.equal(devices.records.get(camera)!.online, false, 'one good report is not enough (hysteresis)');
  await report(true);
  assert.equal(devices.records.get(camera)!.online, true);
  assert.equal(devices.maintenance.has(camera), false);
  const reasons = (await frames(g, 'device')).filter((f) => (f.data as { id: string }).id === camera).map((f) => (f.data as { reason: string }).reason);
  assert.deepEqual(reasons, ['first_seen', 'reported_down', 'heartbeat_resumed']);
});

test('battery: a device below 20 % is listed once until it reports 30 % again, across a restart', async () => {
  const dataDir = await makeTempDir('proj-battery-');
  const g1 = await gateway({ DATA_DIR: dataDir, GATEWAY_ADMIN_PASSWORD: 'restart-pw-2' });
  const hb = (g: InProcessGateway, battery: number) => input(g, event('heartbeat', button, { ts: Date.now(), battery }));
  await hb(g1, 25);
  assert.equal(g1.services.module<BatteryModule>('battery').low.size, 0);
  await hb(g1, 19);
  await hb(g1, 18);
  await hb(g1, 21); // wobbling around the threshold: still one entry, no new frame
  const listed = await g1.call('GET', '/api/devices/low-battery', { token: g1.tokens.viewer });
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.body.devices.map((d: { device: string; battery: number }) => [d.device, d.battery]), [[button, 21]]);
  assert.equal((await frames(g1, 'battery')).length, 1);
  await g1.close();
  const g2 = await gateway({ DATA_DIR: dataDir, GATEWAY_ADMIN_PASSWORD: 'restart-pw-2' });
  assert.deepEqual([...g2.services.module<BatteryModule>('battery').low.keys()], [button], 'still listed after a restart');
  await hb(g2, 30);
  assert.equal(g2.services.module<BatteryModule>('battery').low.size, 0);
  assert.deepEqual((await frames(g2, 'battery')).map((f) => (f.data as { low: boolean }).low), [true, false]);
  assert.equal((await g2.call('GET', '/api/devices/low-battery')).status, 401);
});

test('every module names its own live-feed frame types and tables: no two modules share one', async () => {
  const g = await gateway();
  const frames = new Map<string, string>();
  const tables = new Map<string, string>();
  for (const m of g.services.modules) {
    for (const f of m.frames ?? []) {
      assert.equal(frames.get(f), undefined, `frame "${f}" is claimed by ${frames.get(f)} and ${m.name}`);
      frames.set(f, m.name);
    }
    for (const t of m.tables ?? []) {
      assert.equal(tables.get(t.name), undefined, `table "${t.name}" is claimed by ${tables.get(t.name)} and ${m.name}`);
      tables.set(t.name, m.name);
    }
  }
  assert.ok(['alarm', 'device', 'camera', 'maintenance', 'battery'].every((f) => frames.has(f)));
});
