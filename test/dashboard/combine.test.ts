// The wall state's combiner (dashboard/state/slice.ts, index.ts): frames reach only the slices that
// own them, bookkeeping (snapshot first, seq) is kept in one place, and nothing mutates old state.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Alarm, FeedFrame, MaintenanceAlarmView, SchoolStatus, Snapshot } from '../../gateway/contract/api.js';
import { applyLocalAlarm, initialState, reduce, SLICES, withSchools, type WallState } from '../../dashboard/state/index.js';
import { combineSlices, type Slice } from '../../dashboard/state/slice.js';

const T0 = Date.parse('2026-03-01T07:45:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const frame = <T>(seq: number, type: string, data: T): FeedFrame<T> => ({ seq, type, data });

function school(id: string, total: number, online: number): SchoolStatus {
  return { id, name: `示范县${id}学校`, type: 'primary', students: 500, region: '城关镇', devices: { total, online }, openAlarms: 0 };
}

function alarm(id: string, over: Partial<Alarm> = {}): Alarm {
  return {
    id,
    sourceId: `src-${id}`,
    school: 'S001',
    schoolName: '示范县S001学校',
    device: 'S001-AB01',
    deviceName: '正门岗亭一键报警按钮',
    kind: 'panic',
    test: false,
    state: 'raised',
    raisedAt: at(0),
    deviceTs: at(0),
    clockSkewMs: 0,
    clockSuspect: false,
    escalated: false,
    history: [{ state: 'raised', at: at(0) }],
    ...over,
  };
}

function maint(id: string, device: string, over: Partial<MaintenanceAlarmView> = {}): MaintenanceAlarmView {
  return { id, device, deviceName: device, deviceKind: 'alarm_button', school: device.slice(0, 4), state: 'open', openedAt: at(0), reason: 'silent', flaps: 0, ...over };
}

const snapshot = (seq: number): FeedFrame<Snapshot> =>
  frame(seq, 'snapshot', {
    alarms: [alarm('a1')],
    devices: { 'S001-AB01': { online: true, status: 'online', lastSeen: at(0) }, 'S001-CAM01': { online: false, status: 'offline', lastSeen: at(-5) } },
    schools: [school('S001', 2, 1), school('S002', 1, 1)],
    maintenance: [maint('m1', 'S001-CAM01', { deviceKind: 'camera' })],
  });

/** One delta of every type the screen shows, each changing something when applied after the snapshot. */
const deltas = (seq: number): FeedFrame[] => [
  frame(seq, 'alarm', alarm('a2', { school: 'S002' })),
  frame(seq, 'device', { id: 'S001-AB01', school: 'S001', online: false, lastSeen: at(0), since: at(60), reason: 'silent' }),
  frame(seq, 'maintenance', maint('m2', 'S002-AB01')),
  frame(seq, 'camera', { device: 'S001-CAM01', school: 'S001', online: true, ts: at(61) }),
  frame(seq, 'ai', { school: 'S001', device: 'S001-CAM01', kind: 'rodent', ts: at(62) }),
];

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/** A slice that records what it is given, to see the combiner's routing. */
function spy(frames: string[]) {
  const seen: string[] = [];
  const loads: Partial<Snapshot>[] = [];
  const slice: Slice<string[]> = {
    frames,
    initial: () => [],
    load: (prev, snap) => (loads.push(snap), [...prev, 'loaded']),
    reduce: (s, f) => (seen.push(f.type), [...s, f.type]),
  };
  return { slice, seen, loads };
}

describe('combineSlices', () => {
  it("gives each slice's reducer only its own frame types, in table order", () => {
    const a = spy(['alarm']);
    const d = spy(['device', 'maintenance']);
    const both = spy(['alarm', 'device']);
    const quiet = spy([]);
    const c = combineSlices({ a: a.slice, d: d.slice, both: both.slice, quiet: quiet.slice });
    let s = c.initial();
    assert.deepEqual(s, { a: [], d: [], both: [], quiet: [] });
    for (const type of ['alarm', 'device', 'maintenance', 'camera', 'gate', 'alarm']) s = c.reduce(s, frame(1, type, {}), T0);
    assert.deepEqual(a.seen, ['alarm', 'alarm']);
    assert.deepEqual(d.seen, ['device', 'maintenance']);
    assert.deepEqual(both.seen, ['alarm', 'device', 'alarm']);
    assert.deepEqual(quiet.seen, []);
    assert.deepEqual(s, { a: ['alarm', 'alarm'], d: ['device', 'maintenance'], both: ['alarm', 'device', 'alarm'], quiet: [] });
    assert.deepEqual(c.owners('alarm'), ['a', 'both']);
    assert.deepEqual(c.owners('gate'), []);
  });

  it('returns the same object for a type no slice owns, and keeps fields outside the table', () => {
    const c = combineSlices({ a: spy(['alarm']).slice });
    const s = { ...c.initial(), seq: 7, ready: true };
    assert.equal(c.reduce(s, frame(8, 'gate', {}), T0), s);
    const next = c.reduce(s, frame(8, 'alarm', {}), T0);
    assert.notEqual(next, s);
    assert.deepEqual(next, { a: ['alarm'], seq: 7, ready: true });
  });

  it('loads every slice from the snapshot, each from its previous value', () => {
    const a = spy(['alarm']);
    const b = spy([]);
    const c = combineSlices({ a: a.slice, b: b.slice });
    const snap = { alarms: [] };
    const s = c.load({ ...c.initial(), seq: 3 }, snap);
    assert.deepEqual(s, { a: ['loaded'], b: ['loaded'], seq: 3 });
    assert.equal(a.loads[0], snap);
    assert.equal(b.loads[0], snap);
  });
});

describe('wall state: the combined slices', () => {
  const ready = () => reduce(initialState(), snapshot(10), T0);

  it('drops every delta that comes before the first snapshot', () => {
    const empty = initialState();
    for (const f of [...deltas(5), frame(5, 'gate', { state: 'open' })]) assert.equal(reduce(empty, f, T0), empty, `${f.type} before the snapshot`);
    // The same deltas after a snapshot do apply: the check above can fail.
    const s = ready();
    for (const f of deltas(11)) assert.notDeepEqual(reduce(s, f, T0), { ...s, seq: 11 }, `${f.type} after the snapshot`);
  });

  it('ignores an unknown frame type without losing any state; only the seq moves', () => {
    const s = deltas(0).reduce((st, f, i) => reduce(st, { ...f, seq: 11 + i }, T0), ready());
    const next = reduce(s, frame(30, 'gate', { state: 'open' }), T0);
    assert.equal(next.seq, 30);
    assert.equal(next.ready, true);
    for (const key of Object.keys(SLICES) as (keyof typeof SLICES)[]) assert.equal(next[key], s[key], `${key} kept as it was`);
    assert.deepEqual({ ...next, seq: s.seq }, s);
    // Malformed frames: no type, or a seq that is not a number.
    assert.equal(reduce(next, { seq: 31 } as FeedFrame, T0), next);
    assert.equal(reduce(next, { seq: '31', type: 'alarm', data: alarm('x') } as unknown as FeedFrame, T0), next);
  });

  it('hands each frame type only to the slice that owns it; the others stay the same objects', () => {
    const s = ready();
    const changed = (f: FeedFrame) => {
      const next = reduce(s, f, T0);
      return (Object.keys(SLICES) as (keyof typeof SLICES)[]).filter((k) => next[k] !== s[k]).sort();
    };
    const [alarmF, deviceF, maintF, cameraF, aiF] = deltas(11);
    // alarm: its slice, the schools' open counts and the ticker (cross-slice rules).
    assert.deepEqual(changed(alarmF), ['activity', 'alarms', 'schools']);
    // device: its slice, the school's online count and the ticker.
    assert.deepEqual(changed(deviceF), ['activity', 'devices', 'schools']);
    assert.deepEqual(changed(maintF), ['maintenance']);
    // camera: no slice of its own on this screen; the ticker, because it differs from the device's state.
    assert.deepEqual(changed(cameraF), ['activity']);
    assert.deepEqual(changed(aiF), ['activity']);
    // Who owns what, as the table declares it (a misrouted type may leave a slice unchanged, so the checks above cannot see it).
    const owners = combineSlices(SLICES).owners;
    assert.deepEqual(
      Object.fromEntries(['alarm', 'device', 'maintenance', 'camera', 'ai', 'snapshot', 'resync'].map((t) => [t, owners(t)])),
      { alarm: ['alarms'], device: ['devices'], maintenance: ['maintenance'], camera: [], ai: ['activity'], snapshot: [], resync: [] },
    );
  });

  it('keeps the cross-slice figures: open alarms per school from the alarms slice, online devices from device flips', () => {
    let s = ready();
    assert.equal(s.schools.S001.openAlarms, 1, 'from the snapshot alarms, not the snapshot figure (0)');
    s = reduce(s, frame(11, 'alarm', alarm('a2', { school: 'S002' })), T0);
    s = reduce(s, frame(12, 'alarm', alarm('t1', { school: 'S002', test: true })), T0);
    assert.deepEqual([s.schools.S001.openAlarms, s.schools.S002.openAlarms], [1, 1]);
    // A device change that is no flip (already offline) moves no count and adds no ticker entry.
    const before = s.activity.length;
    s = reduce(s, frame(13, 'device', { id: 'S001-CAM01', school: 'S001', online: false, lastSeen: at(-5), since: at(-5), reason: 'silent' }), T0);
    assert.equal(s.schools.S001.devices.online, 1);
    assert.equal(s.activity.length, before);
    s = reduce(s, frame(14, 'device', { id: 'S001-CAM01', school: 'S001', online: true, lastSeen: at(70), since: at(70), reason: 'heartbeat_resumed' }), T0);
    assert.equal(s.schools.S001.devices.online, 2);
    assert.deepEqual([s.activity[0].kind, s.activity[0].device, s.activity[0].online], ['device', 'S001-CAM01', true]);
    // The REST school list (zero counts) is recounted from the alarms we hold.
    s = withSchools(s, [school('S002', 1, 0), school('S001', 2, 2)]);
    assert.deepEqual(s.schoolOrder, ['S002', 'S001']);
    assert.deepEqual([s.schools.S001.openAlarms, s.schools.S002.openAlarms], [1, 1]);
    // Our own resolve, before the feed's delta: the count follows at once.
    const a1 = s.alarms.a1;
    s = applyLocalAlarm(s, { ...a1, state: 'resolved', history: [...a1.history, { state: 'resolved', at: at(80), by: 'admin' }] });
    assert.equal(s.schools.S001.openAlarms, 0);
  });

  it('never mutates the state it is given (every frame type, REST updates included)', () => {
    let s: WallState = deepFreeze(initialState());
    const frames = [deltas(1)[0], snapshot(10), ...deltas(11).map((f, i) => ({ ...f, seq: 11 + i })), frame(20, 'gate', {}), frame(21, 'resync', {}), snapshot(22)];
    for (const f of frames) s = deepFreeze(reduce(s, f, T0));
    s = deepFreeze(withSchools(s, [school('S001', 2, 2)]));
    s = deepFreeze(applyLocalAlarm(s, alarm('a1', { state: 'acknowledged', history: [{ state: 'raised', at: at(0) }, { state: 'acknowledged', at: at(3) }] })));
    assert.equal(s.alarms.a1.state, 'acknowledged');
    // Each slice on its own, too: its reducer for every frame type it owns, and its loader.
    for (const [key, slice] of Object.entries(SLICES)) {
      const st = deepFreeze(ready()[key as keyof typeof SLICES]);
      for (const f of deltas(11)) if (slice.frames.includes(f.type)) assert.doesNotThrow(() => slice.reduce(st as never, f, T0), `${key} reducing ${f.type}`);
      assert.doesNotThrow(() => slice.load(st as never, deepFreeze(snapshot(12).data)), `${key} loading`);
    }
  });
});
