/**
 * The six rules of contract §7 at their boundaries (issue 10): pure functions, so every edge is a
 * line here. Thresholds are the contract's defaults.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Policy } from '../../gateway/contract/policy.js';
import type { Checkin, DayFacts, SchoolFacts } from '../../gateway/modules/targets/facts.js';
import { closedCampus, guardPosts, hardBarriers, longestOutside, oneKeyAlarm, requiredGuards, securityGuards, videoNetworked } from '../../gateway/modules/targets/rules.js';

const T: Policy['targets'] = {
  closed_campus: { gateOpenGraceMin: 15, gatehouseSlotHours: 2, perimeterInspectionMaxAgeDays: 120 },
  guard_posts: { minPeoplePerPost: 2, roles: ['guard', 'parent_volunteer', 'police', 'teacher'] },
  security_guards: { base: 2, studentsThreshold: 1000, studentsPerExtra: 500, boardersPerExtra: 200 },
  hard_barriers: { inspectionMaxAgeDays: 120, photoRequired: true },
  one_key_alarm: { maxDownHours: 24, testPressMaxAgeDays: 31 },
  video_networked: { maxDownHours: 24, uplinkMaxAgeMin: 10, requiredPlaces: ['gate_inside', 'gate_outside', 'gatehouse', 'canteen_kitchen'] },
};
const NOW = Date.parse('2026-11-20T10:00:00+08:00');
const DAY = 86_400_000;
const H = 3_600_000;
const m = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));

let refs = 0;
const ci = (minute: string, role: Checkin['role'], person?: string): Checkin => ({ minute: m(minute), role, person, ref: `checkin:T:${refs++}` });
/** A gatehouse guard every 2 h of the day, so days are "check-in days" with the gatehouse covered. */
const gatehouseAllDay = () => Array.from({ length: 12 }, (_, i) => ci(`${String(i * 2).padStart(2, '0')}:30`, 'guard', 'G1'));

function day(over: Partial<DayFacts> = {}): DayFacts {
  return { day: '2026-11-19', checkins: { gatehouse: gatehouseAllDay(), ...over.checkins }, openings: { ...over.openings } };
}

function facts(over: Partial<SchoolFacts> = {}): SchoolFacts {
  return {
    school: { id: 'S1', students: 800, boarders: 0, gates: [{ id: 'main', name: '正门', posts: ['main-1'] }] },
    windows: { open: [{ from: m('06:50'), to: m('08:10') }, { from: m('16:30'), to: m('17:40') }], peaks: [{ id: 'am', name: '早高峰', from: m('07:20'), to: m('08:00') }] },
    nowMs: NOW,
    judged: day(),
    judgedUntilMs: NOW + 12 * H,
    perimeter: { id: 'i1', item: 'perimeter', result: 'pass', atMs: NOW - 10 * DAY },
    barriers: { main: { id: 'b1', item: 'barrier', gate: 'main', result: 'pass', atMs: NOW - 10 * DAY, photo: 'a'.repeat(64) } },
    guards: [],
    buttons: [],
    cameras: [],
    nvrs: [],
    ...over,
  };
}

test('security guards required: 2 up to 1,000 students, one more per further 500 or part, one more per 200 boarders or part', () => {
  const t = T.security_guards;
  assert.deepEqual([0, 1000, 1001, 1500, 1501, 2000, 2001].map((s) => requiredGuards(s, 0, t)), [2, 2, 3, 3, 4, 4, 5]);
  assert.deepEqual([0, 1, 200, 201, 400, 401].map((b) => requiredGuards(800, b, t)), [2, 3, 3, 4, 4, 5]);
});

test('security_guards: distinct licensed guards on the judged day against the requirement; an expired licence does not count', () => {
  const guards = ['G1', 'G2', 'G3'].map((p) => ({ person: p, name: `保安${p}`, licence: `L-${p}`, licenceExpires: '2027-01-01' }));
  const withGuards = (people: string[], students = 1001) =>
    facts({ school: { ...facts().school, students }, guards, judged: day({ checkins: { gatehouse: [...gatehouseAllDay(), ...people.map((p) => ci('09:00', 'guard', p))] } }) });
  assert.equal(securityGuards(withGuards(['G2'], 1000), T.security_guards).status, 'met', 'G1 (gatehouse) and G2: 2 of 2');
  const short = securityGuards(withGuards(['G2'], 1001), T.security_guards);
  assert.equal(short.status, 'not_met');
  assert.match(short.reasons[0].zh, /在岗持证保安 2 人，应配 3 人/);
  assert.equal(securityGuards(withGuards(['G2', 'G3'], 1001), T.security_guards).status, 'met');
  const lapsed = guards.map((g) => (g.person === 'G3' ? { ...g, licenceExpires: '2026-11-18' } : g));
  const v = securityGuards({ ...withGuards(['G2', 'G3'], 1001), guards: lapsed }, T.security_guards);
  assert.equal(v.status, 'not_met');
  assert.ok(v.reasons.some((r) => /过期/.test(r.zh)));
  const onTheDay = guards.map((g) => (g.person === 'G3' ? { ...g, licenceExpires: '2026-11-19' } : g));
  assert.equal(securityGuards({ ...withGuards(['G2', 'G3'], 1001), guards: onTheDay }, T.security_guards).status, 'met', 'valid through its last day');
  assert.equal(securityGuards(facts({ guards }), T.security_guards).status, 'not_met', 'one guard checked in: short');
  assert.equal(securityGuards(facts({ guards: [] }), T.security_guards).status, 'unknown', 'no guards on file');
  assert.equal(securityGuards(facts({ guards, judged: undefined }), T.security_guards).status, 'unknown', 'no school day yet');
  assert.equal(securityGuards(facts({ guards, judged: { day: '2026-11-19', checkins: {}, openings: {} } }), T.security_guards).status, 'unknown', 'no check-in data');
});

test('closed_campus: a gate open 15 min outside the open windows is fine, 16 min is not; an opening that runs into a window counts only its outside part', () => {
  const open = (from: string, to: string) => facts({ judged: day({ openings: { main: [{ from: m(from), to: m(to), ref: 'gate:G:1' }] } }) });
  assert.equal(closedCampus(open('12:00', '12:15'), T.closed_campus).status, 'met');
  const v = closedCampus(open('12:00', '12:16'), T.closed_campus);
  assert.equal(v.status, 'not_met');
  assert.match(v.reasons[0].zh, /正门 在开放时段外敞开 16 分钟（12:00 起/);
  assert.ok(v.evidence.includes('gate:G:1'));
  assert.equal(closedCampus(open('06:35', '08:00'), T.closed_campus).status, 'met', '15 min before the 06:50 window');
  assert.equal(closedCampus(open('06:34', '08:00'), T.closed_campus).status, 'not_met');
  assert.equal(closedCampus(open('08:00', '08:25'), T.closed_campus).status, 'met', 'closes 15 min after the window');
  assert.deepEqual(longestOutside({ from: m('06:00'), to: m('18:00'), ref: '' }, facts().windows.open), { from: m('08:10'), minutes: m('16:30') - m('08:10') });
});

test('closed_campus: every 2 h of the 24 needs a guard at the gatehouse; the perimeter inspection must pass and be at most 120 days old', () => {
  assert.equal(closedCampus(facts(), T.closed_campus).status, 'met');
  const gap = gatehouseAllDay().filter((c) => c.minute !== m('14:30'));
  const v = closedCampus(facts({ judged: day({ checkins: { gatehouse: gap } }) }), T.closed_campus);
  assert.equal(v.status, 'not_met');
  assert.match(v.reasons[0].zh, /14:00–16:00 门卫室无保安签到/);
  const volunteer = gatehouseAllDay().map((c) => (c.minute === m('14:30') ? { ...c, role: 'parent_volunteer' as const } : c));
  assert.equal(closedCampus(facts({ judged: day({ checkins: { gatehouse: volunteer } }) }), T.closed_campus).status, 'not_met', 'only a guard staffs the gatehouse');
  const insp = (daysOld: number, result: 'pass' | 'fail' = 'pass') => facts({ perimeter: { id: 'p', item: 'perimeter', result, atMs: NOW - daysOld * DAY } });
  assert.equal(closedCampus(insp(120), T.closed_campus).status, 'met');
  assert.equal(closedCampus(insp(121), T.closed_campus).status, 'unknown');
  assert.equal(closedCampus(insp(3, 'fail'), T.closed_campus).status, 'not_met');
  assert.equal(closedCampus(facts({ perimeter: undefined }), T.closed_campus).status, 'unknown');
  const aging = { ...insp(100), judgedUntilMs: NOW + 365 * DAY };
  assert.equal(closedCampus(aging, T.closed_campus).staleAt, NOW - 100 * DAY + 121 * DAY, 'stale once 120 whole days have passed');
  assert.equal(closedCampus(insp(100), T.closed_campus).staleAt, NOW + 12 * H, 'or when the judged day is no longer the last school day, if sooner');
});

test('closed_campus and guard_posts: failures already certain today count at once', () => {
  const today = { ...day({ openings: { main: [{ from: m('09:00'), to: m('09:20'), ref: 'gate:G:9' }] } }), day: '2026-11-20', nowMinute: m('10:00') };
  assert.equal(closedCampus(facts({ today }), T.closed_campus).status, 'not_met');
  const ended = { ...day({ checkins: { gatehouse: gatehouseAllDay(), 'main-1': [ci('07:30', 'guard', 'G1')] } }), day: '2026-11-20', nowMinute: m('08:00') };
  const v = guardPosts(facts({ judged: day({ checkins: { 'main-1': [ci('07:30', 'guard', 'A'), ci('07:31', 'teacher', 'B')] } }), today: ended }), T.guard_posts);
  assert.equal(v.status, 'not_met', 'the morning peak ended at 08:00 with one person');
  const running = { ...ended, nowMinute: m('07:59') };
  assert.equal(guardPosts(facts({ judged: day({ checkins: { 'main-1': [ci('07:30', 'guard', 'A'), ci('07:31', 'teacher', 'B')] } }), today: running }), T.guard_posts).status, 'met', 'not before the window ends');
});

test('guard_posts: each post needs 2 distinct people of the allowed roles inside each peak window', () => {
  const at = (...c: Checkin[]) => guardPosts(facts({ judged: day({ checkins: { 'main-1': c } }) }), T.guard_posts);
  assert.equal(at(ci('07:20', 'guard', 'A'), ci('07:59', 'parent_volunteer', 'B')).status, 'met');
  assert.equal(at(ci('07:20', 'guard', 'A'), ci('07:25', 'guard', 'A')).status, 'not_met', 'the same person twice is one');
  assert.equal(at(ci('07:19', 'guard', 'A'), ci('07:30', 'police', 'B')).status, 'not_met', '07:19 is before the window');
  assert.equal(at(ci('07:30', 'guard', 'A'), ci('08:00', 'police', 'B')).status, 'not_met', '08:00 is after it');
  const v = at(ci('07:30', 'police', 'A'));
  assert.match(v.reasons[0].zh, /早高峰（07:20–08:00）护学岗：正门 main-1 1 人签到，需 2 人/);
  assert.equal(guardPosts(facts({ school: { ...facts().school, gates: [] } }), T.guard_posts).status, 'unknown');
  assert.equal(guardPosts(facts({ judged: undefined }), T.guard_posts).status, 'unknown');
});

test('hard_barriers: each gate needs a passed barrier inspection with a photo, at most 120 days old', () => {
  const b = (daysOld: number, over: object = {}) => hardBarriers(facts({ barriers: { main: { id: 'b', item: 'barrier', gate: 'main', result: 'pass', atMs: NOW - daysOld * DAY, photo: 'f'.repeat(64), ...over } } }), T.hard_barriers);
  assert.equal(b(120).status, 'met');
  assert.ok(b(120).evidence.includes(`media:${'f'.repeat(64)}`));
  assert.equal(b(121).status, 'unknown');
  assert.equal(b(1, { result: 'fail' }).status, 'not_met');
  assert.equal(b(1, { photo: undefined }).status, 'unknown');
  assert.equal(hardBarriers(facts({ barriers: {} }), T.hard_barriers).status, 'unknown');
  assert.equal(hardBarriers(facts({ barriers: {} }), { ...T.hard_barriers, photoRequired: false }).status, 'unknown', 'still no inspection');
});

test('one_key_alarm: a button down 23 h is still met (until 24 h), 25 h is not; a test press 31 days old is met, 32 is not', () => {
  const btn = (over: object) => oneKeyAlarm(facts({ buttons: [{ id: 'AB1', online: true, lastTestMs: NOW - 5 * DAY, ...over }] }), T.one_key_alarm);
  assert.equal(btn({}).status, 'met');
  const down23 = btn({ online: false, downSinceMs: NOW - 23 * H });
  assert.equal(down23.status, 'met');
  assert.equal(down23.staleAt, NOW + H, 'turns at the 24 h repair deadline');
  assert.equal(btn({ online: false, downSinceMs: NOW - 25 * H }).status, 'not_met');
  assert.equal(btn({ lastTestMs: NOW - 31 * DAY }).status, 'met');
  assert.equal(btn({ lastTestMs: NOW - 32 * DAY }).status, 'not_met');
  assert.equal(btn({ lastTestMs: undefined }).status, 'unknown');
  assert.equal(btn({ online: undefined }).status, 'unknown');
  assert.equal(oneKeyAlarm(facts({ buttons: [] }), T.one_key_alarm).status, 'not_met', 'a school without a button fails the target');
});

test('video_networked: cameras up (or down < 24 h), the police uplink reported up within 10 min, the required places covered', () => {
  const cams = [
    { id: 'C1', online: true, covers: ['gate_inside', 'gate_outside'] },
    { id: 'C2', online: true, covers: ['gatehouse'] },
    { id: 'C3', online: true, covers: ['canteen_kitchen'] },
  ];
  const nvr = (ageMin: number, up = true) => [{ id: 'N1', online: true, uplink: { up, atMs: NOW - ageMin * 60_000, ref: 'uplink:N1:x' } }];
  const v = (over: Partial<SchoolFacts>) => videoNetworked(facts({ cameras: cams, nvrs: nvr(1), ...over }), T.video_networked);
  assert.equal(v({}).status, 'met');
  assert.equal(v({ nvrs: nvr(10) }).status, 'met');
  assert.equal(v({ nvrs: nvr(11) }).status, 'unknown');
  assert.equal(v({ nvrs: nvr(1, false) }).status, 'not_met');
  assert.equal(v({ nvrs: [{ id: 'N1', online: true }] }).status, 'unknown', 'no uplink report yet');
  assert.equal(v({ nvrs: [] }).status, 'not_met');
  const missing = v({ cameras: cams.slice(0, 2) });
  assert.equal(missing.status, 'not_met');
  assert.match(missing.reasons[0].zh, /食堂后厨 无摄像机覆盖/);
  assert.equal(v({ cameras: [...cams, { id: 'C4', online: false, downSinceMs: NOW - 25 * H, covers: [] }] }).status, 'not_met');
  assert.equal(v({ cameras: [...cams, { id: 'C4', online: false, downSinceMs: NOW - 23 * H, covers: [] }] }).status, 'met');
});
