/**
 * Backups and the ledger file with a real gateway: `npm run backup` while alarms flow, a restore
 * into a new DATA_DIR that a second gateway starts on (the alarms are there), a scheduled backup,
 * and a ledger deleted under the running gateway (503, no PUBACK, a restart refused by name).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { api, login, REPO_ROOT, startGateway, type GatewayProc } from '../support/gateway.js';
import { connectAs, connectDevice, type MqttClient } from '../support/mqtt.js';
import { makeTempDir } from '../support/procs.js';
import { waitFor } from '../support/wait.js';
import { loadRegistry } from '../../gateway/registry.js';
import { listBackups } from '../../gateway/store/backup.js';

const registry = loadRegistry(path.join(REPO_ROOT, 'config/county.json'));
const school = registry.registry.schools[0];
const button = school.devices.find((d) => d.kind === 'alarm_button')!;
const alarmTopic = `campus/v1/${school.id}/${button.id}/alarm`;
const press = (id: string) => JSON.stringify({ id, ts: new Date().toISOString(), kind: 'panic', test: true });

let gw: GatewayProc;
let restored: GatewayProc | undefined;
let backupDir: string;

before(async () => {
  backupDir = await makeTempDir('backups-');
  gw = await startGateway({ env: { BACKUP_DIR: backupDir } });
});
after(async () => {
  await restored?.stop();
  await gw?.stop();
});

function runBackup(file: string, dataDir: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['--import', 'tsx', 'scripts/backup.ts', file], { cwd: REPO_ROOT, env: { ...process.env, DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('exit', (code) => resolve({ code, out }));
  });
}

async function storedIds(g: GatewayProc): Promise<Set<string>> {
  const token = await login(g.url, 'admin', g.adminPassword);
  const r = await api(g.url, token, 'GET', '/api/alarms?state=all&limit=1000');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return new Set((r.body.alarms as { sourceId: string }[]).map((a) => a.sourceId));
}

test('a scheduled backup is taken at start when BACKUP_DIR has none', async () => {
  const [b] = await waitFor('a backup in BACKUP_DIR', () => listBackups(backupDir).length > 0 && listBackups(backupDir));
  assert.match(path.basename(b.file), /^ledger-\d{8}T\d{6}Z\.sqlite$/);
});

test('npm run backup while alarms flow; restored into a new DATA_DIR, a gateway starts on it with every alarm acknowledged before the backup', async () => {
  const device: MqttClient = await connectDevice(gw.mqttUrl);
  const acked: string[] = [];
  let flowing = true;
  const flow = (async () => {
    for (let i = 0; flowing && i < 600; i++) {
      const id = `flow-${i}`;
      await device.publishAsync(alarmTopic, press(id), { qos: 1 });
      acked.push(id);
    }
  })();
  await waitFor('alarms flowing', () => acked.length >= 50);
  const before = acked.length;
  const file = path.join(await makeTempDir('manual-backup-'), 'ledger.sqlite');
  const r = await runBackup(file, gw.dataDir);
  const during = acked.length - before;
  flowing = false;
  await flow;
  await device.endAsync();
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /backed up .* quick_check ok/);
  assert.ok(during > 0, 'alarms were acknowledged while the backup ran');
  assert.equal((await runBackup(file, gw.dataDir)).code, 1, 'an existing backup is never overwritten');

  const dataDir = await makeTempDir('restored-');
  fs.copyFileSync(file, path.join(dataDir, 'ledger.sqlite'));
  restored = await startGateway({ dataDir });
  const ids = await storedIds(restored);
  const missing = acked.slice(0, before).filter((id) => !ids.has(id));
  assert.deepEqual(missing, [], 'every alarm acknowledged before the backup began is in it');
  assert.equal(fs.readFileSync(path.join(dataDir, 'ledger.id'), 'utf8'), fs.readFileSync(path.join(gw.dataDir, 'ledger.id'), 'utf8'), 'the same ledger id');
  await restored.stop();
  restored = undefined;
});

test('a ledger deleted under the running gateway: /health 503 naming the file, no PUBACK, and a restart is refused by name', async () => {
  const file = path.join(gw.dataDir, 'ledger.sqlite');
  fs.rmSync(file);
  const h = await waitFor('/health 503', async () => {
    const r = await api(gw.url, undefined, 'GET', '/health');
    return r.status === 503 && r.body;
  });
  assert.ok(h.ledger.fault.includes(file) && h.ledger.fault.includes('was deleted'), h.ledger.fault);
  await waitFor('the log line naming the file', () => gw.logs().includes(`ledger ${file} was deleted while the gateway was running`));

  const device = await connectAs(gw.mqttUrl, button.id, { reconnectPeriod: 0 }); // the button's own connection: the broker drops it
  let acked = false;
  const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
  device.publishAsync(alarmTopic, press('after-delete'), { qos: 1 }).then(
    () => (acked = true),
    () => undefined,
  );
  await closed;
  assert.equal(acked, false, 'nothing is acknowledged into a deleted file');
  device.end(true);

  await gw.stop();
  for (const s of ['-wal', '-shm']) fs.rmSync(file + s, { force: true });
  await assert.rejects(gw.restart(), (err: Error) => {
    assert.ok(err.message.includes(`ledger ${file} is missing`), err.message.slice(0, 2000));
    assert.match(err.message, /docs\/backup\.md/);
    return true;
  });
  assert.equal(fs.existsSync(file), false, 'no empty ledger was made');
});
