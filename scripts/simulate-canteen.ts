/**
 * The canteens on the real clock (the simulator's part of `canteen-scenario.ts`): each school's
 * records sent at their times, over HTTP or, for the terminal schools (TERMINAL_REGION), by their
 * canteen terminal over MQTT; the day's AI frames sent when due (the vendor's schools
 * through its push API, the others by the camera over MQTT), and every 30 s the cases that are due
 * a step of their plan taken through it (the school notifies… submits, the center closes or
 * rejects; a case left alone goes overdue by itself).
 */
import type { PolicyIndex } from '../gateway/policy.js';
import type { RegistryIndex } from '../gateway/registry.js';
import type { CanteenScenario, PlannedAi, PlannedRecord } from './canteen-scenario.js';
import { advanceCase, listCases, postRecord, pushVendor, type GatewayHttp } from './canteen-io.js';

/** `records`: over HTTP; `terminalRecords`: published by a canteen terminal (QoS 1); `errors`: HTTP errors. */
export interface CanteenSimStats { records: number; terminalRecords: number; vendorPushes: number; caseSteps: number; errors: number }

export interface CanteenSim {
  tick(now: number): void;
  stats: CanteenSimStats;
}

const CASES_EVERY_MS = 30_000;

export function startCanteenSim(o: {
  g: GatewayHttp; canteen: CanteenScenario; registry: RegistryIndex; policy: PolicyIndex; schools: readonly string[];
  planFromMs: number; publishAi: (e: PlannedAi) => void;
  /** A terminal school's record, by its terminal over MQTT (false: no such device here). */
  publishRecord: (r: PlannedRecord) => boolean;
  log: (line: string) => void;
}): CanteenSim {
  const stats: CanteenSimStats = { records: 0, terminalRecords: 0, vendorPushes: 0, caseSteps: 0, errors: 0 };
  let day = '';
  let records: PlannedRecord[] = [];
  let ai: PlannedAi[] = [];
  let lastError = '';
  const fail = (err: unknown) => {
    stats.errors++;
    const m = err instanceof Error ? err.message : String(err);
    if (m !== lastError) o.log(`canteen ${m}`); // once per distinct error
    lastError = m;
  };
  const load = (now: number) => {
    day = o.policy.localDay(now);
    const from = Math.max(o.planFromMs, now);
    records = o.schools.flatMap((s) => o.canteen.records(s, day)).filter((r) => r.atMs >= from).sort((a, b) => a.atMs - b.atMs);
    ai = o.canteen.ai(day).filter((e) => e.atMs >= from && o.schools.includes(e.school));
  };
  let nextCases = Date.now() + 5_000;
  let busy = false;
  const cases = async (now: number) => {
    busy = true;
    try {
      for (const c of await listCases(o.g)) if (c.state !== 'closed') stats.caseSteps += await advanceCase(o.g, o.canteen, c, now);
    } catch (err) {
      fail(err);
    } finally {
      busy = false;
    }
  };

  return {
    stats,
    tick(now) {
      if (o.policy.localDay(now) !== day) load(now);
      while (records.length && records[0].atMs <= now) {
        const r = records.shift()!;
        if (r.device) {
          if (o.publishRecord(r)) stats.terminalRecords++;
        } else postRecord(o.g, r.body).then(() => stats.records++, fail);
      }
      while (ai.length && ai[0].atMs <= now) {
        const e = ai.shift()!;
        if (e.vendor) pushVendor(o.g, e, o.registry, o.policy).then(() => stats.vendorPushes++, fail);
        else o.publishAi(e);
      }
      if (now >= nextCases && !busy) {
        nextCases = now + CASES_EVERY_MS;
        void cases(now);
      }
    },
  };
}
