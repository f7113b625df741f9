/**
 * Issue #13: a heartbeat costs no ledger row of its own. It is PUBACKed, the device is online with
 * its last-seen time, the time stays across a restart (the devices table, saved every few seconds
 * and at stop) — and the ledger's event count does not grow with it, while an alarm's does.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildInProcess, type InProcessGateway } from '../routes/harness.js';
import { connectDevice, type MqttClient } from '../support/mqtt.js';
import { makeTempDir } from '../support/procs.js';
import { waitFor } from '../support/wait.js';

const BUTTON = 'S001-AB01';
const gateways: InProcessGateway[] = [];
let device: MqttClient | undefined;
after(async () => {
  await device?.endAsync(true).catch(() => undefined);
  for (const g of gateways) await g.close().catch(() => undefined);
});

test('heartbeats are acknowledged and keep the device online without a ledger row each; an alarm still is one', async () => {
  const env = { DATA_DIR: await makeTempDir('heartbeat-ledger-'), GATEWAY_ADMIN_PASSWORD: 'heartbeat-ledger-pw' };
  const g = await buildInProcess(env);
  gateways.push(g);
  device = await connectDevice(g.mqttUrl);
  const events = async () => (await g.services.store.stats()).events;
  const before = await events();

  let last = 0;
  for (let i = 0; i < 200; i++) {
    last = Date.now();
    // Resolves on PUBACK.
    await device.publishAsync(`campus/v1/S001/${BUTTON}/heartbeat`, JSON.stringify({ ts: last, battery: 90 }), { qos: 1 });
  }
  const seen = await waitFor('the button online', async () => {
    const res = await g.call('GET', `/api/devices?school=S001&kind=alarm_button`, { token: g.tokens.viewer });
    const d = res.body.devices.find((x: { id: string }) => x.id === BUTTON);
    return d?.online && Date.parse(d.lastSeen) >= last - 1000 ? d : undefined;
  });
  assert.equal(seen.status, 'online');
  assert.equal(await events(), before, '200 heartbeats, no event row');

  await device.publishAsync(`campus/v1/S001/${BUTTON}/alarm`, JSON.stringify({ id: 'hb-1', ts: Date.now(), kind: 'panic' }), { qos: 1 });
  assert.equal(await events(), before + 1, 'the alarm is in the ledger when its PUBACK comes');

  // The last-seen time is the device's state, kept across a restart.
  await device.endAsync(true);
  device = undefined;
  await g.close();
  const again = await buildInProcess(env);
  gateways.push(again);
  const res = await again.call('GET', `/api/devices?school=S001&kind=alarm_button`, { token: again.tokens.viewer });
  const d = res.body.devices.find((x: { id: string }) => x.id === BUTTON);
  assert.ok(Date.parse(d.lastSeen) >= last - 1000, `last seen ${d.lastSeen} is the last heartbeat's time`);
});
