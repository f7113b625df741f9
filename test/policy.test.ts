import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../gateway/config-error.js';
import type { Policy } from '../gateway/contract/policy.js';
import { Calendar, dayNumber, dayString, isoWeekday, minuteOfDay, parseUtcOffset } from '../gateway/domain/calendar.js';
import { indexPolicy, loadPolicy } from '../gateway/policy.js';
import { loadRegistry } from '../gateway/registry.js';

const POLICY = fileURLToPath(new URL('../config/policy.json', import.meta.url));
const registry = loadRegistry(fileURLToPath(new URL('../config/county.json', import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), 'policy-test-'));
const fresh = (): Policy => JSON.parse(readFileSync(POLICY, 'utf8'));
let n = 0;
const file = (content: unknown) => {
  const path = join(dir, `policy-${++n}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
};
/** Loading fails with a ConfigError naming the file, the JSON pointer, and matching `problem`. */
const rejects = (content: unknown, where: string, problem: RegExp) => {
  const path = file(content);
  assert.throws(() => loadPolicy(path, registry), (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.source, path);
    assert.equal(err.where, where);
    assert.match(err.problem, problem);
    return true;
  });
};
const edit = (f: (p: Policy) => void) => {
  const p = fresh();
  f(p);
  return p;
};
const at = (iso: string) => Date.parse(iso);

test('the demo county policy loads, and its helpers answer', () => {
  const p = loadPolicy(POLICY, registry);
  assert.equal(p.offsetMs, 8 * 3600_000);
  assert.deepEqual(p.warnings, []);
  assert.equal(p.target('closed_campus').gateOpenGraceMin, 15);
  assert.deepEqual(p.target('video_networked').requiredPlaces, ['gate_inside', 'gate_outside', 'gatehouse', 'canteen_kitchen']);
  // County windows, sorted, with minutes.
  const w = p.windowsFor('S001');
  assert.deepEqual(w.open.map((x) => [x.fromMin, x.toMin]), [[410, 490], [700, 730], [840, 870], [990, 1060]]);
  assert.deepEqual(w.peaks.map((x) => x.id), ['morning', 'afternoon']);
  // The kindergarten's own.
  assert.deepEqual(p.windowsFor('S020').peaks.map((x) => x.from), ['07:50', '16:40']);
  assert.equal(p.windowsFor('S020').open.length, 2);
  // Scope: guard posts in city and town only; other targets everywhere.
  const rural = registry.schools.get('S084')!;
  assert.equal(rural.area, 'rural');
  assert.equal(p.inScope('guard_posts', rural), false);
  assert.equal(p.inScope('guard_posts', registry.schools.get('S001')!), true);
  assert.equal(p.inScope('one_key_alarm', rural), true);
  assert.equal(p.inScope('guard_posts', { id: 'X', area: undefined }), true, 'a school with no area is in scope');
});

test('defaults are filled from the schema', () => {
  const p = fresh() as unknown as Record<string, unknown>;
  delete p.targets;
  delete p.schools;
  delete (p.calendar as Record<string, unknown>).holidays;
  delete (p.calendar as Record<string, unknown>).extraSchoolDays;
  const idx = loadPolicy(file(p), registry);
  assert.equal(idx.target('security_guards').base, 2);
  assert.equal(idx.target('security_guards').boardersPerExtra, 200);
  assert.equal(idx.target('one_key_alarm').testPressMaxAgeDays, 31);
  assert.equal(idx.target('video_networked').uplinkMaxAgeMin, 10);
  assert.deepEqual(idx.target('guard_posts').roles, ['guard', 'parent_volunteer', 'police', 'teacher']);
  assert.deepEqual(idx.policy.schools, {});
  assert.equal(idx.inScope('guard_posts', registry.schools.get('S084')!), true, 'no scope: every school');
});

test('file and schema faults name the place', () => {
  const path = join(dir, 'missing.json');
  assert.throws(() => loadPolicy(path, registry), (e: unknown) => e instanceof ConfigError && e.where === '(file)' && /cannot read the policy file/.test(e.problem));
  rejects('{\n  "version": 1,\n  "calendar": {,\n}', 'line 3 column 16', /invalid JSON/);
  rejects(edit((p) => (p.windows.open[1].from = '25:00')), '/windows/open/1/from', /"25:00" is not a local time of day, HH:MM/);
  rejects(edit((p) => (p.calendar.terms[0].from = '2026/09/01')), '/calendar/terms/0/from', /not a local date/);
  rejects(edit((p) => ((p as Record<string, unknown>).colour = 1)), '/colour', /unknown field "colour"/);
  rejects(edit((p) => (p.utcOffset = '8')), '/utcOffset', /not valid/);
  rejects(edit((p) => (p.calendar.weekdays = [1, 8])), '/calendar/weekdays/1', /7/);
  rejects(edit((p) => ((p.targets.guard_posts.scope as { areas: string[] }).areas = ['city'])), '/targets/guard_posts/scope/areas/0', /must be one of "urban", "town", "rural"/);
  rejects(edit((p) => (p.calendar.holidays[0].to = '2026-02-30')), '/calendar/holidays/0/to', /"2026-02-30" is not a real date/);
});

test('impossible windows are refused with the pointer and the reason', () => {
  rejects(edit((p) => (p.windows.open[0] = { from: '08:10', to: '06:50' })), '/windows/open/0/to', /open window 08:10–06:50 ends at or before it starts/);
  rejects(edit((p) => (p.windows.open[2] = { from: '14:00', to: '14:00' })), '/windows/open/2/to', /ends at or before it starts/);
  rejects(edit((p) => (p.windows.peaks[1].to = '16:00')), '/windows/peaks/1/to', /peak 16:40–16:00 ends at or before it starts/);
  rejects(edit((p) => (p.windows.open[1] = { from: '08:00', to: '12:00' })), '/windows/open/1', /open window 08:00–12:00 overlaps open window 06:50–08:10 \(\/windows\/open\/0\)/);
  rejects(edit((p) => (p.windows.peaks[1] = { ...p.windows.peaks[1], from: '07:50', to: '08:30' })), '/windows/peaks/1', /peak 07:50–08:30 overlaps peak 07:20–08:00/);
  rejects(edit((p) => (p.windows.peaks[1].id = 'morning')), '/windows/peaks/1/id', /peak id "morning" is used twice/);
  // Touching windows are fine.
  loadPolicy(file(edit((p) => (p.windows.open[1] = { from: '08:10', to: '12:10' }))), registry);
  // A school's own windows are checked the same way, at their place.
  rejects(edit((p) => (p.schools.S020.open![1] = { from: '08:00', to: '09:00' })), '/schools/S020/open/1', /open window 08:00–09:00 overlaps open window 07:30–08:40/);
  rejects(edit((p) => (p.schools.S020.peaks![0].to = '07:00')), '/schools/S020/peaks/0/to', /peak 07:50–07:00 ends at or before it starts/);
  // An override naming only peaks keeps the county's open windows.
  const idx = loadPolicy(file(edit((p) => delete p.schools.S020.open)), registry);
  assert.equal(idx.windowsFor('S020').open.length, 4);
  assert.equal(idx.windowsFor('S020').peaks[0].from, '07:50');
});

test('impossible calendars are refused with the pointer and the reason', () => {
  rejects(edit((p) => (p.calendar.terms[0].to = '2026-08-01')), '/calendar/terms/0/to', /term "2026–2027学年第一学期" ends \(2026-08-01\) before it starts \(2026-09-01\)/);
  rejects(edit((p) => (p.calendar.terms[1].from = '2027-01-22')), '/calendar/terms/1', /term "2026–2027学年第二学期" \(2027-01-22\.\.2027-07-09\) overlaps term "2026–2027学年第一学期"/);
  // Terms in any order are fine.
  assert.equal(loadPolicy(file(edit((p) => (p.calendar.terms = [p.calendar.terms[1], p.calendar.terms[0]]))), registry).isSchoolDay('2026-09-01'), true);
  rejects(edit((p) => (p.calendar.holidays[0].to = '2026-09-30')), '/calendar/holidays/0/to', /holiday "国庆节" ends \(2026-09-30\) before it starts/);
  rejects(edit((p) => p.calendar.holidays.push({ name: '春节', from: '2027-02-05', to: '2027-02-15' })), '/calendar/holidays/4', /holiday "春节" \(2027-02-05\.\.2027-02-15\) is outside every term/);
  rejects(edit((p) => p.calendar.extraSchoolDays.push('2026-08-29')), '/calendar/extraSchoolDays/3', /extra school day 2026-08-29 is outside every term/);
  rejects(edit((p) => p.calendar.extraSchoolDays.push('2026-10-12')), '/calendar/extraSchoolDays/3', /extra school day 2026-10-12 is a weekday \(1\) that is already a school day/);
  rejects(edit((p) => p.calendar.extraSchoolDays.push('2026-10-03')), '/calendar/extraSchoolDays/3', /extra school day 2026-10-03 is inside holiday "国庆节"/);
  rejects(edit((p) => p.calendar.extraSchoolDays.push('2026-09-27')), '/calendar/extraSchoolDays/3', /listed twice \(already at \/calendar\/extraSchoolDays\/0\)/);
  rejects(edit((p) => (p.calendar.weekdays = [1, 2, 3, 2])), '/calendar/weekdays/3', /weekday 2 is listed twice \(already at \/calendar\/weekdays\/1\)/);
});

test('a school the registry does not have is refused, or set aside for the demo policy on another registry', () => {
  rejects(edit((p) => (p.schools.S999 = { open: [{ from: '07:00', to: '08:00' }] })), '/schools/S999', /window override for school "S999", which is not in the registry/);
  rejects(edit((p) => (p.targets.hard_barriers.scope = { exclude: ['S001', 'S998'] })), '/targets/hard_barriers/scope/exclude/1', /excludes school "S998", which is not in the registry/);
  const p = edit((x) => (x.targets.hard_barriers.scope = { exclude: ['S001', 'S998'] }));
  const idx = indexPolicy(p, 'mem', registry, { unknownSchools: 'ignore' });
  assert.equal(idx.warnings.length, 1);
  assert.match(idx.warnings[0], /S998.*ignored/);
  assert.equal(idx.inScope('hard_barriers', registry.schools.get('S001')!), false, 'an excluded school is out of scope');
  assert.equal(idx.inScope('hard_barriers', registry.schools.get('S002')!), true);
});

test('calendar at its edges: terms, holidays, extra school days, weekends, the day after a holiday', () => {
  const p = loadPolicy(POLICY, registry);
  const cases: [string, boolean][] = [
    ['2026-08-31', false], // Monday before the term
    ['2026-09-01', true], // first day of term (Tuesday)
    ['2026-09-05', false], // Saturday
    ['2026-09-27', true], // Sunday, an extra school day (调休)
    ['2026-09-30', true],
    ['2026-10-01', false], // national day
    ['2026-10-08', false], // last day of the holiday (a Thursday)
    ['2026-10-09', true], // the day after
    ['2026-10-10', true], // Saturday made a school day
    ['2027-01-01', false], // New Year, a Friday
    ['2027-01-22', true], // last day of term
    ['2027-01-25', false], // Monday of the winter break
    ['2027-02-22', true], // first day of the second term
    ['2027-07-09', true],
    ['2027-07-12', false],
    ['2026-02-30', false], // not a date
  ];
  for (const [day, school] of cases) assert.equal(p.isSchoolDay(day), school, day);

  assert.equal(p.previousSchoolDay('2026-09-01'), undefined, 'nothing before the first term');
  assert.equal(p.previousSchoolDay('2026-08-15'), undefined);
  assert.equal(p.previousSchoolDay('2026-09-02'), '2026-09-01');
  assert.equal(p.previousSchoolDay('2026-09-07'), '2026-09-04', 'Monday → Friday');
  assert.equal(p.previousSchoolDay('2026-09-28'), '2026-09-27', 'the extra Sunday counts');
  assert.equal(p.previousSchoolDay('2026-10-09'), '2026-09-30', 'across the holiday');
  assert.equal(p.previousSchoolDay('2026-10-05'), '2026-09-30', 'asked from inside the holiday');
  assert.equal(p.previousSchoolDay('2027-02-22'), '2027-01-22', 'across the winter break');
  assert.equal(p.previousSchoolDay('2027-01-04'), '2026-12-31', 'across New Year');
  assert.equal(p.previousSchoolDay('2030-01-01'), '2027-07-09', 'after the last term: its last school day');
});

test('local day and minute in the county offset, at local midnight', () => {
  const p = loadPolicy(POLICY, registry);
  // 2026-09-30T16:00Z is local midnight of 10-01 (+08:00).
  assert.equal(p.localDay(at('2026-09-30T15:59:59.999Z')), '2026-09-30');
  assert.equal(p.minuteOfDay(at('2026-09-30T15:59:59.999Z')), 1439);
  assert.equal(p.localDay(at('2026-09-30T16:00:00Z')), '2026-10-01');
  assert.equal(p.minuteOfDay(at('2026-09-30T16:00:00Z')), 0);
  assert.equal(p.dayStartMs('2026-10-01'), at('2026-10-01T00:00:00+08:00'));
  assert.equal(p.minuteOfDay(at('2026-10-09T07:20:00+08:00')), 440);
  assert.equal(p.localDay(p.dayStartMs('2027-01-22')), '2027-01-22');
  assert.equal(p.localDay(p.dayStartMs('2027-01-22') - 1), '2027-01-21');
  // A western offset: the same instant is still the previous local day.
  const west = indexPolicy(edit((x) => (x.utcOffset = '-05:30')), 'mem', registry);
  assert.equal(west.localDay(at('2026-10-01T05:29:00Z')), '2026-09-30');
  assert.equal(west.minuteOfDay(at('2026-10-01T05:29:00Z')), 1439);
  assert.equal(west.localDay(at('2026-10-01T05:30:00Z')), '2026-10-01');
  assert.equal(west.dayStartMs('2026-10-01'), at('2026-10-01T00:00:00-05:30'));
});

test('calendar primitives', () => {
  assert.equal(parseUtcOffset('+08:00'), 28_800_000);
  assert.equal(parseUtcOffset('-03:30'), -12_600_000);
  assert.equal(parseUtcOffset('08:00'), undefined);
  assert.equal(dayNumber('1970-01-01'), 0);
  assert.equal(dayNumber('2024-02-29'), 19_782);
  assert.equal(dayNumber('2026-02-29'), undefined);
  assert.equal(dayNumber('2026-13-01'), undefined);
  assert.equal(dayNumber('26-01-01'), undefined);
  assert.equal(dayString(19_782), '2024-02-29');
  assert.equal(dayString(-1), '1969-12-31');
  assert.equal(isoWeekday(0), 4, '1970-01-01 was a Thursday');
  assert.equal(isoWeekday(dayNumber('2026-10-04')!), 7, 'a Sunday');
  assert.equal(isoWeekday(dayNumber('2026-10-05')!), 1, 'a Monday');
  assert.equal(isoWeekday(-4), 7, 'before 1970 too');
  assert.equal(minuteOfDay(-60_000, 0), 1439, 'before 1970: still 0..1439');
  const cal = new Calendar({ offsetMs: 0, terms: [{ from: 0, to: 6 }], weekdays: [6, 7], holidays: [], extraSchoolDays: [] });
  assert.equal(cal.size, 2);
  assert.equal(cal.isSchoolDay('1970-01-03'), true);
  assert.equal(cal.previousSchoolDay('1970-01-05'), '1970-01-04');
  assert.throws(() => cal.dayStartMs('soon'), /not a date/);
});

// Contract §8: the canteen section.

test('canteen: the demo policy, its meals per school and AI rules', () => {
  const p = loadPolicy(POLICY, registry);
  assert.equal(p.canteen.records.sampleMinGrams, 125);
  assert.equal(p.canteen.records.sampleMinKeepHours, 48);
  assert.deepEqual(p.canteen.requiredAreas, ['processing', 'special_room', 'serving', 'washing', 'storage', 'sample']);
  assert.equal(p.aiRule('rodent').deadlineHours, 2);
  assert.equal(p.aiRule('fire_unattended').deadlineHours, 2);
  assert.equal(p.aiRule('no_mask').deadlineHours, 24);
  assert.equal(p.aiRule('no_mask').dedupeWindowMin, 10);
  // A boarding school: three meals; a day school: lunch; S020's own: breakfast and lunch.
  assert.ok((registry.schools.get('S001')!.boarders ?? 0) > 0);
  assert.deepEqual(p.mealsFor('S001').map((m) => [m.id, m.fromMin, m.toMin]), [['breakfast', 400, 440], ['lunch', 700, 750], ['dinner', 1050, 1100]]);
  const day = [...registry.schools.values()].find((s) => !s.boarders && s.id !== 'S020')!;
  assert.deepEqual(p.mealsFor(day.id).map((m) => m.id), ['lunch']);
  assert.deepEqual(p.mealsFor('S020').map((m) => m.id), ['breakfast', 'lunch']);
  assert.deepEqual(p.mealsFor('nope').map((m) => m.id), ['lunch']);
});

test('canteen: every default filled from the schema when the section is absent', () => {
  const p = fresh() as unknown as Record<string, unknown>;
  delete p.canteen;
  const idx = loadPolicy(file(p), registry);
  const c = idx.canteen;
  assert.deepEqual(c.requiredAreas, ['processing', 'special_room', 'serving', 'washing', 'storage', 'sample']);
  assert.equal(c.meals.length, 3);
  assert.deepEqual(c.boardingMeals, ['breakfast', 'lunch', 'dinner']);
  assert.deepEqual(c.dayMeals, ['lunch']);
  assert.deepEqual(c.schoolMeals, {});
  assert.deepEqual(c.records, { sampleWithinMin: 30, sampleMinGrams: 125, sampleMinKeepHours: 48, shiftLeadMin: 120, accompanyGraceMin: 30, deadlineHours: 24 });
  for (const [kind, rule] of Object.entries(c.ai)) {
    assert.equal(rule.dedupeWindowMin, 10, kind);
    assert.equal(rule.minConfidence, 0.6, kind);
    assert.equal(rule.deadlineHours, kind === 'rodent' || kind === 'fire_unattended' ? 2 : 24, kind);
  }
  assert.deepEqual(c.ai.fire_unattended.areas, ['processing']);
  // A rule given in part keeps the defaults of the rest; defaults are not shared between loads.
  const q = fresh();
  (q.canteen.ai as Record<string, unknown>).rodent = { minConfidence: 0.8 };
  const r = loadPolicy(file(q), registry).aiRule('rodent');
  assert.deepEqual(r, { areas: ['processing', 'special_room', 'serving', 'washing', 'storage', 'sample', 'dining'], minConfidence: 0.8, dedupeWindowMin: 10, deadlineHours: 2 });
  r.areas.pop();
  assert.equal(loadPolicy(file(p), registry).aiRule('rodent').areas.length, 7);
});

test('canteen: faults name the place', () => {
  rejects(edit((p) => (p.canteen.meals[1].to = '11:30')), '/canteen/meals/1/to', /meal "lunch" is served 11:40–11:30: it ends at or before it starts/);
  rejects(edit((p) => (p.canteen.meals[1].to = '11:40')), '/canteen/meals/1/to', /ends at or before it starts/);
  rejects(edit((p) => (p.canteen.meals[2].from = '12:00')), '/canteen/meals/2', /meal "dinner" \(12:00–18:20\) overlaps meal "lunch" \(11:40–12:30, \/canteen\/meals\/1\)/);
  // Touching meals do not overlap (a window's end is exclusive).
  assert.doesNotThrow(() => loadPolicy(file(edit((p) => (p.canteen.meals[2].from = '12:30'))), registry));
  rejects(edit((p) => (p.canteen.meals[2].id = 'lunch')), '/canteen/meals/2/id', /meal id "lunch" is used twice \(already at \/canteen\/meals\/1\)/);
  rejects(edit((p) => (p.canteen.records.sampleWithinMin = 0)), '/canteen/records/sampleWithinMin', /greater or equal to 1 \(got 0\)/);
  rejects(edit((p) => (p.canteen.ai.rodent.deadlineHours = 0)), '/canteen/ai/rodent/deadlineHours', /greater or equal to 1 \(got 0\)/);
  rejects(edit((p) => (p.canteen.ai.rodent.minConfidence = 1.5)), '/canteen/ai/rodent/minConfidence', /less or equal to 1 \(got 1.5\)/);
  rejects(edit((p) => (p.canteen.ai.no_mask.areas = [])), '/canteen/ai/no_mask/areas', /length to be greater or equal to 1/);
  rejects(edit((p) => (p.canteen.ai.no_mask.areas = ['serving', 'serving'])), '/canteen/ai/no_mask/areas/1', /area "serving" is listed twice \(already at \/canteen\/ai\/no_mask\/areas\/0\)/);
  rejects(edit((p) => ((p.canteen.ai as Record<string, unknown>).no_apron = {})), '/canteen/ai/no_apron', /unknown field "no_apron"/);
  rejects(edit((p) => ((p.canteen.requiredAreas as string[])[0] = 'kitchen')), '/canteen/requiredAreas/0', /must be one of "processing", "special_room"/);
  rejects(edit((p) => p.canteen.requiredAreas.push('processing')), '/canteen/requiredAreas/6', /area "processing" is listed twice/);
  rejects(edit((p) => (p.canteen.boardingMeals = ['breakfast', 'supper'])), '/canteen/boardingMeals/1', /meal "supper" is not one of the county's meals \(\/canteen\/meals: breakfast, lunch, dinner\)/);
  rejects(edit((p) => (p.canteen.dayMeals = ['lunch', 'lunch'])), '/canteen/dayMeals/1', /meal "lunch" is listed twice/);
  rejects(edit((p) => (p.canteen.schoolMeals.S020 = ['brunch'])), '/canteen/schoolMeals/S020/0', /meal "brunch" is not one of the county's meals/);
  rejects(edit((p) => (p.canteen.schoolMeals.S999 = ['lunch'])), '/canteen/schoolMeals/S999', /meals for school "S999", which is not in the registry/);
  // With unknownSchools: ignore, the demo policy on another registry warns instead.
  const idx = indexPolicy(edit((p) => (p.canteen.schoolMeals.S999 = ['lunch'])), 'mem', registry, { unknownSchools: 'ignore' });
  assert.match(idx.warnings.join('\n'), /meals for school "S999".*ignored/);
  // An empty own list: a school whose canteen serves no meals.
  assert.deepEqual(indexPolicy(edit((p) => (p.canteen.schoolMeals.S001 = [])), 'mem', registry).mealsFor('S001'), []);
});
