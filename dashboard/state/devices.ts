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

/** By device id. */
export type DevicesSlice = Record<string, DeviceLive>;

/** The frame's device change, or null when the frame carries none. */
export function deviceChangeOf(frame: FeedFrame): DeviceChange | null {
  const ch = frame.data as DeviceChange | null;
  return ch && typeof ch.id === 'string' && typeof ch.online === 'boolean' ? ch : null;
}

/** Whether the device is online as far as the slice knows: one it does not hold is (the snapshot lists only the others). */
export const knownOnline = (devices: DevicesSlice, id: string): boolean => devices[id]?.online ?? true;

/** Whether the change flips the device's online state. */
export function flips(devices: DevicesSlice, ch: DeviceChange): boolean {
  return knownOnline(devices, ch.id) !== ch.online;
}

export const initialDevices = (): DevicesSlice => ({});

export function loadDevices(_prev: DevicesSlice, snapshot: Partial<Snapshot>): DevicesSlice {
  const out: DevicesSlice = {};
  for (const [id, d] of Object.entries(snapshot.devices ?? {})) {
    // `since` is not in the snapshot (only in deltas): a fresh snapshot starts without it.
    out[id] = { online: d.online, status: d.status ?? (d.online ? 'online' : d.lastSeen ? 'offline' : 'unknown'), lastSeen: d.lastSeen };
  }
  return out;
}

export function reduceDevices(slice: DevicesSlice, frame: FeedFrame): DevicesSlice {
  const ch = deviceChangeOf(frame);
  if (!ch) return slice;
  const prev = slice[ch.id];
  const live: DeviceLive = { online: ch.online, status: ch.online ? 'online' : 'offline', lastSeen: ch.lastSeen };
  // `since` is in the contract; older gateways (and hand-written frames) may leave it out.
  const since = typeof ch.since === 'string' && ch.since ? ch.since : prev && prev.online === ch.online ? prev.since : undefined;
  if (since) live.since = since;
  if (ch.reason) live.reason = ch.reason;
  return { ...slice, [ch.id]: live };
}

export const devicesSlice: Slice<DevicesSlice> = { frames: ['device'], initial: initialDevices, load: loadDevices, reduce: reduceDevices };
