/**
 * Canteen records over MQTT (contract §8: "a canteen terminal may also publish them over MQTT"),
 * in process with the real embedded broker: `campus/v1/{s}/{d}/record` from a `canteen_terminal`,
 * the same body, rules and refusals as `POST /api/canteen/records` (refusals on `_gateway/rejected`
 * with the specific reason, nothing stored), PUBACK only once the record is durable, judged
 * identically (an underweight sample opens a case), and a redelivery of an id stored once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildInProcess, type InProcessGateway } from '../routes/harness.js';
import { REPO_ROOT } from '../support/gateway.js';
import { collect, connectAs, connectDevice, type Collector, type MqttClient } from '../support/mqtt.js';
import { makeTempDir } from '../support/procs.js';
import { waitFor } from '../support/wait.js';

const P = 'campus/v1';
const TERMINAL = 'S001-CT1';
const TOPIC = `${P}/S001/${TERMINAL}/record`;
let g: InProcessGateway;
let terminal: MqttClient;
let tool: MqttClient;
let rejected: Collector;

before(async () => {
  const dir = await makeTempDir('canteen-mqtt-records-');
  // The demo county: S001's canteen terminal is in it (scripts/generate-registry.ts).
  const registry = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'config/county.json'), 'utf8'));
  assert.ok(registry.schools[0].devices.some((d: { id: string; kind: string }) => d.id === TERMINAL && d.kind === 'canteen_terminal'), 'S001-CT1 in the demo county');
  fs.writeFileSync(path.join(dir, 'county.json'), JSON.stringify(registry));
  const adminPassword = randomBytes(12).toString('base64url');
  g = await buildInProcess({ REGISTRY: path.join(dir, 'county.json'), POLICY: path.join(REPO_ROOT, 'config/policy.json'), GATEWAY_ADMIN_PASSWORD: adminPassword });
  terminal = await connectAs(g.mqttUrl, TERMINAL);
  tool = await connectDevice(g.mqttUrl, { username: 'admin', password: adminPassword });
  rejected = collect(tool, `${P}/_gateway/rejected`);
  await rejected.ready;
});
after(async () => {
  await terminal?.endAsync(true);
  await tool?.endAsync(true);
  await g?.close();
});

const H = 3_600_000;
const sample = (over: Record<string, unknown> = {}) => {
  const taken = Date.now() - 10 * 60_000;
  return { kind: 'sample', school: 'S001', canteen: 'main', id: `s-${randomBytes(5).toString('hex')}`, dish: '番茄炒蛋', meal: 'lunch', grams: 150, takenAt: new Date(taken).toISOString(), keptUntil: new Date(taken + 49 * H).toISOString(), person: '王师傅', ...over };
};
const storedRecord = (id: string) => g.services.store.get<{ by: string; record: { grams?: number } }>('canteen_records', `S001|${id}`);
const cases = async () => (await g.call('GET', '/api/canteen/cases?school=S001', { token: g.tokens.viewer })).body.cases as { finding?: string; reason: { en: string } }[];

test('a terminal’s record is stored before its PUBACK, as the HTTP route stores it, and judged the same', async () => {
  const ok = sample();
  await terminal.publishAsync(TOPIC, JSON.stringify(ok), { qos: 1 });
  // PUBACK only after the commit: the record is there the moment the publish resolves.
  const row = await storedRecord(ok.id);
  assert.ok(row, 'stored before the PUBACK');
  assert.equal(row.by, TERMINAL);
  assert.equal(row.record.grams, 150);

  // Judged identically: an underweight sample opens a case (as over HTTP).
  const light = sample({ dish: '清炒时蔬', grams: 90 });
  await terminal.publishAsync(TOPIC, JSON.stringify(light), { qos: 1 });
  await waitFor('the underweight case', async () => (await cases()).some((c) => c.finding === 'sample_underweight' && /清炒时蔬|90/.test(JSON.stringify(c))) || undefined);
});

test('a redelivery of the same record id is stored once: the first one stands', async () => {
  const first = sample({ dish: '红烧肉' });
  await terminal.publishAsync(TOPIC, JSON.stringify(first), { qos: 1 });
  // Same id again (a redelivery), with another weight: it does not replace the first.
  await terminal.publishAsync(TOPIC, JSON.stringify({ ...first, grams: 60 }), { qos: 1 });
  assert.equal((await storedRecord(first.id))?.record.grams, 150);
  assert.ok(!(await cases()).some((c) => /红烧肉/.test(JSON.stringify(c))), 'no underweight case from the redelivery');
});

test('bad records are refused on _gateway/rejected with the specific reason, and nothing is stored', async () => {
  const taken = Date.now() - 10 * 60_000;
  const bad: [string, string, Record<string, unknown>, RegExp][] = [
    ['negative weight', TOPIC, sample({ grams: -5 }), /negative_weight: grams -5 is negative/],
    ['zero weight', TOPIC, sample({ grams: 0 }), /zero_weight/],
    ['kept before taken', TOPIC, sample({ keptUntil: new Date(taken - H).toISOString() }), /kept_before_taken/],
    ['unknown meal', TOPIC, sample({ meal: 'midnight_snack' }), /unknown_meal: meal "midnight_snack"/],
    ['in the future', TOPIC, sample({ takenAt: new Date(Date.now() + 2 * H).toISOString(), keptUntil: new Date(Date.now() + 60 * H).toISOString() }), /bad_time: takenAt: .* is in the future/],
    ['impossible date', TOPIC, sample({ takenAt: '2026-02-30T08:00:00+08:00' }), /bad_time: takenAt/],
    ['unknown canteen', TOPIC, sample({ canteen: 'annex' }), /canteen: school S001 has no canteen "annex"/],
    ['another school', TOPIC, sample({ school: 'S002' }), /school: "S002" is not the terminal's school "S001"/],
    ['no id', TOPIC, (({ id: _id, ...rest }) => rest)(sample()), /missing field "id"/],
    ['schema', TOPIC, { ...sample(), dish: '' }, /field "dish"/],
    ['unknown kind', TOPIC, { ...sample(), kind: 'menu' }, /field "kind" must be one of sample, morning_check, accompany, disinfection/],
  ];
  for (const [what, topic, body, reason] of bad) {
    const before = rejected.messages.length;
    await terminal.publishAsync(topic, JSON.stringify(body), { qos: 1 });
    const r = await waitFor(`the refusal (${what})`, () => rejected.messages.slice(before).map((m) => JSON.parse(m.payload.toString())).find((x) => x.topic === topic));
    assert.match(r.reason, reason, what);
    if (typeof body.id === 'string') assert.equal(await storedRecord(body.id), undefined, `${what}: nothing stored`);
  }
  // A device of another kind may not send records.
  const button = await connectAs(g.mqttUrl, 'S001-AB01');
  try {
    const before = rejected.messages.length;
    await button.publishAsync(`${P}/S001/S001-AB01/record`, JSON.stringify(sample()), { qos: 1 });
    const r = await waitFor('the refusal of a button', () => rejected.messages.slice(before).map((m) => JSON.parse(m.payload.toString())).find((x) => x.topic.endsWith('S001-AB01/record')));
    assert.match(r.reason, /cannot publish "record" \(allowed for: canteen_terminal\)/);
  } finally {
    await button.endAsync(true);
  }
  // The gateway goes on: a good record after all that is stored.
  const ok = sample();
  await terminal.publishAsync(TOPIC, JSON.stringify(ok), { qos: 1 });
  assert.ok(await storedRecord(ok.id));
});
