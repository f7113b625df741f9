/**
 * Batteries: an alarm button or terminal whose battery runs low is a panic button that will go
 * quiet. Heartbeats carry `battery` (0–100, contract §1); a device below `LOW_PERCENT` is listed
 * (a `battery` frame, GET /api/devices/low-battery, the snapshot's `batteryLow`) until it reports
 * `RECOVERED_PERCENT` or more again — the gap is hysteresis, so a reading that wobbles around the
 * threshold is one entry, not a flood. Only crossings are written; a heartbeat costs no write.
 *
 * This module touches nothing outside its folder but one line in `modules/index.ts`: it is the
 * proof that a capability is a folder (issue 8). The thresholds move to the county's POLICY file
 * when it lands (issue 10).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole, scopedSchool } from '../../auth/guard.js';
import { AUTH_ERRORS, BEARER, INTERNAL, described } from '../../contract/api.js';
import { iso } from '../../contract/common.js';
import type { HeartbeatPayload } from '../../contract/mqtt.js';
import type { GatewayModule, ModuleContext } from '../../core/module.js';

export const LOW_PERCENT = 20;
export const RECOVERED_PERCENT = 30;

const BatteryLow = Type.Object(
  { device: Type.String(), school: Type.String(), battery: Type.Number(), since: Type.String({ description: 'when it first reported below the threshold' }) },
  { additionalProperties: true },
);
type BatteryLow = { device: string; school: string; battery: number; since: string };

interface Row {
  device: string;
  school: string;
  battery: number;
  low: number;
  since: number;
}

export interface BatteryModule extends GatewayModule {
  readonly low: ReadonlyMap<string, BatteryLow>;
}

export function batteryModule(ctx: ModuleContext): BatteryModule {
  const low = new Map<string, BatteryLow>();

  const routes: FastifyPluginAsyncTypebox = async (app) => {
    app.get(
      '/api/devices/low-battery',
      {
        onRequest: requireRole(app, 'viewer'),
        schema: {
          tags: ['registry'],
          summary: `Devices whose battery is below ${LOW_PERCENT} % (until back at ${RECOVERED_PERCENT} %) (viewer+)`,
          security: BEARER,
          response: {
            200: described(Type.Object({ lowPercent: Type.Number(), recoveredPercent: Type.Number(), devices: Type.Array(BatteryLow) }, { additionalProperties: true }), 'lowest first'),
            ...AUTH_ERRORS,
            ...INTERNAL,
          },
        },
      },
      async (req) => {
        const only = scopedSchool(req, undefined);
        return { lowPercent: LOW_PERCENT, recoveredPercent: RECOVERED_PERCENT, devices: [...low.values()].filter((b) => !only || b.school === only).sort((a, b) => a.battery - b.battery) };
      },
    );
  };

  return {
    name: 'battery',
    consumes: ['heartbeat'],
    frames: ['battery'],
    tables: [{ name: 'battery_low', key: 'device', columns: { device: 'text', school: 'text', battery: 'real', low: 'integer', since: 'integer' } }],
    low,

    // Another gateway's commits (decision 0009): a device's low battery is judged where its heartbeat landed.
    refresh() {
      return this.load!();
    },

    async load() {
      low.clear();
      for (const r of await ctx.store.find<Row>('battery_low', { where: [['low', '=', 1]] }))
        low.set(r.device, { device: r.device, school: r.school, battery: r.battery, since: iso(r.since) });
    },

    apply(e, tx) {
      const battery = (e.data as HeartbeatPayload).battery;
      if (battery === undefined) return;
      const device = e.device!;
      const entry = low.get(device);
      if (entry) {
        if (battery < RECOVERED_PERCENT) return void (entry.battery = battery); // still low: kept in memory, not written
        low.delete(device);
        tx.put('battery_low', { device, school: e.school, battery, low: 0, since: e.receivedAtMs });
        tx.feed('battery', { device, school: e.school, battery, low: false }, e.receivedAtMs);
      } else if (battery < LOW_PERCENT) {
        const next = { device, school: e.school, battery, since: iso(e.receivedAtMs) };
        low.set(device, next);
        tx.put('battery_low', { device, school: e.school, battery, low: 1, since: e.receivedAtMs });
        tx.feed('battery', { ...next, low: true }, e.receivedAtMs);
      }
    },

    snapshot: (school) => ({ batteryLow: [...low.values()].filter((b) => !school || b.school === school) }),
    routes,
  };
}
