/** Contract §6: an MQTT packet over 64 KiB is refused by the broker before it is buffered whole (the gateway process, measured from outside). */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { api, login, startGateway, type GatewayProc } from '../support/gateway.js';
import { connectDevice, mqttLoginFor } from '../support/mqtt.js';
import { waitFor } from '../support/wait.js';

let gw: GatewayProc;
before(async () => {
  gw = await startGateway();
});
after(async () => {
  await gw?.stop();
});

/** The gateway's peak resident memory so far (VmHWM), in MiB. */
const peakMiB = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${gw.proc.pid}/status`, 'utf8'))![1]) / 1024;

test('a 100 MB publish closes its connection at its header; the gateway does not buffer it and goes on', async () => {
  const creds = mqttLoginFor(gw.mqttUrl)!;
  const as = (id: string) => connectDevice(gw.mqttUrl, { clientId: id, username: id, password: creds.devices.get(id), reconnectPeriod: 0 });
  const big = await as('S001-AB01');
  const other = await as('S002-AB01');
  const before = peakMiB();
  const closed = new Promise<void>((resolve) => big.once('close', () => resolve()));
  big.publish('campus/v1/S001/S001-AB01/heartbeat', Buffer.alloc(100 * 1024 * 1024, 0x20), { qos: 0 });
  await closed;
  const grown = peakMiB() - before;
  assert.ok(grown < 30, `the gateway's peak memory grew by ${grown.toFixed(0)} MiB for a 100 MiB packet`);
  await waitFor('the log line', () => /mqtt packet over 64 KiB refused; connection closed/.test(gw.logs()));
  // Everyone else goes on.
  assert.equal(other.connected, true);
  await other.publishAsync('campus/v1/S002/S002-AB01/alarm', JSON.stringify({ id: 'after-big', ts: Date.now(), kind: 'panic' }), { qos: 1 });
  const token = await login(gw.url, 'admin', gw.adminPassword);
  const open = (await api(gw.url, token, 'GET', '/api/alarms?state=open')).body.alarms as { sourceId: string }[];
  assert.ok(open.some((a) => a.sourceId === 'after-big'));
  await other.endAsync();
  await big.endAsync(true);
});
