/**
 * Who may publish and subscribe what on an external broker (contract §6), as plain topic lists,
 * from the same table the gateway's parser uses (DEVICE_TOPICS): each broker's writer turns them
 * into its own syntax. Mirrors gateway/ingest/mqtt-acl.ts, which the embedded broker enforces.
 */
import { DEVICE_TOPICS, topics, type DeviceTopic } from '../../gateway/contract/mqtt.js';

/** One device's secret hashes, as `GET /api/devices/credentials/hashes` gives them. */
export interface DeviceHashes {
  device: string;
  school: string;
  kind: string;
  sha256: string;
  brokerHash: string | null;
}

export interface Grants {
  /** exact topics the device may publish */
  publish: string[];
  /** exact topics the device may subscribe to (and receive) */
  subscribe: string[];
}

export function deviceGrants(prefix: string, d: { device: string; school: string; kind: string }): Grants {
  const t = topics(prefix);
  const types = (Object.keys(DEVICE_TOPICS) as DeviceTopic[]).filter((type) => (DEVICE_TOPICS[type].kinds as readonly string[]).includes(d.kind));
  return {
    publish: types.map((type) => t.device(d.school, d.device, type)),
    // Feedback goes only to a device that can press (contract §2): other kinds never get any. A
    // canteen terminal reads its own school's case notifications, no other school's.
    subscribe: [...(types.includes('alarm') ? [t.alarmState(d.school, d.device)] : []), ...(d.kind === 'canteen_terminal' ? [t.canteenCase(d.school)] : [])],
  };
}

/** The gateway reads every device topic and writes `_gateway/*` and `alarm/state`: all under the prefix. */
export const gatewayFilter = (prefix: string): string => topics(prefix).deviceFilter;

/** Ids and the prefix go into broker files unquoted (Mosquitto) or in "…" (EMQX): refuse anything that could break a line or a rule. */
export function assertSafe(what: 'device' | 'school' | 'gateway user' | 'prefix', value: string): void {
  const ok = what === 'prefix' ? /^[^\s"'\\#+$]+$/.test(value) : /^[A-Za-z0-9_-]{1,64}$/.test(value);
  if (!ok) throw new Error(`${what} "${value}" cannot be written into a broker file`);
}

/** Gateway logins: at least one, safe names, no two alike, none a device id (it would share the device's rights and session). */
export function checkGatewayUsers(users: string[], devices: { device: string }[]): void {
  if (users.length === 0) throw new Error('at least one --gateway-user');
  for (const u of users) assertSafe('gateway user', u);
  if (new Set(users).size !== users.length) throw new Error(`a --gateway-user is given twice: ${users.join(', ')}`);
  const ids = new Set(devices.map((d) => d.device));
  for (const u of users) if (ids.has(u)) throw new Error(`the gateway user "${u}" is also a device id: choose another --gateway-user`);
}
