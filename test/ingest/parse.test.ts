import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseDeviceMessage } from '../../gateway/ingest/parse.js';
import { loadRegistry } from '../../gateway/registry.js';
import { REPO_ROOT } from '../support/gateway.js';

const registry = loadRegistry(path.join(REPO_ROOT, 'config/county.json'));
const school = registry.registry.schools[0];
const other = registry.registry.schools[1];
const button = school.devices.find((d) => d.kind === 'alarm_button')!;
const camera = school.devices.find((d) => d.kind === 'camera')!;
const P = 'campus/v1';
const NOW = Date.parse('2026-11-24T08:00:00Z');
const parse = (topic: string, payload: string | Buffer) =>
  parseDeviceMessage(registry, P, topic, Buffer.isBuffer(payload) ? payload : Buffer.from(payload), NOW);
const alarmTopic = `${P}/${school.id}/${button.id}/alarm`;
const reason = (r: ReturnType<typeof parse>) => (r.ok ? assert.fail('expected a refusal') : r.reason);

test('a valid alarm parses, with either time form', () => {
  for (const ts of ['2026-11-24T16:00:00.123+08:00', NOW]) {
    const r = parse(alarmTopic, JSON.stringify({ id: 'x1', ts, kind: 'panic' }));
    assert.ok(r.ok);
    assert.equal(r.input.topic, 'alarm');
    assert.equal(r.input.device.id, button.id);
  }
});

test('each kind of bad input gets its own specific reason', () => {
  const cases: [string, string | Buffer, RegExp][] = [
    [alarmTopic, '{"id":"x", "ts":', /not valid JSON/],
    [alarmTopic, '[1,2]', /must be a JSON object/],
    [alarmTopic, JSON.stringify({ id: 'x', ts: NOW }), /missing field "kind"/],
    [alarmTopic, JSON.stringify({ id: 'x', ts: NOW, kind: 'PANIC' }), /field "kind" must be one of panic, duress, intrusion, fire, medical/],
    [alarmTopic, JSON.stringify({ id: 7, ts: NOW, kind: 'panic' }), /field "id" expected string/],
    [alarmTopic, JSON.stringify({ id: 'x', ts: '2026-02-30T10:00:00+08:00', kind: 'panic' }), /not a real date/],
    [alarmTopic, JSON.stringify({ id: 'x', ts: '2026-02-01 10:00', kind: 'panic' }), /not ISO-8601 with an offset/],
    [alarmTopic, JSON.stringify({ id: 'x', ts: 1700000000, kind: 'panic' }), /seconds sent instead of ms/],
    [alarmTopic, JSON.stringify({ id: 'x', ts: true, kind: 'panic' }), /ts/],
    [alarmTopic, Buffer.alloc(17 * 1024, 32), /over the 16 KiB limit/],
    [`${P}/${school.id}/${button.id}`, '{}', /topic does not parse/],
    [`${P}/${school.id}/${button.id}/explode`, '{}', /unknown message type "explode"/],
    [`${P}/${school.id}/bad id!/alarm`, '{}', /device id .* must match/],
    [`${P}/${school.id}/NOPE-1/alarm`, '{}', /unknown device "NOPE-1"/],
    [`${P}/${other.id}/${button.id}/alarm`, '{}', new RegExp(`belongs to school "${school.id}", not "${other.id}"`)],
    [`${P}/${school.id}/${camera.id}/alarm`, JSON.stringify({ id: 'x', ts: NOW, kind: 'panic' }), /is a camera; a camera cannot publish "alarm"/],
    [`${P}/${school.id}/${button.id}/availability`, 'ONLINE', /exactly "online" or "offline"/],
    [`${P}/${school.id}/${button.id}/heartbeat`, JSON.stringify({ ts: NOW, battery: 140 }), /field "battery"/],
  ];
  for (const [topic, payload, expected] of cases) assert.match(reason(parse(topic, payload)), expected, `${topic} ${String(payload).slice(0, 60)}`);
});

test('a device clock far off is not a refusal', () => {
  const r = parse(alarmTopic, JSON.stringify({ id: 'x', ts: NOW - 3 * 86_400_000, kind: 'fire' }));
  assert.ok(r.ok);
  assert.equal(r.input.deviceTsMs, NOW - 3 * 86_400_000);
});

test("a check-in must name one of its school's posts (a gate's post, or gatehouse)", () => {
  const terminal = school.devices.find((d) => d.kind === 'checkin_terminal')!;
  const topic = `${P}/${school.id}/${terminal.id}/checkin`;
  const checkin = (post: string, role = 'guard') => parse(topic, JSON.stringify({ ts: NOW, role, post, person: 'LIC-0001' }));
  for (const post of ['main-1', 'main-2', 'side-1', 'gatehouse']) {
    const r = checkin(post);
    assert.ok(r.ok, post);
    assert.equal(r.input.topic, 'checkin');
  }
  assert.ok(checkin('main-1', 'police').ok);
  assert.ok(checkin('main-1', 'teacher').ok);
  assert.match(reason(checkin('正门护学岗')), /field "post" "正门护学岗" is not a post of school "S001" \(its posts: main-1, main-2, side-1, east-1, gatehouse\)/);
  assert.match(reason(checkin('Gatehouse')), /not a post of school "S001"/);
  // Another school's post is not this school's.
  const small = registry.registry.schools.find((s) => s.gates?.length === 1)!;
  const smallTerminal = small.devices.find((d) => d.kind === 'checkin_terminal')!;
  const r = parseDeviceMessage(registry, P, `${P}/${small.id}/${smallTerminal.id}/checkin`, Buffer.from(JSON.stringify({ ts: NOW, role: 'guard', post: 'side-1' })), NOW);
  assert.match(reason(r), new RegExp(`"side-1" is not a post of school "${small.id}" \\(its posts: main-1, gatehouse\\)`));
  assert.match(reason(checkin('main-1', 'janitor')), /field "role" must be one of guard, parent_volunteer, police, teacher/);
});
