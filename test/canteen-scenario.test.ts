/**
 * The demo's canteen plan (scripts/canteen-scenario.ts) is what the README says, and deterministic
 * (the seed and the live simulator must agree): records that keep the rules but for the planned
 * faults, AI events in bursts at the right places and hours, the vendor's schools, the terminal
 * township's records sent by its canteen terminals (in the plan and by the live simulation).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadRegistry } from '../gateway/registry.js';
import { loadPolicy } from '../gateway/policy.js';
import { judgeDay, type ParsedRecord } from '../gateway/modules/canteen/records.js';
import { checkRecord } from '../gateway/modules/canteen/records.js';
import { CANTEEN_FAULTS, TERMINAL_REGION, VENDOR_REGION, createCanteenScenario, type PlannedRecord } from '../scripts/canteen-scenario.js';
import { startCanteenSim } from '../scripts/simulate-canteen.js';
import { REPO_ROOT } from './support/gateway.js';

const registry = loadRegistry(path.join(REPO_ROOT, 'config/county.json'));
const policy = loadPolicy(path.join(REPO_ROOT, 'config/policy.json'), registry);
const plan = createCanteenScenario(registry, policy);
// A school day of the demo policy's calendar.
const day = (() => {
  for (let ms = Date.parse('2026-03-10T04:00:00Z'); ; ms += 86_400_000) if (policy.isSchoolDay(policy.localDay(ms))) return policy.localDay(ms);
})();

test('every school\'s day book keeps the rules, but for the planned faults', () => {
  const faults: string[] = [];
  for (const school of registry.schools.keys()) {
    const records = plan.records(school, day);
    assert.deepEqual(records, plan.records(school, day), 'deterministic');
    const parsed = records.map((r) => {
      const c = checkRecord(r.body, policy.mealsFor(school), 'x');
      assert.ok(c.ok, JSON.stringify(r.body));
      return c.record as ParsedRecord;
    });
    const of = <K extends ParsedRecord['kind']>(k: K) => parsed.filter((r) => r.kind === k) as Extract<ParsedRecord, { kind: K }>[];
    const workers = [...new Set(of('morning_check').map((c) => c.person))].map((person) => ({ person }));
    const input = { dayStartMs: policy.dayStartMs(day), meals: policy.mealsFor(school), limits: policy.canteen.records, samples: of('sample'), checks: of('morning_check'), accompany: of('accompany'), disinfection: of('disinfection'), workers };
    for (const f of judgeDay(input, input.dayStartMs + 86_400_000).findings) faults.push(`${school} ${f.code}`);
    for (const m of policy.mealsFor(school)) {
      const n = of('sample').filter((s) => s.meal === m.id).length;
      assert.ok(n >= 3 && n <= 5, `${school} ${m.id}: ${n} dishes`);
    }
  }
  const expected = [`${CANTEEN_FAULTS.underweight.school} sample_underweight`, `${CANTEEN_FAULTS.noAccompany.school} accompany_missing`];
  assert.deepEqual(faults.filter((f) => !f.endsWith('morning_check_abnormal')).sort(), expected.sort());
  assert.ok(faults.every((f) => !f.endsWith('morning_check_abnormal') || f.startsWith(CANTEEN_FAULTS.abnormalCheck.school)));
  assert.deepEqual(plan.records('S001', '2026-08-01'), [], 'nothing in the summer holiday');
});

test('one township\'s records come from its canteen terminals (over MQTT), not the vendor\'s, with stable ids', () => {
  const by = new Map([...registry.schools.keys()].map((s) => [s, new Set(plan.records(s, day).map((r) => r.device ?? 'http'))]));
  const terminal = [...by].filter(([, d]) => !d.has('http')).map(([s, d]) => `${s} ${[...d].join(',')}`);
  const mqttSchools = [...registry.schools.values()].filter((s) => s.region === TERMINAL_REGION);
  assert.ok((TERMINAL_REGION as string) !== VENDOR_REGION && mqttSchools.length >= 3);
  assert.deepEqual(terminal, mqttSchools.map((s) => `${s.id} ${s.id}-CT1`), 'each of its schools from its own first terminal, every record');
  assert.ok([...by].filter(([s]) => !mqttSchools.some((m) => m.id === s)).every(([, d]) => d.size === 1 && d.has('http')), 'the others over HTTP');
  assert.equal(registry.devices.get(plan.recordTerminal(CANTEEN_FAULTS.noAccompany.school)!)?.kind, 'canteen_terminal', 'a planned fault goes over MQTT too');
  const ids = plan.records(mqttSchools[0].id, day).map((r) => r.body.id);
  assert.ok(ids.every((id) => id) && new Set(ids).size === ids.length, 'an id on every record (the MQTT dedupe key), unique');
});

test('AI events: bursts of frames of one thing on one camera, around the rule minimum, most hours quiet', () => {
  const days = Array.from({ length: 30 }, (_, i) => policy.localDay(Date.parse(`${day}T04:00:00Z`) + i * 86_400_000));
  const all = days.flatMap((d) => plan.ai(d));
  assert.deepEqual(plan.ai(day), plan.ai(day), 'deterministic');
  const perDay = all.length / days.length;
  assert.ok(perDay > 5 && perDay < 60, `${perDay} frames a day county-wide`);
  // Most hours of a day nothing: the frames fall in the preparation windows, and at night in storerooms.
  const hoursPerDay = days.map((d) => new Set(plan.ai(d).map((e) => Math.floor((e.atMs - policy.dayStartMs(d)) / 3_600_000))).size);
  assert.ok(hoursPerDay.reduce((a, b) => a + b, 0) / days.length < 10, `hours with events per day: ${hoursPerDay.join(' ')}`);
  assert.ok(all.some((e) => e.confidence < 0.6) && all.some((e) => e.confidence >= 0.6));
  for (const e of all) {
    const d = registry.devices.get(e.device)!;
    assert.ok(policy.aiRule(e.kind).areas.includes(d.area!), `${e.kind} in ${d.area}`);
    assert.equal(e.vendor, registry.schools.get(e.school)!.region === VENDOR_REGION);
  }
  const rodents = all.filter((e) => e.kind === 'rodent');
  assert.ok(rodents.length > 0 && rodents.every((e) => registry.devices.get(e.device)!.area === 'storage'));
  // A burst: frames of one incident within two minutes, so the gateway's dedupe makes one case of them.
  const byIncident = new Map<string, number[]>();
  for (const e of all) byIncident.set(e.id.slice(0, -1), [...(byIncident.get(e.id.slice(0, -1)) ?? []), e.atMs]);
  assert.ok([...byIncident.values()].some((t) => t.length > 1));
  assert.ok([...byIncident.values()].every((t) => Math.max(...t) - Math.min(...t) <= 120_000));
});

test('case handling: every case either waits or runs notify → start → submit (→ reject → submit) → close, in time order', () => {
  const fates = new Map<string, number>();
  for (let i = 0; i < 500; i++) {
    const steps = plan.caseSteps({ id: `ai-X-no_hat-${i}`, openedAt: '2026-03-10T02:00:00Z', deadlineAt: '2026-03-11T02:00:00Z' });
    const path = steps.map((s) => s.action).join(',');
    fates.set(path, (fates.get(path) ?? 0) + 1);
    assert.ok(steps.every((s, j) => j === 0 || s.atMs > steps[j - 1].atMs));
    assert.ok(steps.filter((s) => s.action === 'submit').every((s) => s.photo && s.measure));
  }
  assert.deepEqual([...fates.keys()].sort(), ['', 'notify', 'notify,start', 'notify,start,submit', 'notify,start,submit,close', 'notify,start,submit,reject,submit', 'notify,start,submit,reject,submit,close'].sort());
});

test('the live simulation sends a terminal school\'s records by its terminal at their times, none over HTTP', () => {
  const schools = [...registry.schools.values()].filter((s) => s.region === TERMINAL_REGION).map((s) => s.id);
  const sent: PlannedRecord[] = [];
  const lines: string[] = [];
  // A past school day: the simulator's case round (on the real clock) does not come due.
  const sim = startCanteenSim({
    g: { base: 'http://127.0.0.1:9', token: 'none' }, canteen: plan, registry, policy, schools, planFromMs: 0,
    publishAi: () => {}, publishRecord: (r) => (sent.push(r), true), log: (l) => lines.push(l),
  });
  const start = policy.dayStartMs(day);
  sim.tick(start);
  const lunch = start + 12 * 3_600_000;
  sim.tick(lunch);
  const planned = schools.flatMap((s) => plan.records(s, day));
  assert.deepEqual(sent.map((r) => r.body.id).sort(), planned.filter((r) => r.atMs <= lunch).map((r) => r.body.id).sort(), 'the morning\'s, at their times');
  sim.tick(start + 86_400_000 - 1);
  assert.deepEqual(sent.map((r) => `${r.device} ${r.body.id}`).sort(), planned.map((r) => `${r.school}-CT1 ${r.body.id}`).sort());
  assert.deepEqual({ ...sim.stats }, { records: 0, terminalRecords: planned.length, vendorPushes: 0, caseSteps: 0, errors: 0 });
  assert.deepEqual(lines, []);
});
