// The wall screen's six-targets slice (dashboard/state/targets.ts) and the evidence ids it shows (dashboard/evidence.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FeedFrame, Snapshot } from '../../gateway/contract/api.js';
import { parseEvidence, sortEvidence } from '../../dashboard/evidence.js';
import { initialState, reduce, type WallState } from '../../dashboard/state/index.js';
import { countRates, failingSchools, rateLevel, ratePercent, TARGET_ORDER, type TargetChange, type TargetRate, type TargetStatus } from '../../dashboard/state/targets.js';

const NAMES: Record<string, [string, string]> = {
  closed_campus: ['校园封闭化管理', 'Closed campus'],
  guard_posts: ['家长护学岗', 'Guard posts at the gates'],
  security_guards: ['专职保安配备', 'Full-time security guards'],
  hard_barriers: ['硬隔离设施', 'Hard physical barriers'],
  one_key_alarm: ['一键报警', 'One-key alarm'],
  video_networked: ['视频监控与公安机关联网', 'Video networked with the police'],
};

type Row = Partial<Record<string, TargetStatus>>;

/** The gateway's figures for these per-school statuses (what it puts in the snapshot). */
function serverRates(schools: Record<string, Row>): TargetRate[] {
  return TARGET_ORDER.map((id) => {
    const all = Object.values(schools).map((r) => r[id]).filter((s): s is TargetStatus => s !== undefined);
    const met = all.filter((s) => s === 'met').length;
    return { id, name: NAMES[id][0], nameEn: NAMES[id][1], rate: all.length ? met / all.length : null, met, notMet: all.filter((s) => s === 'not_met').length, unknown: all.filter((s) => s === 'unknown').length, inScope: all.length };
  });
}

const allMet = (): Row => Object.fromEntries(TARGET_ORDER.map((id) => [id, 'met']));
const SCHOOLS: Record<string, Row> = {
  S001: allMet(),
  S002: { ...allMet(), one_key_alarm: 'not_met' },
  S003: { ...allMet(), one_key_alarm: 'unknown', video_networked: 'unknown' },
  // Not in scope of guard_posts (a rural school): no entry for it.
  S004: Object.fromEntries(TARGET_ORDER.filter((id) => id !== 'guard_posts').map((id) => [id, 'met'])),
};

function snapshot(seq: number, targets?: unknown): FeedFrame<Partial<Snapshot>> {
  const data: Record<string, unknown> = { alarms: [], devices: {}, schools: [], maintenance: [] };
  if (targets !== undefined) data.targets = targets;
  return { seq, type: 'snapshot', data: data as Partial<Snapshot> };
}

const change = (seq: number, c: Partial<TargetChange> & Pick<TargetChange, 'school' | 'target' | 'status'>): FeedFrame<TargetChange> => ({
  seq,
  type: 'target',
  data: { previous: null, inScope: true, since: '2026-12-01T08:00:00.000Z', reasons: [], ...c },
});

const run = (frames: FeedFrame[], from: WallState = initialState()) => frames.reduce((s, f) => reduce(s, f, 0), from);
const rate = (s: WallState, id: string) => s.targets.rates.find((r) => r.id === id)!;

describe('dashboard targets slice', () => {
  it('starts empty and loads rates and per-school statuses from the snapshot', () => {
    assert.deepEqual(initialState().targets, { rates: [], schools: {}, changedAt: null });
    const s = run([snapshot(3, { rates: serverRates(SCHOOLS), schools: SCHOOLS })]);
    assert.deepEqual(s.targets.rates, serverRates(SCHOOLS), 'the counted figures are the gateway\'s figures');
    assert.deepEqual(s.targets.rates.map((r) => r.id), [...TARGET_ORDER]);
    assert.deepEqual(rate(s, 'one_key_alarm'), { id: 'one_key_alarm', name: '一键报警', nameEn: 'One-key alarm', rate: 0.5, met: 2, notMet: 1, unknown: 1, inScope: 4 });
    assert.equal(rate(s, 'guard_posts').inScope, 3, 'an out-of-scope school is not counted');
    assert.equal(rate(s, 'guard_posts').rate, 1);
    assert.equal(s.targets.schools.S002.one_key_alarm, 'not_met');
  });

  it('keeps what it had when a snapshot has no targets (a gateway without the module)', () => {
    const s1 = run([snapshot(3, { rates: serverRates(SCHOOLS), schools: SCHOOLS })]);
    const s2 = run([snapshot(9)], s1);
    assert.equal(s2.targets, s1.targets);
    assert.deepEqual(run([snapshot(1)]).targets.rates, []);
  });

  it('takes the gateway figures as they are when the snapshot has rates but no per-school statuses', () => {
    const rates = serverRates(SCHOOLS);
    const s = run([snapshot(1, { rates })]);
    assert.deepEqual(s.targets.rates, rates);
    assert.notEqual(s.targets.rates[0], rates[0], 'copied, not shared');
  });

  it('a target frame moves one school and the county rate at once', () => {
    let s = run([snapshot(10, { rates: serverRates(SCHOOLS), schools: SCHOOLS })]);
    const before = s.targets;
    // S002 has pressed its test button: one_key_alarm met.
    s = run([change(11, { school: 'S002', target: 'one_key_alarm', status: 'met', previous: 'not_met', since: '2026-12-01T09:00:00.000Z' })], s);
    assert.deepEqual(rate(s, 'one_key_alarm'), { ...rate({ targets: before } as WallState, 'one_key_alarm'), rate: 0.75, met: 3, notMet: 0 });
    assert.equal(s.targets.schools.S002.one_key_alarm, 'met');
    assert.equal(s.targets.changedAt, '2026-12-01T09:00:00.000Z');
    assert.equal(before.schools.S002.one_key_alarm, 'not_met', 'the old state is not mutated');
    assert.equal(rate({ targets: before } as WallState, 'one_key_alarm').met, 2);
    // Every other rate is what it was.
    for (const id of TARGET_ORDER.filter((x) => x !== 'one_key_alarm')) assert.deepEqual(rate(s, id), rate({ targets: before } as WallState, id));
    // And it matches what the gateway would now say.
    const now = { ...SCHOOLS, S002: { ...SCHOOLS.S002, one_key_alarm: 'met' as const } };
    assert.deepEqual(s.targets.rates, serverRates(now));
  });

  it('a school that comes into scope or leaves it moves the in-scope count', () => {
    let s = run([snapshot(1, { rates: serverRates(SCHOOLS), schools: SCHOOLS })]);
    s = run([change(2, { school: 'S004', target: 'guard_posts', status: 'unknown', inScope: true })], s);
    assert.deepEqual({ ...rate(s, 'guard_posts') }, { ...rate(s, 'guard_posts'), inScope: 4, unknown: 1, met: 3, rate: 0.75 });
    s = run([change(3, { school: 'S001', target: 'guard_posts', status: 'met', inScope: false })], s);
    assert.equal(rate(s, 'guard_posts').inScope, 3);
    assert.equal(rate(s, 'guard_posts').met, 2);
    assert.equal(s.targets.schools.S001.guard_posts, undefined);
    // Leaving scope twice changes nothing the second time.
    const same = run([change(4, { school: 'S001', target: 'guard_posts', status: 'met', inScope: false })], s);
    assert.equal(same.targets, s.targets);
  });

  it('a school the snapshot did not list, a repeated status, a stale seq and a malformed frame', () => {
    let s = run([snapshot(5, { rates: serverRates(SCHOOLS), schools: SCHOOLS })]);
    s = run([change(6, { school: 'S099', target: 'hard_barriers', status: 'not_met' })], s);
    assert.deepEqual(rate(s, 'hard_barriers'), { ...rate(s, 'hard_barriers'), inScope: 5, notMet: 1, met: 4, rate: 0.8 });
    const again = run([change(7, { school: 'S099', target: 'hard_barriers', status: 'not_met' })], s);
    assert.equal(again.targets, s.targets, 'the same status again is no change');
    assert.equal(again.seq, 7);
    const stale = run([change(6, { school: 'S001', target: 'hard_barriers', status: 'not_met' })], again);
    assert.equal(stale, again, 'a seq already applied is ignored');
    const bad = run([{ seq: 8, type: 'target', data: { school: 'S001', target: 'hard_barriers', status: 'bogus', inScope: true } }], again);
    assert.equal(bad.targets, again.targets);
    assert.equal(bad.seq, 8);
  });

  it('drops deltas before the first snapshot', () => {
    const s = run([change(1, { school: 'S001', target: 'closed_campus', status: 'not_met' })]);
    assert.deepEqual(s.targets.rates, []);
  });

  it('counts the six targets even when the snapshot names none, and unknown is never met', () => {
    const rates = countRates({ A: { closed_campus: 'unknown' }, B: { closed_campus: 'met' } }, []);
    assert.deepEqual(rates.map((r) => r.id), [...TARGET_ORDER]);
    assert.deepEqual(rates[0], { id: 'closed_campus', name: 'closed_campus', nameEn: 'closed_campus', rate: 0.5, met: 1, notMet: 0, unknown: 1, inScope: 2 });
    assert.equal(rates[1].rate, null, 'no school in scope: no rate');
  });

  it('selectors: failing schools, level, percent', () => {
    const s = run([snapshot(1, { rates: serverRates(SCHOOLS), schools: { ...SCHOOLS, S000: { one_key_alarm: 'unknown' }, S005: { one_key_alarm: 'not_met' } } })]);
    assert.deepEqual(failingSchools(s.targets, 'one_key_alarm', ['S005', 'S002', 'S003', 'S000']), [
      { school: 'S005', status: 'not_met' },
      { school: 'S002', status: 'not_met' },
      { school: 'S003', status: 'unknown' },
      { school: 'S000', status: 'unknown' },
    ]);
    const r = (met: number, notMet: number, unknown: number): TargetRate => ({ id: 'x', name: 'x', nameEn: 'x', met, notMet, unknown, inScope: met + notMet + unknown, rate: met + notMet + unknown ? met / (met + notMet + unknown) : null });
    assert.equal(rateLevel(r(5, 0, 0)), 'full');
    assert.equal(rateLevel(r(4, 1, 0)), 'short');
    assert.equal(rateLevel(r(4, 0, 1)), 'unknown');
    assert.equal(rateLevel(r(0, 0, 0)), 'none');
    assert.equal(ratePercent(r(84, 0, 0)), '100%');
    assert.equal(ratePercent(r(83, 1, 0)), '98.8%');
    assert.equal(ratePercent(r(999, 1, 0)), '99.9%', 'never rounded up to 100 % while a school falls short');
    assert.equal(ratePercent(r(0, 3, 0)), '0.0%');
    assert.equal(ratePercent(r(0, 0, 0)), '—');
  });
});

describe('evidence ids', () => {
  it('takes each kind apart; times keep their colons', () => {
    assert.deepEqual(parseEvidence('checkin:S001-CK01:2026-12-01T07:32:10.000Z'), { kind: 'checkin', device: 'S001-CK01', at: '2026-12-01T07:32:10.000Z', raw: 'checkin:S001-CK01:2026-12-01T07:32:10.000Z' });
    assert.equal(parseEvidence('gate:S001-GT01:2026-12-01T07:32:10.000Z').kind, 'gate');
    assert.equal(parseEvidence('uplink:S001-NVR:2026-12-01T07:32:10.000Z').kind, 'uplink');
    assert.deepEqual(parseEvidence('inspection:42'), { kind: 'inspection', id: '42', raw: 'inspection:42' });
    assert.deepEqual(parseEvidence('device:S001-AB01'), { kind: 'device', id: 'S001-AB01', raw: 'device:S001-AB01' });
    const sha = 'AB'.repeat(32);
    assert.deepEqual(parseEvidence(`media:${sha}`), { kind: 'media', sha: sha.toLowerCase(), raw: `media:${sha}` });
  });

  it('never treats something that is not a content hash as a photo to fetch', () => {
    assert.equal(parseEvidence('media:../../api/users').kind, 'other');
    assert.equal(parseEvidence('media:abc').kind, 'other');
    assert.equal(parseEvidence('checkin:nocolon').kind, 'other');
    assert.equal(parseEvidence('whatever').kind, 'other');
    assert.equal(parseEvidence(':x').kind, 'other');
  });

  it('photos apart, duplicates once', () => {
    const sha = 'c'.repeat(64);
    const out = sortEvidence(['inspection:1', `media:${sha}`, 'inspection:1', 'device:D']);
    assert.deepEqual(out.photos, [sha]);
    assert.deepEqual(out.items.map((e) => e.raw), ['inspection:1', 'device:D']);
  });
});
