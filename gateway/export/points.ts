/**
 * The time-series schema (docs/influx-schema.md): which line-protocol points each accepted event
 * becomes. Pure. Lines are rendered once, when the event is committed, and stored in the outbox;
 * a re-sent line is byte-identical (same series, same timestamp) and so overwrites itself.
 *
 * Tags are low-cardinality (school, region, device, kind, zone); every field is numeric, so
 * stores that keep numbers only (VictoriaMetrics, Prometheus-style backends) lose nothing.
 */
import { Point } from '@influxdata/influxdb-client';
import type { Alarm } from '../contract/api.js';
import type { IndexedDevice, RegistryIndex } from '../registry.js';
import type { DeviceInput } from '../ingest/parse.js';

const line = (p: Point): string => p.toLineProtocol()!;

function deviceTags(p: Point, registry: RegistryIndex, d: IndexedDevice): Point {
  p.tag('school', d.school).tag('region', registry.schools.get(d.school)!.region).tag('device', d.id).tag('device_kind', d.kind);
  if (d.zone) p.tag('zone', d.zone);
  return p;
}

/** Points for a device message that is a time series (alarms are exported through `alarmPoint`). */
export function inputPoints(registry: RegistryIndex, input: DeviceInput): string[] {
  const p = deviceTags(new Point(input.topic), registry, input.device).timestamp(input.receivedAtMs);
  switch (input.topic) {
    case 'heartbeat':
      p.intField('count', 1);
      if (input.payload.battery !== undefined) p.floatField('battery', input.payload.battery);
      if (input.payload.rssi !== undefined) p.floatField('rssi', input.payload.rssi);
      break;
    case 'camera':
      p.intField('online', input.payload.online ? 1 : 0);
      if (input.payload.rttMs !== undefined) p.floatField('rtt_ms', input.payload.rttMs);
      p.intField('error', input.payload.error ? 1 : 0);
      break;
    case 'ai':
      p.tag('kind', input.payload.kind).intField('count', 1);
      if (input.payload.confidence !== undefined) p.floatField('confidence', input.payload.confidence);
      break;
    case 'gate':
      p.intField('open', input.payload.state === 'open' ? 1 : 0);
      break;
    case 'checkin':
      p.tag('role', input.payload.role).intField('count', 1);
      break;
    case 'availability':
    case 'alarm':
      return []; // availability: exported as `device_state` transitions; alarms: `alarmPoint`
  }
  return [line(p)];
}

/** A device's online state changed (from any signal). */
export function deviceStatePoint(registry: RegistryIndex, d: IndexedDevice, online: boolean, reason: string, atMs: number): string {
  return line(deviceTags(new Point('device_state'), registry, d).tag('reason', reason).intField('online', online ? 1 : 0).timestamp(atMs));
}

/**
 * One point per alarm, at its raise time, rewritten as the alarm moves on: the fields grow
 * (`ack_s`, `dispatch_s`, `resolve_s` in seconds since raised; `escalated`). Same series and
 * timestamp every time, so the last write carries every field so far.
 */
export function alarmPoint(registry: RegistryIndex, alarm: Alarm): string {
  const raisedMs = Date.parse(alarm.raisedAt);
  const p = new Point('alarm')
    .tag('school', alarm.school)
    .tag('region', registry.schools.get(alarm.school)!.region)
    .tag('device', alarm.device)
    .tag('kind', alarm.kind)
    .tag('test', alarm.test ? 'true' : 'false')
    .intField('count', 1)
    .intField('escalated', alarm.escalated ? 1 : 0)
    .floatField('clock_skew_s', alarm.clockSkewMs / 1000)
    .timestamp(raisedMs);
  const field = { acknowledged: 'ack_s', dispatched: 'dispatch_s', resolved: 'resolve_s' } as const;
  for (const h of alarm.history) {
    if (h.state === 'raised') continue;
    p.floatField(field[h.state], (Date.parse(h.at) - raisedMs) / 1000);
  }
  return line(p);
}
