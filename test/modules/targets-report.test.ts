/**
 * The month's report (contract §7): rates and failing schools computed from the daily verdicts,
 * and its CSV (Excel) and printable HTML forms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport, reportCsv, reportHtml, type DailyRow } from '../../gateway/modules/targets/report.js';

const names = new Map([['S1', '第一小学'], ['S2', '第二<小学>']]);
const r = (school: string, day: string, target: DailyRow['target'], status: DailyRow['status'], zh = ''): DailyRow => ({
  school,
  day,
  target,
  status,
  reasons: zh ? [{ zh: `${day} ${zh}`, en: `${day}: ${zh}` }] : [],
});
const rows: DailyRow[] = [
  r('S1', '2026-11-02', 'guard_posts', 'met'),
  r('S2', '2026-11-02', 'guard_posts', 'not_met', '侧门 1 人签到'),
  r('S1', '2026-11-03', 'guard_posts', 'met'),
  r('S2', '2026-11-03', 'guard_posts', 'not_met', '侧门 1 人签到'),
  r('S1', '2026-11-04', 'guard_posts', 'met'),
  r('S2', '2026-11-04', 'guard_posts', 'unknown', '无任何签到数据'),
  r('S1', '2026-11-02', 'one_key_alarm', 'met'),
  r('S2', '2026-11-02', 'one_key_alarm', 'met'),
];

test('rates are met school-days over judged school-days; failing schools carry their most frequent reasons, dates folded', () => {
  const rep = buildReport('2026-11', '示范县', rows, names, Date.parse('2026-12-01T00:00:00Z'));
  assert.deepEqual(rep.days, ['2026-11-02', '2026-11-03', '2026-11-04']);
  const gp = rep.targets.find((t) => t.id === 'guard_posts')!;
  assert.equal(gp.rate, 3 / 6);
  assert.deepEqual([gp.schoolsAlwaysMet, gp.schools], [1, 2]);
  assert.deepEqual(gp.days.map((d) => [d.met, d.notMet, d.unknown]), [[1, 1, 0], [1, 1, 0], [1, 0, 1]]);
  assert.equal(rep.targets.find((t) => t.id === 'one_key_alarm')!.rate, 1);
  assert.equal(rep.targets.find((t) => t.id === 'hard_barriers')!.rate, null, 'nothing judged: no rate, not 0%');
  assert.equal(rep.failing.length, 1);
  assert.deepEqual(rep.failing[0].reasons.map((x) => [x.zh, x.days]), [['侧门 1 人签到', 2], ['无任何签到数据', 1]]);
  assert.deepEqual([rep.failing[0].notMetDays, rep.failing[0].unknownDays], [2, 1]);
});

test('CSV: a BOM, one row per school-day-target, Chinese status words beside the codes', () => {
  const csv = reportCsv(buildReport('2026-11', '示范县', rows, names, 0), names);
  const lines = csv.split('\r\n').filter(Boolean);
  assert.ok(lines[0].startsWith('\ufeffday,school,school_name,target,target_name,status,status_zh'));
  assert.equal(lines.length - 1, rows.length);
  assert.ok(lines.includes('2026-11-02,S2,第二<小学>,guard_posts,家长护学岗,not_met,未达标,2026-11-02 侧门 1 人签到,2026-11-02: 侧门 1 人签到'));
});

test('HTML: a printable zh-CN A4 page with the rates and the failing schools, every name escaped, no script', () => {
  const html = reportHtml(buildReport('2026-11', '示范县', rows, names, 0));
  assert.match(html, /<html lang="zh-CN">/);
  assert.match(html, /@page \{ size: A4 portrait/);
  assert.match(html, /示范县 2026年11月 校园安全“六个100%”达标情况月报/);
  assert.match(html, /<td class="n">50\.0%<\/td>/);
  assert.match(html, /第二&lt;小学&gt;/);
  assert.doesNotMatch(html, /<script|第二<小学>/);
  assert.match(html, /侧门 1 人签到（2 天）/);
});

test('a month with nothing on record says so: never "every school met"', () => {
  const html = reportHtml(buildReport('2026-08', '示范县', [], names, 0));
  assert.match(html, /本月尚无记录的上学日/);
  assert.doesNotMatch(html, /均达标/);
});
