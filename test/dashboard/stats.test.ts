// The wall's statistics band model (dashboard/state/stats.ts, issue #12): GET /api/stats/alarms →
// the numbers written out and the ECharts options of the three charts; colours meet WCAG AA on the
// panel, series differ by more than colour, no animation, both languages.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHART_DICTS } from '../../dashboard/i18n-charts.js';
import { CHART_COLORS, dayLabel, scaleChartOption, secText, statsModel, timesOption, townshipsOption, trendOption, type AlarmStats, type Figures } from '../../dashboard/state/stats.js';

const fig = (over: Partial<Figures> = {}): Figures => ({
  total: 0,
  real: 0,
  false: 0,
  tests: 0,
  escalations: 0,
  ackSec: { n: 0, p50: null, p90: null },
  dispatchSec: { n: 0, p50: null, p90: null },
  ...over,
});

const days = ['2026-03-04', '2026-03-05', '2026-03-06', '2026-03-07', '2026-03-08', '2026-03-09', '2026-03-10'];
const STATS: AlarmStats = {
  from: '2026-03-04',
  to: '2026-03-10',
  days: 7,
  county: fig({ total: 9, real: 6, false: 2, tests: 1, escalations: 2, ackSec: { n: 8, p50: 12.5, p90: 48 }, dispatchSec: { n: 5, p50: 60, p90: 133.3 } }),
  townships: [
    { region: '东关镇', ...fig({ total: 4, real: 3, false: 1 }) },
    { region: '城关镇', ...fig({ total: 5, real: 3, false: 1, tests: 1 }) },
    { region: '西河镇', ...fig() },
  ],
  byDay: days.map((day, k) => ({ day, ...(k === 6 ? fig({ total: 4, real: 2, false: 1, tests: 1, escalations: 1 }) : k === 2 ? fig({ total: 5, real: 4, false: 1, escalations: 1 }) : fig()) })),
};

type AnySeries = { type: string; name: string; data: unknown[]; stack?: string; label?: { formatter?: (p: { value?: unknown }) => string } };
const seriesOf = (o: { series?: unknown }) => o.series as AnySeries[];

/** WCAG 2.x relative luminance and contrast ratio. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
const contrast = (a: string, b: string) => {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
};

describe('stats → charts', () => {
  const zh = { lang: 'zh' as const, reducedMotion: false, townshipEn: { 东关镇: 'Dongguan', 城关镇: 'Chengguan' } };

  it('writes every figure out as a number: today, 7 days, escalations, false, tests, p50/p90', () => {
    const m = statsModel(STATS, zh);
    const v = Object.fromEntries(m.kpis.map((k) => [k.id, [k.value, k.sub]]));
    assert.equal(v.today[0], '4');
    assert.equal(v.today[1], '真实 2 · 误报 1 · 测试 1');
    assert.equal(v.week[0], '9');
    assert.equal(v.escalations[0], '2');
    assert.equal(v.false[0], '2');
    assert.equal(v.tests[0], '1');
    assert.equal(v.ack[0], 'P50 12.5秒');
    assert.equal(v.ack[1], 'P90 48秒 · 8次');
    assert.equal(v.dispatch[0], 'P50 60秒');
    assert.equal(v.dispatch[1], 'P90 133.3秒 · 5次');
    assert.deepEqual(m.today, STATS.byDay[6]);
  });

  it('trend: one stacked bar per day (real/false/tests) oldest first, today named, escalations as a line', () => {
    const o = trendOption(STATS, zh);
    assert.deepEqual((o.xAxis as { data: string[] }).data, ['4日', '5日', '6日', '7日', '8日', '9日', '今天']);
    const s = seriesOf(o);
    assert.deepEqual(s.map((x) => [x.type, x.name]), [['bar', '真实'], ['bar', '误报'], ['bar', '测试'], ['line', '超时升级']]);
    assert.deepEqual(s[0].data, [0, 0, 4, 0, 0, 0, 2]);
    assert.deepEqual(s[1].data, [0, 0, 1, 0, 0, 0, 1]);
    assert.deepEqual(s[2].data, [0, 0, 0, 0, 0, 0, 1]);
    assert.deepEqual(s[3].data, [0, 0, 1, 0, 0, 0, 1]);
    assert.ok(s.slice(0, 3).every((x) => x.stack === 'total'));
    // Values are written on the bars; zeros are left blank.
    assert.equal(s[0].label?.formatter?.({ value: 4 }), '4');
    assert.equal(s[0].label?.formatter?.({ value: 0 }), '');
  });

  it('times: acknowledge and dispatch, p50 and p90 in seconds, labelled with their values and n', () => {
    const o = timesOption(STATS, zh);
    assert.deepEqual((o.yAxis as { data: string[] }).data, ['确认用时\n8次', '派警用时\n5次']);
    const s = seriesOf(o);
    assert.deepEqual(s.map((x) => [x.name, x.data]), [['P50', [12.5, 60]], ['P90', [48, 133.3]]]);
    assert.equal(s[1].label?.formatter?.({ value: 133.3 }), '133.3秒');
    const none = timesOption({ ...STATS, county: fig() }, zh);
    assert.deepEqual(seriesOf(none).map((x) => x.data), [[null, null], [null, null]], 'no alarm measured: no bar, not a zero');
  });

  it('townships: every township, zeros included, stacked; English names in English', () => {
    const o = townshipsOption(STATS, zh);
    assert.deepEqual((o.yAxis as { data: string[] }).data, ['东关镇', '城关镇', '西河镇']);
    assert.deepEqual(seriesOf(o).map((x) => x.data), [[3, 3, 0], [1, 1, 0], [0, 1, 0]]);
    const en = townshipsOption(STATS, { ...zh, lang: 'en' });
    assert.deepEqual((en.yAxis as { data: string[] }).data, ['Dongguan', 'Chengguan', '西河镇'], 'a township without an English name keeps its own');
    assert.deepEqual(seriesOf(en).map((x) => x.name), ['Real', 'False', 'Tests']);
  });

  it('English labels throughout', () => {
    const m = statsModel(STATS, { ...zh, lang: 'en' });
    assert.equal(m.kpis.find((k) => k.id === 'ack')?.value, 'P50 12.5 s');
    assert.equal(m.kpis.find((k) => k.id === 'today')?.label, 'Today');
    assert.equal(dayLabel('2026-03-10', '2026-03-10', 'en'), 'Today');
    assert.equal(dayLabel('2026-03-04', '2026-03-10', 'en'), '4');
    assert.equal(secText(null, 'en'), '—');
    for (const key of Object.keys(CHART_DICTS.zh)) assert.ok(CHART_DICTS.en[key as keyof typeof CHART_DICTS.en], `${key} in English`);
  });

  it('no animation, with or without prefers-reduced-motion (a redraw is drawn once, not over 25 frames)', () => {
    for (const reducedMotion of [true, false])
      for (const o of [trendOption, timesOption, townshipsOption].map((f) => f(STATS, { ...zh, reducedMotion }))) assert.equal(o.animation, false);
  });

  it('not colour alone: decal patterns, legends in words, an aria description with the numbers', () => {
    for (const o of [trendOption(STATS, zh), timesOption(STATS, zh), townshipsOption(STATS, zh)]) {
      const aria = o.aria as { enabled: boolean; decal: { show: boolean }; label: { description: string } };
      assert.equal(aria.enabled, true);
      assert.equal(aria.decal.show, true);
      assert.ok((o.legend as { top?: number }) !== undefined);
    }
    assert.match((trendOption(STATS, zh).aria as { label: { description: string } }).label.description, /今天 4/);
    assert.match((timesOption(STATS, zh).aria as { label: { description: string } }).label.description, /确认用时 P90 48秒/);
  });

  it('colours meet WCAG AA on the panel: series ≥ 3:1 (non-text), text ≥ 4.5:1', () => {
    for (const bg of ['#0f1b31', '#142340', '#0b1426']) {
      for (const k of ['real', 'false', 'tests', 'escalations', 'p50', 'p90'] as const) assert.ok(contrast(CHART_COLORS[k], bg) >= 4.5, `${k} on ${bg}: ${contrast(CHART_COLORS[k], bg).toFixed(2)}`);
      for (const k of ['text', 'muted'] as const) assert.ok(contrast(CHART_COLORS[k], bg) >= 4.5, `${k} on ${bg}`);
    }
    // The dark value labels written inside the bars.
    for (const k of ['real', 'false', 'tests'] as const) assert.ok(contrast('#07101f', CHART_COLORS[k]) >= 4.5, `label on ${k}`);
  });
});

describe('scaleChartOption', () => {
  it('multiplies design pixels (font sizes, legend marks, grid) by the wall scale and nothing else', () => {
    const option = { animationDuration: 400, textStyle: { fontSize: 14, color: '#fff' }, legend: { itemWidth: 18, top: 0 }, grid: { left: 34 }, series: [{ data: [3, 5], label: { fontSize: 12 }, lineStyle: { width: 2, opacity: 0.5 } }] };
    const at4k = scaleChartOption(option, 2);
    assert.deepEqual(at4k, { animationDuration: 400, textStyle: { fontSize: 28, color: '#fff' }, legend: { itemWidth: 36, top: 0 }, grid: { left: 68 }, series: [{ data: [3, 5], label: { fontSize: 24 }, lineStyle: { width: 4, opacity: 0.5 } }] });
    assert.equal(option.textStyle.fontSize, 14, 'the model is not changed');
    assert.equal(scaleChartOption(option, 1), option);
  });
});
