/**
 * Case 3, restart recovery. A ledger with 1,000,000 events (short mode 100,000) is built with the
 * gateway's own ledger code: heartbeats of the registry's devices over the last days, one alarm per
 * thousand events (all but the last 20 resolved, with their feed frames), the device projections.
 * Then: time from spawning the gateway on that data dir until GET /health answers 200 and a live
 * screen has its first snapshot. Baseline: the same on an empty ledger (the cost of starting a
 * process at all). The token is made by a first, untimed start, so login (scrypt) is not timed;
 * WS_RESUME_GRACE_MS=0 so the snapshot is sent at once instead of after the 150 ms grace.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Alarm } from '../../../gateway/contract/api.js';
import { applyAction, raiseAlarm } from '../../../gateway/modules/alarms/lifecycle.js';
import { ALARMS_TABLE } from '../../../gateway/modules/alarms/index.js';
import { DEVICE_TABLES } from '../../../gateway/modules/devices/index.js';
import { SqliteStore } from '../../../gateway/store/sqlite-store.js';
import { emptyUnit, type Unit } from '../../../gateway/store/store.js';
import { REPO_ROOT } from '../../../test/support/gateway.js';
import { freePort } from '../../../test/support/ports.js';
import { isRunning, makeTempDir, stopChild, track } from '../../../test/support/procs.js';
import { openLive } from '../../../test/support/ws.js';
import { benchGateway, now, readRegistry, sleep, type BenchCase, type Ctx } from '../lib.js';

const TX = 10_000;
const OPEN_ALARMS = 20;

/** Fills `dataDir` with `events` events through the gateway's own store (sync normal while building). */
async function buildLedger(dataDir: string, events: number): Promise<{ alarms: number; openAlarms: number }> {
  const reg = readRegistry();
  const devices = reg.schools.flatMap((s) => s.devices.map((d) => ({ ...d, school: s }))).filter(Boolean);
  const buttons = devices.filter((d) => d.kind === 'alarm_button');
  const ledger = new SqliteStore({ dataDir, sync: 'normal' });
  await ledger.open([ALARMS_TABLE, ...DEVICE_TABLES]);
  const saveAlarm = (u: Unit, a: Alarm, at: number) => {
    u.rows.push({ table: 'alarms', op: 'put', row: { id: a.id, device: a.device, source_id: a.sourceId, school: a.school, state: a.state, raised_at: Date.parse(a.raisedAt), doc: a } });
    u.feed.push({ type: 'alarm', data: a, at });
  };
  const end = Date.now() - 60_000;
  const start = end - 7 * 86_400_000; // a week of history (inside the 30-day raw retention)
  const step = (end - start) / events;
  const alarmEvery = 1000;
  const alarmCount = Math.floor(events / alarmEvery);
  let alarms = 0;
  try {
    for (let base = 0; base < events; base += TX) {
      const u = emptyUnit();
      {
        for (let i = base; i < Math.min(events, base + TX); i++) {
          const at = Math.round(start + i * step);
          if (i % alarmEvery === alarmEvery - 1) {
            const d = buttons[alarms % buttons.length];
            const sourceId = `hist-${i}`;
            const payload = { id: sourceId, ts: at, kind: 'panic' as const };
            u.events.push({ type: 'alarm', school: d.school.id, device: d.id, sourceId, receivedAt: at, deviceTs: at, data: payload });
            let alarm: Alarm = raiseAlarm({
              id: randomUUID(),
              sourceId,
              school: { id: d.school.id, name: d.school.name, nameEn: d.school.nameEn },
              device: d,
              kind: 'panic',
              test: false,
              receivedAtMs: at,
              deviceTsMs: at,
              clockSkewToleranceMs: 300_000,
            });
            saveAlarm(u, alarm, at);
            if (alarms < alarmCount - OPEN_ALARMS) {
              for (const action of ['ack', 'dispatch', 'resolve'] as const) {
                alarm = applyAction(alarm, action, 'operator', at + 60_000, action === 'resolve' ? 'bench history' : undefined);
                u.events.push({ type: `alarm_${action}`, school: d.school.id, device: d.id, receivedAt: at + 60_000, data: { by: 'operator', alarm: alarm.id } });
                saveAlarm(u, alarm, at + 60_000);
              }
            }
            alarms++;
            continue;
          }
          const d = devices[i % devices.length];
          u.events.push({ type: 'heartbeat', school: d.school.id, device: d.id, receivedAt: at, deviceTs: at, data: { ts: at, battery: 50 + (i % 50), rssi: -40 - (i % 40) } });
        }
      }
      await ledger.commit(u);
    }
    const u = emptyUnit();
    for (const d of devices) u.rows.push({ table: 'devices', op: 'put', row: { id: d.id, doc: { id: d.id, online: true, lastSeen: end, since: start, streak: 0, battery: 80, rssi: -60 } } });
    await ledger.commit(u);
    return { alarms, openAlarms: Math.min(alarms, OPEN_ALARMS) };
  } finally {
    await ledger.close();
  }
}

interface Timing {
  healthMs: number;
  snapshotMs: number;
}

/** Spawns the gateway on `dataDir` and times /health 200 (polled every 10 ms) and then the first snapshot. */
async function timedStart(ctx: Ctx, dataDir: string, env: Record<string, string>, token: string): Promise<Timing> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, GATEWAY_PORT: String(port), GATEWAY_HOST: '127.0.0.1', DATA_DIR: dataDir, MQTT_URL: ctx.broker.url, LOG_LEVEL: 'warn' };
  for (const k of ['REGISTRY', 'INFLUX_URL', 'NODE_TEST_CONTEXT']) delete childEnv[k];
  const t0 = now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/server.ts'], { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'ignore', 'inherit'] });
  track(child);
  try {
    let healthMs = NaN;
    while (Number.isNaN(healthMs)) {
      if (!isRunning(child)) throw new Error(`gateway exited (${child.exitCode ?? child.signalCode}) during start`);
      if (now() - t0 > 120_000) throw new Error('gateway not healthy within 120 s');
      try {
        const res = await fetch(`${url}/health`);
        await res.arrayBuffer();
        if (res.status === 200) healthMs = now() - t0;
      } catch {
        /* not listening yet */
      }
      if (Number.isNaN(healthMs)) await sleep(10);
    }
    const screen = await openLive(url, token);
    await screen.next((f) => f.type === 'snapshot', 60_000);
    const snapshotMs = now() - t0;
    await screen.close();
    return { healthMs, snapshotMs };
  } finally {
    await stopChild(child, 'SIGTERM', 20_000);
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Prepared {
  dataDir: string;
  env: Record<string, string>;
  token: string;
}

/** A first, untimed start on `dataDir`: creates users and token secret, warms the tsx cache, logs in. */
async function prepare(ctx: Ctx, label: string, dataDir: string): Promise<Prepared> {
  const name = `recovery-${label}`;
  const gw = await benchGateway(ctx, name, { WS_RESUME_GRACE_MS: '0' }, { dataDir });
  await gw.stop();
  return { dataDir, token: gw.token, env: { MQTT_TOPIC_PREFIX: gw.prefix, MQTT_CLIENT_ID: `bench-gw-${ctx.runId}-${name}`, WS_RESUME_GRACE_MS: '0', GATEWAY_ADMIN_PASSWORD: gw.adminPassword } };
}

export const recovery: BenchCase = {
  name: 'recovery',
  async run(ctx) {
    const events = ctx.mode.full ? 1_000_000 : 100_000;
    const runs = ctx.mode.full ? 5 : 3;
    const emptyDir = await makeTempDir('bench-ledger-empty-');
    const bigDir = await makeTempDir('bench-ledger-big-');
    const t0 = now();
    const built = await buildLedger(bigDir, events);
    const buildS = (now() - t0) / 1000;
    ctx.log(`  built a ledger of ${events.toLocaleString('en-US')} events (${built.alarms} alarms) in ${buildS.toFixed(1)} s`);
    const emptyPrep = await prepare(ctx, 'empty', emptyDir);
    const bigPrep = await prepare(ctx, 'big', bigDir);
    // Interleaved, so that a busy moment on the machine hits both alike.
    const empty: Timing[] = [];
    const big: Timing[] = [];
    for (let i = 0; i < runs; i++) {
      empty.push(await timedStart(ctx, emptyPrep.dataDir, emptyPrep.env, emptyPrep.token));
      big.push(await timedStart(ctx, bigPrep.dataDir, bigPrep.env, bigPrep.token));
    }
    const e = { health: median(empty.map((t) => t.healthMs)), snapshot: median(empty.map((t) => t.snapshotMs)) };
    const b = { health: median(big.map((t) => t.healthMs)), snapshot: median(big.map((t) => t.snapshotMs)) };
    const label = `${events.toLocaleString('en-US')} events`;
    return {
      rows: [
        { case: 'recovery', metric: `start → /health 200, ${label}`, unit: 'ms', baseline: e.health, gateway: b.health, compare: 'diff', target: '—', met: null },
        {
          case: 'recovery',
          metric: `start → /health + first snapshot, ${label}`,
          unit: 'ms',
          baseline: e.snapshot,
          gateway: b.snapshot,
          compare: 'diff',
          target: ctx.mode.full ? '< 5 s (1M)' : '< 5 s (for 1M)',
          met: b.snapshot < 5000,
          note: `median of ${runs} starts each, interleaved; ledger ${events.toLocaleString('en-US')} events: ${Math.round(Math.min(...big.map((t) => t.snapshotMs)))}–${Math.round(Math.max(...big.map((t) => t.snapshotMs)))} ms; baseline: an empty ledger`,
        },
      ],
      details: { events, buildSeconds: buildS, ...built, runs: { empty, big } },
    };
  },
};
