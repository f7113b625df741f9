/**
 * The six targets (contract §7, 六个100%) on the wall: the county's six rates, each with its met /
 * not met / unknown counts, told apart by shape, glyph and word as well as colour. A rate is a
 * button: it opens the drill-down with the schools that fail it (not met first, then unknown),
 * each with its reasons and evidence; a school opens its six verdicts, inspection photos shown.
 *
 * Calm on purpose: amber for short of 100 %, never the alarm red, nothing flashes; the drill-down
 * sits under the alarm pop-up, so a new alarm still comes over it.
 */
import type { SchoolStatus } from '../../gateway/contract/api.js';
import type { TargetVerdict } from '../api.js';
import { sortEvidence, type Evidence } from '../evidence.js';
import { lang, t, tk } from '../i18n.js';
import { rateLevel, ratePercent, type TargetChange, type TargetRate, type TargetStatus, type TargetsSlice } from '../state/targets.js';
import { fill, h, setText, overlay } from './dom.js';
import { sinceLabel } from './maintenance.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

function svgEl(tag: string, attrs: Record<string, string>): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

/**
 * A status drawn, not typed (a wall PC may lack the dingbat glyphs): met a round badge with a
 * tick, not met a square with a cross, unknown a dashed circle with a question mark.
 */
export function statusIcon(status: TargetStatus): SVGSVGElement {
  const el = document.createElementNS(SVG_NS, 'svg');
  el.setAttribute('viewBox', '0 0 24 24');
  el.setAttribute('aria-hidden', 'true');
  el.setAttribute('class', `status-icon icon-${status}`);
  if (status === 'met') {
    el.append(svgEl('circle', { cx: '12', cy: '12', r: '11', fill: 'currentColor' }));
    el.append(svgEl('path', { d: 'M6.5 12.5l3.8 3.8 7.4-8.2', fill: 'none', stroke: '#04190c', 'stroke-width': '3', 'stroke-linecap': 'round', 'stroke-linejoin': 'round' }));
  } else if (status === 'not_met') {
    el.append(svgEl('rect', { x: '1.5', y: '1.5', width: '21', height: '21', rx: '3', fill: 'currentColor' }));
    el.append(svgEl('path', { d: 'M7.5 7.5l9 9M16.5 7.5l-9 9', fill: 'none', stroke: '#1a0e00', 'stroke-width': '3', 'stroke-linecap': 'round' }));
  } else {
    el.append(svgEl('circle', { cx: '12', cy: '12', r: '10', fill: 'none', stroke: 'currentColor', 'stroke-width': '2.4', 'stroke-dasharray': '4 2.6' }));
    const q = svgEl('text', { x: '12', y: '17', 'text-anchor': 'middle', 'font-size': '15', 'font-weight': '700', fill: 'currentColor' });
    q.textContent = '?';
    el.append(q);
  }
  return el;
}

/** Icon and word together: "✓ 达标". */
function statusTag(status: TargetStatus, extra = ''): HTMLElement {
  return h('span', { class: `status-tag status-${status}${extra}`, testid: 'status-tag', dataset: { status } }, statusIcon(status), h('span', { class: 'status-word' }, tk('status', status)));
}

const rateAria = (r: TargetRate) =>
  t('targets.cellLabel', { name: lang() === 'en' ? r.nameEn : r.name, rate: ratePercent(r), met: r.met, notMet: r.notMet, unknown: r.unknown, n: r.inScope });

// ---------- the panel on the wall ----------

export interface TargetsContext {
  /** A rate was selected (click, Enter or Space): open its drill-down; `from` gets the focus back on close. */
  open: (target: string, from: HTMLElement) => void;
}

export class TargetsView {
  readonly el: HTMLElement;
  private readonly title = h('h2', { class: 'pane-title' });
  private readonly legend = h('div', { class: 'targets-legend', attrs: { 'aria-hidden': 'true' } });
  private readonly grid = h('div', { class: 'targets-grid', testid: 'targets-grid' });
  private key = '';

  constructor(private readonly ctx: TargetsContext) {
    this.el = h('section', { class: 'pane targets-pane', testid: 'targets-panel', attrs: { 'aria-labelledby': 'targets-title' } }, h('div', { class: 'pane-head targets-head' }, this.title, this.legend), this.grid);
    this.title.id = 'targets-title';
  }

  update(slice: TargetsSlice, force = false): void {
    const key = `${lang()}|${slice.rates.map((r) => `${r.id}:${r.met}:${r.notMet}:${r.unknown}:${r.inScope}:${r.name}:${r.nameEn}`).join('|')}`;
    if (key === this.key && !force) return;
    const focused = (document.activeElement as HTMLElement | null)?.dataset?.target;
    this.key = key;
    setText(this.title, t('targets.heading'));
    fill(this.legend, ...(['met', 'not_met', 'unknown'] as const).map((s) => statusTag(s, ' legend-tag')));
    if (!slice.rates.length) {
      fill(this.grid, h('div', { class: 'targets-none', testid: 'targets-none' }, t('targets.none')));
      return;
    }
    fill(this.grid, ...slice.rates.map((r) => this.cell(r)));
    // Redrawing must not steal the keyboard user's place.
    if (focused) this.grid.querySelector<HTMLElement>(`[data-target="${CSS.escape(focused)}"]`)?.focus();
  }

  private cell(r: TargetRate): HTMLElement {
    const level = rateLevel(r);
    const count = (status: TargetStatus, n: number) =>
      h('span', { class: `cnt cnt-${status}${n === 0 ? ' zero' : ''}`, testid: `count-${status}`, dataset: { n: String(n) }, title: tk('status', status) }, statusIcon(status), h('span', { class: 'cnt-n' }, n));
    const btn = h(
      'button',
      {
        class: `target-cell level-${level}`,
        testid: 'target-rate',
        dataset: { target: r.id, level },
        title: lang() === 'en' ? `${r.nameEn} · ${r.name}` : `${r.name} · ${r.nameEn}`,
        attrs: { type: 'button', 'aria-label': rateAria(r), 'aria-haspopup': 'dialog' },
      },
      h('span', { class: 't-name' }, tk('tshort', r.id)),
      h('span', { class: `t-rate${ratePercent(r).length > 4 ? ' long' : ''}`, testid: 'target-percent' }, ratePercent(r)),
      h('span', { class: 't-counts' }, count('met', r.met), count('not_met', r.notMet), count('unknown', r.unknown)),
    );
    btn.addEventListener('click', () => this.ctx.open(r.id, btn));
    return btn;
  }
}

// ---------- the drill-down ----------

export interface DrillContext {
  /** GET /api/targets/{id}/schools?status=… */
  targetSchools: (target: string, status: TargetStatus) => Promise<{ schools: TargetVerdict[] }>;
  /** GET /api/schools/{id}/targets */
  schoolTargets: (school: string) => Promise<{ targets: TargetVerdict[] }>;
  /** GET /api/media/{sha256} with the bearer token. */
  media: (sha: string) => Promise<Blob>;
  schools: () => Record<string, SchoolStatus>;
  rate: (target: string) => TargetRate | undefined;
}

type Load<T> = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ok'; data: T };
type Mode =
  | { kind: 'closed' }
  | { kind: 'target'; target: string; list: Load<{ notMet: TargetVerdict[]; unknown: TargetVerdict[] }> }
  | { kind: 'school'; school: string; from: string | null; verdicts: Load<TargetVerdict[]> };

/** In the list, a school shows this many reasons and evidence items; its own page shows all. */
const LIST_REASONS = 4;
const LIST_EVIDENCE = 6;
const errText = (err: unknown) => t('drill.error', { msg: err instanceof Error ? err.message : String(err) });

export class TargetDrillView {
  readonly el: HTMLElement;
  private mode: Mode = { kind: 'closed' };
  private opener: HTMLElement | SVGElement | null = null;
  /** Bumped by every load: a reply to an older one is dropped. */
  private gen = 0;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  /** Photo sha → object URL (revoked on close), or null when it could not be read. */
  private readonly photos = new Map<string, string | null>();
  private readonly photoLoads = new Map<string, Promise<void>>();
  private closed = true;
  /** Bumped on close: a photo that arrives for an earlier opening is dropped. */
  private session = 0;

  constructor(private readonly ctx: DrillContext) {
    this.el = overlay('', 'targets-drill-overlay', (e) => {
      e.stopPropagation();
      if (this.mode.kind === 'school' && this.mode.from) this.openTarget(this.mode.from);
      else this.close();
    }, () => this.close());
  }

  get isOpen(): boolean {
    return this.mode.kind !== 'closed';
  }

  openTarget(target: string, opener?: HTMLElement): void {
    if (opener) this.opener = opener;
    this.mode = { kind: 'target', target, list: { state: 'loading' } };
    this.show();
    void this.loadList(target, ++this.gen);
  }

  /** `opener`: where focus goes back when the drill-down closes (a county map marker). */
  openSchool(school: string, from: string | null, opener?: HTMLElement | SVGElement): void {
    if (opener) this.opener = opener;
    this.mode = { kind: 'school', school, from, verdicts: { state: 'loading' } };
    this.show();
    void this.loadSchool(school, ++this.gen);
  }

  close(): void {
    if (this.mode.kind === 'closed') return;
    this.mode = { kind: 'closed' };
    this.gen++;
    this.closed = true;
    this.session++;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    this.el.hidden = true;
    fill(this.el);
    for (const url of this.photos.values()) if (url) URL.revokeObjectURL(url);
    this.photos.clear();
    this.photoLoads.clear();
    const back = this.opener;
    this.opener = null;
    // Back to the wall, where the user was.
    if (back?.isConnected) back.focus();
    else if (back?.dataset.target) document.querySelector<HTMLElement>(`[data-testid="target-rate"][data-target="${CSS.escape(back.dataset.target)}"]`)?.focus();
  }

  /** A school's verdict changed: what is open refreshes (once, shortly, however many frames come). */
  onChange(c: TargetChange): void {
    const m = this.mode;
    const relevant = (m.kind === 'target' && m.target === c.target) || (m.kind === 'school' && m.school === c.school);
    if (!relevant) return;
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      const now = this.mode;
      if (now.kind === 'target') void this.loadList(now.target, ++this.gen, true);
      else if (now.kind === 'school') void this.loadSchool(now.school, ++this.gen, true);
    }, 400);
  }

  /** The language changed, or the rates did: draw again from what is loaded. */
  redraw(): void {
    if (this.mode.kind !== 'closed') this.draw();
  }

  private show(): void {
    const wasClosed = this.closed;
    this.closed = false;
    this.el.hidden = false;
    this.draw();
    if (wasClosed || !this.el.contains(document.activeElement)) this.el.querySelector<HTMLElement>('[data-testid="drill-close"]')?.focus();
  }

  private async loadList(target: string, gen: number, quiet = false): Promise<void> {
    try {
      const [notMet, unknown] = await Promise.all([this.ctx.targetSchools(target, 'not_met'), this.ctx.targetSchools(target, 'unknown')]);
      if (gen !== this.gen) return;
      this.mode = { kind: 'target', target, list: { state: 'ok', data: { notMet: notMet.schools, unknown: unknown.schools } } };
    } catch (err) {
      if (gen !== this.gen) return;
      if (quiet && this.mode.kind === 'target' && this.mode.list.state === 'ok') return; // keep what we showed
      this.mode = { kind: 'target', target, list: { state: 'error', message: errText(err) } };
    }
    this.draw();
  }

  private async loadSchool(school: string, gen: number, quiet = false): Promise<void> {
    const from = this.mode.kind === 'school' ? this.mode.from : null;
    try {
      const reply = await this.ctx.schoolTargets(school);
      if (gen !== this.gen) return;
      this.mode = { kind: 'school', school, from, verdicts: { state: 'ok', data: reply.targets } };
    } catch (err) {
      if (gen !== this.gen) return;
      if (quiet && this.mode.kind === 'school' && this.mode.verdicts.state === 'ok') return;
      this.mode = { kind: 'school', school, from, verdicts: { state: 'error', message: errText(err) } };
    }
    this.draw();
  }

  // ---------- drawing ----------

  private schoolLabel(id: string, zhName?: string): { main: string; alt: string } {
    const s = this.ctx.schools()[id];
    const zh = zhName || s?.name || id;
    const en = s?.nameEn ?? '';
    return lang() === 'en' && en ? { main: en, alt: zh } : { main: zh, alt: en };
  }

  private draw(): void {
    const m = this.mode;
    if (m.kind === 'closed') return;
    const scroll = this.el.querySelector('.drill-body')?.scrollTop ?? 0;
    const hadFocus = (document.activeElement as HTMLElement | null)?.dataset?.testid;
    const dialog = m.kind === 'target' ? this.drawTarget(m) : this.drawSchool(m);
    fill(this.el, dialog);
    const body = this.el.querySelector('.drill-body');
    if (body) body.scrollTop = scroll;
    // Keep the keyboard where it was across a redraw (a refresh, a language switch).
    if (hadFocus === 'drill-back') this.el.querySelector<HTMLElement>('[data-testid="drill-back"]')?.focus();
    else if (!this.el.contains(document.activeElement)) this.el.querySelector<HTMLElement>('[data-testid="drill-close"]')?.focus();
  }

  private frame(kind: string, head: HTMLElement, body: HTMLElement, back: HTMLElement | null): HTMLElement {
    return h(
      'div',
      { class: `drill drill-${kind}`, testid: 'targets-drill', dataset: { view: kind }, attrs: { role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'drill-title' } },
      h(
        'div',
        { class: 'drill-head' },
        back,
        head,
        h('button', { class: 'btn btn-ghost drill-close', testid: 'drill-close', attrs: { type: 'button' }, on: { click: () => this.close() } }, t('drill.close')),
      ),
      body,
    );
  }

  private backButton(target: string): HTMLElement {
    return h('button', { class: 'btn btn-ghost drill-back', testid: 'drill-back', attrs: { type: 'button' }, on: { click: () => this.openTarget(target) } }, `‹ ${t('drill.back')}`);
  }

  private drawTarget(m: Extract<Mode, { kind: 'target' }>): HTMLElement {
    const r = this.ctx.rate(m.target);
    const zh = r?.name ?? m.target;
    const en = r?.nameEn ?? '';
    const [main, alt] = lang() === 'en' && en ? [en, zh] : [zh, en];
    const head = h(
      'div',
      { class: 'drill-title-block' },
      h('h2', { class: 'drill-title', attrs: { id: 'drill-title' } }, main, alt && h('span', { class: 'alt' }, alt)),
      r &&
        h(
          'div',
          { class: `drill-figures level-${rateLevel(r)}` },
          h('span', { class: 'drill-rate', testid: 'drill-rate' }, t('drill.rate', { rate: ratePercent(r) })),
          statusTag('met'),
          h('span', { class: 'fig-n' }, r.met),
          statusTag('not_met'),
          h('span', { class: 'fig-n' }, r.notMet),
          statusTag('unknown'),
          h('span', { class: 'fig-n' }, r.unknown),
        ),
    );
    const body = h('div', { class: 'drill-body' });
    const list = m.list;
    if (list.state === 'loading') fill(body, h('div', { class: 'drill-note', testid: 'drill-loading' }, t('drill.loading')));
    else if (list.state === 'error') fill(body, h('div', { class: 'drill-note error', testid: 'drill-error' }, list.message));
    else if (!list.data.notMet.length && !list.data.unknown.length) fill(body, h('div', { class: 'drill-note ok', testid: 'drill-all-met' }, statusIcon('met'), t('drill.allMet')));
    else
      fill(
        body,
        this.section('not_met', t('drill.notMet'), list.data.notMet, m.target),
        this.section('unknown', t('drill.unknown'), list.data.unknown, m.target),
      );
    return this.frame('target', head, body, null);
  }

  private section(status: TargetStatus, title: string, verdicts: TargetVerdict[], target: string): HTMLElement {
    return h(
      'section',
      { class: `drill-section section-${status}`, testid: `drill-section-${status}` },
      h('h3', { class: 'drill-section-title' }, statusIcon(status), title, h('span', { class: 'count-badge small' }, verdicts.length)),
      verdicts.length
        ? h('ul', { class: 'drill-list' }, ...verdicts.map((v) => this.schoolRow(v, target)))
        : h('div', { class: 'drill-note small' }, t('drill.noneInList')),
    );
  }

  private schoolRow(v: TargetVerdict, target: string): HTMLElement {
    const name = this.schoolLabel(v.school, v.schoolName);
    return h(
      'li',
      { class: `drill-row status-${v.status}`, testid: 'drill-school', dataset: { school: v.school, status: v.status } },
      h(
        'div',
        { class: 'drill-row-head' },
        statusTag(v.status),
        h(
          'button',
          {
            class: 'drill-school-btn',
            testid: 'drill-school-open',
            attrs: { type: 'button', 'aria-label': t('drill.openSchool', { name: name.main }) },
            on: { click: () => this.openSchool(v.school, target) },
          },
          h('span', { class: 'school-main' }, name.main),
          name.alt && h('span', { class: 'alt' }, name.alt),
          h('span', { class: 'chev', attrs: { 'aria-hidden': 'true' } }, '›'),
        ),
        h('span', { class: 'drill-since', testid: 'drill-since' }, t('drill.since', { t: sinceLabel(v.since, Date.now()) })),
      ),
      this.reasons(v, LIST_REASONS),
      this.evidence(v.evidence, LIST_EVIDENCE),
    );
  }

  private drawSchool(m: Extract<Mode, { kind: 'school' }>): HTMLElement {
    const first = m.verdicts.state === 'ok' ? m.verdicts.data[0] : undefined;
    const name = this.schoolLabel(m.school, first?.schoolName);
    const head = h(
      'div',
      { class: 'drill-title-block' },
      h('h2', { class: 'drill-title', attrs: { id: 'drill-title' } }, name.main, name.alt && h('span', { class: 'alt' }, name.alt)),
      h('div', { class: 'drill-sub' }, t('drill.school')),
    );
    const body = h('div', { class: 'drill-body' });
    const vs = m.verdicts;
    if (vs.state === 'loading') fill(body, h('div', { class: 'drill-note', testid: 'drill-loading' }, t('drill.loading')));
    else if (vs.state === 'error') fill(body, h('div', { class: 'drill-note error', testid: 'drill-error' }, vs.message));
    else fill(body, h('div', { class: 'verdict-grid' }, ...vs.data.map((v) => this.verdictCard(v))));
    return this.frame('school', head, body, m.from ? this.backButton(m.from) : null);
  }

  private verdictCard(v: TargetVerdict): HTMLElement {
    const [main, alt] = lang() === 'en' ? [v.nameEn, v.name] : [v.name, v.nameEn];
    const now = Date.now();
    return h(
      'article',
      { class: `verdict status-${v.status}${v.inScope ? '' : ' out-of-scope'}`, testid: 'school-verdict', dataset: { target: v.target, status: v.status } },
      h('div', { class: 'verdict-head' }, statusTag(v.status), h('h3', { class: 'verdict-name' }, main, alt && h('span', { class: 'alt' }, alt))),
      h(
        'div',
        { class: 'verdict-times' },
        !v.inScope && h('span', { class: 'out-tag' }, t('drill.outOfScope')),
        h('span', { testid: 'verdict-since' }, t('drill.since', { t: sinceLabel(v.since, now) })),
        v.staleAt && h('span', { class: 'stale-at' }, t('drill.staleAt', { t: sinceLabel(v.staleAt, now) })),
      ),
      this.reasons(v, Infinity),
      this.evidence(v.evidence, Infinity),
    );
  }

  /** Each reason in the screen's language, the other one beside it. */
  private reasons(v: TargetVerdict, max: number): HTMLElement | null {
    if (!v.reasons.length) return null;
    const en = lang() === 'en';
    const shown = v.reasons.slice(0, max);
    const list = h(
      'ul',
      { class: 'reasons', testid: 'drill-reasons', attrs: { 'aria-label': t('drill.reasons') } },
      ...shown.map((r) => h('li', { class: 'reason-line', testid: 'drill-reason' }, h('span', { class: 'r-main' }, en ? r.en : r.zh), h('span', { class: 'alt' }, en ? r.zh : r.en))),
    );
    // The rest is one click away, on the school's own page.
    if (v.reasons.length > shown.length) list.append(h('li', { class: 'reason-more' }, t('drill.more', { n: v.reasons.length - shown.length })));
    return list;
  }

  private evidence(ids: readonly string[], max: number): HTMLElement {
    const { photos, items } = sortEvidence(ids);
    const wrap = h('div', { class: 'evidence', testid: 'drill-evidence' }, h('span', { class: 'ev-label' }, t('drill.evidence')));
    if (!photos.length && !items.length) {
      wrap.append(h('span', { class: 'ev-none' }, t('drill.noEvidence')));
      return wrap;
    }
    if (photos.length) wrap.append(h('div', { class: 'ev-photos' }, ...photos.map((sha) => this.photo(sha))));
    const shown = items.slice(0, max);
    const chips = h('div', { class: 'ev-chips' }, ...shown.map((e) => this.chip(e)));
    if (items.length > shown.length) chips.append(h('span', { class: 'ev-more' }, t('drill.more', { n: items.length - shown.length })));
    wrap.append(chips);
    return wrap;
  }

  private chip(e: Evidence): HTMLElement {
    const now = Date.now();
    let text: string;
    if (e.kind === 'checkin' || e.kind === 'gate' || e.kind === 'uplink') text = `${tk('ev', e.kind)} ${e.device} ${sinceLabel(e.at, now)}`;
    else if (e.kind === 'inspection') text = `${tk('ev', e.kind)} ${e.id}`;
    else if (e.kind === 'device') text = `${tk('ev', e.kind)} ${e.id}`;
    else text = e.raw;
    return h('span', { class: `ev-chip ev-${e.kind}`, testid: 'evidence-item', title: e.raw }, text);
  }

  /** An inspection photo: fetched with the token (an <img> cannot send it) and shown through an object URL. */
  private photo(sha: string): HTMLElement {
    const fig = h('figure', { class: 'ev-photo', dataset: { sha } });
    const draw = () => {
      const url = this.photos.get(sha);
      if (url === undefined) fill(fig, h('div', { class: 'ev-photo-wait' }, t('drill.loading')));
      else if (url === null) fill(fig, h('div', { class: 'ev-photo-wait error' }, t('drill.photoError')));
      else fill(fig, h('img', { testid: 'evidence-photo', attrs: { src: url, alt: t('drill.photo'), decoding: 'async' } }), h('figcaption', null, `${t('drill.photo')} · ${sha.slice(0, 8)}`));
    };
    draw();
    if (!this.photos.has(sha) && !this.photoLoads.has(sha)) {
      const session = this.session;
      const load = this.ctx.media(sha).then(
        (blob) => {
          if (session === this.session) this.photos.set(sha, URL.createObjectURL(blob));
        },
        () => {
          if (session === this.session) this.photos.set(sha, null);
        },
      );
      this.photoLoads.set(sha, load);
      void load.then(() => {
        // Drawn again wherever this photo is on screen (the dialog may have been redrawn since).
        if (session !== this.session) return;
        for (const f of this.el.querySelectorAll<HTMLElement>(`figure.ev-photo[data-sha="${sha}"]`)) {
          const url = this.photos.get(sha);
          if (url) fill(f, h('img', { testid: 'evidence-photo', attrs: { src: url, alt: t('drill.photo'), decoding: 'async' } }), h('figcaption', null, `${t('drill.photo')} · ${sha.slice(0, 8)}`));
          else fill(f, h('div', { class: 'ev-photo-wait error' }, t('drill.photoError')));
        }
      });
    }
    return fig;
  }
}
