/**
 * Disk full, for real: the gateway's DATA_DIR is on a small tmpfs that the test fills with a
 * file until the kernel answers ENOSPC, then frees.
 *
 * Why a tmpfs and not SQLite's `PRAGMA max_page_count`: max_page_count only limits the main
 * database file, and only on the connection that sets it (the gateway's own, out of a test's
 * reach). A full file system also refuses WAL appends, which is where a WAL-mode commit, and an
 * in-place update such as the run mark, actually fail. Mounting needs root (CAP_SYS_ADMIN); the
 * test machines and CI run `npm test` as root (scripts/test.sh installs packages with apt-get).
 * Without it the test is skipped, saying why. The mount is removed in `after`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { api, login, REPO_ROOT, startGateway, type GatewayProc } from '../support/gateway.js';
import { connectAs, connectDevice } from '../support/mqtt.js';
import { waitFor } from '../support/wait.js';
import { loadRegistry } from '../../gateway/registry.js';

const registry = loadRegistry(path.join(REPO_ROOT, 'config/county.json'));
const school = registry.registry.schools[0];
const button = school.devices.find((d) => d.kind === 'alarm_button')!;
const alarmTopic = `campus/v1/${school.id}/${button.id}/alarm`;

let mountpoint = '';
let mounted = false;
let skip: string | false = false;
let gw: GatewayProc | undefined;
let filler = '';

before(() => {
  mountpoint = fs.mkdtempSync(path.join(os.tmpdir(), 'diskfull-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', mountpoint], { stdio: 'pipe' });
    mounted = true;
  } catch (err) {
    skip = `cannot mount a tmpfs here (needs root): ${(err as Error).message.split('\n')[0]}`;
  }
  filler = path.join(mountpoint, 'filler');
});

after(async () => {
  await gw?.stop();
  if (mounted) execFileSync('umount', [mountpoint]);
  fs.rmSync(mountpoint, { recursive: true, force: true });
});

/** Writes until the file system says ENOSPC (big chunks, then small ones for the last bits). */
function fillDisk(): void {
  const fd = fs.openSync(filler, 'a');
  try {
    for (const size of [256 * 1024, 4096, 512]) {
      const chunk = Buffer.alloc(size, 1);
      for (;;) {
        try {
          fs.writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

const health = async () => {
  const r = await api(gw!.url, undefined, 'GET', '/health');
  return { status: r.status, ledger: r.body.ledger as { ok: boolean; fault?: string; writeFailures: Record<string, number> } };
};

test('disk full with no device traffic: the failing run marks turn /health 503; freed space turns it 200 again', async (t) => {
  if (skip) return t.skip(skip);
  gw = await startGateway({ dataDir: path.join(mountpoint, 'data') });
  assert.equal((await health()).status, 200);
  fillDisk();
  const down = await waitFor('/health 503 on a full disk', async () => {
    const h = await health();
    return h.status === 503 && h;
  });
  assert.match(down.ledger.fault ?? '', /run mark failed \d+ times in a row/);
  assert.ok(down.ledger.writeFailures.touchRun >= 3, JSON.stringify(down.ledger));
  await waitFor('the failed write logged, with its operation', () => /ledger write failed/.test(gw!.logs()) && /"op":"touchRun"/.test(gw!.logs()));

  fs.rmSync(filler);
  await waitFor('/health 200 once space returns', async () => (await health()).status === 200);
});

test('disk full while an alarm comes: no PUBACK, /health 503 while full; space back: 200 with no device message, and the resent alarm is stored', async (t) => {
  if (skip) return t.skip(skip);
  const token = await login(gw!.url, 'admin', gw!.adminPassword);
  const id = `full-${Date.now()}`;
  const payload = JSON.stringify({ id, ts: new Date().toISOString(), kind: 'panic' });
  fillDisk();

  const device = await connectAs(gw!.mqttUrl, button.id, { reconnectPeriod: 0 }); // the button's own connection: the broker drops it
  let acked = false;
  const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
  device.publishAsync(alarmTopic, payload, { qos: 1 }).then(
    () => (acked = true),
    () => undefined,
  );
  await closed; // the broker drops the device instead of acknowledging: it keeps the alarm to resend
  assert.equal(acked, false, 'an alarm that could not be stored was not acknowledged');
  device.end(true);

  const down = await health();
  assert.equal(down.status, 503);
  assert.equal(down.ledger.ok, false);
  // The liveness tick runs every 250 ms with nothing to write: it must not count as a recovery.
  // Two failed probes later (1 s apart), the gateway is still reporting the fault.
  await waitFor('two failed probes', async () => ((await health()).ledger.writeFailures.probe ?? 0) >= 2, { timeoutMs: 15_000 });
  assert.equal((await health()).status, 503, 'still 503 while the disk is full');
  const listed = await api(gw!.url, token, 'GET', '/api/alarms');
  assert.ok(!JSON.stringify(listed.body).includes(id), 'the alarm is not stored');

  fs.rmSync(filler);
  // No device is connected now: only the gateway's own probe can prove the ledger works again.
  await waitFor('/health 200 without any device message', async () => (await health()).status === 200, { timeoutMs: 15_000 });

  const again = await connectDevice(gw!.mqttUrl);
  await again.publishAsync(alarmTopic, payload, { qos: 1 }); // the button's resend: PUBACKed now
  await again.endAsync();
  const stored = await api(gw!.url, token, 'GET', '/api/alarms');
  assert.ok(JSON.stringify(stored.body).includes(id), 'the resent alarm is stored');
});
