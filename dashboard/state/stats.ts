/**
 * The statistics band's model (issue #12): GET /api/stats/alarms?days=7 → the numbers shown as text
 * and the three Apache ECharts options (7-day trend, response times, townships). Pure: no DOM and no
 * ECharts at run time (its option types only), so it is unit-tested under node:test.
 *
 * Accessibility (WCAG AA): every series colour has ≥ 3:1 against the panel (non-text contrast,
 * 1.4.11) and every label ≥ 4.5:1 (1.4.3); no state is told by colour alone: each series also has
 * its own decal pattern (ECharts `aria.decal`), a legend in words and its value written on it, and
 * the figures are repeated as numbers outside the charts. No animation, reduced motion or not (`base`).
 */
import type { ComposeOption } from 'echarts/core';
import type { BarSeriesOption, LineSeriesOption } from 'echarts/charts';
import type { AriaComponentOption, GridComponentOption, LegendComponentOption } from 'echarts/components';
import type { AlarmStats, Figures } from '../../gateway/modules/alarms/stats.js';
import { ct } from '../i18n-charts.js';
import type { Lang } from '../i18n.js';

export type { AlarmStats, Figures };

export type ChartOption = ComposeOption<BarSeriesOption | LineSeriesOption | GridComponentOption | LegendComponentOption | AriaComponentOption>;

/**
 * Colours on the panel (#0f1b31 … #0b1426). Contrast against #0f1b31: accent 8.8:1, amber 10.3:1,
 * grey 8.6:1, violet 6.3:1, red 6.2:1, text 15.4:1, muted 7.0:1 — all above AA for text too
 * (test/dashboard/stats.test.ts computes them).
 */
export const CHART_COLORS = {
  real: '#3cc6ff',
  false: '#fbbf24',
  tests: '#aab8d0',
  escalations: '#ff6b6b',
  p50: '#3cc6ff',
  p90: '#a78bfa',
  text: '#eef3fb',
  muted: '#93a6c6',
  line: '#2d4573',
} as const;

export const CHART_FONT = "'Noto Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif";

export interface StatsOptions {
  lang: Lang;
  reducedMotion: boolean;
  /** Township (registry region, zh) → its English name, from GET /api/schools' county. */
  townshipEn?: Record<string, string>;
}

export interface Kpi {
  id: 'today' | 'week' | 'escalations' | 'false' | 'tests' | 'ack' | 'dispatch';
  label: string;
  /** What the tile shows, as text (never a colour alone). */
  value: string;
  /** A second line (breakdown, p90, n). */
  sub?: string;
}

export interface StatsModel {
  from: string;
  to: string;
  today: Figures;
  county: Figures;
  kpis: Kpi[];
  trend: ChartOption;
  times: ChartOption;
  townships: ChartOption;
}

const EMPTY: Figures = { total: 0, real: 0, false: 0, tests: 0, escalations: 0, ackSec: { n: 0, p50: null, p90: null }, dispatchSec: { n: 0, p50: null, p90: null } };

/** "12.5秒" / "12.5 s"; "—" when there is no figure. */
export function secText(v: number | null | undefined, lang: Lang): string {
  return v === null || v === undefined ? ct('stats.none', undefined, lang) : ct('stats.sec', { v: fmtNum(v) }, lang);
}

const fmtNum = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(1));

/** "10日" / "10" (the month is in the band's head); today as 今天 / Today. */
export function dayLabel(day: string, today: string, lang: Lang): string {
  if (day === today) return ct('stats.todayShort', undefined, lang);
  return ct('stats.dayOfMonth', { d: Number(day.slice(8)) }, lang);
}

/** A value label that leaves zeros unwritten (a stacked bar of zeros would read "0 0 0"). */
const nonZero = (p: { value?: unknown }): string => (typeof p.value === 'number' && p.value !== 0 ? String(p.value) : '');

function base(o: StatsOptions, description: string): ChartOption {
  return {
    // No animation (issue #12): each redraw grew its bars over some 25 frames of SVG drawing, on
    // a wall that redraws the band whenever the figures move; the figures are what it is for.
    animation: false,
    textStyle: { fontFamily: CHART_FONT, color: CHART_COLORS.text, fontSize: 14 },
    // Decals (patterns) tell the series apart without colour; `description` is the chart's aria-label.
    aria: { enabled: true, label: { enabled: true, description }, decal: { show: true } },
    legend: { top: 0, left: 'center', itemWidth: 18, itemHeight: 12, textStyle: { color: CHART_COLORS.text, fontSize: 13 }, inactiveColor: CHART_COLORS.line },
  };
}

const axisStyle = {
  axisLine: { lineStyle: { color: CHART_COLORS.line } },
  axisTick: { show: false },
  axisLabel: { color: CHART_COLORS.muted, fontSize: 13 },
  splitLine: { lineStyle: { color: CHART_COLORS.line, opacity: 0.5 } },
};

type Stackable = 'real' | 'false' | 'tests';
const STACK: { key: Stackable; msg: 'stats.real' | 'stats.false' | 'stats.tests' }[] = [
  { key: 'real', msg: 'stats.real' },
  { key: 'false', msg: 'stats.false' },
  { key: 'tests', msg: 'stats.tests' },
];

function describe(title: string, pairs: [string, string | number][]): string {
  return `${title}: ${pairs.map(([k, v]) => `${k} ${v}`).join(', ')}`;
}

/** The 7-day trend: stacked bars real / false / tests per day, and the escalations as a line. */
export function trendOption(stats: AlarmStats, o: StatsOptions): ChartOption {
  const days = stats.byDay.map((d) => dayLabel(d.day, stats.to, o.lang));
  return {
    ...base(o, describe(ct('stats.trend', undefined, o.lang), stats.byDay.map((d, k) => [days[k], d.total]))),
    grid: { top: 30, left: 34, right: 8, bottom: 24 },
    xAxis: { type: 'category', data: days, ...axisStyle, axisLabel: { ...axisStyle.axisLabel, interval: 0 }, splitLine: { show: false } },
    yAxis: { type: 'value', minInterval: 1, ...axisStyle },
    series: [
      ...STACK.map(
        (s): BarSeriesOption => ({
          type: 'bar',
          name: ct(s.msg, undefined, o.lang),
          stack: 'total',
          barMaxWidth: 28,
          itemStyle: { color: CHART_COLORS[s.key] },
          label: { show: true, position: 'inside', color: '#07101f', fontSize: 12, fontWeight: 'bold', formatter: nonZero },
          data: stats.byDay.map((d) => d[s.key]),
        }),
      ),
      {
        type: 'line',
        name: ct('stats.escalations', undefined, o.lang),
        symbol: 'triangle',
        symbolSize: 10,
        lineStyle: { color: CHART_COLORS.escalations, width: 2, type: 'dashed' },
        itemStyle: { color: CHART_COLORS.escalations },
        label: { show: true, position: 'top', color: CHART_COLORS.escalations, fontSize: 12, formatter: nonZero },
        data: stats.byDay.map((d) => d.escalations),
      },
    ],
  };
}

/** Time to acknowledge and to dispatch, p50 and p90 (seconds), over the period. */
export function timesOption(stats: AlarmStats, o: StatsOptions): ChartOption {
  const c = stats.county;
  const cats = [
    `${ct('stats.ack', undefined, o.lang)}\n${ct('stats.n', { n: c.ackSec.n }, o.lang)}`,
    `${ct('stats.dispatch', undefined, o.lang)}\n${ct('stats.n', { n: c.dispatchSec.n }, o.lang)}`,
  ];
  const label = (p: { value?: unknown }) => (typeof p.value === 'number' ? secText(p.value, o.lang) : ct('stats.none', undefined, o.lang));
  const series = (['p50', 'p90'] as const).map(
    (k): BarSeriesOption => ({
      type: 'bar',
      name: k.toUpperCase(),
      barMaxWidth: 18,
      itemStyle: { color: CHART_COLORS[k] },
      label: { show: true, position: 'right', color: CHART_COLORS.text, fontSize: 13, formatter: label },
      data: [c.ackSec[k], c.dispatchSec[k]],
    }),
  );
  return {
    ...base(
      o,
      describe(ct('stats.times', undefined, o.lang), [
        [`${ct('stats.ack', undefined, o.lang)} P50`, secText(c.ackSec.p50, o.lang)],
        [`${ct('stats.ack', undefined, o.lang)} P90`, secText(c.ackSec.p90, o.lang)],
        [`${ct('stats.dispatch', undefined, o.lang)} P50`, secText(c.dispatchSec.p50, o.lang)],
        [`${ct('stats.dispatch', undefined, o.lang)} P90`, secText(c.dispatchSec.p90, o.lang)],
      ]),
    ),
    grid: { top: 30, left: 8, right: 64, bottom: 8, containLabel: true },
    xAxis: { type: 'value', minInterval: 1, ...axisStyle, axisLabel: { show: false } },
    yAxis: { type: 'category', data: cats, inverse: true, ...axisStyle, axisLabel: { color: CHART_COLORS.text, fontSize: 13, lineHeight: 16, interval: 0 } },
    series,
  };
}

/** Each township's alarms over the period, stacked real / false / tests, in the reply's order. */
export function townshipsOption(stats: AlarmStats, o: StatsOptions): ChartOption {
  const names = stats.townships.map((t) => (o.lang === 'en' ? (o.townshipEn?.[t.region] ?? t.region) : t.region));
  return {
    ...base(o, describe(ct('stats.townships', undefined, o.lang), stats.townships.map((t, k) => [names[k], t.total]))),
    grid: { top: 28, left: 4, right: 12, bottom: 2, containLabel: true },
    xAxis: { type: 'value', minInterval: 1, ...axisStyle, axisLabel: { show: false } },
    yAxis: { type: 'category', data: names, inverse: true, ...axisStyle, axisLabel: { color: CHART_COLORS.text, fontSize: 12, margin: 6, interval: 0 } },
    series: STACK.map(
      (s): BarSeriesOption => ({
        type: 'bar',
        name: ct(s.msg, undefined, o.lang),
        stack: 'total',
        barMaxWidth: 12,
        itemStyle: { color: CHART_COLORS[s.key] },
        label: { show: true, position: 'insideLeft', color: '#07101f', fontSize: 11, fontWeight: 'bold', formatter: nonZero },
        data: stats.townships.map((t) => t[s.key]),
      }),
    ),
  };
}

/** The whole band: numbers and charts. Today is the reply's last day (`to`). */
export function statsModel(stats: AlarmStats, o: StatsOptions): StatsModel {
  const today = stats.byDay.find((d) => d.day === stats.to) ?? stats.byDay.at(-1) ?? EMPTY;
  const c = stats.county;
  const L = (k: Parameters<typeof ct>[0], p?: Record<string, string | number>) => ct(k, p, o.lang);
  const breakdown = (f: Figures) => `${L('stats.real')} ${f.real} · ${L('stats.false')} ${f.false} · ${L('stats.tests')} ${f.tests}`;
  return {
    from: stats.from,
    to: stats.to,
    today,
    county: c,
    kpis: [
      { id: 'today', label: L('stats.today'), value: String(today.total), sub: breakdown(today) },
      { id: 'week', label: L('stats.week'), value: String(c.total), sub: breakdown(c) },
      { id: 'escalations', label: L('stats.escalations'), value: String(c.escalations), sub: L('stats.period', { n: stats.days }) },
      { id: 'false', label: L('stats.false'), value: String(c.false), sub: L('stats.period', { n: stats.days }) },
      { id: 'tests', label: L('stats.tests'), value: String(c.tests), sub: L('stats.period', { n: stats.days }) },
      { id: 'ack', label: L('stats.ack'), value: `P50 ${secText(c.ackSec.p50, o.lang)}`, sub: `P90 ${secText(c.ackSec.p90, o.lang)} · ${L('stats.n', { n: c.ackSec.n })}` },
      { id: 'dispatch', label: L('stats.dispatch'), value: `P50 ${secText(c.dispatchSec.p50, o.lang)}`, sub: `P90 ${secText(c.dispatchSec.p90, o.lang)} · ${L('stats.n', { n: c.dispatchSec.n })}` },
    ],
    trend: trendOption(stats, o),
    times: timesOption(stats, o),
    townships: townshipsOption(stats, o),
  };
}

/** Option keys whose numbers are design pixels (at 1920×1080). */
const PIXEL_KEYS = new Set(['fontSize', 'lineHeight', 'itemWidth', 'itemHeight', 'symbolSize', 'margin', 'width', 'top', 'left', 'right', 'bottom', 'barMaxWidth', 'distance']);

/**
 * The option at the wall's scale: ECharts draws in CSS pixels, while the page is sized in rem from
 * the viewport (a 4K wall has a root font of 32 px, twice 1080p's). Numbers under pixel keys are
 * multiplied by `k` (root font size ÷ 16); everything else is kept. Pure: returns a copy.
 */
export function scaleChartOption<T>(option: T, k: number): T {
  if (k === 1) return option;
  const walk = (v: unknown, key?: string): unknown => {
    if (typeof v === 'number') return key !== undefined && PIXEL_KEYS.has(key) ? v * k : v;
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [kk, x] of Object.entries(v)) out[kk] = walk(x, kk);
      return out;
    }
    return v;
  };
  return walk(option) as T;
}
