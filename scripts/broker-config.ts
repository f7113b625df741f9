/**
 * `npm run broker-config -- mosquitto|emqx --out DIR [--port N] [--bind ADDR] [--gateway-user U]…`
 * (contract §6): writes an external broker's own files from the registry and the device
 * credentials, so that the broker refuses what the gateway would refuse. Reads the credential
 * hashes from the running gateway (`GET /api/devices/credentials/hashes`, admin), logging in as
 * GATEWAY_USER (default admin) with GATEWAY_PASSWORD at GATEWAY_URL (default http://127.0.0.1:8080).
 *
 * The gateway's own broker login: `DIR/gateway.password` (random, 0600), made once and kept, so
 * running this again after re-provisioning never changes what the gateway logs in with. Start the
 * gateway with MQTT_USERNAME=<gateway user> MQTT_PASSWORD_FILE=DIR/gateway.password.
 *
 * Devices whose secret predates the gateway keeping a Mosquitto hash cannot be written for
 * Mosquitto: they are listed on stderr (provision them again) and left out.
 *
 * `--city --counties FILE` (decision 0010) writes the city broker's files instead: a login
 * `county-<id>` per county of the city's counties file (CITY_COUNTIES_FILE, checked as the city
 * gateway checks it), password in `DIR/county-<id>.password`, and the city gateway's login
 * (`--city-user`, default city-gateway) with `DIR/<city user>.password`. Asks no gateway.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadCounties } from '../gateway/modules/city/counties.js';
import { mosquittoHash } from '../gateway/modules/identity/mosquitto-hash.js';
import { CITY_USER, cityEmqxFiles, cityMosquittoFiles, countyUser } from './broker-config/city.js';
import { emqxFiles } from './broker-config/emqx.js';
import { assertSafe, type DeviceHashes } from './broker-config/grants.js';
import { mosquittoFiles } from './broker-config/mosquitto.js';

const USAGE = 'usage: GATEWAY_PASSWORD=… npm run broker-config -- mosquitto|emqx --out DIR [--port 1883] [--bind ADDR] [--gateway-user campus-gateway]… [--prefix campus/v1]\n       npm run broker-config -- mosquitto|emqx --city --counties CITY_COUNTIES_FILE --out DIR [--port 1883] [--bind ADDR] [--city-user city-gateway]';
/** Written 0600: logins and their hashes. */
const SECRET_FILES = new Set(['password_file', 'gateway.password', 'users.json', 'users.csv']);

async function fetchHashes(): Promise<{ devices: DeviceHashes[]; missing: string[] }> {
  const base = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080';
  const user = process.env.GATEWAY_USER ?? 'admin';
  const password = process.env.GATEWAY_PASSWORD;
  if (!password) throw new Error('set GATEWAY_PASSWORD (the password of GATEWAY_USER, default admin)');
  const login = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }) });
  if (!login.ok) throw new Error(`login as ${user} at ${base}: ${login.status} ${await login.text()}`);
  const { token } = (await login.json()) as { token: string };
  const res = await fetch(`${base}/api/devices/credentials/hashes`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`${base}/api/devices/credentials/hashes: ${res.status} ${await res.text()}`);
  return (await res.json()) as { devices: DeviceHashes[]; missing: string[] };
}

/** A login's broker password (`DIR/<user>.password`): kept when present, made once otherwise. */
function keptPassword(dir: string, name = 'gateway'): string {
  const file = path.join(dir, `${name}.password`);
  if (fs.existsSync(file)) {
    const kept = fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    if (kept) return kept;
  }
  const made = randomBytes(24).toString('base64url');
  fs.writeFileSync(file, made + '\n', { mode: 0o600 });
  return made;
}

function writeAll(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(dir, name);
    // Write beside, then rename: a broker reloading (SIGHUP) never reads half a file.
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, text, { mode: SECRET_FILES.has(name) ? 0o600 : 0o644 });
    fs.renameSync(tmp, file);
  }
}

async function main(): Promise<void> {
  const { values: v, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      port: { type: 'string', default: '1883' },
      bind: { type: 'string' },
      // Repeatable: one login per gateway of a region (the broker makes the user name the client id).
      'gateway-user': { type: 'string', multiple: true, default: ['campus-gateway'] },
      prefix: { type: 'string', default: process.env.MQTT_TOPIC_PREFIX || 'campus/v1' },
      city: { type: 'boolean', default: false },
      counties: { type: 'string', default: process.env.CITY_COUNTIES_FILE || undefined },
      'city-user': { type: 'string', default: CITY_USER },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const broker = positionals[0];
  const port = Number(v.port);
  if (v.help || (broker !== 'mosquitto' && broker !== 'emqx') || !v.out || !Number.isInteger(port) || port < 1 || port > 65535) {
    console.error(USAGE);
    process.exit(v.help ? 0 : 2);
  }
  const dir = path.resolve(v.out);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (v.city) return cityMain(broker, dir, port, v.bind, v.counties, v['city-user']!);
  // Made before asking the gateway: a first run while the gateway is not up yet still leaves the
  // password the gateway starts with (MQTT_PASSWORD_FILE).
  const password = keptPassword(dir);
  const gatewayUsers = v['gateway-user']!;
  const gatewayUser = gatewayUsers.join('", "');
  const { devices, missing } = await fetchHashes();
  if (missing.length) console.error(`broker-config: ${missing.length} devices have no secret yet and get no login (npm run devices -- credentials --only-missing): ${list(missing)}`);

  let written: number;
  if (broker === 'mosquitto') {
    const withHash = devices.filter((d): d is DeviceHashes & { brokerHash: string } => d.brokerHash !== null);
    const without = devices.filter((d) => d.brokerHash === null).map((d) => d.device);
    if (without.length)
      console.error(`broker-config: ${without.length} devices have a secret made before the gateway kept a Mosquitto hash, and are left out until provisioned again (POST /api/devices/{id}/credentials): ${list(without)}`);
    writeAll(dir, mosquittoFiles({ dir, port, bind: v.bind, prefix: v.prefix!, gateway: { users: gatewayUsers, brokerHash: mosquittoHash(password) }, devices: withHash }));
    written = withHash.length;
    console.log(`broker-config: ${written} devices and "${gatewayUser}" written to ${dir} (mosquitto -c ${path.join(dir, 'mosquitto.conf')}; after re-provisioning run this again and send mosquitto SIGHUP)`);
  } else {
    writeAll(dir, emqxFiles({ dir, port, prefix: v.prefix!, gateway: { users: gatewayUsers, password }, devices }));
    written = devices.length;
    console.log(`broker-config: ${written} devices and "${gatewayUser}" written to ${dir} (next steps: ${path.join(dir, 'README.md')})`);
  }
  console.log(`broker-config: start each gateway with its MQTT_USERNAME (= MQTT_CLIENT_ID: "${gatewayUser}") and MQTT_PASSWORD_FILE=${path.join(dir, 'gateway.password')}`);
  if (written === 0) {
    console.error('broker-config: no device can log in with these files');
    process.exit(1);
  }
}

/** The city broker (decision 0010): its counties' logins and the city gateway's, no gateway asked. */
function cityMain(broker: 'mosquitto' | 'emqx', dir: string, port: number, bind: string | undefined, countiesFile: string | undefined, cityUser: string): void {
  if (!countiesFile) throw new Error('--city needs --counties FILE (or CITY_COUNTIES_FILE): the city gateway\'s counties file');
  assertSafe('gateway user', cityUser); // before it names a file in DIR
  // The city gateway's own check: the same file it will refuse is refused here, with its message.
  const counties = loadCounties(path.resolve(countiesFile));
  const login = (user: string) => {
    const password = keptPassword(dir, user);
    return { user, password, brokerHash: mosquittoHash(password) };
  };
  const input = { dir, port, bind, city: login(cityUser), counties: counties.map((c) => ({ county: c.id, ...login(countyUser(c.id)) })) };
  writeAll(dir, broker === 'mosquitto' ? cityMosquittoFiles(input) : cityEmqxFiles(input));
  const start = broker === 'mosquitto' ? `mosquitto -c ${path.join(dir, 'mosquitto.conf')}` : `next steps: ${path.join(dir, 'README.md')}`;
  console.log(`broker-config: ${counties.length} counties and "${cityUser}" written to ${dir} (${start})`);
  console.log(`broker-config: start the city gateway with CITY_INGEST_USERNAME=${cityUser} CITY_INGEST_PASSWORD_FILE=${path.join(dir, `${cityUser}.password`)}`);
  console.log(`broker-config: give each county gateway its DIR/county-<id>.password (0600) as CITY_MQTT_PASSWORD_FILE, with CITY_MQTT_USERNAME=county-<id>`);
}

const list = (ids: string[]) => (ids.length > 20 ? `${ids.slice(0, 20).join(', ')} … (${ids.length - 20} more)` : ids.join(', '));

main().catch((err) => {
  console.error(`broker-config: ${(err as Error).message}`);
  process.exit(1);
});
