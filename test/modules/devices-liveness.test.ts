import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Liveness, type LivenessRecord } from '../../gateway/modules/devices/liveness.js';
import { DeadlineWheel } from '../../gateway/modules/devices/deadline-wheel.js';

const T0 = 1_800_000_000_000;
const S = 1000;
// Buttons every 30 s, cameras every 60 s; 3 missed heartbeats.
const make = (ids: string[], stored = new Map<string, LivenessRecord>(), now = T0) => {
  const l = new Liveness({ missedHeartbeats: 3, recoverSigns: 2, intervalMs: (id) => (id.startsWith('cam') ? 60 * S : 30 * S) }, now);
  l.restore(ids, stored, now);
  return l;
};

test('offline exactly missedHeartbeats × interval after the last sign of life, dated at that deadline', () => {
  const l = make(['btn', 'cam']);
  assert.equal(l.observe('btn', 'alive', T0 + 1 * S)?.reason, 'first_seen');
  l.observe('cam', 'alive', T0 + 2 * S);
  l.observe('btn', 'alive', T0 + 31 * S);
  assert.deepEqual(l.tick(T0 + 120 * S), [], 'btn deadline is 31+90 = 121 s');
  const t = l.tick(T0 + 121 * S);
  assert.deepEqual(t.map((x) => [x.id, x.online, x.atMs, x.reason]), [['btn', false, T0 + 121 * S, 'silent']]);
  assert.deepEqual(l.tick(T0 + 181 * S), [], 'cam: 2 + 180 = 182 s');
  assert.deepEqual(l.tick(T0 + 182 * S).map((x) => [x.id, x.atMs]), [['cam', T0 + 182 * S]]);
});

test('the last will takes a device offline at once; failed probes are missed heartbeats, not signs of life', () => {
  const l = make(['btn', 'cam']);
  l.observe('btn', 'alive', T0);
  l.observe('cam', 'alive', T0);
  assert.deepEqual(l.observe('btn', 'gone', T0 + 5 * S), { id: 'btn', online: false, atMs: T0 + 5 * S, reason: 'last_will', record: l.get('btn') });
  assert.deepEqual(l.tick(T0 + 170 * S).filter((x) => x.id === 'btn'), [], 'no second offline');
  for (const at of [60, 120, 150]) assert.equal(l.observe('cam', 'failed', T0 + at * S), null);
  assert.deepEqual(l.tick(T0 + 180 * S).map((x) => [x.id, x.atMs, x.reason]), [['cam', T0 + 180 * S, 'silent']]);
});

test('hysteresis: back online only after 2 consecutive signs of life', () => {
  const l = make(['btn']);
  l.observe('btn', 'alive', T0);
  l.observe('btn', 'gone', T0 + S);
  assert.equal(l.observe('btn', 'alive', T0 + 10 * S), null, 'one sign is not enough');
  assert.equal(l.get('btn')!.online, false);
  const back = l.observe('btn', 'alive', T0 + 40 * S);
  assert.deepEqual([back?.online, back?.reason, back?.downForMs], [true, 'heartbeat_resumed', 39 * S]);
  // Two signs too far apart (more than a missed-heartbeat window) are not consecutive.
  l.observe('btn', 'gone', T0 + 50 * S);
  l.observe('btn', 'alive', T0 + 60 * S);
  assert.equal(l.observe('btn', 'alive', T0 + 200 * S), null);
  // A failed probe between two signs breaks the streak.
  l.observe('btn', 'failed', T0 + 210 * S);
  assert.equal(l.observe('btn', 'alive', T0 + 220 * S), null);
  assert.equal(l.observe('btn', 'alive', T0 + 230 * S)?.online, true);
});

test('a flapping link does not flood: 100 flaps of offline + one sign produce one offline and no return', () => {
  const l = make(['btn']);
  l.observe('btn', 'alive', T0);
  let transitions = 0;
  for (let i = 1; i <= 100; i++) {
    if (l.observe('btn', 'gone', T0 + i * 2 * S)) transitions++;
    if (l.observe('btn', 'alive', T0 + i * 2 * S + 500)) transitions++;
  }
  assert.equal(transitions, 1);
});

test('never heard from: unknown, then offline (never_seen) once its first window has passed', () => {
  const l = make(['btn', 'cam']);
  assert.equal(l.get('btn')!.online, null);
  assert.deepEqual(l.tick(T0 + 90 * S).map((x) => [x.id, x.reason, x.atMs]), [['btn', 'never_seen', T0 + 90 * S]]);
  assert.deepEqual(l.tick(T0 + 180 * S).map((x) => [x.id, x.reason]), [['cam', 'never_seen']]);
});

test('after a restart: no false flood, and an outage in progress is not forgotten', () => {
  const restart = T0 + 3600 * S; // the gateway was down an hour
  const stored = new Map<string, LivenessRecord>([
    ['up', { id: 'up', online: true, lastSeen: T0, since: T0 - 100 * S, streak: 0 }],
    ['down', { id: 'down', online: false, lastSeen: T0 - 500 * S, since: T0 - 400 * S, streak: 0 }],
  ]);
  const l = make(['up', 'down'], stored, restart);
  assert.deepEqual(l.tick(restart + 89 * S), [], 'online devices get a full window from the start');
  assert.equal(l.get('down')!.online, false);
  assert.equal(l.get('down')!.since, T0 - 400 * S, 'still down since before the restart');
  l.observe('up', 'alive', restart + 10 * S);
  assert.deepEqual(l.tick(restart + 99 * S).map((x) => x.id), []);
  assert.deepEqual(l.tick(restart + 100 * S).map((x) => [x.id, x.reason]), [['up', 'silent']]);
});

test('the wheel does work only for what falls due: 200,000 healthy devices cost nothing per tick', () => {
  const ids = Array.from({ length: 200_000 }, (_, i) => `cam${i}`);
  const l = make(ids);
  for (const id of ids) l.observe(id, 'alive', T0 + (Number(id.slice(3)) % 60) * S);
  assert.equal(l.scheduledCount, 200_000, 'one entry per device, however many heartbeats');
  for (let round = 1; round <= 3; round++) for (const id of ids) l.observe(id, 'alive', T0 + round * 60 * S + (Number(id.slice(3)) % 60) * S);
  assert.equal(l.scheduledCount, 200_000);
  const wheel = new DeadlineWheel(1000, T0);
  wheel.schedule('a', T0 + 5 * S);
  assert.deepEqual(wheel.due(T0 + 4 * S), []);
  assert.deepEqual(wheel.due(T0 + 5 * S), ['a']);
  assert.deepEqual(l.tick(T0 + 3 * 60 * S + 59 * S), [], 'nobody is late');
});

test('several gateways (decision 0009): a due device heard elsewhere is re-armed from that time, not taken offline; one silent everywhere goes at its deadline', () => {
  const l = make(['btn', 'btn2']);
  l.observe('btn', 'alive', T0);
  l.observe('btn2', 'alive', T0);
  // Both windows (90 s) are over here; another gateway heard btn at 80 s.
  const due = l.expired(T0 + 90 * S);
  assert.deepEqual(due, ['btn', 'btn2']);
  assert.equal(l.heardAt('btn', T0 + 80 * S), true);
  assert.equal(l.heardAt('btn2', T0 - 5 * S), false, 'an older time than this gateway’s own moves nothing');
  assert.deepEqual(l.expire(due, T0 + 90 * S).map((t) => [t.id, t.reason, t.atMs]), [['btn2', 'silent', T0 + 90 * S]]);
  assert.equal(l.get('btn')!.online, true);
  assert.equal(l.get('btn')!.lastSeen, T0 + 80 * S);
  assert.deepEqual(l.tick(T0 + 169 * S), []);
  assert.deepEqual(l.tick(T0 + 170 * S).map((t) => [t.id, t.atMs]), [['btn', T0 + 170 * S]], 'its window runs from the time heard elsewhere');
});

test('several gateways: a due device whose job another gateway holds is looked at again later; heard here meanwhile, it stays online', () => {
  const l = make(['btn', 'btn2']);
  l.observe('btn', 'alive', T0);
  l.observe('btn2', 'alive', T0);
  const due = l.expired(T0 + 90 * S);
  for (const id of due) l.postpone(id, T0 + 100 * S);
  assert.deepEqual(l.tick(T0 + 99 * S), []);
  l.observe('btn2', 'alive', T0 + 99.5 * S);
  assert.deepEqual(l.tick(T0 + 100 * S).map((t) => [t.id, t.atMs]), [['btn', T0 + 100 * S]]);
  assert.equal(l.get('btn2')!.online, true);
});

test('several gateways: adopt takes on another gateway’s transition, keeps the later last-seen, and leaves an unchanged state alone', () => {
  const l = make(['btn', 'btn2', 'btn3']);
  l.observe('btn', 'alive', T0);
  l.observe('btn2', 'alive', T0);
  // Another gateway recorded btn offline at 90 s; this one last heard it at T0.
  l.adopt({ id: 'btn', online: false, lastSeen: T0, since: T0 + 90 * S, streak: 0 });
  assert.deepEqual([l.get('btn')!.online, l.get('btn')!.since], [false, T0 + 90 * S]);
  assert.deepEqual(l.tick(T0 + 500 * S).map((t) => t.id).sort(), ['btn2', 'btn3'], 'no second offline of btn here');
  // And btn3 (never seen here) came online there: its window runs from its last-seen there.
  const m = make(['btn3']);
  m.adopt({ id: 'btn3', online: true, lastSeen: T0 + 10 * S, since: T0 + 10 * S, streak: 0 });
  assert.equal(m.isOnline('btn3'), true);
  assert.deepEqual(m.tick(T0 + 99 * S), []);
  assert.deepEqual(m.tick(T0 + 100 * S).map((t) => [t.id, t.reason]), [['btn3', 'silent']]);
  // Same state and epoch: only the last-seen moves (the later one).
  const n = make(['btn2']);
  n.observe('btn2', 'alive', T0 + 20 * S);
  n.adopt({ id: 'btn2', online: true, lastSeen: T0, since: n.get('btn2')!.since, streak: 0 });
  assert.equal(n.get('btn2')!.lastSeen, T0 + 20 * S);
});
