/** Invalid configuration stops the gateway at start with a message naming the file or variable, the place, and the fault. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './support/gateway.js';

function start(env: Record<string, string>): { status: number | null; stderr: string } {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cfg-'));
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'gateway/server.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, DATA_DIR: dataDir, GATEWAY_PORT: '0', MQTT_PORT: '0', LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stderr: r.stderr };
}

test('a broken registry stops the gateway, naming the file, the place and the fault', () => {
  const county = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'config/county.json'), 'utf8'));
  county.schools[2].devices[1].kind = 'siren';
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'reg-')), 'county.json');
  fs.writeFileSync(file, JSON.stringify(county));
  const r = start({ REGISTRY: file });
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`invalid configuration: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} at /schools/2/devices/1/kind: `));
});

test('a broken policy stops the gateway, naming the file, the place and the fault', () => {
  const policy = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'config/policy.json'), 'utf8'));
  policy.windows.peaks[1].to = '16:00';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pol-'));
  const file = path.join(dir, 'policy.json');
  fs.writeFileSync(file, JSON.stringify(policy));
  const r = start({ POLICY: file });
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`invalid configuration: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} at /windows/peaks/1/to: peak 16:40–16:00 ends at or before it starts`));

  // A set POLICY that names a school the registry lacks stops it too.
  const fresh = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'config/policy.json'), 'utf8'));
  fresh.targets.one_key_alarm.scope = { exclude: ['S404'] };
  fs.writeFileSync(file, JSON.stringify(fresh));
  const r2 = start({ POLICY: file });
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /at \/targets\/one_key_alarm\/scope\/exclude\/0: excludes school "S404", which is not in the registry/);
});

test('a bad environment variable stops the gateway, naming the variable', () => {
  for (const [name, value, fault] of [
    ['GATEWAY_PORT', 'eighty', /GATEWAY_PORT at value: "eighty" is not a whole number/],
    ['MQTT_URL', 'http://broker:1883', /MQTT_URL at scheme: "http:" is not supported/],
    ['ACK_TIMEOUT_SEC', '0', /ACK_TIMEOUT_SEC at value: 0 is outside 1\.\.3600/],
    ['GATEWAY_ADMIN_PASSWORD', 'short', /GATEWAY_ADMIN_PASSWORD at value: must be at least 8 characters/],
    ['MQTT_SHARE_GROUP', 'gateways', /MQTT_SHARE_GROUP at value: is not supported until gateway state is shared .*\(scale-out, issue 14\)/],
  ] as const) {
    const r = start({ [name]: value });
    assert.equal(r.status, 1, name);
    assert.match(r.stderr, fault);
  }
});

test('a broken ONVIF credentials file stops the gateway, naming the file, the field and the fault, never the password', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reg-'));
  const county = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'config/county.json'), 'utf8'));
  county.onvifCredentials = 'onvif-credentials.json';
  fs.writeFileSync(path.join(dir, 'county.json'), JSON.stringify(county));
  const creds = path.join(dir, 'onvif-credentials.json');
  fs.writeFileSync(creds, JSON.stringify({ default: { user: 'admin', password: 'cam-secret-1' } }));
  const r = start({ REGISTRY: path.join(dir, 'county.json') });
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`invalid configuration: ${creds.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} at /default/user: unknown field "user"`));
  assert.ok(!r.stderr.includes('cam-secret-1'));
});
