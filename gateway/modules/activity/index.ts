/**
 * What schools' devices report that no module judges yet: gate openings, duty check-ins and canteen
 * camera analytics go to the screens as they come (`gate`, `checkin`, `ai` frames) and to the time
 * series. The targets and canteen modules (issues 10, 11) will consume these same events.
 */
import { iso } from '../../contract/common.js';
import type { AiPayload, CheckinPayload, GatePayload } from '../../contract/mqtt.js';
import type { GatewayModule, ModuleContext } from '../../core/module.js';
import { devicePoint, line } from '../../core/points.js';

declare module '../../core/events.js' {
  interface EventMap {
    ai: AiPayload;
    gate: GatePayload;
    checkin: CheckinPayload;
  }
}

export function activityModule(ctx: ModuleContext): GatewayModule {
  const { registry } = ctx;
  return {
    name: 'activity',
    consumes: ['ai', 'gate', 'checkin'],
    frames: ['ai', 'gate', 'checkin'],
    apply(e, tx) {
      const device = registry.devices.get(e.device!)!;
      const p = devicePoint(e.type, registry, device, e.receivedAtMs);
      if (e.type === 'ai') {
        const d = e.data as AiPayload;
        p.tag('kind', d.kind).intField('count', 1);
        if (d.confidence !== undefined) p.floatField('confidence', d.confidence);
        tx.feed('ai', { device: device.id, school: e.school, zone: device.zone, ...d, ts: iso(e.atMs), receivedAt: iso(e.receivedAtMs) }, e.receivedAtMs);
      } else if (e.type === 'gate') {
        p.intField('open', (e.data as GatePayload).state === 'open' ? 1 : 0);
        tx.feed('gate', { device: device.id, school: e.school, ...(e.data as GatePayload), ts: iso(e.atMs) }, e.receivedAtMs);
      } else {
        p.tag('role', (e.data as CheckinPayload).role).intField('count', 1);
        tx.feed('checkin', { device: device.id, school: e.school, ...(e.data as CheckinPayload), ts: iso(e.atMs) }, e.receivedAtMs);
      }
      tx.points([line(p)], e.receivedAtMs);
    },
  };
}
