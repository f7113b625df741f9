/**
 * The canteens' part of the demo history (`seed.ts`), through the gateway's public inputs:
 * - the records of the last RECORD_SCHOOL_DAYS school days (in time order, their own past times):
 *   the summary's meals and the planned record faults; older days are left out to keep the demo's
 *   start quick (about 1,400 records a school day). Over HTTP, but the terminal schools'
 *   (TERMINAL_REGION) go over MQTT from their canteen terminal (returned with the AI events);
 * - the AI events of every day of the history: the vendor's schools through `POST /api/push/trustivs`
 *   (with a picture), the others as the cameras' MQTT `ai` messages (returned, for the seed's MQTT run);
 * - then each case taken through the steps of its plan due by now. The case API stamps an action
 *   with the time it is made (it takes no `at`): a case's history shows the seed's minute, while
 *   its opening time is the event's.
 */
import type { PolicyIndex } from '../gateway/policy.js';
import type { RegistryIndex } from '../gateway/registry.js';
import type { CanteenScenario, PlannedAi } from './canteen-scenario.js';
import { CANTEEN_FAULTS } from './canteen-scenario.js';
import { advanceCase, listCases, postRecord, pushVendor, type GatewayHttp } from './canteen-io.js';
import { lastDays, type PlannedEvent } from './scenario.js';

export const RECORD_SCHOOL_DAYS = 3;

export interface CanteenSeed {
  mqttEvents: PlannedEvent[];
  /** Records and vendor pushes over HTTP. */
  http(): Promise<void>;
  /** Waits for the record faults' cases, then takes every case through its due steps. */
  cases(): Promise<void>;
  /** `records`: over HTTP; `terminalRecords`: over MQTT (in `mqttEvents`). */
  result: { records: number; terminalRecords: number; vendorPushes: number; mqttAi: number; caseSteps: number; cases: number; recordDays: string[]; http: number };
}

export function seedCanteen(g: GatewayHttp, canteen: CanteenScenario, registry: RegistryIndex, policy: PolicyIndex, untilMs: number, days: number, log: (l: string) => void): CanteenSeed {
  const schools = [...registry.schools.values()].filter((s) => s.canteens?.length).map((s) => s.id);
  const recordDays: string[] = [];
  for (let d: string | undefined = policy.localDay(untilMs); d && recordDays.length < RECORD_SCHOOL_DAYS; d = policy.previousSchoolDay(d)) if (policy.isSchoolDay(d)) recordDays.unshift(d);
  const all = recordDays.flatMap((day) => schools.flatMap((s) => canteen.records(s, day))).filter((r) => r.atMs < untilMs).sort((a, b) => a.atMs - b.atMs);
  const records = all.filter((r) => !r.device);
  const terminalRecords: PlannedEvent[] = all.filter((r) => r.device).map((r) => ({ atMs: r.atMs, school: r.school, device: r.device!, type: 'record', payload: r.body as unknown as Record<string, unknown> }));
  const ai = lastDays(policy, untilMs, days).flatMap((day) => canteen.ai(day)).filter((e) => e.atMs < untilMs);
  const vendor = ai.filter((e) => e.vendor);
  const mqttAi: PlannedEvent[] = ai.filter((e) => !e.vendor).map((e: PlannedAi) => ({ atMs: e.atMs, school: e.school, device: e.device, type: 'ai', payload: { id: e.id, kind: e.kind, confidence: e.confidence } }));
  const mqttEvents = [...mqttAi, ...terminalRecords];
  const result = { records: records.length, terminalRecords: terminalRecords.length, vendorPushes: vendor.length, mqttAi: mqttAi.length, caseSteps: 0, cases: 0, recordDays, http: 0 };

  return {
    mqttEvents,
    result,
    async http() {
      const t0 = Date.now();
      await pool(records, 32, (r) => postRecord(g, r.body));
      await pool(vendor, 16, (e) => pushVendor(g, e, registry, policy));
      result.http += records.length + vendor.length;
      log(`seed   ${records.length} canteen records of ${recordDays.join(', ')} (${terminalRecords.length} more from the canteen terminals over MQTT, below) and ${vendor.length} vendor AI pushes (${Date.now() - t0} ms)`);
    },
    async cases() {
      const t0 = Date.now();
      // The record days are judged once their late records stop (a few seconds): wait for the planned faults' cases.
      const f = CANTEEN_FAULTS.underweight;
      const faultDays = records.filter((r) => r.school === f.school && r.body.kind === 'sample' && r.body.grams < 125).map((r) => `rec-${f.school}-${policy.localDay(r.atMs)}-`);
      for (let i = 0; ; i++) {
        const ids = (await listCases(g, `&school=${f.school}`)).map((c) => c.id);
        if (faultDays.every((p) => ids.some((id) => id.startsWith(p)))) break;
        if (i > 300) throw new Error(`seed: the planned record faults opened no case within 30 s (${faultDays.join(', ')})`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const list = await listCases(g);
      let steps = 0;
      await pool(list, 16, async (c) => {
        const n = await advanceCase(g, canteen, c, untilMs);
        steps += n;
      });
      Object.assign(result, { caseSteps: steps, cases: list.length, http: result.http + steps + 2 });
      log(`seed   ${list.length} canteen cases, ${steps} steps of their handling taken (${Date.now() - t0} ms)`);
    },
  };
}

async function pool<T>(items: readonly T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  }));
}
