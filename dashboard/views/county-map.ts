/**
 * The county at a glance: a schematic SVG map (no map tiles: command centers sit on closed
 * networks) of the townships and their schools. Each school is a marker whose shape and colour
 * both tell its state (circle: normal, diamond: devices offline, triangle: alarm, pulsing); a
 * school in alarm carries its name. Markers are focusable buttons: click, Enter or Space opens
 * the school's six targets. Self-contained: give it the schools and the county, it draws.
 */
import type { SchoolStatus } from '../../gateway/contract/api.js';
import { lang, t } from '../i18n.js';
import { countyMap, layoutFor, type CountyMapModel, type MapMarker, type MarkerState } from '../state/county-map.js';
import type { LayoutTownship, MapLayout } from '../state/map-layout.js';
import { MARKER_R } from '../state/map-layout.js';
import { h, setText } from './dom.js';
import { nameContext, schoolName, shortSchoolName, type NameContext } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';

function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, ...children: (Node | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** Each state's shape, centred on (0, 0), within MARKER_R. */
const R = MARKER_R;
const SHAPES: Record<MarkerState, string> = {
  normal: `M ${-R * 0.72} 0 a ${R * 0.72} ${R * 0.72} 0 1 0 ${R * 1.44} 0 a ${R * 0.72} ${R * 0.72} 0 1 0 ${-R * 1.44} 0 Z`,
  offline: `M 0 ${-R} L ${R} 0 L 0 ${R} L ${-R} 0 Z`,
  alarm: `M 0 ${-R} L ${R * 0.98} ${R * 0.72} L ${-R * 0.98} ${R * 0.72} Z`,
};

/** A legend swatch: the same shape as on the map. */
function swatch(state: MarkerState): SVGSVGElement {
  return s('svg', { class: `map-swatch state-${state}`, viewBox: `${-R * 1.1} ${-R * 1.1} ${R * 2.2} ${R * 2.2}`, 'aria-hidden': 'true' }, s('path', { class: 'map-shape', d: SHAPES[state] }));
}

interface MarkerEls {
  g: SVGGElement;
  shape: SVGPathElement;
  title: SVGTitleElement;
  label: SVGTextElement;
}

export interface CountyMapContext {
  /** A school was chosen (click, Enter, Space): what choosing a school does on the wall. */
  open: (school: string, from: SVGElement) => void;
}

export class CountyMapView {
  readonly el: HTMLElement;
  private readonly svg = s('svg', { class: 'map-svg', role: 'group', preserveAspectRatio: 'xMidYMid meet' });
  private readonly areas = s('g', { class: 'map-townships' });
  private readonly marks = s('g', { class: 'map-markers' });
  private readonly legend = h('div', { class: 'map-legend', testid: 'county-map-legend' });
  private layout: MapLayout | null = null;
  private layoutKey = '';
  private markers = new Map<string, MarkerEls>();
  private names: NameContext = { prefixZh: '', prefixEn: '' };
  private drawn: Record<string, SchoolStatus> | null = null;
  private legendKey = '';

  constructor(private readonly ctx: CountyMapContext) {
    this.svg.append(this.areas, this.marks);
    this.el = h('div', { class: 'county-map', testid: 'county-map' }, this.svg, this.legend);
  }

  update(schools: Record<string, SchoolStatus>, order: string[], county?: { name: string; nameEn?: string; townships?: LayoutTownship[] }): void {
    const key = `${order.join(',')}|${JSON.stringify(county?.townships ?? null)}|${lang()}`;
    const rebuilt = key !== this.layoutKey;
    if (rebuilt) {
      this.layoutKey = key;
      this.layout = layoutFor(schools, order, county?.townships);
      this.names = nameContext(order.map((id) => schools[id]).filter(Boolean), county?.name, county?.nameEn);
      this.build(schools);
    }
    // The state is immutable: the same schools object draws the same map (a render for any other frame costs nothing here).
    if (!this.layout || (schools === this.drawn && !rebuilt)) return;
    this.drawn = schools;
    this.draw(countyMap(this.layout, schools), schools);
  }

  private build(schools: Record<string, SchoolStatus>): void {
    const layout = this.layout!;
    const b = layout.bounds;
    this.svg.setAttribute('viewBox', `${b.x} ${b.y} ${b.w} ${b.h}`);
    this.svg.setAttribute('aria-label', t('map.label'));
    this.areas.replaceChildren(
      ...layout.townships.map((tw) =>
        s(
          'g',
          { class: 'map-township', 'data-township': tw.name },
          s('circle', { class: 'map-area', cx: tw.x, cy: tw.y, r: tw.r }),
          s('text', { class: 'map-township-name', x: tw.x, y: tw.y - tw.r - 0.8, 'text-anchor': 'middle' }, lang() === 'en' && tw.nameEn ? tw.nameEn : tw.name),
        ),
      ),
    );
    this.markers.clear();
    this.marks.replaceChildren();
    for (const p of layout.schools) {
      const school = schools[p.id];
      if (!school) continue;
      const title = s('title');
      const shape = s('path', { class: 'map-shape' });
      const label = s('text', { class: 'map-label', y: R + 2.2, 'text-anchor': 'middle' }, shortSchoolName(school, this.names));
      const g = s(
        'g',
        { class: 'map-school', transform: `translate(${p.x} ${p.y})`, tabindex: 0, role: 'button', 'data-testid': 'map-school', 'data-school-id': p.id },
        title,
        // The pulse ring (alarm only); a still ring when the viewer asks for reduced motion.
        s('circle', { class: 'map-pulse', r: R * 1.9 }),
        // A bigger transparent target: easier to hit with the mouse than the shape alone.
        s('circle', { class: 'map-hit', r: R * 1.2 }),
        shape,
        label,
      );
      const open = () => this.ctx.open(p.id, g);
      g.addEventListener('click', open);
      g.addEventListener('keydown', (e) => {
        if (e.key !== 'Enter' && e.key !== ' ') return;
        e.preventDefault();
        open();
      });
      this.markers.set(p.id, { g, shape, title, label });
      this.marks.append(g);
    }
  }

  private draw(model: CountyMapModel, schools: Record<string, SchoolStatus>): void {
    for (const tw of model.townships) {
      const g = this.areas.querySelector(`[data-township="${CSS.escape(tw.name)}"]`);
      g?.classList.toggle('hot', tw.alarms > 0);
    }
    const raised: SVGGElement[] = [];
    for (const m of model.markers) {
      const els = this.markers.get(m.id);
      const school = schools[m.id];
      if (!els || !school) continue;
      if (els.g.dataset.state !== m.state) {
        if (m.state === 'alarm') raised.push(els.g);
        els.g.dataset.state = m.state;
        els.g.setAttribute('class', `map-school state-${m.state}`);
        els.shape.setAttribute('d', SHAPES[m.state]);
      }
      const words = `${schoolName(school, school.id)} · ${school.region} · ${stateWords(m)}`;
      setText(els.title, `${words}\n${t('map.open')}`);
      if (els.g.getAttribute('aria-label') !== words) els.g.setAttribute('aria-label', words);
      if (els.g.dataset.openAlarms !== String(m.openAlarms)) els.g.dataset.openAlarms = String(m.openAlarms);
      if (els.g.classList.contains('labelled') !== m.labelled) els.g.classList.toggle('labelled', m.labelled);
    }
    // A school that goes into alarm is drawn last: on top of its neighbours, its name readable.
    // (Moved only then: moving a node drops its focus.)
    for (const g of raised) this.marks.append(g);
    const legendKey = `${lang()}|${model.counts.alarm}|${model.counts.offline}|${model.counts.normal}`;
    if (legendKey === this.legendKey) return;
    this.legendKey = legendKey;
    this.legend.replaceChildren(
      ...(['alarm', 'offline', 'normal'] as const).map((st) =>
        h('span', { class: `map-lg state-${st}`, dataset: { state: st } }, swatch(st), t(`map.legend.${st}`, { n: model.counts[st] })),
      ),
    );
  }
}

function stateWords(m: MapMarker): string {
  if (m.state === 'alarm') return t('map.state.alarm', { n: m.openAlarms });
  if (m.state === 'offline') return t('map.state.offline', { off: m.devicesTotal - m.devicesOnline, total: m.devicesTotal });
  return t('map.state.normal', { total: m.devicesTotal });
}
