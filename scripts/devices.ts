/**
 * `npm run devices -- credentials [--school S] [--kind K] [--only-missing] --out FILE`: makes new
 * MQTT secrets for many devices at once through the running gateway (contract §6) and writes them
 * as CSV (device, school, kind, username, password, clientId), readable by its owner only. The
 * secrets are shown this once: the gateway keeps only their hashes. Every old secret of those
 * devices ends, and their open connections are closed.
 *
 * Logs in as GATEWAY_USER (default admin) with GATEWAY_PASSWORD at GATEWAY_URL (default
 * http://127.0.0.1:8080).
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';

async function main(): Promise<void> {
  const { values: v, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      school: { type: 'string' },
      kind: { type: 'string' },
      'only-missing': { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (v.help || positionals[0] !== 'credentials' || !v.out) {
    console.error('usage: GATEWAY_PASSWORD=… npm run devices -- credentials [--school S] [--kind alarm_button|camera|gate|checkin_terminal|nvr|canteen_terminal] [--only-missing] --out FILE');
    process.exit(v.help ? 0 : 2);
  }
  const base = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080';
  const user = process.env.GATEWAY_USER ?? 'admin';
  const password = process.env.GATEWAY_PASSWORD;
  if (!password) {
    console.error('devices: set GATEWAY_PASSWORD (the password of GATEWAY_USER, default admin)');
    process.exit(2);
  }
  const login = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }) });
  if (!login.ok) throw new Error(`login as ${user} at ${base}: ${login.status} ${await login.text()}`);
  const { token } = (await login.json()) as { token: string };
  const body: Record<string, unknown> = {};
  if (v.school) body.school = v.school;
  if (v.kind) body.kind = v.kind;
  if (v['only-missing']) body.onlyMissing = true;
  const res = await fetch(`${base}/api/devices/credentials?format=csv`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`${res.status} ${text}`);
  fs.writeFileSync(v.out, text, { mode: 0o600 });
  console.log(`devices: ${text.trim().split('\n').length - 1} credentials written to ${v.out} (readable by you only; the gateway keeps only their hashes)`);
}

main().catch((err) => {
  console.error(`devices: ${(err as Error).message}`);
  process.exit(1);
});
