// The wall screen's reducer (dashboard/state/): a snapshot, then deltas; stale frames ignored.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Alarm, FeedFrame, MaintenanceAlarmView, SchoolStatus, Snapshot } from '../gateway/contract/api.js';
import { filenameOf } from '../dashboard/api.js';
import { applyLocalAlarm, deviceOf, downDevices, initialState, realAlarms, reduce, summary, testAlarms, type WallState } from '../dashboard/state/index.js';
import { canSeeUptime, percent, ratioLevel, uptimePollMs, worstCameras, zoneFigures, type CameraUptime } from '../dashboard/uptime.js';

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

function maint(id: string, device: string, over: Partial<MaintenanceAlarmView> = {}): MaintenanceAlarmView {
  return {
    id,
    device,
    deviceName: `${device} 名称`,
    deviceKind: device.includes('CAM') || device.includes('KC') ? 'camera' : 'alarm_button',
    school: device.slice(0, 4),
    state: 'open',
    openedAt: at(0),
    reason: 'silent',
    flaps: 0,
    ...over,
  };
}

function maintSnapshot(seq: number, maintenance: MaintenanceAlarmView[], devices: Snapshot['devices'] = {}): FeedFrame<Snapshot> {
  return frame(seq, 'snapshot', { alarms: [], devices, schools: [school('S001', 4, 2), school('S002', 3, 1)], maintenance });
}

describe('dashboard state: maintenance and device status', () => {
  it('takes open maintenance alarms and device status from the snapshot', () => {
    const s = run([
      maintSnapshot(
        5,
        [maint('m1', 'S001-AB01', { reason: 'never_seen' }), maint('m2', 'S001-CAM01', { zone: 'kitchen' }), maint('m0', 'S002-AB01', { state: 'cleared', clearedAt: at(1) })],
        {
          'S001-AB01': { online: false, status: 'offline', lastSeen: null },
          'S001-CAM01': { online: false, status: 'offline', lastSeen: at(-10) },
          'S002-AB01': { online: true, status: 'online', lastSeen: at(1) },
          'S002-CAM01': { online: false, status: 'unknown', lastSeen: null },
        },
      ),
    ]);
    assert.deepEqual(Object.keys(s.maintenance).sort(), ['m1', 'm2'], 'a cleared one is not kept');
    assert.equal(deviceOf(s.devices, 'S002-CAM01')!.status, 'unknown');
    assert.equal(deviceOf(s.devices, 'S001-CAM01')!.status, 'offline');
    assert.equal(deviceOf(s.devices, 'S002-AB01')!.status, 'online');
  });

  it('adds, reopens and clears maintenance alarms from deltas; stale frames ignored', () => {
    let s = run([maintSnapshot(10, [])]);
    s = run([frame(11, 'maintenance', maint('m1', 'S001-AB01'))], s);
    assert.deepEqual(Object.keys(s.maintenance), ['m1']);
    s = run([frame(12, 'maintenance', maint('m1', 'S001-AB01', { state: 'cleared', clearedAt: at(30), downMs: 30_000 }))], s);
    assert.deepEqual(s.maintenance, {});
    // Dropped again within the flap hold: the same alarm, reopened, flaps counted.
    s = run([frame(13, 'maintenance', maint('m1', 'S001-AB01', { reason: 'last_will', flaps: 1 }))], s);
    assert.equal(s.maintenance.m1.flaps, 1);
    assert.equal(s.maintenance.m1.reason, 'last_will');
    // One open alarm per device: a new id for the same device replaces the old one.
    s = run([frame(14, 'maintenance', maint('m9', 'S001-AB01'))], s);
    assert.deepEqual(Object.keys(s.maintenance), ['m9']);
    // Clearing an alarm we do not have changes nothing but the seq.
    s = run([frame(15, 'maintenance', maint('zz', 'S002-AB01', { state: 'cleared' }))], s);
    assert.deepEqual(Object.keys(s.maintenance), ['m9']);
    assert.equal(s.seq, 15);
    const before = s;
    s = run([frame(15, 'maintenance', maint('m8', 'S002-AB01')), frame(3, 'maintenance', maint('m7', 'S002-AB01'))], s);
    assert.equal(s, before, 'frames at or below the last seq are ignored');
    // A snapshot replaces the list.
    s = run([maintSnapshot(16, [maint('m2', 'S001-CAM01')])], s);
    assert.deepEqual(Object.keys(s.maintenance), ['m2']);
  });

  it('keeps status, since and reason from device deltas; the school counts follow', () => {
    let s = run([maintSnapshot(1, [], { 'S001-AB01': { online: true, status: 'online', lastSeen: at(0) }, 'S001-CAM01': { online: false, status: 'unknown', lastSeen: null } })]);
    s = run([frame(2, 'device', { id: 'S001-AB01', school: 'S001', online: false, lastSeen: at(0), since: at(90), reason: 'silent' })], s);
    assert.deepEqual(deviceOf(s.devices, 'S001-AB01')!, { online: false, status: 'offline', lastSeen: at(0), since: at(90), reason: 'silent' });
    assert.equal(s.schools.S001.devices.online, 1);
    s = run([frame(3, 'device', { id: 'S001-CAM01', school: 'S001', online: true, lastSeen: at(95), since: at(95), reason: 'first_seen' })], s);
    assert.equal(deviceOf(s.devices, 'S001-CAM01')!.status, 'online');
    assert.equal(s.schools.S001.devices.online, 2);
    // A delta without `since` (older gateways) still applies.
    s = run([frame(4, 'device', { id: 'S001-CAM01', school: 'S001', online: false, lastSeen: at(95), reason: 'last_will' })], s);
    assert.equal(deviceOf(s.devices, 'S001-CAM01')!.status, 'offline');
    assert.equal(deviceOf(s.devices, 'S001-CAM01')!.since, undefined);
  });

  it('lists the down devices: alarm buttons first, then cameras, longest down first', () => {
    let s = run([
      maintSnapshot(1, [
        maint('c-new', 'S001-CAM02', { openedAt: at(50) }),
        maint('b-new', 'S001-AB02', { openedAt: at(40) }),
        maint('c-old', 'S001-CAM01', { openedAt: at(-3600), zone: 'kitchen' }),
        maint('b-old', 'S002-AB01', { openedAt: at(10), reason: 'never_seen' }),
        maint('gate', 'S002-GATE1', { openedAt: at(-9000), deviceKind: 'gate' }),
      ]),
    ]);
    assert.deepEqual(
      downDevices(s).map((d) => d.id),
      ['b-old', 'b-new', 'c-old', 'c-new', 'gate'],
    );
    const c = downDevices(s).find((d) => d.id === 'c-old')!;
    assert.deepEqual([c.zone, c.since, c.reason, c.flaps], ['kitchen', at(-3600), 'silent', 0]);

    // A flap: the alarm keeps its first openedAt; "down since" is the device's current outage.
    s = run(
      [
        frame(2, 'device', { id: 'S001-CAM01', school: 'S001', online: true, lastSeen: at(60), since: at(60), reason: 'heartbeat_resumed' }),
        frame(3, 'maintenance', maint('c-old', 'S001-CAM01', { openedAt: at(-3600), state: 'cleared', clearedAt: at(60) })),
        frame(4, 'device', { id: 'S001-CAM01', school: 'S001', online: false, lastSeen: at(61), since: at(70), reason: 'silent' }),
        frame(5, 'maintenance', maint('c-old', 'S001-CAM01', { openedAt: at(-3600), flaps: 1, zone: 'kitchen' })),
      ],
      s,
    );
    const flapped = downDevices(s).find((d) => d.id === 'c-old')!;
    assert.equal(flapped.since, at(70));
    assert.equal(flapped.openedAt, at(-3600));
    assert.equal(flapped.flaps, 1);
    assert.deepEqual(
      downDevices(s).map((d) => d.id),
      ['b-old', 'b-new', 'c-new', 'c-old', 'gate'],
      'the camera that just dropped again is now the shortest down',
    );

    // Back online (its `cleared` frame not yet here): no longer listed as down.
    s = run([frame(6, 'device', { id: 'S001-AB02', school: 'S001', online: true, lastSeen: at(80), since: at(80), reason: 'heartbeat_resumed' })], s);
    assert.ok(!downDevices(s).some((d) => d.id === 'b-new'));
    // Equal times: ordered by device id, so the list does not shuffle.
    s = run([maintSnapshot(10, [maint('x2', 'S002-AB02'), maint('x1', 'S001-AB03')])], s);
    assert.deepEqual(
      downDevices(s).map((d) => d.device),
      ['S001-AB03', 'S002-AB02'],
    );
  });
});

describe('dashboard uptime helpers', () => {
  const cam = (id: string, ratio: number | null, over: Partial<CameraUptime> = {}): CameraUptime => ({
    id,
    name: id,
    school: 'S001',
    zone: 'kitchen',
    ratio,
    upMs: 0,
    downMs: 0,
    unknownMs: 0,
    outages: 0,
    longestOutageMs: 0,
    mttrMs: null,
    down: false,
    downSince: null,
    ...over,
  });

  it('formats a ratio as a percent with one decimal, never rounding up to 100.0%', () => {
    assert.equal(percent(0.9731), '97.3%');
    assert.equal(percent(0.99999), '99.9%');
    assert.equal(percent(1), '100.0%');
    assert.equal(percent(0), '0.0%');
    assert.equal(percent(0.5), '50.0%');
    assert.equal(percent(null), '—');
    assert.equal(ratioLevel(0.995), 'ok');
    assert.equal(ratioLevel(0.96), 'low');
    assert.equal(ratioLevel(0.5), 'poor');
    assert.equal(ratioLevel(null), 'none');
  });

  it('picks the five worst cameras that lost time, and the four zone figures in order', () => {
    const report = {
      cameras: [
        cam('a', 0.5, { outages: 1 }),
        cam('b', 0.9, { outages: 3 }),
        cam('c', 0.9, { outages: 5 }),
        cam('d', 1),
        cam('e', 1, { down: true }),
        cam('f', null, { down: true }),
        cam('g', 0.99),
        cam('h', 0.7),
        cam('i', 0.8),
      ],
    };
    assert.deepEqual(
      worstCameras(report).map((c) => c.id),
      ['a', 'h', 'i', 'c', 'b'],
    );
    assert.deepEqual(
      worstCameras(report, 9).map((c) => c.id),
      ['a', 'h', 'i', 'c', 'b', 'g', 'e'],
      'a camera down right now counts even at 100 %; never-heard-from ones (null) are left out',
    );
    assert.deepEqual(worstCameras(null), []);
    const zones = zoneFigures({ zones: [{ ...cam('kitchen', 0.95), devices: 3, down: 1 }, { ...cam('campus', 1), devices: 9, down: 0 }] });
    assert.deepEqual(
      zones.map((z) => [z.zone, z.ratio, z.devices]),
      [
        ['campus', 1, 9],
        ['dining', null, 0],
        ['kitchen', 0.95, 3],
        ['storage', null, 0],
      ],
    );
  });

  it('knows who may read uptime, the poll interval, and the CSV file name', () => {
    assert.deepEqual(
      (['viewer', 'maintenance', 'operator', 'admin'] as const).map(canSeeUptime),
      [false, true, true, true],
    );
    assert.equal(uptimePollMs(''), 60_000);
    assert.equal(uptimePollMs('?uptimePollMs=2000'), 2000);
    assert.equal(uptimePollMs('?uptimePollMs=10'), 500);
    assert.equal(uptimePollMs('?uptimePollMs=abc'), 60_000);
    assert.equal(filenameOf('attachment; filename="camera-uptime-7d.csv"'), 'camera-uptime-7d.csv');
    assert.equal(filenameOf("attachment; filename*=UTF-8''%E5%9C%A8%E7%BA%BF.csv"), '在线.csv');
    assert.equal(filenameOf('attachment; filename="../../etc/passwd"'), '.._.._etc_passwd');
    assert.equal(filenameOf(null), null);
  });
});

describe('devices slice in parts (issue #12)', () => {
  it('a device frame copies one part: the old state is untouched, the other parts are shared', () => {
    let s = reduce(initialState(), { seq: 1, type: 'snapshot', at: at(0), data: { alarms: [], schools: [], maintenance: [], devices: { a: { online: true, status: 'online', lastSeen: at(0) }, b: { online: true, status: 'online', lastSeen: at(0) } } } } as unknown as FeedFrame);
    const before = s;
    s = reduce(s, { seq: 2, type: 'device', at: at(1), data: { id: 'a', school: 'S001', online: false, lastSeen: at(0), since: at(1), reason: 'silent' } } as unknown as FeedFrame);
    assert.equal(deviceOf(before.devices, 'a')!.online, true);
    assert.equal(deviceOf(s.devices, 'a')!.online, false);
    assert.equal(deviceOf(s.devices, 'b')!.online, true);
    const changed = s.devices.parts.filter((p, i) => p !== before.devices.parts[i]);
    assert.equal(changed.length, 1);
  });
});
