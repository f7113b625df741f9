// The wall's flood slice and its grouping (dashboard/state/flood.ts, issue #12): the flood state from
// the snapshot and `flood` frames, and the open alarms grouped by school — every alarm in exactly one
// group, nothing hidden, nothing dropped, the most urgent and biggest groups first.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Alarm, FeedFrame, SchoolStatus } from '../../gateway/contract/api.js';
import { floodSlice, groupBySchool, initialFlood, stateCounts } from '../../dashboard/state/flood.js';
import { initialState, realAlarms, reduce } from '../../dashboard/state/index.js';

const T0 = Date.parse('2026-03-10T00:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const frame = <T>(seq: number, type: string, data: T): FeedFrame<T> => ({ seq, type, data });

function alarm(id: string, school: string, s: number, over: Partial<Alarm> = {}): Alarm {
  return {
    id,
    sourceId: `src-${id}`,
    school,
    schoolName: `示范县${school}学校`,
    device: `${school}-AB01`,
    deviceName: '正门岗亭一键报警按钮',
    kind: 'panic',
    test: false,
    state: 'raised',
    raisedAt: at(s),
    deviceTs: at(s),
    clockSkewMs: 0,
    clockSuspect: false,
    escalated: false,
    history: [{ state: 'raised', at: at(s) }],
    ...over,
  };
}

const school = (id: string, region: string): SchoolStatus => ({ id, name: `示范县${id}学校`, type: 'primary', students: 500, region, devices: { total: 3, online: 3 }, openAlarms: 0 });

const FLOOD_ON = {
  scope: 'county',
  active: true,
  since: at(10),
  count: 11,
  threshold: 10,
  endBelow: 5,
  windowSec: 600,
  bySchool: [{ school: 'S001', schoolName: 'x', region: '城关镇', count: 4, newest: at(10) }],
};

describe('flood slice', () => {
  it('is off before anything, and off for a snapshot without `flood` (a school screen)', () => {
    assert.equal(initialFlood().active, false);
    assert.equal(floodSlice.load(initialFlood(), { alarms: [] }).active, false);
    assert.equal(floodSlice.load({ ...FLOOD_ON }, { alarms: [] }).active, false, 'a new snapshot without the key ends a held flood');
  });

  it('takes the snapshot and the frames as they come: on, then the end frame', () => {
    const loaded = floodSlice.load(initialFlood(), { flood: FLOOD_ON } as never);
    assert.deepEqual([loaded.active, loaded.count, loaded.threshold, loaded.since], [true, 11, 10, at(10)]);
    const ended = floodSlice.reduce(loaded, frame(9, 'flood', { scope: 'county', active: false, since: at(10), endedAt: at(700), count: 4, threshold: 10, endBelow: 5, windowSec: 600, bySchool: [] }), T0);
    assert.deepEqual([ended.active, ended.endedAt], [false, at(700)]);
    assert.equal(floodSlice.reduce(loaded, frame(9, 'flood', null), T0), loaded, 'a malformed frame changes nothing');
  });

  it('is one slice of the wall state: a flood frame turns it on, alarms stay untouched', () => {
    let s = reduce(initialState(), frame(1, 'snapshot', { alarms: [alarm('a1', 'S001', 0)], devices: {}, schools: [], maintenance: [] }));
    assert.equal(s.flood.active, false);
    const alarmsBefore = s.alarms;
    s = reduce(s, frame(2, 'flood', FLOOD_ON));
    assert.equal(s.flood.active, true);
    assert.equal(s.alarms, alarmsBefore, 'the flood never touches the alarms');
    assert.equal(realAlarms(s).length, 1);
  });
});

describe('groupBySchool', () => {
  const schools = { S001: school('S001', '城关镇'), S031: school('S031', '东关镇'), S046: school('S046', '西河镇') };

  it('puts every alarm in exactly one group; the counts add up; biggest group first, then the newest', () => {
    const list = [
      alarm('a1', 'S001', 1),
      alarm('a2', 'S031', 2),
      alarm('a3', 'S001', 3),
      alarm('a4', 'S046', 9),
      alarm('a5', 'S031', 5),
      alarm('a6', 'S001', 4),
      alarm('a7', 'S099', 8), // a school not (or no longer) in the list: still grouped, by its id
    ];
    const groups = groupBySchool(list, schools);
    assert.deepEqual(
      groups.map((g) => [g.school, g.count]),
      [
        ['S001', 3],
        ['S031', 2],
        ['S046', 1], // newest of the one-alarm groups first
        ['S099', 1],
      ],
    );
    assert.equal(groups.reduce((n, g) => n + g.count, 0), list.length, 'nothing dropped');
    const ids = groups.flatMap((g) => g.alarms.map((a) => a.id));
    assert.deepEqual([...ids].sort(), list.map((a) => a.id).sort(), 'every alarm once');
    assert.equal(new Set(ids).size, ids.length, 'no alarm twice');
    for (const g of groups) assert.equal(g.count, g.alarms.length);
    const s001 = groups[0];
    assert.equal(s001.newest, at(4));
    assert.equal(s001.region, '城关镇');
    assert.deepEqual(s001.alarms.map((a) => a.id), ['a1', 'a3', 'a6'], 'the list order is kept inside a group');
    assert.equal(groups[3].schoolName, '示范县S099学校', "the alarm's own school name when the school is not listed");
  });

  it('pins a group with an escalated, unacknowledged alarm first, whatever its size', () => {
    const groups = groupBySchool([alarm('a1', 'S001', 1), alarm('a2', 'S001', 2), alarm('a3', 'S031', 3, { escalated: true })], schools);
    assert.deepEqual(groups.map((g) => [g.school, g.urgent]), [['S031', 1], ['S001', 0]]);
    // Acknowledged: no longer urgent, back to size order.
    const later = groupBySchool([alarm('a1', 'S001', 1), alarm('a2', 'S001', 2), alarm('a3', 'S031', 3, { escalated: true, state: 'acknowledged' })], schools);
    assert.deepEqual(later.map((g) => g.school), ['S001', 'S031']);
  });

  it('is pure and empty for no alarms', () => {
    assert.deepEqual(groupBySchool([], schools), []);
    const list = Object.freeze([alarm('a1', 'S001', 1)]);
    groupBySchool(list, schools);
    assert.equal(list.length, 1);
  });

  it('counts the states of a group in words, not colour', () => {
    assert.deepEqual(stateCounts([alarm('a', 'S001', 0), alarm('b', 'S001', 0, { state: 'acknowledged' }), alarm('c', 'S001', 0)]), { raised: 2, acknowledged: 1 });
  });
});
