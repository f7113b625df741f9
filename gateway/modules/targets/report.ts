/**
 * The month's report for the education inspectorate (督导, contract §7): each school's daily
 * verdict per target, the rates, and the failing schools with why. Pure: rows in, the report as
 * data, CSV (Excel) or printable zh-CN HTML (A4) out.
 */
import { TARGET_IDS, type TargetId } from '../../contract/policy.js';
import { a4Page, esc, pct, reportCsv as csv } from '../../reports/printable.js';
import type { Reason, Status } from './facts.js';
import { TARGET_NAMES } from './rules.js';

export interface DailyRow {
  school: string;
  day: string;
  target: TargetId;
  status: Status;
  reasons: Reason[];
}

export interface TargetMonth {
  id: TargetId;
  name: string;
  nameEn: string;
  /** Met school-days over judged school-days in the month (null: none judged). */
  rate: number | null;
  /** Schools that met the target on every day they were judged. */
  schoolsAlwaysMet: number;
  schools: number;
  days: { day: string; met: number; notMet: number; unknown: number; rate: number | null }[];
}

export interface FailingSchool {
  school: string;
  name: string;
  target: TargetId;
  notMetDays: number;
  unknownDays: number;
  /** The most frequent reasons, most frequent first. */
  reasons: (Reason & { days: number })[];
}

export interface TargetsReport {
  month: string;
  county: string;
  generatedAt: string;
  days: string[];
  targets: TargetMonth[];
  failing: FailingSchool[];
  daily: DailyRow[];
}

export function buildReport(month: string, county: string, rows: readonly DailyRow[], schoolNames: ReadonlyMap<string, string>, nowMs: number): TargetsReport {
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const targets: TargetMonth[] = TARGET_IDS.map((id) => {
    const mine = rows.filter((r) => r.target === id);
    const perDay = days.map((day) => {
      const d = mine.filter((r) => r.day === day);
      const met = d.filter((r) => r.status === 'met').length;
      const notMet = d.filter((r) => r.status === 'not_met').length;
      return { day, met, notMet, unknown: d.length - met - notMet, rate: d.length ? met / d.length : null };
    });
    const bySchool = new Map<string, Status[]>();
    for (const r of mine) bySchool.set(r.school, [...(bySchool.get(r.school) ?? []), r.status]);
    const met = mine.filter((r) => r.status === 'met').length;
    return {
      id,
      name: TARGET_NAMES[id].zh,
      nameEn: TARGET_NAMES[id].en,
      rate: mine.length ? met / mine.length : null,
      schoolsAlwaysMet: [...bySchool.values()].filter((s) => s.every((x) => x === 'met')).length,
      schools: bySchool.size,
      days: perDay,
    };
  });
  const failing: FailingSchool[] = [];
  const groups = new Map<string, DailyRow[]>();
  for (const r of rows) if (r.status !== 'met') groups.set(`${r.school}|${r.target}`, [...(groups.get(`${r.school}|${r.target}`) ?? []), r]);
  for (const list of groups.values()) {
    const counts = new Map<string, Reason & { days: number }>();
    for (const r of list)
      for (const reason of r.reasons) {
        // "2026-11-03 …" and "2026-11-04 …" are the same reason on two days.
        const key = reason.zh.replace(/^\d{4}-\d{2}-\d{2} /, '');
        const c = counts.get(key) ?? { zh: key, en: reason.en.replace(/^\d{4}-\d{2}-\d{2}:? /, ''), days: 0 };
        c.days++;
        counts.set(key, c);
      }
    failing.push({
      school: list[0].school,
      name: schoolNames.get(list[0].school) ?? list[0].school,
      target: list[0].target,
      notMetDays: list.filter((r) => r.status === 'not_met').length,
      unknownDays: list.filter((r) => r.status === 'unknown').length,
      reasons: [...counts.values()].sort((a, b) => b.days - a.days).slice(0, 3),
    });
  }
  failing.sort((a, b) => b.notMetDays - a.notMetDays || b.unknownDays - a.unknownDays || a.school.localeCompare(b.school) || TARGET_IDS.indexOf(a.target) - TARGET_IDS.indexOf(b.target));
  return { month, county, generatedAt: new Date(nowMs).toISOString(), days, targets, failing, daily: [...rows] };
}

const STATUS_ZH: Record<Status, string> = { met: '达标', not_met: '未达标', unknown: '无法判定' };

export function reportCsv(r: TargetsReport, schoolNames: ReadonlyMap<string, string>): string {
  return csv(
    ['day', 'school', 'school_name', 'target', 'target_name', 'status', 'status_zh', 'reasons_zh', 'reasons_en'],
    r.daily.map((d) => [d.day, d.school, schoolNames.get(d.school) ?? d.school, d.target, TARGET_NAMES[d.target].zh, d.status, STATUS_ZH[d.status], d.reasons.map((x) => x.zh).join('；'), d.reasons.map((x) => x.en).join('; ')]),
  );
}

/** Printable zh-CN HTML: A4 portrait, no script, no outside resource (its only style is inline). */
export function reportHtml(r: TargetsReport): string {
  const [y, m] = r.month.split('-');
  const title = `${r.county} ${y}年${Number(m)}月 校园安全“六个100%”达标情况月报`;
  const rates = r.targets
    .map((t) => `<tr><td>${esc(t.name)}<br><small>${esc(t.nameEn)}</small></td><td class="n">${pct(t.rate)}</td><td class="n">${t.schoolsAlwaysMet} / ${t.schools}</td></tr>`)
    .join('');
  const failing = r.failing.length
    ? r.failing
        .map(
          (f) =>
            `<tr><td>${esc(f.name)}<br><small>${esc(f.school)}</small></td><td>${esc(TARGET_NAMES[f.target].zh)}</td><td class="n">${f.notMetDays}</td><td class="n">${f.unknownDays}</td><td>${f.reasons.map((x) => `${esc(x.zh)}（${x.days} 天）`).join('<br>')}</td></tr>`,
        )
        .join('')
    : r.days.length === 0
      ? '<tr><td colspan="5">本月尚无记录的上学日：没有可判定的数据（不是全部达标）。</td></tr>'
      : '<tr><td colspan="5">本月所有学校每日均达标。</td></tr>';
  return a4Page(
    title,
    `<h1>${esc(title)}</h1>
<p class="meta">统计日期 ${esc(r.days[0] ?? '—')} 至 ${esc(r.days.at(-1) ?? '—')}，共 ${r.days.length} 个上学日 · 生成于 ${esc(r.generatedAt.slice(0, 16).replace('T', ' '))} UTC</p>
<h2>一、六项指标达标率</h2>
<table><thead><tr><th>指标</th><th>校日达标率</th><th>全月每日达标学校 / 考核学校</th></tr></thead><tbody>${rates}</tbody></table>
<h2>二、未达标及无法判定的学校</h2>
<table><thead><tr><th>学校</th><th>指标</th><th>未达标天数</th><th>无法判定天数</th><th>主要原因</th></tr></thead><tbody>${failing}</tbody></table>
<p class="meta">“无法判定”指证据缺失或过期，不计为达标。逐日明细见 CSV 导出。</p>`,
  );
}
