/**
 * Runs the ONVIF watcher over the registry's cameras that have an `onvif` address and turns what
 * it sees into `camera` reports — the same event an edge NVR publishes on
 * `{prefix}/{school}/{device}/camera` — handed to the gateway as domain events, not MQTT.
 *
 * A report with `online: false` is a verdict (contract §1: the camera goes offline at once), so the
 * watcher gives one only after `verdictAfterFailures` probes in a row failed; a failure before that
 * is reported through `failed` (the camera's latest report, and no verdict).
 *
 * Credentials come from the file the registry names in `onvifCredentials` (schema:
 * `config/onvif-credentials.ts`) or from ONVIF_USERNAME / ONVIF_PASSWORD (through the config),
 * never from the registry, and are never logged.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { OnvifCredentials } from '../config.js';
import { ConfigError } from '../config-error.js';
import { readJsonFile } from '../config/json-file.js';
import { OnvifCredentialsFile } from '../config/onvif-credentials.js';
import type { CameraPayload } from '../contract/mqtt.js';
import type { RegistryIndex } from '../registry.js';
import { CameraWatcher, type CameraEvent, type OnvifTarget, type ProbeOutcome } from './onvif/index.js';

export interface CameraWatchOptions {
  registry: RegistryIndex;
  /** From `onvifTargets`. */
  targets: OnvifTarget[];
  probeIntervalSec: number;
  timeoutMs: number;
  concurrency: number;
  detailsEveryN: number;
  events: boolean;
  log: Logger;
  /** Delivers one camera report (a verdict when `online` is false). */
  deliver: (school: string, device: string, payload: CameraPayload) => void;
  /** A failed probe short of a verdict. */
  failed: (device: string, payload: CameraPayload) => void;
  /** Failed probes in a row before the watcher says the camera is down. */
  verdictAfterFailures: number;
  /** A sign of life that is not worth a ledger event (a live event subscription). */
  alive: (device: string, atMs: number) => void;
  /** The snapshot URI a details probe found (the alarm pictures start from it). */
  snapshotUri?: (device: string, uri: string) => void;
}

/**
 * One target per registry camera with an `onvif` address. Credentials: the camera's entry in the
 * credentials file the registry names, else the file's `default`, else `fallback` (ONVIF_USERNAME /
 * ONVIF_PASSWORD, validated by the config); a field missing from an entry comes from `fallback`.
 * The file is validated here, at start: ConfigError names the file, the JSON pointer and the fault.
 */
export function onvifTargets(registry: RegistryIndex, fallback: OnvifCredentials): OnvifTarget[] {
  const login = cameraLogins(registry, fallback);
  const targets: OnvifTarget[] = [];
  for (const d of registry.devices.values()) {
    if (d.kind !== 'camera' || !d.onvif) continue;
    targets.push({ id: d.id, url: d.onvif, ...login(d.id) });
  }
  return targets;
}

/**
 * Each camera's login, as `onvifTargets` gives it (the credentials file, its default, the
 * fallback): also the login of its snapshot URI, which cameras guard with the same account.
 * Reads and validates the file once, here.
 */
export function cameraLogins(registry: RegistryIndex, fallback: OnvifCredentials): (cameraId: string) => OnvifCredentials {
  let file: OnvifCredentialsFile = {};
  const ref = registry.registry.onvifCredentials;
  if (ref) {
    const where = path.resolve(path.dirname(registry.source), ref);
    file = readJsonFile(where, OnvifCredentialsFile, `the ONVIF credentials file named by ${registry.source} /onvifCredentials`);
    // A mistyped id would silently fall back to the default login: refuse it instead.
    for (const id of Object.keys(file.cameras ?? {})) {
      if (registry.devices.get(id)?.kind !== 'camera')
        throw new ConfigError(where, `/cameras/${id.replace(/~/g, '~0').replace(/\//g, '~1')}`, `"${id}" is not a camera in the registry ${registry.source}`);
    }
  }
  return (id) => {
    const c = file.cameras?.[id] ?? file.default ?? fallback;
    return { username: c.username ?? fallback.username, password: c.password ?? fallback.password };
  };
}

/** What a probe result means as a camera event: a wrong password is a camera that answers, not one that is down. */
export function probeToPayload(r: ProbeOutcome, atMs: number): CameraPayload {
  if (r.ok) return { ts: atMs, online: true, rttMs: Math.round(r.rttMs), clockSkewMs: Math.round(r.clockSkewMs) };
  const p: CameraPayload = { ts: atMs, online: r.reason === 'auth', error: `${r.reason}: ${r.message}`.slice(0, 1024) };
  if (r.rttMs !== undefined) p.rttMs = Math.round(r.rttMs);
  return p;
}

export function startCameraWatch(o: CameraWatchOptions): CameraWatcher | undefined {
  const { targets } = o;
  if (targets.length === 0) return undefined;
  const schoolOf = (id: string) => o.registry.devices.get(id)!.school;
  const failures = new Map<string, number>();
  const report = (id: string, r: ProbeOutcome, atMs: number) => {
    const payload = probeToPayload(r, atMs);
    if (payload.online) {
      failures.delete(id);
      return o.deliver(schoolOf(id), id, payload);
    }
    const n = (failures.get(id) ?? 0) + 1;
    failures.set(id, n);
    if (n >= o.verdictAfterFailures) o.deliver(schoolOf(id), id, payload);
    else o.failed(id, payload);
  };
  const watcher = new CameraWatcher({
    targets,
    probeIntervalSec: o.probeIntervalSec,
    timeoutMs: o.timeoutMs,
    detailsEveryN: o.detailsEveryN,
    concurrency: o.concurrency,
    events: o.events,
    log: o.log,
    onResult: report,
    onDetails: (id, d, atMs) => {
      if (d.ok && d.snapshotUri) o.snapshotUri?.(id, d.snapshotUri);
      // A camera whose time answers but whose credentials are refused: maintenance must fix the password.
      if (!d.ok && d.reason === 'auth') o.deliver(schoolOf(id), id, { ts: atMs, online: true, error: `auth: ${d.message}`.slice(0, 1024) });
    },
    onEvent: (id, e: CameraEvent) => o.deliver(schoolOf(id), id, { ts: e.atMs, online: true, event: e.topic }),
    onAlive: (id, atMs) => o.alive(id, atMs),
  });
  watcher.start();
  o.log.info({ cameras: targets.length, probeIntervalSec: o.probeIntervalSec }, 'ONVIF camera watcher started');
  return watcher;
}
