/**
 * The city's broker for county → city tests (decision 0010): a real Mosquitto with no anonymous
 * login, one random password per county (stored hashed, as `mosquitto_passwd` would) and an ACL
 * that lets a county write only its own `city/v1/<county>/#`, plus a `city` login that reads them.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { mosquittoHash } from '../../gateway/modules/identity/mosquitto-hash.js';
import { startMosquitto, type Mosquitto } from './mosquitto.js';
import { freePort } from './ports.js';
import { makeTempDir } from './procs.js';

export interface CityBroker {
  broker: Mosquitto;
  /** the city's own login (reads every county's feed) */
  city: { username: string; password: string };
  /** per county: its login and a file holding its password (for CITY_MQTT_PASSWORD_FILE) */
  counties: Map<string, { username: string; password: string; passwordFile: string }>;
}

export async function startCityBroker(countyIds: string[]): Promise<CityBroker> {
  const dir = await makeTempDir('city-broker-');
  const port = await freePort();
  const secret = () => randomBytes(18).toString('base64url');
  const city = { username: 'city', password: secret() };
  const counties = new Map<string, { username: string; password: string; passwordFile: string }>();
  const passwd = [`${city.username}:${mosquittoHash(city.password)}`];
  const acl = [`user ${city.username}`, 'topic read city/v1/#', ''];
  for (const id of countyIds) {
    const c = { username: `county-${id}`, password: secret(), passwordFile: path.join(dir, `county-${id}.password`) };
    await writeFile(c.passwordFile, `${c.password}\n`, { mode: 0o600 });
    counties.set(id, c);
    passwd.push(`${c.username}:${mosquittoHash(c.password)}`);
    acl.push(`user ${c.username}`, `topic write city/v1/${id}/#`, '');
  }
  await writeFile(path.join(dir, 'passwd'), passwd.join('\n') + '\n', { mode: 0o600 });
  await writeFile(path.join(dir, 'acl'), acl.join('\n'), { mode: 0o600 });
  const conf = path.join(dir, 'city.conf');
  await writeFile(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${path.join(dir, 'passwd')}`,
      `acl_file ${path.join(dir, 'acl')}`,
      'max_queued_messages 0',
      'set_tcp_nodelay true',
    ].join('\n') + '\n',
  );
  const broker = await startMosquitto({ port, dir, configFile: conf });
  return { broker, city, counties };
}
