import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadPolicy } from '../../gateway/policy.js';
import { loadRegistry } from '../../gateway/registry.js';
import { checkRecord, judgeDay, mealCompleteness, type DayInput, type Sample } from '../../gateway/modules/canteen/records.js';

const registry = loadRegistry(fileURLToPath(new URL('../../config/county.json', import.meta.url)));
const policy = loadPolicy(fileURLToPath(new URL('../../config/policy.json', import.meta.url)), registry);
const DAY = '2026-12-02';
const D0 = policy.dayStartMs(DAY);
const MIN = 60_000;
const H = 3_600_000;
/** Local time of the day → ms. */
const at = (hhmm: string) => Date.parse(`${DAY}T${hhmm}:00+08:00`);
const limits = policy.canteen.records;
const boarding = policy.mealsFor('S001'); // breakfast 06:40–07:20, lunch 11:40–12:30, dinner 17:30–18:20
const lunchOnly = policy.mealsFor('S020').filter((m) => m.id === 'lunch');

const sample = (over: Partial<Sample> = {}): Sample => ({
  id: `s-${Math.random().toString(36).slice(2, 8)}`, dish: '番茄炒蛋', meal: 'lunch', grams: 150, takenAtMs: at('11:30'), keptUntilMs: at('11:30') + 50 * H, person: '王师傅', ...over,
});
const day = (over: Partial<DayInput> = {}): DayInput => ({
  dayStartMs: D0, meals: lunchOnly, limits, samples: [], checks: [], accompany: [], disinfection: [], workers: [], ...over,
});
const codes = (input: DayInput, nowMs: number) => judgeDay(input, nowMs).findings.map((f) => f.code).sort();

test('a complete lunch: no finding', () => {
  const input = day({
    samples: [sample({ menu: ['番茄炒蛋', '米饭'] }), sample({ dish: '米饭' })],
    accompany: [{ id: 'a1', leader: '李校长', meal: 'lunch', atMs: at('12:00') }],
    disinfection: [{ id: 'd1', what: '餐具', method: '蒸汽', meal: 'lunch', atMs: at('10:30') }],
    checks: [{ id: 'c1', person: '王师傅', result: 'normal', atMs: at('09:00') }],
    workers: [{ person: '王师傅' }],
  });
  assert.deepEqual(judgeDay(input, at('23:59')).findings, []);
  assert.deepEqual(mealCompleteness(input, at('23:59')), [{ meal: 'lunch', samples: 'ok', accompany: 'ok', disinfection: 'ok' }]);
});

test('留样 weight: 124 g is a finding, 125 g is not', () => {
  const f = judgeDay(day({ samples: [sample({ id: 's124', grams: 124 })] }), at('11:31')).findings;
  assert.deepEqual(f.map((x) => x.code), ['sample_underweight']);
  assert.equal(f[0].key, 'sample_underweight:s124');
  assert.deepEqual(f[0].evidence, ['s124']);
  assert.deepEqual(f[0].reason, { zh: '留样“番茄炒蛋”仅 124 克，不足 125 克', en: 'sample of "番茄炒蛋" is 124 g, under 125 g' });
  assert.deepEqual(codes(day({ samples: [sample({ grams: 125 })] }), at('11:31')), []);
  assert.deepEqual(codes(day({ samples: [sample({ grams: 124.9 })] }), at('11:31')), ['sample_underweight']);
});

test('留样 keeping: 47 h is a finding, 48 h is not', () => {
  const t = at('11:30');
  const f = judgeDay(day({ samples: [sample({ takenAtMs: t, keptUntilMs: t + 47 * H })] }), at('11:31')).findings;
  assert.deepEqual(f.map((x) => x.code), ['sample_short_keep']);
  assert.match(f[0].reason.en, /kept 47 h, under 48 h/);
  assert.deepEqual(codes(day({ samples: [sample({ takenAtMs: t, keptUntilMs: t + 48 * H })] }), at('11:31')), []);
  assert.deepEqual(codes(day({ samples: [sample({ takenAtMs: t, keptUntilMs: t + 48 * H - 1 })] }), at('11:31')), ['sample_short_keep']);
});

test('a meal without samples, or with a dish on its menu unsampled, at serving start + 30 min', () => {
  // Lunch serves at 11:40; samples are due by 12:10 (inclusive).
  const none = day();
  assert.deepEqual(codes(none, at('12:10')), [], 'not before the deadline');
  assert.equal(judgeDay(none, at('12:10')).nextAtMs, at('12:10') + 1);
  const f = judgeDay(none, at('12:10') + 1).findings;
  assert.deepEqual(f.map((x) => [x.code, x.key, x.atMs]), [['sample_missing', 'sample_missing:lunch', at('12:10') + 1]]);
  assert.match(f[0].reason.zh, /午餐无留样记录（应于 12:10 前）/);
  // A sample at the deadline counts; one a minute after does not.
  assert.deepEqual(codes(day({ samples: [sample({ takenAtMs: at('12:10') })] }), at('12:11')), []);
  assert.deepEqual(codes(day({ samples: [sample({ takenAtMs: at('12:11') })] }), at('12:12')), ['sample_missing']);
  // The menu (on any sample) names the dishes: one missing.
  const menu = day({ samples: [sample({ menu: ['番茄炒蛋', ' 青椒 肉丝 ', '米饭'] }), sample({ dish: '米饭' })] });
  const m = judgeDay(menu, at('12:11')).findings;
  assert.deepEqual(m.map((x) => [x.code, x.dish]), [['dish_unsampled', '青椒 肉丝']]);
  assert.equal(m[0].key, 'dish_unsampled:lunch:青椒 肉丝');
  // Without a menu, the sampled dishes are the meal's dishes.
  assert.deepEqual(codes(day({ samples: [sample()] }), at('12:11')), []);
});

test('a boarding school: three meals, each judged at its own deadline', () => {
  const input = day({ meals: boarding, samples: [sample({ meal: 'breakfast', takenAtMs: at('06:30') })] });
  assert.deepEqual(codes(input, at('07:30')), []);
  assert.deepEqual(judgeDay(input, at('12:11')).findings.map((f) => f.key), ['accompany_missing:breakfast', 'sample_missing:lunch']);
  assert.deepEqual(judgeDay(input, at('23:00')).findings.map((f) => f.key).sort(), [
    'accompany_missing:breakfast', 'accompany_missing:dinner', 'accompany_missing:lunch', 'sample_missing:dinner', 'sample_missing:lunch',
  ]);
  assert.equal(judgeDay(input, at('23:00')).nextAtMs, null, 'nothing left to wait for');
});

test('晨检: a check a minute before the shift start is fine, a minute after is a finding', () => {
  // The demo shift starts 120 min before the first meal: lunch 11:40 → 09:40.
  const worker = [{ person: '王师傅' }];
  const before = day({ workers: worker, checks: [{ id: 'c1', person: '王师傅', result: 'normal', atMs: at('09:39') }] });
  assert.deepEqual(codes(before, at('10:00')), []);
  const exactly = day({ workers: worker, checks: [{ id: 'c1', person: '王师傅', result: 'normal', atMs: at('09:40') }] });
  assert.deepEqual(codes(exactly, at('10:00')), []);
  const after = day({ workers: worker, checks: [{ id: 'c2', person: '王师傅', result: 'normal', atMs: at('09:41') }] });
  const f = judgeDay(after, at('10:00')).findings;
  assert.deepEqual(f.map((x) => [x.code, x.person, x.atMs, x.evidence]), [['morning_check_missing', '王师傅', at('09:40') + 1, ['c2']]]);
  assert.match(f[0].reason.en, /checked at 09:41, after the shift started at 09:40/);
  // No check at all: certain just after the shift start, not before.
  const none = day({ workers: worker });
  assert.deepEqual(codes(none, at('09:40')), []);
  assert.equal(judgeDay(none, at('09:40')).nextAtMs, at('09:40') + 1);
  assert.match(judgeDay(none, at('09:40') + 1).findings[0].reason.zh, /王师傅 上岗（09:40）前无晨检记录/);
  // The roster's own shift start wins; someone else's check does not count; yesterday's neither.
  const roster = day({ workers: [{ person: '赵师傅', shiftStartMs: at('06:00') }], checks: [
    { id: 'c3', person: '王师傅', result: 'normal', atMs: at('05:50') }, { id: 'c4', person: '赵师傅', result: 'normal', atMs: D0 - 60 * MIN },
  ] });
  assert.deepEqual(judgeDay(roster, at('06:01')).findings.map((x) => x.key), ['morning_check_missing:赵师傅']);
  // A school serving no meal has no default shift.
  assert.deepEqual(codes(day({ meals: [], workers: worker }), at('23:00')), []);
});

test('晨检 abnormal: a finding as soon as it is recorded', () => {
  const f = judgeDay(day({ checks: [{ id: 'c9', person: '刘阿姨', result: 'abnormal', symptom: '发热', atMs: at('07:00') }] }), at('07:01')).findings;
  assert.deepEqual(f.map((x) => [x.code, x.key]), [['morning_check_abnormal', 'morning_check_abnormal:c9']]);
  assert.match(f[0].reason.zh, /刘阿姨 晨检异常（发热）/);
});

test('陪餐: a leader during the meal, recorded by serving end + 30 min', () => {
  const acc = (hhmm: string) => day({ samples: [sample()], accompany: [{ id: 'a', leader: '李校长', meal: 'lunch', atMs: at(hhmm) }] });
  assert.deepEqual(codes(acc('12:05'), at('23:00')), []);
  assert.deepEqual(codes(acc('13:00'), at('23:00')), [], 'at the deadline (12:30 + 30 min) counts');
  assert.deepEqual(codes(acc('13:01'), at('23:00')), ['accompany_missing']);
  assert.deepEqual(codes(acc('11:00'), at('23:00')), ['accompany_missing'], 'before the meal is no accompanying');
  assert.deepEqual(codes(day({ samples: [sample()] }), at('13:00')), [], 'not before the deadline');
  const wrongMeal = day({ meals: boarding, samples: [], accompany: [{ id: 'a', leader: '李校长', meal: 'breakfast', atMs: at('12:05') }] });
  assert.ok(judgeDay(wrongMeal, at('13:01')).findings.some((f) => f.key === 'accompany_missing:lunch'));
});

test('completeness per meal: pending, ok, missing', () => {
  const input = day({ meals: boarding, samples: [sample({ meal: 'breakfast', takenAtMs: at('06:30'), grams: 100 })], accompany: [{ id: 'a', leader: '李校长', meal: 'breakfast', atMs: at('07:00') }] });
  assert.deepEqual(mealCompleteness(input, at('07:30')), [
    { meal: 'breakfast', samples: 'missing', accompany: 'ok', disinfection: 'missing' },
    { meal: 'lunch', samples: 'pending', accompany: 'pending', disinfection: 'pending' },
    { meal: 'dinner', samples: 'pending', accompany: 'pending', disinfection: 'pending' },
  ]);
});

test('one record checked before it is stored: specific refusals', () => {
  const meals = policy.mealsFor('S020'); // breakfast, lunch
  const base = { kind: 'sample' as const, school: 'S020', dish: ' 红烧 肉 ', meal: 'lunch', grams: 130, takenAt: '2026-12-02T11:30:00+08:00', keptUntil: '2026-12-04T11:30:00+08:00', person: '王师傅' };
  const ok = checkRecord(base, meals, 'r1');
  assert.ok(ok.ok);
  assert.deepEqual(ok.record, { kind: 'sample', id: 'r1', dish: '红烧 肉', meal: 'lunch', grams: 130, takenAtMs: at('11:30'), keptUntilMs: at('11:30') + 48 * H, person: '王师傅' });
  const refused = (r: Parameters<typeof checkRecord>[0], code: string, reason: RegExp, m = meals) => {
    const c = checkRecord(r, m, 'r');
    assert.ok(!c.ok, `expected ${code}`);
    assert.equal(c.code, code);
    assert.match(c.reason, reason);
  };
  refused({ ...base, grams: -5 }, 'negative_weight', /grams -5 is negative/);
  refused({ ...base, grams: 0 }, 'zero_weight', /grams is 0/);
  refused({ ...base, keptUntil: '2026-12-02T11:29:00+08:00' }, 'kept_before_taken', /keptUntil \(2026-12-02T03:29:00.000Z\) is before takenAt \(2026-12-02T03:30:00.000Z\)/);
  refused({ ...base, takenAt: '2026-12-02 11:30' }, 'bad_time', /takenAt: "2026-12-02 11:30" is not ISO-8601 with an offset/);
  refused({ ...base, keptUntil: '2026-02-30T11:30:00+08:00' }, 'bad_time', /keptUntil: .* is not a real date/);
  refused({ ...base, meal: 'dinner' }, 'unknown_meal', /meal "dinner" is not one this school serves \(breakfast, lunch\)/);
  refused({ ...base, meal: 'lunch' }, 'unknown_meal', /it serves none/, []);
  // Underweight and short-kept samples are stored (they become cases), not refused.
  assert.ok(checkRecord({ ...base, grams: 50, keptUntil: base.takenAt }, meals, 'r').ok);
  refused({ kind: 'accompany', school: 'S020', leader: '李校长', meal: 'supper', at: at('12:00') }, 'unknown_meal', /"supper"/);
  refused({ kind: 'disinfection', school: 'S020', what: '餐具', method: '蒸汽', meal: 'dinner', at: at('10:00') }, 'unknown_meal', /"dinner"/);
  refused({ kind: 'morning_check', school: 'S020', person: '王师傅', result: 'normal', at: 1234 }, 'bad_time', /at: .*outside 2000\.\.2100/);
  const check = checkRecord({ kind: 'morning_check', school: 'S020', id: 'own', person: '王师傅', result: 'abnormal', symptom: ' 腹泻 ', at: at('07:00') }, meals, 'r');
  assert.deepEqual(check, { ok: true, record: { kind: 'morning_check', id: 'own', person: '王师傅', result: 'abnormal', symptom: '腹泻', atMs: at('07:00') } });
});
