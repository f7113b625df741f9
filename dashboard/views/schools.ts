/**
 * The county overview: a summary strip, then the schools either as one compact tile per school
 * (red = open alarm, amber = devices offline) or on the county map (views/county-map.ts), by a
 * 列表/地图 (List/Map) switch in the pane's head, remembered on this screen.
 */
import type { SchoolStatus } from '../../gateway/contract/api.js';
import { lang, t } from '../i18n.js';
import { initialSchoolsMode, SCHOOLS_MODE_KEY, type SchoolsMode } from '../state/county-map.js';
import type { Summary } from '../state/index.js';
import type { LayoutTownship } from '../state/map-layout.js';
import { CountyMapView } from './county-map.js';
import { h, setText } from './dom.js';
import { nameContext, schoolName, shortSchoolName, type NameContext } from './format.js';

interface Tile {
  el: HTMLElement;
  name: HTMLElement;
  region: HTMLElement;
  devices: HTMLElement;
  alarms: HTMLElement;
}

export class SchoolsView {
  readonly el: HTMLElement;
  private readonly heading = h('h2', { class: 'pane-title' });
  private readonly legend = h('div', { class: 'legend' });
  private readonly grid = h('div', { class: 'tiles', testid: 'school-tiles' });
  private readonly stats: Record<keyof Summary, { el: HTMLElement; label: HTMLElement; value: HTMLElement }>;
  private tiles = new Map<string, Tile>();
  private names: NameContext = { prefixZh: '', prefixEn: '' };
  private order = '';
  private readonly map: CountyMapView;
  private mode: SchoolsMode;
  private readonly modeButtons: Record<SchoolsMode, HTMLButtonElement>;
  private last: Parameters<SchoolsView['update']> | null = null;

  constructor(ctx: { openSchool: (id: string, from: SVGElement) => void }) {
    const stat = (k: keyof Summary, cls = '') => {
      const label = h('div', { class: 'stat-label' });
      const value = h('div', { class: 'stat-value' });
      return { el: h('div', { class: `stat ${cls}`, testid: `summary-${k}` }, value, label), label, value };
    };
    this.stats = {
      schools: stat('schools'),
      devicesOnline: stat('devicesOnline'),
      devicesTotal: stat('devicesTotal'),
      open: stat('open', 'stat-open'),
      escalated: stat('escalated', 'stat-escalated'),
    };
    const strip = h('div', { class: 'summary', testid: 'summary' }, this.stats.schools.el, this.stats.devicesOnline.el, this.stats.open.el, this.stats.escalated.el);
    this.map = new CountyMapView({ open: ctx.openSchool });
    let stored: string | null = null;
    try {
      stored = globalThis.localStorage?.getItem(SCHOOLS_MODE_KEY) ?? null;
    } catch {
      /* storage refused (a locked-down kiosk): the default */
    }
    this.mode = initialSchoolsMode(stored, globalThis.innerWidth ?? 0);
    const button = (m: SchoolsMode) =>
      h('button', { class: 'seg-btn', testid: `schools-view-${m}`, attrs: { type: 'button' }, on: { click: () => this.setMode(m) } });
    this.modeButtons = { list: button('list'), map: button('map') };
    const toggle = h('div', { class: 'seg', testid: 'schools-view', attrs: { role: 'group' } }, this.modeButtons.list, this.modeButtons.map);
    this.el = h('section', { class: 'pane schools-pane' }, strip, h('div', { class: 'pane-head' }, this.heading, toggle, this.legend), this.grid, this.map.el);
    this.showMode();
  }

  private setMode(m: SchoolsMode): void {
    this.mode = m;
    try {
      globalThis.localStorage?.setItem(SCHOOLS_MODE_KEY, m);
    } catch {
      /* not remembered: still switched */
    }
    this.showMode();
    if (this.last) this.update(...this.last);
  }

  private showMode(): void {
    const map = this.mode === 'map';
    this.grid.hidden = map;
    this.map.el.hidden = !map;
    this.legend.hidden = map; // the map has its own legend, with its shapes
    this.el.dataset.view = this.mode;
    for (const m of ['list', 'map'] as const) this.modeButtons[m].setAttribute('aria-pressed', String(this.mode === m));
  }

  update(schools: Record<string, SchoolStatus>, order: string[], sum: Summary, county?: { name: string; nameEn?: string; townships?: LayoutTownship[] }): void {
    this.last = [schools, order, sum, county];
    setText(this.heading, t('schools.heading'));
    setText(this.modeButtons.list, t('schools.view.list'));
    setText(this.modeButtons.map, t('schools.view.map'));
    this.modeButtons.list.parentElement?.setAttribute('aria-label', t('schools.view'));
    // Hidden, the map is not drawn (its layout waits until it is shown).
    if (this.mode === 'map') this.map.update(schools, order, county);
    setText(this.stats.schools.label, t('summary.schools'));
    setText(this.stats.schools.value, String(sum.schools));
    setText(this.stats.devicesOnline.label, t('summary.devices'));
    const dv = this.stats.devicesOnline.value;
    if (!dv.firstChild) dv.append(h('span', { class: 'num' }), h('span', { class: 'den' }));
    setText(dv.children[0], String(sum.devicesOnline));
    setText(dv.children[1], ` / ${sum.devicesTotal}`);
    this.stats.devicesOnline.el.classList.toggle('warn', sum.devicesOnline < sum.devicesTotal);
    setText(this.stats.open.label, t('summary.open'));
    setText(this.stats.open.value, String(sum.open));
    this.stats.open.el.classList.toggle('hot', sum.open > 0);
    setText(this.stats.escalated.label, t('summary.escalated'));
    setText(this.stats.escalated.value, String(sum.escalated));
    this.stats.escalated.el.classList.toggle('hot', sum.escalated > 0);

    const key = order.join(',');
    if (key !== this.order) {
      this.order = key;
      this.names = nameContext(order.map((id) => schools[id]).filter(Boolean), county?.name, county?.nameEn);
      this.grid.replaceChildren();
      this.tiles.clear();
      for (const id of order) {
        const name = h('div', { class: 'tile-name' });
        const region = h('div', { class: 'tile-region' });
        const devices = h('div', { class: 'tile-devices' });
        const alarms = h('div', { class: 'tile-alarms', testid: 'tile-alarms' });
        const el = h(
          'div',
          { class: 'tile', testid: 'school-tile', dataset: { schoolId: id } },
          // The alarm count sits in the foot, in the township's place: the name keeps the tile's whole width.
          h('div', { class: 'tile-head' }, name),
          h('div', { class: 'tile-foot' }, region, alarms, devices),
        );
        this.tiles.set(id, { el, name, region, devices, alarms });
        this.grid.append(el);
      }
    }
    let degraded = 0;
    for (const id of order) {
      const s = schools[id];
      const tile = this.tiles.get(id);
      if (!s || !tile) continue;
      setText(tile.name, shortSchoolName(s, this.names));
      tile.el.title = `${schoolName(s, s.id)} · ${s.region}`;
      setText(tile.devices, `${s.devices.online}/${s.devices.total}`);
      setText(tile.region, lang() === 'zh' ? s.region : '');
      setText(tile.alarms, s.openAlarms > 0 ? String(s.openAlarms) : '');
      tile.alarms.hidden = s.openAlarms === 0;
      const off = s.devices.online < s.devices.total;
      if (off) degraded += 1;
      tile.el.classList.toggle('alarm', s.openAlarms > 0);
      tile.el.classList.toggle('degraded', off);
      tile.el.dataset.openAlarms = String(s.openAlarms);
    }
    setText(this.legend, '');
    this.legend.replaceChildren(
      h('span', { class: 'lg lg-ok' }, t('legend.ok')),
      h('span', { class: 'lg lg-degraded' }, t('legend.degraded', { n: degraded })),
      h('span', { class: 'lg lg-alarm' }, t('legend.alarm')),
    );
  }
}
