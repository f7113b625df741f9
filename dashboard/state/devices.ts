/**
 * The devices module's liveness slice: each device's online status, from `device` frames and the
 * snapshot's `devices`. The snapshot lists only the devices that are not online (a province has a
 * million devices, nearly all of them up): a registered device missing here is online.
 */
import type { DeviceChange, FeedFrame, Snapshot } from '../../gateway/contract/api.js';
import type { Slice } from './slice.js';

export type DeviceStatus = 'online' | 'offline' | 'unknown';

export interface DeviceLive {
  online: boolean;
  /** `unknown`: never heard from since the gateway started watching it. */
  status: DeviceStatus;
  lastSeen: string | null;
  /** When the current status began (from `device` deltas; the snapshot does not carry it). */
  since?: string;
  /** Why the last change happened (`silent`, `last_will`, `heartbeat_resumed`, …). */
  reason?: string;
}

/**
 * By device id, split in PARTS records by a hash of the id: a change copies one part (about 1/64
 * of the county's devices), never the whole table (issue #12: thousands of devices, and a busy
 * hour brings thousands of device frames; copying the whole table per frame was a fifth of the
 * wall's time). Read it with `deviceOf`.
 */
export interface DevicesSlice {
  readonly parts: readonly Readonly<Record<string, DeviceLive>>[];
}

const PARTS = 64;

function partOf(id: string): number {
  let x = 0;
  for (let i = 0; i < id.length; i++) x = (Math.imul(x, 31) + id.charCodeAt(i)) | 0;
  return (x >>> 0) % PARTS;
}

export function deviceOf(slice: DevicesSlice, id: string): DeviceLive | undefined {
  return slice.parts[partOf(id)][id];
}

/** The slice with one device replaced (a new object; the old slice is untouched). */
export function withDevice(slice: DevicesSlice, id: string, live: DeviceLive): DevicesSlice {
  const k = partOf(id);
  const parts = slice.parts.slice();
  parts[k] = { ...parts[k], [id]: live };
  return { parts };
}

/** The frame's device change, or null when the frame carries none. */
export function deviceChangeOf(frame: FeedFrame): DeviceChange | null {
  const ch = frame.data as DeviceChange | null;
  return ch && typeof ch.id === 'string' && typeof ch.online === 'boolean' ? ch : null;
}

/** Whether the device is online as far as the slice knows: one it does not hold is (the snapshot lists only the others). */
export const knownOnline = (devices: DevicesSlice, id: string): boolean => deviceOf(devices, id)?.online ?? true;

/** Whether the change flips the device's online state. */
export function flips(devices: DevicesSlice, ch: DeviceChange): boolean {
  return knownOnline(devices, ch.id) !== ch.online;
}

export const initialDevices = (): DevicesSlice => ({ parts: Array.from({ length: PARTS }, () => ({})) });

export function loadDevices(_prev: DevicesSlice, snapshot: Partial<Snapshot>): DevicesSlice {
  const parts: Record<string, DeviceLive>[] = Array.from({ length: PARTS }, () => ({}));
  for (const [id, d] of Object.entries(snapshot.devices ?? {})) {
    // `since` is not in the snapshot (only in deltas): a fresh snapshot starts without it.
    parts[partOf(id)][id] = { online: d.online, status: d.status ?? (d.online ? 'online' : d.lastSeen ? 'offline' : 'unknown'), lastSeen: d.lastSeen };
  }
  return { parts };
}

export function reduceDevices(slice: DevicesSlice, frame: FeedFrame): DevicesSlice {
  const ch = deviceChangeOf(frame);
  if (!ch) return slice;
  const prev = deviceOf(slice, ch.id);
  const live: DeviceLive = { online: ch.online, status: ch.online ? 'online' : 'offline', lastSeen: ch.lastSeen };
  // `since` is in the contract; older gateways (and hand-written frames) may leave it out.
  const since = typeof ch.since === 'string' && ch.since ? ch.since : prev && prev.online === ch.online ? prev.since : undefined;
  if (since) live.since = since;
  if (ch.reason) live.reason = ch.reason;
  return withDevice(slice, ch.id, live);
}

export const devicesSlice: Slice<DevicesSlice> = { frames: ['device'], initial: initialDevices, load: loadDevices, reduce: reduceDevices };
