/**
 * The statistics band of the wall (issue #12): alarms today and over 7 days, escalations, false and
 * test presses as numbers; the 7-day trend, the times to acknowledge and to dispatch (p50, p90) and
 * the townships as Apache ECharts charts.
 *
 * ECharts comes from ../vendor/echarts.ts: `echarts/core` with only the bar and line charts, the grid,
 * legend and aria components and the SVG renderer, so esbuild bundles no more of it than these. SVG rather than
 * canvas: a wall of 1080p to 4K is sized in rem from the viewport (styles.css; chart text through scaleChartOption), and vectors stay crisp at
 * any zoom where a canvas drawn at 1080p would be blurred; the charts hold a few hundred elements, far
 * below where canvas pays off; and the text in them is real text in the DOM (tests and screen readers
 * read it).
 */
import { init as initChart, type EChartsType } from '../vendor/echarts.js';
import { ct } from '../i18n-charts.js';
import { lang } from '../i18n.js';
import { scaleChartOption, statsModel, type AlarmStats, type ChartOption, type Kpi } from '../state/stats.js';
import { fill, h, setText } from './dom.js';

export type StatsLoad = { state: 'loading' } | { state: 'error' } | { state: 'ok'; stats: AlarmStats };

export const prefersReducedMotion = (): boolean => !!globalThis.matchMedia?.('(prefers-reduced-motion: reduce)').matches;

type ChartKey = 'trend' | 'times' | 'townships';
const CHART_TITLE = { trend: 'stats.trend', times: 'stats.times', townships: 'stats.townships' } as const;

export class StatsView {
  readonly el: HTMLElement;
  private readonly title = h('h2', { class: 'pane-title' });
  private readonly titleEn = h('span', { class: 'stats-title-en' });
  private readonly period = h('span', { class: 'stats-period', testid: 'stats-period' });
  private readonly note = h('span', { class: 'stats-note', testid: 'stats-note' });
  private readonly kpis = h('div', { class: 'stats-kpis', testid: 'stats-kpis' });
  private readonly charts: Record<ChartKey, { box: HTMLElement; title: HTMLElement; el: HTMLElement; chart: EChartsType | null }>;
  private readonly resize: ResizeObserver | null;
  private drawnKey = '';
  private drawnScale = 1;
  /** What each chart was last drawn from (its option's JSON and the scale). */
  private readonly chartDrawn: Partial<Record<ChartKey, string>> = {};
  private last: StatsLoad | null = null;
  /** The reply, language and motion setting last drawn: the same again skips the style read and the key (issue #12). */
  private drawnFrom: [StatsLoad, string, boolean] | null = null;

  constructor(private readonly townshipEn: () => Record<string, string>) {
    const make = (key: ChartKey) => {
      const title = h('div', { class: 'stats-chart-title' });
      const el = h('div', { class: 'stats-chart-canvas', testid: `stats-chart-${key}`, attrs: { role: 'img' } });
      return { box: h('figure', { class: `stats-chart stats-chart-${key}` }, title, el), title, el, chart: null };
    };
    this.charts = { trend: make('trend'), times: make('times'), townships: make('townships') };
    this.el = h(
      'section',
      { class: 'pane stats-pane', testid: 'stats-panel' },
      h('div', { class: 'pane-head stats-head' }, this.title, this.titleEn, this.period, h('span', { class: 'spacer' }), this.note),
      h('div', { class: 'stats-body' }, this.kpis, this.charts.trend.box, this.charts.times.box, this.charts.townships.box),
    );
    this.resize =
      typeof ResizeObserver === 'function'
        ? new ResizeObserver(() => {
            // A new wall scale (the root font follows the viewport) redraws with scaled text; the charts
            // take their new size either way.
            if (this.last && rootScale() !== this.drawnScale) this.update(this.last, true);
            for (const c of Object.values(this.charts)) c.chart?.resize();
          })
        : null;
    this.resize?.observe(this.el);
  }

  update(load: StatsLoad, force = false): void {
    if (load.state === 'ok') this.last = load;
    const L = lang();
    setText(this.title, ct('stats.heading'));
    setText(this.titleEn, ct('stats.headingEn'));
    this.el.dataset.state = load.state;
    if (load.state !== 'ok') {
      setText(this.note, load.state === 'loading' ? ct('stats.loading') : ct('stats.error'));
      return;
    }
    // While the last good figures are shown, an error only adds the note; a redraw needs new figures.
    setText(this.note, '');
    const reducedMotion = prefersReducedMotion();
    // Called at every render of the wall: reading the root font size forces a style pass, so only
    // when the reply (or language) is another; a new wall scale comes through the ResizeObserver.
    const d = this.drawnFrom;
    if (!force && d && d[0] === load && d[1] === L && d[2] === reducedMotion) return;
    this.drawnFrom = [load, L, reducedMotion];
    const scale = rootScale();
    const key = `${JSON.stringify(load.stats)}|${L}|${reducedMotion}|${scale}`;
    if (!force && key === this.drawnKey) return;
    this.drawnKey = key;
    this.drawnScale = scale;
    const model = statsModel(load.stats, { lang: L, reducedMotion, townshipEn: this.townshipEn() });
    setText(this.period, `${model.from.slice(5)} – ${model.to.slice(5)}`);
    fill(this.kpis, ...model.kpis.map((k) => kpiTile(k)));
    for (const key of Object.keys(this.charts) as ChartKey[]) {
      const c = this.charts[key];
      setText(c.title, ct(CHART_TITLE[key]));
      c.el.setAttribute('aria-label', ct(CHART_TITLE[key]));
      // Only the charts whose figures moved (issue #12): an acknowledgement moves the times, not the
      // 7-day trend; each chart drawn is tens of ms on a wall PC. (Formatters depend on the value and
      // the language only, so the option's JSON names what is drawn.)
      const drawn = `${JSON.stringify(model[key])}|${scale}`;
      if (!force && c.chart && this.chartDrawn[key] === drawn) continue;
      this.chartDrawn[key] = drawn;
      c.chart ??= initChart(c.el, null, { renderer: 'svg' });
      // No resize() here: it draws the chart a second time; a new size comes through the ResizeObserver.
      c.chart.setOption(scaleChartOption(model[key] as ChartOption, scale), { notMerge: true, lazyUpdate: false });
    }
    this.el.dataset.drawn = String(Number(this.el.dataset.drawn ?? '0') + 1);
  }

  /** The stats failed to load but an earlier reply is shown: say so, keep it. */
  stale(): void {
    setText(this.note, ct('stats.error'));
  }

  dispose(): void {
    this.resize?.disconnect();
    for (const c of Object.values(this.charts)) c.chart?.dispose(), (c.chart = null);
  }
}

/** The wall's scale: the root font size (set from the viewport in styles.css) over its 16 px design size. */
function rootScale(): number {
  const px = parseFloat(getComputedStyle(document.documentElement).fontSize);
  return Number.isFinite(px) && px > 0 ? Math.round((px / 16) * 100) / 100 : 1;
}

function kpiTile(k: Kpi): HTMLElement {
  return h(
    'div',
    { class: `stats-kpi kpi-${k.id}`, testid: `stats-kpi-${k.id}`, title: k.sub ? `${k.label} ${k.value} · ${k.sub}` : undefined, dataset: { value: k.value } },
    h('div', { class: 'kpi-label' }, k.label),
    h('div', { class: 'kpi-value', testid: 'kpi-value' }, k.value),
    k.sub && h('div', { class: 'kpi-sub', testid: 'kpi-sub' }, k.sub),
  );
}
