/**
 * The canteen panel (明厨亮灶) on the wall: the county's totals (key-area camera coverage, today's AI
 * events by kind, open and overdue rectification cases, record completeness per meal) and the
 * open cases with their snapshot, overdue first. An overdue case is told by a warning mark, the
 * words 已超期 Overdue and a heavy striped edge as well as colour, and stays until it is closed.
 * A case is a button: it opens the case dialog. "Per school" opens every school's figures.
 */
import type { SchoolStatus } from '../../gateway/contract/api.js';
import { formatTime, lang, t, tk } from '../i18n.js';
import { countyTotals, coveragePercent, isCaseOverdue, mealStatus, openCases, schoolCaseCounts, type CanteenSlice, type CaseItem } from '../state/canteen.js';
import { fill, h, setText, warnIcon, overlay } from './dom.js';
import type { MediaCache } from './media.js';

/** How many cases the panel lists; the rest are counted. */
const MAX_CASES = 2;

export interface CanteenContext {
  media: MediaCache;
  schools: () => Record<string, SchoolStatus>;
  openCase: (id: string, from: HTMLElement) => void;
  openSchools: (from: HTMLElement) => void;
  /** Set for a principal who may record (a user bound to a school): opens the records dialog. */
  openRecords: ((from: HTMLElement) => void) | null;
  summaryState: () => 'loading' | 'ok' | 'error';
}

export function schoolName(schools: Record<string, SchoolStatus>, id: string): string {
  const s = schools[id];
  if (!s) return id;
  return lang() === 'en' && s.nameEn ? s.nameEn : s.name;
}

/** "已超期 Overdue": both languages, the screen's first, with a warning mark (not colour alone). */
export function overdueBadge(): HTMLElement {
  const [main, alt] = lang() === 'en' ? ['Overdue', '已超期'] : ['已超期', 'Overdue'];
  return h('span', { class: 'overdue-badge', testid: 'case-overdue' }, warnIcon(), h('span', null, main), h('span', { class: 'alt' }, alt));
}

/** A case's headline: the AI kind or the record finding, else its reason. */
export function caseTitle(c: Pick<CaseItem, 'kind' | 'finding' | 'reason'>): string {
  if (c.kind) return tk('ai', c.kind);
  if (c.finding) return tk('finding', c.finding);
  return lang() === 'en' ? c.reason.en : c.reason.zh;
}

export class CanteenView {
  readonly el: HTMLElement;
  private readonly title = h('h2', { class: 'pane-title', attrs: { id: 'canteen-title' } });
  private readonly tools = h('div', { class: 'canteen-tools' });
  private readonly totals = h('div', { class: 'canteen-totals', testid: 'canteen-totals' });
  private readonly list = h('ul', { class: 'canteen-cases', testid: 'canteen-cases' });
  private key = '';
  private summaryRef: CanteenSlice['summary'] = null;
  private summaryGen = 0;

  constructor(private readonly ctx: CanteenContext) {
    // One strip high: the school tiles keep their size and the maintenance panel its rows. The
    // breakdown (AI events by kind, records per meal, every school) is one click away.
    this.el = h(
      'section',
      { class: 'pane canteen-pane', testid: 'canteen-panel', attrs: { 'aria-labelledby': 'canteen-title' } },
      h('div', { class: 'canteen-head' }, this.title, this.tools),
      this.totals,
      this.list,
    );
  }

  update(slice: CanteenSlice, force = false): void {
    const now = Date.now();
    const cases = openCases(slice, now);
    // Called every second (a deadline passes by the clock): redraw only when something shown changed.
    if (slice.summary !== this.summaryRef) this.summaryGen++;
    this.summaryRef = slice.summary;
    const key = [lang(), this.ctx.summaryState(), this.summaryGen, ...cases.map((c) => `${c.id}:${c.state}:${isCaseOverdue(c, now)}:${c.snapshot ?? ''}:${c.events}`)].join('|');
    if (key === this.key && !force) return;
    const focused = (document.activeElement as HTMLElement | null)?.dataset?.caseId;
    this.key = key;
    setText(this.title, t('canteen.heading'));
    const tot = countyTotals(slice, now);

    fill(
      this.tools,
      h('button', { class: 'btn btn-ghost btn-small', testid: 'canteen-schools-open', attrs: { type: 'button', 'aria-haspopup': 'dialog' }, on: { click: (e) => this.ctx.openSchools(e.currentTarget as HTMLElement) } }, t('canteen.perSchool')),
      this.ctx.openRecords &&
        h('button', { class: 'btn btn-primary btn-small', testid: 'canteen-records-open', attrs: { type: 'button', 'aria-haspopup': 'dialog' }, on: { click: (e) => this.ctx.openRecords?.(e.currentTarget as HTMLElement) } }, t('canteen.records')),
    );

    const state = this.ctx.summaryState();
    const pending = state === 'error' ? '?' : '…';
    const fig = (testid: string, label: string, value: string, extra = '', data: Record<string, string> = {}, title?: string) =>
      h('div', { class: `canteen-fig${extra}`, testid, dataset: data, title }, h('span', { class: 'fig-label' }, label), h('span', { class: 'fig-value' }, value));
    fill(
      this.totals,
      fig('canteen-coverage', t('canteen.coverageShort'), slice.summary ? coveragePercent(tot.coverage) : pending, tot.coverage.required > tot.coverage.covered ? ' short' : '', { covered: String(tot.coverage.covered), required: String(tot.coverage.required) }, `${t('canteen.coverage')} · ${t('canteen.coverageOf', { covered: tot.coverage.covered, required: tot.coverage.required })}`),
      fig('canteen-ai-total', t('canteen.aiShort'), slice.summary ? String(tot.aiTotal) : pending, '', { n: String(tot.aiTotal) }, tot.aiEvents.map((e) => `${tk('ai', e.kind)} ${e.n}`).join('，') || t('canteen.noAi')),
      fig('canteen-open', t('canteen.openShort'), String(tot.open), '', { n: String(tot.open) }, t('canteen.open')),
      h(
        'div',
        { class: `canteen-fig overdue-fig${tot.overdue > 0 ? ' hot' : ''}`, testid: 'canteen-overdue', dataset: { n: String(tot.overdue) }, title: t('canteen.overdueCount') },
        h('span', { class: 'fig-label' }, tot.overdue > 0 && warnIcon(), t('canteen.overdueCount')),
        h('span', { class: 'fig-value' }, String(tot.overdue)),
      ),
    );

    if (!cases.length) fill(this.list, h('li', { class: 'canteen-none', testid: 'canteen-no-cases' }, t('canteen.noCases')));
    else {
      fill(this.list, ...cases.slice(0, MAX_CASES).map((c) => this.row(c, now)));
      if (cases.length > MAX_CASES) this.list.append(h('li', { class: 'canteen-more', testid: 'canteen-more' }, t('canteen.more', { n: cases.length - MAX_CASES })));
    }
    if (focused) this.list.querySelector<HTMLElement>(`[data-case-id="${CSS.escape(focused)}"]`)?.focus();
  }

  private row(c: CaseItem, now: number): HTMLElement {
    const overdue = isCaseOverdue(c, now);
    const school = schoolName(this.ctx.schools(), c.school);
    const where = `${school}${c.area ? ` · ${tk('area', c.area)}` : ''}`;
    const thumb = c.snapshot
      ? this.ctx.media.figure(c.snapshot, { testid: 'canteen-thumb', alt: `${t('canteen.snapshot')} · ${caseTitle(c)}`, cls: 'case-thumb' })
      : h('div', { class: 'case-thumb none' }, t('canteen.noSnapshot'));
    const btn = h(
      'button',
      {
        class: `case-row${overdue ? ' overdue' : ''}`,
        testid: 'canteen-case',
        dataset: { caseId: c.id, state: c.state, overdue: String(overdue), school: c.school },
        title: `${caseTitle(c)} · ${where} · ${t('canteen.deadline', { t: formatTime(c.deadlineAt, true) })}`,
        attrs: { type: 'button', 'aria-haspopup': 'dialog' },
        on: { click: () => this.ctx.openCase(c.id, btn) },
      },
      thumb,
      h(
        'span',
        { class: 'case-main' },
        h('span', { class: 'case-line' }, h('span', { class: 'case-kind' }, caseTitle(c)), h('span', { class: `cstate-pill cstate-${c.state}`, testid: 'case-state' }, tk('cstate', c.state))),
        overdue ? overdueBadge() : h('span', { class: 'case-school' }, where),
      ),
    );
    return h('li', null, btn);
  }
}

/** The county's breakdown over the per-school table: AI events by kind, records per meal. */
function countyBreakdown(slice: CanteenSlice): HTMLElement {
  const tot = countyTotals(slice, Date.now());
  return h(
    'div',
    { class: 'canteen-county' },
    h(
      'div',
      { class: 'canteen-ai', testid: 'canteen-ai' },
      h('span', { class: 'meals-label' }, t('canteen.aiToday')),
      ...(tot.aiEvents.length
        ? tot.aiEvents.map((e) => h('span', { class: 'ai-chip', testid: 'canteen-ai-kind', dataset: { kind: e.kind, n: String(e.n) } }, h('span', { class: 'ai-name' }, tk('ai', e.kind)), h('span', { class: 'ai-n' }, e.n)))
        : [h('span', { class: 'canteen-none' }, t('canteen.noAi'))]),
    ),
    h(
      'div',
      { class: 'canteen-meals', testid: 'canteen-meals' },
      h('span', { class: 'meals-label' }, t('canteen.meals')),
      ...(tot.meals.length
        ? tot.meals.map((m) =>
            h('span', { class: `meal-chip${m.missing ? ' missing' : ''}`, testid: 'canteen-meal', dataset: { meal: m.meal, ok: String(m.ok), missing: String(m.missing), pending: String(m.pending) } }, t('canteen.mealLine', { meal: tk('meal', m.meal), ok: m.ok, missing: m.missing, pending: m.pending })),
          )
        : [h('span', { class: 'canteen-none' }, t('canteen.noMeals'))]),
    ),
  );
}

// ---------- every school's figures ----------

export class CanteenSchoolsView {
  readonly el: HTMLElement;
  private opener: HTMLElement | null = null;
  private slice: CanteenSlice | null = null;

  constructor(private readonly schools: () => Record<string, SchoolStatus>) {
    this.el = overlay('', 'canteen-schools-overlay', (e) => {
      e.stopPropagation();
      this.close();
    }, () => this.close());
  }

  get isOpen(): boolean {
    return !this.el.hidden;
  }

  open(slice: CanteenSlice, from?: HTMLElement): void {
    if (from) this.opener = from;
    this.slice = slice;
    this.el.hidden = false;
    this.draw();
    this.el.querySelector<HTMLElement>('[data-testid="canteen-schools-close"]')?.focus();
  }

  update(slice: CanteenSlice): void {
    if (this.el.hidden || slice === this.slice) return;
    this.slice = slice;
    this.draw();
  }

  close(): void {
    if (this.el.hidden) return;
    this.el.hidden = true;
    fill(this.el);
    this.opener?.focus();
    this.opener = null;
  }

  private draw(): void {
    const slice = this.slice;
    if (!slice) return;
    const scroll = this.el.querySelector('.drill-body')?.scrollTop ?? 0;
    const now = Date.now();
    const schools = this.schools();
    const rows = (slice.summary?.schools ?? []).map((s) => {
      const counts = schoolCaseCounts(slice, s.school, now);
      const ai = Object.entries(s.aiEvents).filter(([, n]) => (n ?? 0) > 0);
      return h(
        'tr',
        { testid: 'canteen-school-row', dataset: { school: s.school } },
        h('th', { attrs: { scope: 'row' } }, schoolName(schools, s.school)),
        h(
          'td',
          { class: s.coverage.covered < s.coverage.required ? 'short' : '' },
          `${coveragePercent(s.coverage)} (${t('canteen.coverageOf', { covered: s.coverage.covered, required: s.coverage.required })})`,
          s.coverage.missing.length > 0 && h('div', { class: 'alt' }, t('canteen.missingAreas', { areas: s.coverage.missing.map((m) => tk('area', m.split('/').pop() ?? m)).join('、') })),
        ),
        h('td', null, ai.length ? ai.map(([k, n]) => `${tk('ai', k)} ${n}`).join('，') : '—'),
        h('td', { class: counts.overdue ? 'short' : '' }, `${counts.open} / ${counts.overdue}`),
        h(
          'td',
          null,
          ...(s.meals.length
            ? s.meals.map((m) => h('span', { class: `meal-chip comp-${mealStatus(m)}`, dataset: { meal: m.meal } }, `${tk('meal', m.meal)} ${tk('comp', m.samples)}·${tk('comp', m.accompany)}·${tk('comp', m.disinfection)}`))
            : [t('canteen.noMeals')]),
        ),
      );
    });
    fill(
      this.el,
      h(
        'div',
        { class: 'drill canteen-schools', testid: 'canteen-schools', attrs: { role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'canteen-schools-title' } },
        h(
          'div',
          { class: 'drill-head' },
          h('h2', { class: 'drill-title', attrs: { id: 'canteen-schools-title' } }, t('canteen.schoolsTitle'), slice.summary && h('span', { class: 'alt' }, slice.summary.date)),
          h('button', { class: 'btn btn-ghost drill-close', testid: 'canteen-schools-close', attrs: { type: 'button' }, on: { click: () => this.close() } }, t('drill.close')),
        ),
        h(
          'div',
          { class: 'drill-body' },
          countyBreakdown(slice),
          h(
            'table',
            { class: 'canteen-table' },
            h('thead', null, h('tr', null, ...(['school', 'coverage', 'ai', 'cases', 'meals'] as const).map((k) => h('th', { attrs: { scope: 'col' } }, t(`canteen.col.${k}`))))),
            h('tbody', null, ...rows),
          ),
        ),
      ),
    );
    const body = this.el.querySelector('.drill-body');
    if (body) body.scrollTop = scroll;
    // A redraw (new figures) must not drop the keyboard out of the dialog.
    if (!this.el.contains(document.activeElement)) this.el.querySelector<HTMLElement>('[data-testid="canteen-schools-close"]')?.focus();
  }
}
