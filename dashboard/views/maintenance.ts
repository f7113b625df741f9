/**
 * The maintenance panel (issue 4): alarm buttons and cameras that are down now, with "down since"
 * timers, and — for maintenance, operator and admin — the worst cameras by uptime and the per-zone
 * uptime. A quiet panel on purpose: maintenance alarms rank below panic, so no pop-up, no sound,
 * no red, no flashing.
 */
import type { SchoolStatus } from '../../gateway/contract/api.js';
import { duration, formatTime, lang, t, tk } from '../i18n.js';
import type { DownDevice } from '../state/maintenance.js';
import { percent, ratioLevel, worstCameras, zoneFigures, type UptimeReport } from '../uptime.js';
import { fill, h, reconcile, setText } from './dom.js';
import { nameContext, type NameContext } from './format.js';

/** What the uptime part shows: nothing (viewer, or 403), loading, an error, or the report. */
export type UptimeView = { state: 'off' } | { state: 'loading' } | { state: 'error' } | { state: 'ok'; report: UptimeReport };

export interface MaintenanceModel {
  down: DownDevice[];
  schools: Record<string, SchoolStatus>;
  schoolOrder: string[];
  county?: { name: string; nameEn?: string };
  uptime: UptimeView;
}

export interface MaintenanceContext {
  /** The registry's English name of a device, when known (the maintenance alarm carries the Chinese one). */
  nameEn: (deviceId: string) => string | undefined;
  /** Downloads the 7-day uptime CSV; rejects with a message on failure. */
  exportCsv: () => Promise<void>;
}

/** At most this many rows are built (before the list's room is known); the panel shows what fits and "+N more". */
const MAX_ROWS = 40;
const WORST = 5;

const SVG_NS = 'http://www.w3.org/2000/svg';

function svg(viewBox: string, ...shapes: [string, Record<string, string>][]): SVGSVGElement {
  const el = document.createElementNS(SVG_NS, 'svg');
  el.setAttribute('viewBox', viewBox);
  el.setAttribute('aria-hidden', 'true');
  for (const [tag, attrs] of shapes) {
    const s = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) s.setAttribute(k, v);
    el.append(s);
  }
  return el;
}

/** Drawn, not an emoji: a wall PC has no emoji font. */
function kindIcon(kind: string): SVGSVGElement {
  if (kind === 'camera')
    return svg(
      '0 0 24 24',
      ['rect', { x: '1.5', y: '6', width: '14.5', height: '12', rx: '2.5', fill: 'currentColor' }],
      ['path', { d: 'M17.5 10.2 22.5 7v10l-5-3.2z', fill: 'currentColor' }],
    );
  return svg(
    '0 0 24 24',
    ['circle', { cx: '12', cy: '12', r: '10', fill: 'none', stroke: 'currentColor', 'stroke-width': '2.2' }],
    ['circle', { cx: '12', cy: '12', r: '5.5', fill: 'currentColor' }],
  );
}

/** The school without the county prefix every school shares ("示范县第二中学" → "第二中学"). */
function schoolLabel(s: SchoolStatus | undefined, fallback: string, names: NameContext): string {
  if (!s) return fallback;
  if (lang() === 'en' && s.nameEn) return names.prefixEn && s.nameEn.startsWith(names.prefixEn) ? s.nameEn.slice(names.prefixEn.length) : s.nameEn;
  return names.prefixZh && s.name.startsWith(names.prefixZh) && s.name.length > names.prefixZh.length ? s.name.slice(names.prefixZh.length) : s.name;
}

/** "09:12:03", or "11-23 09:12" when not today. */
export function sinceLabel(iso: string, now: number): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const today = new Date(now);
  if (d.toDateString() === today.toDateString()) return formatTime(d);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

const downFor = (since: string, now: number): string => t('maint.downFor', { d: duration(now - Date.parse(since)) });

export class MaintenanceView {
  readonly el: HTMLElement;
  private readonly title = h('h2', { class: 'pane-title' });
  private readonly count = h('span', { class: 'count-badge maint-count', testid: 'maint-count' });
  private readonly split = h('span', { class: 'maint-split', testid: 'maint-split' });
  private readonly exportBtn: HTMLButtonElement;
  private readonly list = h('div', { class: 'down-list', testid: 'maint-down-list', attrs: { role: 'list' } });
  private readonly more = h('div', { class: 'down-more', testid: 'maint-more', hidden: true });
  private readonly uptimeEl = h('div', { class: 'maint-uptime', testid: 'uptime-section', hidden: true });
  private readonly uptimeHeadRow = h('div', { class: 'uptime-head', hidden: true });
  private readonly uptimeHead = h('div', { class: 'maint-subhead' });
  private readonly zones = h('div', { class: 'zone-figs', testid: 'uptime-zones' });
  private readonly worst = h('ol', { class: 'worst-list', testid: 'uptime-worst' });
  private uptimeKey = '';
  /** The rows built, by maintenance alarm id, with what each was drawn from: kept while that is the same. */
  private readonly rows = new Map<string, { el: HTMLElement; sig: string }>();
  /** How many rows the list has room for; measured after a paint, never in the middle of a render. */
  private capacity = MAX_ROWS;
  private measureQueued = false;
  private lastSchools: Record<string, SchoolStatus> = {};
  private names: NameContext = { prefixZh: '', prefixEn: '' };
  private namesKey = '';
  private exporting = false;
  private exportNote: string | null = null;
  private lastDown: DownDevice[] = [];

  constructor(private readonly ctx: MaintenanceContext) {
    this.exportBtn = h('button', {
      class: 'btn btn-ghost btn-export',
      testid: 'uptime-export',
      attrs: { type: 'button' },
      hidden: true,
      on: { click: () => void this.doExport() },
    });
    this.uptimeHeadRow.append(this.uptimeHead, this.exportBtn);
    this.uptimeEl.append(this.zones, this.worst);
    // A 2 × 2 grid: [title | uptime heading + export] over [down list | worst cameras]; one column without uptime.
    this.el = h(
      'section',
      { class: 'pane maint-pane', testid: 'maintenance-panel' },
      h('div', { class: 'pane-head maint-head' }, this.title, this.count, this.split),
      this.uptimeHeadRow,
      h('div', { class: 'maint-down' }, this.list, this.more),
      this.uptimeEl,
    );
    // Show what fits: measured again whenever the list's size changes (the screen, the uptime part
    // appearing, the "+N" line taking its room).
    if (typeof ResizeObserver !== 'undefined') new ResizeObserver(() => this.measureSoon()).observe(this.list);
    // Row heights change once the web font is in.
    void document.fonts?.ready.then(() => this.measureSoon());
  }

  /** Device names changed (the English ones arrived): draw the rows again at the next update. */
  namesChanged(): void {
    this.rows.clear();
    this.uptimeKey = '';
  }

  update(m: MaintenanceModel, force = false): void {
    const now = Date.now();
    setText(this.title, t('maint.heading'));
    const buttons = m.down.filter((d) => d.deviceKind === 'alarm_button').length;
    const cameras = m.down.filter((d) => d.deviceKind === 'camera').length;
    setText(this.count, String(m.down.length));
    this.count.classList.toggle('warn', m.down.length > 0);
    setText(this.split, m.down.length ? t('maint.split', { b: buttons, c: cameras }) : '');
    this.split.classList.toggle('has-buttons', buttons > 0);

    const nk = `${m.schoolOrder.join(',')}|${m.county?.name ?? ''}`;
    if (nk !== this.namesKey) {
      this.namesKey = nk;
      this.names = nameContext(m.schoolOrder.map((id) => m.schools[id]).filter(Boolean), m.county?.name, m.county?.nameEn);
      force = true;
    }

    // The down list: only the rows that fit, each built again only when what it shows changed (the
    // timers tick on their own). A device going down adds one row; the others stay as they are.
    if (force) this.rows.clear();
    this.lastDown = m.down;
    this.lastSchools = m.schools;
    this.drawList(now);

    // The uptime part.
    const u = m.uptime;
    const visible = u.state !== 'off';
    const layoutChanged = this.uptimeEl.hidden === visible;
    this.uptimeEl.hidden = !visible;
    this.uptimeHeadRow.hidden = !visible;
    this.exportBtn.hidden = !visible;
    this.el.classList.toggle('with-uptime', visible);
    if (!this.exporting) setText(this.exportBtn, this.exportNote ?? t('uptime.export'));
    this.exportBtn.title = t('uptime.exportTitle');
    if (visible) this.renderUptime(u, m.schools, force);
    if (layoutChanged) this.measureSoon();
  }

  private drawList(now: number): void {
    const down = this.lastDown;
    if (!down.length) {
      this.rows.clear();
      if (!this.list.querySelector('.down-none')) fill(this.list, h('div', { class: 'down-none', testid: 'maint-none' }, t('maint.none')));
      else setText(this.list.firstElementChild, t('maint.none'));
      this.setMore(0);
      return;
    }
    const shown = down.slice(0, Math.min(this.capacity, MAX_ROWS));
    const els = shown.map((d) => {
      const sig = `${lang()}|${d.since}|${d.reason}|${d.flaps}|${d.deviceName}|${d.zone ?? ''}|${this.lastSchools[d.school]?.name ?? ''}`;
      const built = this.rows.get(d.id);
      if (built?.sig === sig) return built.el;
      const el = this.row(d, this.lastSchools, now);
      this.rows.set(d.id, { el, sig });
      return el;
    });
    if (this.rows.size > shown.length) {
      const ids = new Set(shown.map((d) => d.id));
      for (const id of this.rows.keys()) if (!ids.has(id)) this.rows.delete(id);
    }
    reconcile(this.list, els);
    this.setMore(down.length - shown.length);
    this.measureSoon();
  }

  /**
   * Measures the list's room after the next paint, when the layout is clean and reading it costs
   * nothing (issue #12: reading it in the middle of the render forced a layout of the whole wall,
   * which the frame then did again), and draws again if the room is not what the rows assumed.
   */
  private measureSoon(): void {
    if (this.measureQueued) return;
    this.measureQueued = true;
    requestAnimationFrame(() =>
      setTimeout(() => {
        this.measureQueued = false;
        const room = this.room();
        if (room !== null && room !== this.capacity) {
          this.capacity = room;
          this.drawList(Date.now());
        }
      }, 0),
    );
  }

  /** How many rows fit in the list as laid out now; null when it cannot be told (no rows, not shown). */
  private room(): number | null {
    const rows = [...this.list.querySelectorAll<HTMLElement>('.down-row')];
    const avail = this.list.clientHeight;
    if (!rows.length || avail === 0) return null;
    const bottom = (r: HTMLElement) => r.offsetTop + r.offsetHeight;
    const inside = rows.findIndex((r) => bottom(r) > avail + 1);
    if (inside >= 0) return Math.max(1, inside);
    // All drawn rows fit: while more are waiting, count the lines of rows that the space below would hold.
    if (rows.length >= this.lastDown.length) return this.capacity;
    const perLine = Math.max(1, rows.filter((r) => r.offsetTop === rows[0].offsetTop).length);
    const last = rows[rows.length - 1];
    const pitch = last.offsetHeight + (parseFloat(getComputedStyle(this.list).rowGap) || 0);
    const lines = Math.floor((avail - bottom(last) + 1) / pitch);
    // The last line's free places, then whole lines below it.
    const openInLine = (perLine - (rows.length % perLine)) % perLine;
    return rows.length + openInLine + lines * perLine;
  }

  /** Once a second: the "down for" timers. */
  tick(now: number): void {
    for (const el of this.list.querySelectorAll<HTMLElement>('.down-elapsed[data-since]')) setText(el, downFor(el.dataset.since ?? '', now));
  }

  private row(d: DownDevice, schools: Record<string, SchoolStatus>, now: number): HTMLElement {
    const name = (lang() === 'en' && this.ctx.nameEn(d.device)) || d.deviceName || d.device;
    const kind = tk('device', d.deviceKind);
    const kindText = d.zone ? `${kind} · ${tk('zone', d.zone)}` : kind;
    return h(
      'div',
      {
        class: `down-row kind-${d.deviceKind}`,
        testid: 'maint-row',
        dataset: { device: d.device, kind: d.deviceKind, reason: d.reason, maintenanceId: d.id },
        attrs: { role: 'listitem' },
        title: `${d.device} · ${d.deviceName}`,
      },
      h('span', { class: 'down-icon' }, kindIcon(d.deviceKind)),
      h(
        'div',
        { class: 'down-main' },
        h(
          'div',
          { class: 'down-l1' },
          h('span', { class: 'down-name', testid: 'maint-device' }, name),
          h('span', { class: 'down-elapsed', testid: 'maint-elapsed', dataset: { since: d.since } }, downFor(d.since, now)),
        ),
        h(
          'div',
          { class: 'down-l2' },
          h('span', { class: 'down-kind' }, kindText),
          h('span', { class: 'down-school', testid: 'maint-school' }, schoolLabel(schools[d.school], d.school, this.names)),
          h('span', { class: `reason reason-${d.reason}`, testid: 'maint-reason' }, tk('reason', d.reason)),
          h('span', { class: 'down-since', testid: 'maint-since' }, t('maint.since', { t: sinceLabel(d.since, now) })),
          d.flaps > 0 && h('span', { class: 'flaps', testid: 'maint-flaps' }, t('maint.flaps', { n: d.flaps })),
        ),
      ),
    );
  }

  private setMore(n: number): void {
    this.more.hidden = n <= 0;
    setText(this.more, n > 0 ? t('maint.more', { n }) : '');
  }

  private renderUptime(u: UptimeView, schools: Record<string, SchoolStatus>, force: boolean): void {
    const report = u.state === 'ok' ? u.report : null;
    const key = `${lang()}|${u.state}|${report ? `${report.to}` : ''}`;
    if (key === this.uptimeKey && !force) return;
    this.uptimeKey = key;
    setText(this.uptimeHead, t('uptime.heading'));
    fill(
      this.zones,
      ...zoneFigures(report).map((z) =>
        h(
          'div',
          { class: `zone-fig level-${ratioLevel(z.ratio)}`, testid: 'uptime-zone', dataset: { zone: z.zone } },
          h('span', { class: 'zone-label' }, tk('zone', z.zone)),
          h('span', { class: 'zone-value' }, percent(z.ratio)),
        ),
      ),
    );
    this.zones.title = t('uptime.zones');
    if (u.state !== 'ok') {
      fill(this.worst, h('li', { class: 'worst-note' }, t(u.state === 'loading' ? 'uptime.loading' : 'uptime.unavailable')));
      return;
    }
    const worst = worstCameras(report, WORST);
    if (!worst.length) {
      fill(this.worst, h('li', { class: 'worst-note ok' }, t('uptime.allUp')));
      return;
    }
    fill(
      this.worst,
      ...worst.map((c) => {
        const name = (lang() === 'en' && this.ctx.nameEn(c.id)) || c.name || c.id;
        const bits = [schoolLabel(schools[c.school], c.school, this.names), t('uptime.outages', { n: c.outages })];
        if (c.mttrMs !== null) bits.push(t('uptime.mttr', { d: duration(c.mttrMs) }));
        return h(
          'li',
          { class: `worst-row level-${ratioLevel(c.ratio)}${c.down ? ' down' : ''}`, testid: 'uptime-camera', dataset: { camera: c.id }, title: `${c.id} · ${c.name}` },
          h('div', { class: 'worst-l1' }, h('span', { class: 'worst-name' }, name), h('span', { class: 'worst-ratio', testid: 'uptime-ratio' }, percent(c.ratio))),
          h('div', { class: 'worst-l2' }, bits.join(' · ')),
        );
      }),
    );
  }

  private async doExport(): Promise<void> {
    if (this.exporting) return;
    this.exporting = true;
    this.exportBtn.disabled = true;
    setText(this.exportBtn, t('uptime.exporting'));
    try {
      await this.ctx.exportCsv();
      this.exportNote = null;
      this.exportBtn.removeAttribute('data-error');
    } catch (err) {
      this.exportNote = t('uptime.exportFailed');
      this.exportBtn.dataset.error = err instanceof Error ? err.message : String(err);
      setTimeout(() => {
        this.exportNote = null;
        if (!this.exporting) setText(this.exportBtn, t('uptime.export'));
      }, 4000);
    } finally {
      this.exporting = false;
      this.exportBtn.disabled = false;
      setText(this.exportBtn, this.exportNote ?? t('uptime.export'));
    }
  }
}
