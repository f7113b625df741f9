/**
 * The daily canteen report as staff use it: CSV for Excel (one row per school) and a printable
 * zh-CN page for A4 with English beside. Pure; the page and CSV conventions are the targets
 * report's (`gateway/reports/printable.ts`).
 */
import { a4Page, esc, pct, reportCsv } from '../../reports/printable.js';
import type { Completeness } from './records.js';
import { AREA_NAMES, KIND_NAMES } from './names.js';
import type { CanteenDayReport, SchoolDayReport } from './report.js';

const WORD: Record<Completeness, { zh: string; en: string }> = { ok: { zh: '齐全', en: 'complete' }, missing: { zh: '缺失', en: 'missing' }, pending: { zh: '待完成', en: 'not yet due' } };
const minutes = (m: number | null) => (m === null ? '—' : m < 120 ? `${Math.round(m)} 分钟` : `${(m / 60).toFixed(1)} 小时`);
const area = (key: string) => {
  const [canteen, a] = key.split('/');
  return `${canteen} ${AREA_NAMES[a]?.zh ?? a}`;
};
const kinds = (s: SchoolDayReport, lang: 'zh' | 'en') => s.aiEvents.byKind.map((k) => `${KIND_NAMES[k.kind]?.[lang] ?? k.kind} ${k.count}`).join(lang === 'zh' ? '；' : '; ');

export function canteenReportCsv(r: CanteenDayReport): string {
  return reportCsv(
    [
      'date', 'school', 'school_name', 'coverage_rate', 'areas_covered', 'areas_required', 'areas_missing',
      'ai_events', 'ai_by_kind_zh', 'ai_by_kind_en', 'cases_opened', 'cases_closed', 'cases_open', 'cases_overdue',
      'rectification_rate', 'median_close_min', 'meals', 'morning_checks', 'findings_zh', 'findings_en',
    ],
    r.schools.map((s) => [
      r.date, s.school, s.name, s.coverage.rate === null ? '' : s.coverage.rate.toFixed(3), s.coverage.covered, s.coverage.required, s.coverage.missing.join(' '),
      s.aiEvents.total, kinds(s, 'zh'), kinds(s, 'en'), s.cases.opened, s.cases.closed, s.cases.open, s.cases.overdue,
      s.cases.rectificationRate === null ? '' : s.cases.rectificationRate.toFixed(3), s.cases.medianCloseMin === null ? '' : Math.round(s.cases.medianCloseMin),
      s.meals.map((m) => `${m.meal}: samples ${m.samples}, accompany ${m.accompany}, disinfection ${m.disinfection}`).join('; '),
      `${s.morningChecks.checked}/${s.morningChecks.expected} ${s.morningChecks.status}${s.morningChecks.abnormal ? `, ${s.morningChecks.abnormal} abnormal` : ''}`,
      s.findings.map((f) => f.reason.zh).join('；'), s.findings.map((f) => f.reason.en).join('; '),
    ]),
  );
}

const cell = (c: Completeness) => `<td class="st ${c}">${WORD[c].zh}<br><small>${WORD[c].en}</small></td>`;

function schoolSection(s: SchoolDayReport, k: number): string {
  const ai = s.aiEvents.byKind.length
    ? s.aiEvents.byKind.map((x) => `<tr><td>${esc(KIND_NAMES[x.kind]?.zh ?? x.kind)}<br><small>${esc(KIND_NAMES[x.kind]?.en ?? x.kind)}</small></td><td class="n">${x.count}</td></tr>`).join('')
    : '<tr><td colspan="2">当日无 AI 识别事件 <small>no AI events</small></td></tr>';
  const meals = s.meals.length
    ? s.meals.map((m) => `<tr><td>${esc(m.name.zh)}<br><small>${esc(m.name.en)}</small></td>${cell(m.samples)}${cell(m.accompany)}${cell(m.disinfection)}</tr>`).join('')
    : '<tr><td colspan="4">非上学日，无供餐要求 <small>not a school day: no meals required</small></td></tr>';
  const mc = s.morningChecks;
  const findings = !s.recording
    ? '<li>本校尚未在平台登记任何记录，未作判定（不是全部合格）。<br><small>The school has not recorded on the gateway yet: not judged (not "all fine").</small></li>'
    : s.findings.length
      ? s.findings.map((f) => `<li>${esc(f.reason.zh)}<br><small>${esc(f.reason.en)}</small></li>`).join('')
      : '<li>未发现缺失或异常记录。<br><small>No missing or abnormal record.</small></li>';
  return `<section class="school">
<h2>${k}. ${esc(s.name)} <small>${esc(s.nameEn ?? s.school)}</small></h2>
<p>摄像头覆盖 Coverage：${pct(s.coverage.rate)}（${s.coverage.covered} / ${s.coverage.required}）${s.coverage.missing.length ? `，未覆盖 not covered：${esc(s.coverage.missing.map(area).join('、'))}` : ''}</p>
<p>整改 Cases：当日新增 opened ${s.cases.opened}，当日办结 closed ${s.cases.closed}，未办结 open ${s.cases.open}，逾期 overdue ${s.cases.overdue}；整改率 rectified ${pct(s.cases.rectificationRate)}，办结用时中位数 median time to close ${minutes(s.cases.medianCloseMin)}</p>
<table class="half"><thead><tr><th>AI 事件类别 <small>kind</small></th><th>次数 <small>events</small></th></tr></thead><tbody>${ai}</tbody></table>
<table><thead><tr><th>餐次 <small>meal</small></th><th>留样 <small>samples</small></th><th>陪餐 <small>accompany</small></th><th>消毒 <small>disinfection</small></th></tr></thead><tbody>${meals}
<tr><td>晨检 <small>morning checks</small></td><td colspan="3" class="st ${mc.status}">${WORD[mc.status].zh} <small>${WORD[mc.status].en}</small>：上岗前已检 ${mc.checked} / 应检 ${mc.expected} 人${mc.abnormal ? `，异常 ${mc.abnormal} 人` : ''} <small>checked before the shift ${mc.checked} of ${mc.expected}${mc.abnormal ? `, ${mc.abnormal} abnormal` : ''}</small></td></tr></tbody></table>
<h3>缺失及异常 <small>findings</small></h3>
<ul>${findings}</ul>
</section>`;
}

export function canteenReportHtml(r: CanteenDayReport): string {
  const [y, m, d] = r.date.split('-');
  const title = `${r.county} ${y}年${Number(m)}月${Number(d)}日 明厨亮灶日报`;
  const overview = r.schools.length
    ? r.schools
        .map(
          (s) =>
            `<tr><td>${esc(s.name)}<br><small>${esc(s.school)}</small></td><td class="n">${pct(s.coverage.rate)}</td><td class="n">${s.aiEvents.total}</td><td class="n">${s.cases.opened}</td><td class="n">${s.cases.closed}</td><td class="n">${s.cases.open}</td><td class="n">${s.cases.overdue}</td><td class="n">${pct(s.cases.rectificationRate)}</td><td class="n">${s.recording ? s.findings.length : '—'}</td></tr>`,
        )
        .join('')
    : '<tr><td colspan="9">没有设有食堂的学校 <small>no school with a canteen</small></td></tr>';
  return a4Page(
    title,
    `<h1>${esc(title)}</h1>
<p class="meta">Daily canteen report · 统计截至 ${esc(r.cutoffAt.slice(0, 16).replace('T', ' '))} UTC · 生成于 ${esc(r.generatedAt.slice(0, 16).replace('T', ' '))} UTC</p>
<h2>总览 <small>overview</small></h2>
<table><thead><tr><th>学校 <small>school</small></th><th>覆盖率 <small>coverage</small></th><th>AI 事件 <small>AI events</small></th><th>新增整改 <small>opened</small></th><th>办结 <small>closed</small></th><th>未办结 <small>open</small></th><th>逾期 <small>overdue</small></th><th>整改率 <small>rectified</small></th><th>缺失/异常 <small>findings</small></th></tr></thead><tbody>${overview}</tbody></table>
${r.schools.map((s, k) => schoolSection(s, k + 1)).join('\n')}
<p class="meta">覆盖率为生成时在线的摄像头；整改率为当日新增整改中已办结的比例。Coverage is the cameras online when generated; the rectification rate is the share of the day's cases closed since.</p>`,
    `h3 { font-size: 11pt; margin: 3mm 0 1mm; }
section.school { page-break-inside: auto; }
table.half { width: 60%; margin-bottom: 2mm; }
td.st.missing { font-weight: bold; }
ul { margin: 0; padding-left: 6mm; }
`,
  );
}
