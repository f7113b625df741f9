/**
 * Loads and indexes the school/device registry (config/county.json). Everything that can be wrong
 * with it is found here, at start, and reported as one ConfigError naming the file and the JSON
 * pointer of the fault; the rest of the gateway can then trust the index without re-checking.
 */
import { readFileSync } from 'node:fs';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { ConfigError } from './config-error.js';
import { jsonErrorPlace } from './config/json-file.js';
import { Registry, type RegistryDevice, type RegistrySchool } from './contract/registry.js';
import { CAMERA_ZONES } from './contract/mqtt.js';

export type { Registry, RegistryDevice, RegistrySchool } from './contract/registry.js';
export { ConfigError } from './config-error.js';

export type IndexedDevice = RegistryDevice & { school: string };

export interface RegistryIndex {
  registry: Registry;
  /** Where it came from (file path), for messages. */
  source: string;
  schools: Map<string, RegistrySchool>;
  devices: Map<string, IndexedDevice>;
  /** The device's own interval, else its kind's default. Throws for an unknown device id. */
  heartbeatIntervalSec(deviceId: string): number;
}

const checker = TypeCompiler.Compile(Registry);
/** An NVR's heartbeat when the registry gives none: GB/T 28181's keepalive interval. */
const NVR_HEARTBEAT_SEC = 60;

/** A device's heartbeat interval: its own, else its kind's default. */
export const heartbeatSec = (registry: Registry, d: RegistryDevice): number => d.heartbeatIntervalSec ?? registry.defaults.heartbeatIntervalSec[d.kind] ?? NVR_HEARTBEAT_SEC;

/** Reads, parses, validates and indexes a registry file. Throws ConfigError on any fault. */
export function loadRegistry(path: string): RegistryIndex {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(path, '(file)', `cannot read the registry file (${e.code ?? e.message})`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // editors on Windows add a BOM
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, jsonErrorPlace(text, err as Error), `invalid JSON: ${(err as Error).message}`);
  }
  return indexRegistry(data as Registry, path);
}

/** Validates an already parsed registry (typed, but checked anyway: it may come from anywhere) and indexes it. */
export function indexRegistry(registry: Registry, source: string): RegistryIndex {
  if (!checker.Check(registry)) {
    const first = checker.Errors(registry).First()!;
    throw new ConfigError(source, first.path || '(root)', describe(first));
  }

  const schools = new Map<string, RegistrySchool>();
  const devices = new Map<string, IndexedDevice>();
  const schoolAt = new Map<string, string>();
  const deviceAt = new Map<string, string>();
  registry.schools.forEach((school, i) => {
    const at = `/schools/${i}`;
    // `_gateway` is the gateway's own topic segment (campus/v1/_gateway/status); a school there would collide.
    if (school.id.startsWith('_')) throw new ConfigError(source, `${at}/id`, `school id "${school.id}" must not start with "_" (reserved for gateway topics)`);
    const prev = schoolAt.get(school.id);
    if (prev) throw new ConfigError(source, `${at}/id`, `duplicate school id "${school.id}" (already used at ${prev})`);
    schoolAt.set(school.id, `${at}/id`);
    schools.set(school.id, school);

    school.devices.forEach((device, j) => {
      const dat = `${at}/devices/${j}`;
      const prevDevice = deviceAt.get(device.id);
      if (prevDevice)
        throw new ConfigError(source, `${dat}/id`, `duplicate device id "${device.id}" (already used at ${prevDevice}); device ids must be unique across the county`);
      if (device.kind === 'camera' && device.zone === undefined)
        throw new ConfigError(source, `${dat}/zone`, `camera "${device.id}" has no zone (one of ${CAMERA_ZONES.join(', ')})`);
      if (device.kind !== 'camera' && device.zone !== undefined)
        throw new ConfigError(source, `${dat}/zone`, `only a camera has a zone, but "${device.id}" is of kind ${device.kind}`);
      deviceAt.set(device.id, `${dat}/id`);
      devices.set(device.id, { ...device, school: school.id });
    });
  });

  const defaults = registry.defaults.heartbeatIntervalSec;
  return {
    registry,
    source,
    schools,
    devices,
    heartbeatIntervalSec(deviceId) {
      const d = devices.get(deviceId);
      if (!d) throw new Error(`unknown device "${deviceId}"`);
      return heartbeatSec(registry, d);
    },
  };
}

/** TypeBox's messages made specific: allowed values, the field's name, what was found. */
function describe(e: ValueError): string {
  const got = e.value === undefined ? '' : ` (got ${truncate(JSON.stringify(e.value))})`;
  const consts = e.type === ValueErrorType.Union && Array.isArray(e.schema.anyOf) ? e.schema.anyOf.map((s: { const?: unknown }) => s.const) : [];
  if (consts.length && consts.every((c: unknown) => c !== undefined))
    return `must be one of ${consts.map((c: unknown) => JSON.stringify(c)).join(', ')}${got}`;
  if (e.type === ValueErrorType.ObjectRequiredProperty) return `required field "${lastKey(e.path)}" is missing`;
  if (e.type === ValueErrorType.ObjectAdditionalProperties) return `unknown field "${lastKey(e.path)}"`;
  if (e.type === ValueErrorType.StringPattern) return `"${truncate(String(e.value), 80)}" is not a valid id (letters, digits, _ and -, 1–64 characters)`;
  return `${e.message.toLowerCase()}${got}`;
}

const lastKey = (pointer: string) => pointer.slice(pointer.lastIndexOf('/') + 1).replace(/~1/g, '/').replace(/~0/g, '~');
const truncate = (s: string, n = 60) => (s.length > n ? `${s.slice(0, n)}…` : s);

