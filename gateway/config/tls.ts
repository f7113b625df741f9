/**
 * TLS settings (contract §5, §6): which variables go together, and reading the PEM files at
 * start. A fault names the file, the variable that names it and what is wrong, and stops the
 * gateway before it listens; key material is never quoted back.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config-error.js';
import type { ConfigValues } from './variables.js';

export interface TlsSettings {
  /** TLS_CERT_FILE, TLS_KEY_FILE (both or neither: the schema's `requiredWith`), TLS_CA_FILE. */
  files?: { certFile: string; keyFile: string; caFile?: string };
  mqttTlsPort: number;
  /** The embedded broker's plain listener on MQTT_PORT. */
  mqttPlain: boolean;
  /** CA of an external broker reached over mqtts:// or wss://. */
  mqttCaFile?: string;
}

/** What the server needs, read and checked. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** Set: devices may log in with a client certificate this CA signed. */
  ca?: Buffer;
}

/** The rules that span several variables (one variable's own rules are in the schema). */
export function tlsSettings(v: ConfigValues): TlsSettings {
  const on = v.TLS_CERT_FILE !== undefined && v.TLS_KEY_FILE !== undefined;
  if (v.TLS_CA_FILE !== undefined && !on)
    throw new ConfigError('TLS_CA_FILE', 'value', 'needs TLS_CERT_FILE and TLS_KEY_FILE: device certificates are checked on mqtts, which needs the gateway’s own certificate');
  if (!v.MQTT_PLAIN && !on && v.MQTT_URL === undefined)
    throw new ConfigError('MQTT_PLAIN', 'value', 'false needs TLS_CERT_FILE and TLS_KEY_FILE: without them the embedded broker would listen nowhere');
  if (on && v.MQTT_PLAIN && v.MQTT_URL === undefined && v.MQTT_TLS_PORT === v.MQTT_PORT && v.MQTT_PORT !== 0)
    throw new ConfigError('MQTT_TLS_PORT', 'value', `${v.MQTT_TLS_PORT} is MQTT_PORT too: mqtts needs a port of its own (or MQTT_PLAIN=false)`);
  if (v.MQTT_CA_FILE !== undefined && !/^(mqtts|wss):/.test(v.MQTT_URL ?? ''))
    throw new ConfigError('MQTT_CA_FILE', 'value', 'is used only for an external broker over TLS: set MQTT_URL to mqtts://… or wss://…');
  return {
    files: on ? { certFile: v.TLS_CERT_FILE!, keyFile: v.TLS_KEY_FILE!, caFile: v.TLS_CA_FILE } : undefined,
    mqttTlsPort: v.MQTT_TLS_PORT,
    mqttPlain: v.MQTT_PLAIN,
    mqttCaFile: v.MQTT_CA_FILE,
  };
}

/** Reads and checks the gateway's certificate, its key, and the device CA. */
export function readTls(files: NonNullable<TlsSettings['files']>): TlsMaterial {
  const cert = readPem(files.certFile, 'TLS_CERT_FILE');
  const key = readPem(files.keyFile, 'TLS_KEY_FILE');
  const leaf = parseCertificate(cert, files.certFile, 'TLS_CERT_FILE');
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    // Without the message: it could quote part of the key.
    const why = /passphrase/i.test((err as Error).message) ? 'is encrypted (give the key without a passphrase)' : 'holds no PEM private key';
    throw new ConfigError(files.keyFile, '(file)', `the key named by TLS_KEY_FILE ${why}`);
  }
  if (!leaf.checkPrivateKey(privateKey))
    throw new ConfigError(files.keyFile, '(file)', `the key named by TLS_KEY_FILE does not belong to the certificate of TLS_CERT_FILE (${files.certFile})`);
  return { cert, key, ca: files.caFile === undefined ? undefined : readCa(files.caFile, 'TLS_CA_FILE') };
}

/** A PEM file of one or more CA certificates. */
export function readCa(file: string, variable: string): Buffer {
  const ca = readPem(file, variable);
  parseCertificate(ca, file, variable);
  return ca;
}

function readPem(file: string, variable: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(file, '(file)', `cannot read the file named by ${variable} (${e.code ?? e.message})`);
  }
}

/** The first certificate of a PEM file (a chain or a CA bundle may follow). */
function parseCertificate(pem: Buffer, file: string, variable: string): X509Certificate {
  const first = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(pem.toString('latin1'));
  try {
    if (!first) throw new Error('none');
    return new X509Certificate(first[0]);
  } catch {
    throw new ConfigError(file, '(file)', `the file named by ${variable} holds no PEM certificate`);
  }
}
