/** Labels shared by the views: school names (short forms for tiles), where an alarm is, clock warnings. */
import type { Alarm, SchoolStatus } from '../../gateway/contract/api.js';
import { duration, lang, t, tk } from '../i18n.js';

/** The county name every school name starts with ("示范县"), found once per school list. */
export interface NameContext {
  prefixZh: string;
  prefixEn: string;
}

function commonPrefix(names: string[]): string {
  if (names.length < 2) return '';
  let p = names[0];
  for (const n of names) {
    while (p && !n.startsWith(p)) p = p.slice(0, -1);
    if (!p) break;
  }
  return p;
}

export function nameContext(schools: SchoolStatus[], countyName?: string, countyNameEn?: string): NameContext {
  const zh = countyName && schools.every((s) => s.name.startsWith(countyName)) ? countyName : commonPrefix(schools.map((s) => s.name));
  const ens = schools.map((s) => s.nameEn ?? '');
  let en = '';
  if (countyNameEn && ens.every((n) => n.startsWith(`${countyNameEn} `))) en = `${countyNameEn} `;
  else if (ens.every(Boolean)) {
    // Only strip whole words ("Demo County "), never half a word.
    const p = commonPrefix(ens);
    en = /\s$/.test(p) ? p : p.slice(0, p.lastIndexOf(' ') + 1);
  }
  return { prefixZh: zh.length >= 2 && zh.length <= 8 ? zh : '', prefixEn: en.trim().length >= 3 ? en : '' };
}

export function schoolName(s: SchoolStatus | undefined, fallback: string): string {
  if (!s) return fallback;
  return lang() === 'en' && s.nameEn ? s.nameEn : s.name;
}

const EN_SHORT: [RegExp, string][] = [
  [/\bPrimary School\b/, 'Primary'],
  [/\bMiddle School\b/, 'Middle'],
  [/\bHigh School\b/, 'High'],
  [/\bNine-Year School\b/, '9-Year'],
  [/\bVocational and Technical School\b/, 'Vocational'],
  [/\bKindergarten\b/, 'Kdg.'],
  [/\bCentral\b/, 'Ctr.'],
];

/**
 * The tile's name, short enough for a tile: without the county prefix every school shares, without
 * the township (the tile shows it below), "九年一贯制学校" as "九年一贯制".
 */
export function shortSchoolName(s: SchoolStatus, ctx: NameContext): string {
  if (lang() === 'en' && s.nameEn) {
    let n = ctx.prefixEn && s.nameEn.startsWith(ctx.prefixEn) ? s.nameEn.slice(ctx.prefixEn.length) : s.nameEn;
    for (const [re, short] of EN_SHORT) n = n.replace(re, short);
    return n.trim() || s.nameEn;
  }
  let n = ctx.prefixZh && s.name.startsWith(ctx.prefixZh) ? s.name.slice(ctx.prefixZh.length) : s.name;
  if (s.region && n.startsWith(s.region) && n.length > s.region.length + 1) n = n.slice(s.region.length);
  n = n.replace(/九年一贯制学校$/, '九年一贯制');
  return n || s.name;
}

export function alarmSchool(a: Alarm, schools: Record<string, SchoolStatus>): string {
  const s = schools[a.school];
  return s ? schoolName(s, a.schoolName) : a.schoolName || a.school;
}

/** "正门岗亭一键报警按钮 · 校门岗亭（正门） · 后厨". */
export function alarmWhere(a: Alarm): string {
  // English mode names the device in English where the registry has it; the place stays as written there.
  const parts = [(lang() === 'en' && a.deviceNameEn) || a.deviceName || a.device];
  if (a.place && a.place !== a.deviceName && lang() !== 'en') parts.push(a.place);
  if (a.zone) parts.push(tk('zone', a.zone));
  return parts.join(' · ');
}

export function kindLabel(kind: string): string {
  return tk('kind', kind);
}

/** "设备时钟偏差 快 3分12秒", or '' when the device clock is fine. */
export function clockWarning(a: Alarm): string {
  if (!a.clockSuspect) return '';
  const d = duration(Math.abs(a.clockSkewMs));
  return t('alarm.clock', { d: t(a.clockSkewMs >= 0 ? 'skew.ahead' : 'skew.behind', { d }) });
}
