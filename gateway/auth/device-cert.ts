/**
 * Contract §6: a device may log in over mqtts with an X.509 client certificate whose CN is its
 * id, instead of its secret. The TLS layer asks for a certificate but admits a connection
 * without one (password devices share the port), so the verdict is made here, at CONNECT.
 */
import type { ClientCertificate, MqttIdentity } from '../ingest/bus.js';
import type { RegistryIndex } from '../registry.js';

export type Refusal = { refused: string; badCredentials: boolean };

/**
 * The identity a certificate proves, a refusal, or undefined when the password decides (no
 * certificate, or one that is not verified or names no device while a password is given).
 * A verified certificate always binds the client id: it may not be used to speak as another
 * device, even with that device's secret.
 */
export function certificateLogin(
  registry: RegistryIndex,
  clientId: string,
  username: string | undefined,
  password: Buffer | undefined,
  cert: ClientCertificate | undefined,
): MqttIdentity | Refusal | undefined {
  if (!cert) return undefined;
  const refuse = (why: string): Refusal => ({ refused: `client certificate: ${why}`, badCredentials: false });
  if (!cert.verified) return password === undefined ? refuse(`not signed by the device CA (${cert.error ?? 'unverified'})`) : undefined;
  const cn = cert.cn;
  if (cn === undefined) return refuse('no single common name (CN) in its subject');
  if (cn !== clientId) return refuse(`issued to "${cn.slice(0, 80)}", not to client id "${clientId.slice(0, 80)}"`);
  if (username && username !== cn) return refuse(`issued to "${cn.slice(0, 80)}", not to user name "${username.slice(0, 80)}"`);
  const device = registry.devices.get(cn);
  if (!device) return password === undefined ? refuse(`"${cn.slice(0, 80)}" is no device of the registry`) : undefined;
  return { kind: 'device', device: device.id, school: device.school };
}
