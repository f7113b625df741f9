/**
 * Helpers for the time-series schema (docs/influx-schema.md) that every module's points share.
 * Tags are low-cardinality (school, region, device, kind, zone); every field is numeric, so stores
 * that keep numbers only (VictoriaMetrics, Prometheus-style backends) lose nothing. A line is
 * rendered once, when its event is committed, so a re-sent line is byte-identical and overwrites itself.
 */
import { Point } from '@influxdata/influxdb-client';
import type { IndexedDevice, RegistryIndex } from '../registry.js';

export { Point };

export const line = (p: Point): string => p.toLineProtocol()!;

export function deviceTags(p: Point, registry: RegistryIndex, d: IndexedDevice): Point {
  p.tag('school', d.school).tag('region', registry.schools.get(d.school)!.region).tag('device', d.id).tag('device_kind', d.kind);
  if (d.zone) p.tag('zone', d.zone);
  return p;
}

/** A point tagged with the device it came from, at `atMs`. */
export const devicePoint = (measurement: string, registry: RegistryIndex, d: IndexedDevice, atMs: number): Point =>
  deviceTags(new Point(measurement), registry, d).timestamp(atMs);
