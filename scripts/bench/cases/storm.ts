/**
 * storm (issue 9): every device of the demo county (3,056; 2,970 before the canteen terminals, 2,792 before the contract §7 NVRs and check-in terminals) connecting at once — as after a
 * broker restart or a county-wide network outage — to the gateway's embedded broker, each logging
 * in with its own secret (a SHA-256 check per CONNECT), then all dropped and connecting again.
 * Baseline: the same clients connecting anonymously to a bare Mosquitto in the same run. Reports
 * the time until every client has its CONNACK.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { mqttLoginFor } from '../../../test/support/mqtt.js';
import { startGateway } from '../../../test/support/gateway.js';
import { cpuSeconds, readRegistry, type BenchCase, type Row } from '../lib.js';

async function storm(url: string, clients: { clientId: string; username?: string; password?: string }[]): Promise<{ ms: number; conns: MqttClient[] }> {
  const t0 = performance.now();
  const conns = await Promise.all(clients.map((c) => connectAsync(url, { ...c, reconnectPeriod: 0, connectTimeout: 60_000, clean: true })));
  return { ms: performance.now() - t0, conns };
}

const drop = (conns: MqttClient[]) => Promise.all(conns.map((c) => c.endAsync(true)));

export const stormCase: BenchCase = {
  name: 'storm',
  async run(ctx) {
    const devices = readRegistry().schools.flatMap((s) => s.devices.map((d) => d.id));
    ctx.log(`  storm: ${devices.length} devices connecting at once`);
    const bare = await storm(ctx.broker.url, devices.map((id) => ({ clientId: `${ctx.runId}-${id}` })));
    await drop(bare.conns);
    ctx.log(`    bare Mosquitto, anonymous: ${bare.ms.toFixed(0)} ms`);

    const gw = await startGateway({ env: { LOG_LEVEL: 'warn' }, startTimeoutMs: 120_000 });
    try {
      const login = mqttLoginFor(gw.mqttUrl)!;
      const withSecrets = devices.map((id) => ({ clientId: id, username: id, password: login.devices.get(id)! }));
      const pid = gw.proc.pid!;
      const cpu0 = cpuSeconds(pid);
      const first = await storm(gw.mqttUrl, withSecrets);
      ctx.log(`    gateway, each device with its secret: ${first.ms.toFixed(0)} ms`);
      await drop(first.conns);
      const again = await storm(gw.mqttUrl, withSecrets);
      const cpu = cpuSeconds(pid) - cpu0;
      ctx.log(`    again after all dropped: ${again.ms.toFixed(0)} ms (gateway CPU over both: ${cpu.toFixed(2)} s)`);
      await drop(again.conns);
      const rows: Row[] = [
        { case: 'storm', metric: `${devices.length} devices connect at once, each with its secret (vs anonymous to bare Mosquitto)`, unit: 'ms', baseline: bare.ms, gateway: first.ms, compare: 'ratio', target: '—', met: null },
        { case: 'storm', metric: 'the same, all dropped and reconnecting', unit: 'ms', baseline: bare.ms, gateway: again.ms, compare: 'ratio', target: '—', met: null },
      ];
      return { rows, details: { devices: devices.length, bareMs: bare.ms, firstMs: first.ms, againMs: again.ms, gatewayCpuSeconds: cpu } };
    } finally {
      await gw.stop();
    }
  },
};
