/**
 * The daily canteen report (明厨亮灶日报), pure: the day's case figures, record completeness per meal
 * with its findings, and its CSV (Excel) and printable HTML forms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Case } from '../../gateway/contract/canteen.js';
import type { MinuteMeal } from '../../gateway/policy.js';
import { buildCanteenReport, caseFigures, median, type SchoolDayFacts } from '../../gateway/modules/canteen/report.js';
import { canteenReportCsv, canteenReportHtml } from '../../gateway/modules/canteen/report-render.js';

const DAY = Date.parse('2026-11-03T00:00:00+08:00');
const H = 3_600_000;
const at = (h: number) => new Date(DAY + h * H).toISOString();
const LIMITS = { sampleWithinMin: 30, sampleMinGrams: 125, sampleMinKeepHours: 48, shiftLeadMin: 120, accompanyGraceMin: 30, deadlineHours: 24 };
const MEALS: MinuteMeal[] = [
  { id: 'breakfast', name: '早餐', nameEn: 'Breakfast', from: '06:40', to: '07:20', fromMin: 400, toMin: 440 },
  { id: 'lunch', name: '午餐', nameEn: 'Lunch', from: '11:40', to: '12:30', fromMin: 700, toMin: 750 },
];

function kase(id: string, openedH: number, deadlineH: number, closedH?: number): Case {
  const history: Case['history'] = [{ action: 'open', state: 'open', by: 'cam', at: at(openedH) }];
  if (closedH !== undefined) history.push({ action: 'close', state: 'closed', by: 'op', at: at(closedH) });
  return { id, school: 'S1', source: 'ai', kind: 'rodent', reason: { zh: 'x', en: 'x' }, state: closedH === undefined ? 'open' : 'closed', openedAt: at(openedH), deadlineAt: at(deadlineH), events: 1, lastEventAt: at(openedH), history };
}

test('case figures: opened and closed within the day, open and overdue at the cut-off, the rate and median of the day’s cases', () => {
  const cases = [
    kase('A', 8, 10, 10), // opened and closed that day: 120 min
    kase('B', 9, 33, 30), // opened that day, closed the next: 21 h
    kase('C', -5, 19, 12), // opened the day before, closed that day
    kase('D', -20, 4), // the day before, still open, past its deadline
    kase('E', -30, 40, -2), // closed the day before: not in this day
  ];
  const end = caseFigures(cases, DAY, DAY + 24 * H);
  assert.deepEqual({ ...end }, { opened: 2, closed: 2, open: 2, overdue: 1, rectificationRate: 1, medianCloseMin: (120 + 21 * 60) / 2 });
  // Today at 11:00: B is still open, C too; D overdue; of the day's cases (A, B) B is not closed yet at 11:00, but closed since.
  const mid = caseFigures(cases, DAY, DAY + 11 * H);
  assert.equal(mid.open, 3);
  assert.equal(mid.overdue, 1);
  assert.equal(caseFigures([], DAY, DAY + H).rectificationRate, null, 'no case: no rate, never 0% or 100%');
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([]), null);
});

const facts = (over: Partial<SchoolDayFacts> = {}): SchoolDayFacts => ({
  school: 'S1',
  name: '第一<小学>',
  nameEn: 'No. 1 Primary',
  coverage: { required: 4, covered: 3, rate: 0.75, missing: ['main/storage'] },
  aiEvents: { rodent: 3, no_hat: 5, smoking: 0 },
  cases: [kase('A', 8, 10, 10)],
  recording: true,
  records: {
    dayStartMs: DAY,
    meals: MEALS,
    limits: LIMITS,
    samples: [{ id: 's1', dish: '番茄炒蛋', meal: 'breakfast', grams: 150, takenAtMs: DAY + 6.8 * H, keptUntilMs: DAY + 60 * H, person: '王' }],
    checks: [
      { id: 'c1', person: '李', result: 'normal', atMs: DAY + 4 * H },
      { id: 'c2', person: '张', result: 'abnormal', symptom: '发热', atMs: DAY + 4.2 * H },
    ],
    accompany: [{ id: 'a1', leader: '校长', meal: 'breakfast', atMs: DAY + 6.9 * H }],
    disinfection: [{ id: 'd1', what: '餐具', method: '高温', meal: 'breakfast', atMs: DAY + 6 * H }],
    workers: [{ person: '李' }, { person: '张' }, { person: '赵' }],
  },
  ...over,
});

test('a school’s day: AI events by kind, meals complete or missing, morning checks, the findings listed', () => {
  const r = buildCanteenReport({ date: '2026-11-03', county: '示范县', dayStartMs: DAY, nowMs: DAY + 30 * H, schools: [{ facts: facts(), meals: MEALS }] });
  assert.equal(r.cutoffAt, new Date(DAY + 24 * H).toISOString(), 'a past day: cut at its end');
  const s = r.schools[0];
  assert.deepEqual(s.aiEvents, { total: 8, byKind: [{ kind: 'no_hat', count: 5 }, { kind: 'rodent', count: 3 }] });
  assert.deepEqual(s.meals.map((m) => [m.meal, m.samples, m.accompany, m.disinfection]), [['breakfast', 'ok', 'ok', 'ok'], ['lunch', 'missing', 'missing', 'missing']]);
  assert.deepEqual(s.morningChecks, { expected: 3, checked: 2, abnormal: 1, status: 'missing' });
  assert.deepEqual(s.findings.map((f) => f.code).sort(), ['accompany_missing', 'morning_check_abnormal', 'morning_check_missing', 'sample_missing']);
  assert.ok(s.findings.some((f) => f.person === '赵' && /赵 上岗/.test(f.reason.zh)));

  // Today at 07:00: lunch is not yet due (pending, no finding); a school not recording is not judged.
  const early = buildCanteenReport({ date: '2026-11-03', county: '示范县', dayStartMs: DAY, nowMs: DAY + 7 * H, schools: [{ facts: facts(), meals: MEALS }, { facts: facts({ school: 'S2', recording: false }), meals: MEALS }] });
  assert.deepEqual(early.schools[0].meals[1], { meal: 'lunch', name: { zh: '午餐', en: 'Lunch' }, samples: 'pending', accompany: 'pending', disinfection: 'pending' });
  assert.ok(!early.schools[0].findings.some((f) => f.meal === 'lunch'));
  assert.deepEqual(early.schools[1].findings, []);
});

test('CSV: a BOM, one row per school, formulas neutralized, findings in both languages', () => {
  const r = buildCanteenReport({ date: '2026-11-03', county: '示范县', dayStartMs: DAY, nowMs: DAY + 30 * H, schools: [{ facts: facts({ name: '=HYPERLINK("x")' }), meals: MEALS }] });
  const lines = canteenReportCsv(r).split('\r\n').filter(Boolean);
  assert.ok(lines[0].startsWith('\ufeffdate,school,school_name,coverage_rate'));
  assert.equal(lines.length, 2);
  assert.ok(lines[1].startsWith(`2026-11-03,S1,"'=HYPERLINK(""x"")",0.750,3,4,main/storage,8,`), lines[1]);
  assert.match(lines[1], /午餐无留样记录/);
  assert.match(lines[1], /Lunch: no food sample recorded/);
});

test('HTML: a printable zh-CN A4 page, English beside, every name escaped, no script', () => {
  const html = canteenReportHtml(buildCanteenReport({ date: '2026-11-03', county: '示范县', dayStartMs: DAY, nowMs: DAY + 30 * H, schools: [{ facts: facts(), meals: MEALS }, { facts: facts({ school: 'S2', name: '二小', recording: false }), meals: MEALS }] }));
  assert.match(html, /<html lang="zh-CN">/);
  assert.match(html, /@page \{ size: A4 portrait/);
  assert.match(html, /示范县 2026年11月3日 明厨亮灶日报/);
  assert.match(html, /第一&lt;小学&gt;/);
  assert.doesNotMatch(html, /<script|第一<小学>/);
  assert.match(html, /发现老鼠<br><small>rodent<\/small><\/td><td class="n">3/);
  assert.match(html, /未覆盖 not covered：main 库房/);
  assert.match(html, /整改率 rectified 100\.0%/);
  assert.match(html, /午餐无留样记录/);
  assert.match(html, /本校尚未在平台登记任何记录，未作判定/);
});
