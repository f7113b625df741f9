/**
 * Device liveness as seen from its messages, pure. A first version: any sign of life
 * (heartbeat, `online`, a camera reporting itself up) makes a device online; `offline` (the
 * device's MQTT last will) or a camera reporting itself down makes it offline. Silence-based
 * detection with hysteresis comes with the liveness issue.
 */
import type { StoredDeviceState } from '../ledger/ledger.js';

export type DeviceSignal =
  | { kind: 'heartbeat'; atMs: number; battery?: number; rssi?: number }
  | { kind: 'availability'; atMs: number; online: boolean }
  | { kind: 'camera'; atMs: number; online: boolean }
  | { kind: 'activity'; atMs: number };

export interface DeviceUpdate {
  next: StoredDeviceState;
  /** Set when the online state flipped: the reason, for the live feed. */
  changed?: string;
}

export function initialDeviceState(id: string): StoredDeviceState {
  return { id, online: false, lastSeen: null, since: null };
}

export function applySignal(prev: StoredDeviceState, s: DeviceSignal): DeviceUpdate {
  const next: StoredDeviceState = { ...prev };
  let online: boolean;
  let reason: string;
  switch (s.kind) {
    case 'heartbeat':
      next.lastSeen = s.atMs;
      if (s.battery !== undefined) next.battery = s.battery;
      if (s.rssi !== undefined) next.rssi = s.rssi;
      online = true;
      reason = 'heartbeat';
      break;
    case 'activity':
      next.lastSeen = s.atMs;
      online = true;
      reason = 'activity';
      break;
    case 'availability':
      if (s.online) next.lastSeen = s.atMs;
      online = s.online;
      reason = s.online ? 'availability_online' : 'availability_offline';
      break;
    case 'camera':
      if (s.online) next.lastSeen = s.atMs;
      online = s.online;
      reason = s.online ? 'camera_online' : 'camera_offline';
      break;
  }
  if (online === prev.online) return { next };
  next.online = online;
  next.since = s.atMs;
  return { next, changed: reason };
}
