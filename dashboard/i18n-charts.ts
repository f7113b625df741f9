/**
 * Words of the statistics band and the flood view (issue #12), zh-CN first, English second. Kept
 * beside dashboard/i18n.ts (not in it) so this feature's strings merge apart from the rest; it follows
 * the same language switch (`lang()`).
 */
import { lang } from './i18n.js';

const zh = {
  'stats.heading': '报警统计',
  'stats.headingEn': 'Alarm statistics',
  'stats.period': '近{n}日',
  'stats.loading': '正在读取统计…',
  'stats.error': '统计暂不可用',
  'stats.today': '今日报警',
  'stats.week': '近7日',
  'stats.escalations': '超时升级',
  'stats.false': '误报',
  'stats.tests': '测试',
  'stats.real': '真实',
  'stats.ack': '确认用时',
  'stats.dispatch': '派警用时',
  'stats.trend': '近7日趋势',
  'stats.times': '处置用时（秒）',
  'stats.townships': '各乡镇（近7日）',
  'stats.todayShort': '今天',
  'stats.dayOfMonth': '{d}日',
  'stats.sec': '{v}秒',
  'stats.none': '—',
  'stats.n': '{n}次',
  'stats.aria': '报警统计图',
  'flood.title': '报警泛滥',
  'flood.detail': '{window}内 {count} 条（阈值 {threshold}），自 {since} 起 · 按学校分组 · {schools} 所学校 {open} 条未处置，全部保留',
  'flood.window.min': '{n}分钟',
  'flood.window.sec': '{n}秒',
  'flood.group.count': '{n} 条',
  'flood.group.newest': '最新 {time}',
  'flood.group.expand': '展开',
  'flood.group.collapse': '收起',
  'flood.group.urgent': '{n} 条超时未确认',
};

const en: Record<keyof typeof zh, string> = {
  'stats.heading': 'Alarm statistics',
  'stats.headingEn': '报警统计',
  'stats.period': 'last {n} days',
  'stats.loading': 'Loading statistics…',
  'stats.error': 'Statistics unavailable',
  'stats.today': 'Today',
  'stats.week': '7 days',
  'stats.escalations': 'Escalations',
  'stats.false': 'False',
  'stats.tests': 'Tests',
  'stats.real': 'Real',
  'stats.ack': 'To acknowledge',
  'stats.dispatch': 'To dispatch',
  'stats.trend': '7-day trend',
  'stats.times': 'Response times (s)',
  'stats.townships': 'By township (7 days)',
  'stats.todayShort': 'Today',
  'stats.dayOfMonth': '{d}',
  'stats.sec': '{v} s',
  'stats.none': '—',
  'stats.n': 'n={n}',
  'stats.aria': 'Alarm statistics chart',
  'flood.title': 'Alarm flood',
  'flood.detail': '{count} alarms in {window} (threshold {threshold}) since {since} · grouped by school · {open} open in {schools} schools, all kept',
  'flood.window.min': '{n} min',
  'flood.window.sec': '{n} s',
  'flood.group.count': '{n}',
  'flood.group.newest': 'newest {time}',
  'flood.group.expand': 'Expand',
  'flood.group.collapse': 'Collapse',
  'flood.group.urgent': '{n} escalated',
};

export type ChartMsg = keyof typeof zh;

/** Both dictionaries, for tests that check every key is translated. */
export const CHART_DICTS = { zh, en };

export function ct(key: ChartMsg, params?: Record<string, string | number>, which = lang()): string {
  const text = (which === 'en' ? en : zh)[key] ?? zh[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}
