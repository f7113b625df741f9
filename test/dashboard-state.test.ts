// The wall screen's reducer (dashboard/state.ts): a snapshot, then deltas; stale frames ignored.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Alarm, FeedFrame, SchoolStatus, Snapshot } from '../gateway/contract/api.js';
import { applyLocalAlarm, initialState, realAlarms, reduce, summary, testAlarms, type WallState } from '../dashboard/state.js';

const T0 = Date.parse('2026-03-01T07:45:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function school(id: string, total: number, online: number): SchoolStatus {
  return { id, name: `示范县${id}学校`, type: 'primary', students: 500, region: '城关镇', devices: { total, online }, openAlarms: 0 };
}

function alarm(id: string, over: Partial<Alarm> = {}): Alarm {
  const raisedAt = over.raisedAt ?? at(0);
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
    raisedAt,
    deviceTs: raisedAt,
    clockSkewMs: 0,
    clockSuspect: false,
    escalated: false,
    history: [{ state: 'raised', at: raisedAt }],
    ...over,
  };
}

const frame = <T>(seq: number, type: string, data: T): FeedFrame<T> => ({ seq, type, data });

function snapshotFrame(seq: number, alarms: Alarm[] = []): FeedFrame<Snapshot> {
  return frame(seq, 'snapshot', {
    alarms,
    devices: { 'S001-AB01': { online: true, status: 'online', lastSeen: at(0) }, 'S002-AB01': { online: false, status: 'unknown', lastSeen: null } },
    schools: [school('S001', 2, 2), school('S002', 3, 1)],
    maintenance: [],
  });
}

const run = (frames: FeedFrame[], from: WallState = initialState()) => frames.reduce((s, f) => reduce(s, f, T0), from);

describe('dashboard state reducer', () => {
  it('ignores deltas before the first snapshot', () => {
    const s = run([frame(5, 'alarm', alarm('a1'))]);
    assert.equal(s.ready, false);
    assert.deepEqual(s.alarms, {});
  });

  it('applies a snapshot, then alarm and device deltas in order', () => {
    let s = run([snapshotFrame(10, [alarm('old', { raisedAt: at(-60), history: [{ state: 'raised', at: at(-60) }] })])]);
    assert.equal(s.seq, 10);
    assert.equal(s.ready, true);
    assert.deepEqual(Object.keys(s.alarms), ['old']);
    assert.equal(s.schools.S001.openAlarms, 1, 'open count derived from the open alarms');
    assert.deepEqual(s.schoolOrder, ['S001', 'S002']);

    s = run(
      [
        frame(11, 'alarm', alarm('a1', { raisedAt: at(5), history: [{ state: 'raised', at: at(5) }] })),
        frame(12, 'alarm', alarm('t1', { test: true, raisedAt: at(6) })),
        frame(13, 'device', { id: 'S002-AB01', school: 'S002', online: true, lastSeen: at(7), reason: 'availability' }),
        frame(14, 'device', { id: 'S001-AB01', school: 'S001', online: false, lastSeen: at(0), reason: 'heartbeat_timeout' }),
      ],
      s,
    );
    assert.equal(s.seq, 14);
    assert.deepEqual(
      realAlarms(s).map((a) => a.id),
      ['a1', 'old'],
      'real alarms newest first',
    );
    assert.deepEqual(
      testAlarms(s).map((a) => a.id),
      ['t1'],
    );
    assert.equal(s.schools.S001.openAlarms, 2, 'a test press does not count');
    assert.deepEqual(s.schools.S002.devices, { total: 3, online: 2 });
    assert.deepEqual(s.schools.S001.devices, { total: 2, online: 1 });
    assert.deepEqual(summary(s), { schools: 2, devicesOnline: 3, devicesTotal: 5, open: 2, escalated: 0 });
    assert.equal(s.activity[0].kind, 'device');
    assert.equal(s.activity[0].online, false);

    // Escalation pins an alarm to the top; acknowledging it unpins it; resolving removes it.
    s = run([frame(15, 'alarm', alarm('old', { raisedAt: at(-60), escalated: true, history: [{ state: 'raised', at: at(-60) }] }))], s);
    assert.deepEqual(
      realAlarms(s).map((a) => a.id),
      ['old', 'a1'],
    );
    assert.equal(summary(s).escalated, 1);
    const acked = alarm('old', {
      raisedAt: at(-60),
      escalated: true,
      state: 'acknowledged',
      history: [
        { state: 'raised', at: at(-60) },
        { state: 'acknowledged', at: at(20), by: 'admin', note: '已联系' },
      ],
    });
    s = run([frame(16, 'alarm', acked)], s);
    assert.deepEqual(
      realAlarms(s).map((a) => a.id),
      ['a1', 'old'],
    );
    assert.equal(summary(s).escalated, 0);
    s = run([frame(17, 'alarm', { ...acked, state: 'resolved', history: [...acked.history, { state: 'resolved', at: at(30), by: 'admin' }] })], s);
    assert.deepEqual(Object.keys(s.alarms).sort(), ['a1', 't1']);
    assert.equal(s.schools.S001.openAlarms, 1);
  });

  it('ignores frames whose seq is not above the last one applied', () => {
    let s = run([snapshotFrame(20), frame(21, 'alarm', alarm('a1'))]);
    const before = s;
    s = run([frame(21, 'alarm', alarm('dup')), frame(15, 'alarm', alarm('stale')), frame(18, 'device', { id: 'S002-AB01', school: 'S002', online: true, lastSeen: at(1), reason: 'x' })], s);
    assert.equal(s, before, 'stale frames leave the state untouched');
    assert.equal(s.seq, 21);
    assert.deepEqual(Object.keys(s.alarms), ['a1']);
  });

  it('a snapshot always replaces the state, even with a lower seq', () => {
    let s = run([snapshotFrame(30, [alarm('a1')]), frame(31, 'alarm', alarm('a2'))]);
    s = run([snapshotFrame(25, [alarm('a3')])], s);
    assert.equal(s.seq, 25);
    assert.deepEqual(Object.keys(s.alarms), ['a3']);
    s = run([frame(26, 'alarm', alarm('a4'))], s);
    assert.deepEqual(Object.keys(s.alarms).sort(), ['a3', 'a4']);
  });

  it('flags resync, and keeps unknown delta types as seq only', () => {
    let s = run([snapshotFrame(1), frame(2, 'gate', { state: 'open' }), frame(3, 'ai', { school: 'S001', device: 'S001-CAM1', kind: 'rodent', ts: at(3) })]);
    assert.equal(s.seq, 3);
    assert.equal(s.activity[0].kind, 'ai');
    assert.equal(s.activity[0].detail, 'rodent');
    s = reduce(s, { seq: 0, type: 'resync', data: {} }, T0);
    assert.equal(s.resync, true);
    s = run([snapshotFrame(40)], s);
    assert.equal(s.resync, false);
  });

  it('never lets an older view of an alarm overwrite a newer one', () => {
    let s = run([snapshotFrame(1, [alarm('a1')])]);
    const acked = alarm('a1', { state: 'acknowledged', history: [{ state: 'raised', at: at(0) }, { state: 'acknowledged', at: at(3), by: 'admin' }] });
    s = applyLocalAlarm(s, acked); // our own REST reply, before the feed caught up
    assert.equal(s.alarms.a1.state, 'acknowledged');
    s = run([frame(2, 'alarm', alarm('a1', { escalated: true }))], s); // an escalation frame from before the ack
    assert.equal(s.alarms.a1.state, 'acknowledged');
    assert.equal(s.seq, 2);
    s = run([frame(3, 'alarm', { ...acked, escalated: true })], s);
    assert.equal(s.alarms.a1.escalated, true);
  });
});
