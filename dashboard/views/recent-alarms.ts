/**
 * The console's recent alarms (issue #12): the newest alarms in any state, resolved ones too, from
 * `GET /api/alarms?state=all` (the wall holds open alarms only), each opening the alarm detail with
 * its history and pictures. Kept current while open by the alarm frames. Labels are zh-CN with the
 * English beside them, whatever the screen's language (as the shortcut help).
 */
import type { Alarm, AlarmState, SchoolStatus } from '../../gateway/contract/api.js';
import { formatTime, tk } from '../i18n.js';
import { fill, h, overlay } from './dom.js';
import { alarmSchool, alarmWhere, kindLabel } from './format.js';

/** How many the list asks for: a shift's worth; older ones are in the audit and the reports. */
export const RECENT_LIMIT = 100;

export type RecentFilter = 'all' | 'resolved' | 'open';

export interface RecentAlarmsContext {
  list: () => Promise<{ alarms: Alarm[] }>;
  schools: () => Record<string, SchoolStatus>;
  /** Opens the alarm detail over the list (Escape there comes back here). */
  openDetail: (alarm: Alarm) => void;
}

const FILTERS: { id: RecentFilter; zh: string; en: string }[] = [
  { id: 'all', zh: '全部', en: 'All' },
  { id: 'resolved', zh: '已解除', en: 'Resolved' },
  { id: 'open', zh: '未解除', en: 'Open' },
];

/** The alarms a filter keeps, newest first (as the gateway sent them). */
export function filterRecent(alarms: Alarm[], f: RecentFilter): Alarm[] {
  return f === 'all' ? alarms : alarms.filter((a) => (a.state === 'resolved') === (f === 'resolved'));
}

/** A newer view of one alarm merged into the list: replaced in place, or a new alarm on top. */
export function mergeRecent(alarms: Alarm[], a: Alarm): Alarm[] {
  const i = alarms.findIndex((x) => x.id === a.id);
  if (i < 0) return [a, ...alarms].slice(0, RECENT_LIMIT);
  if (alarms[i].history.length > a.history.length) return alarms; // older than what we hold
  const next = [...alarms];
  next[i] = a;
  return next;
}

export class RecentAlarmsView {
  readonly el: HTMLElement;
  private alarms: Alarm[] = [];
  private filter: RecentFilter = 'all';
  private status: 'loading' | 'ready' | 'error' = 'loading';
  private error = '';
  private returnFocus: HTMLElement | null = null;

  constructor(private readonly ctx: RecentAlarmsContext) {
    // The detail above us takes its own Escape.
    this.el = overlay('recent-overlay', 'recent-overlay', (ev) => {
      if (!(ev.target as HTMLElement | null)?.closest?.('.alarm-detail-overlay')) this.close();
    }, () => this.close());
  }

  get isOpen(): boolean {
    return !this.el.hidden;
  }

  open(): void {
    this.returnFocus = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    this.el.hidden = false;
    void this.load();
    this.el.querySelector<HTMLElement>('[data-testid="recent-close"]')?.focus();
  }

  close(): void {
    if (!this.isOpen) return;
    this.el.hidden = true;
    fill(this.el);
    if (this.returnFocus?.isConnected) this.returnFocus.focus();
    this.returnFocus = null;
  }

  /** An alarm frame: the row changes (or a new alarm appears) while the list is open. */
  onAlarm(a: Alarm): void {
    if (!this.isOpen || this.status !== 'ready') return;
    const next = mergeRecent(this.alarms, a);
    if (next === this.alarms) return;
    this.alarms = next;
    this.render();
  }

  private async load(): Promise<void> {
    this.status = 'loading';
    this.render();
    try {
      this.alarms = (await this.ctx.list()).alarms;
      this.status = 'ready';
    } catch (err) {
      this.status = 'error';
      this.error = err instanceof Error ? err.message : String(err);
    }
    if (this.isOpen) this.render();
  }

  private render(): void {
    const focused = (document.activeElement as HTMLElement | null)?.dataset?.testid;
    const shown = filterRecent(this.alarms, this.filter);
    const schools = this.ctx.schools();
    fill(
      this.el,
      h(
        'section',
        { class: 'drill recent-alarms', testid: 'recent-alarms', dataset: { status: this.status }, attrs: { role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'recent-title' } },
        h(
          'div',
          { class: 'drill-head' },
          h('h2', { class: 'drill-title', attrs: { id: 'recent-title' } }, '近期报警', h('span', { class: 'alt' }, 'Recent alarms')),
          h(
            'div',
            { class: 'recent-filters', attrs: { role: 'group', 'aria-label': '筛选 Filter' } },
            ...FILTERS.map((f) =>
              h(
                'button',
                { class: `btn btn-ghost recent-filter${f.id === this.filter ? ' on' : ''}`, testid: `recent-filter-${f.id}`, attrs: { type: 'button', 'aria-pressed': f.id === this.filter ? 'true' : 'false' }, on: { click: () => this.setFilter(f.id) } },
                f.zh,
                h('span', { class: 'alt' }, f.en),
              ),
            ),
            h('button', { class: 'btn btn-ghost', testid: 'recent-refresh', attrs: { type: 'button' }, on: { click: () => void this.load() } }, '刷新', h('span', { class: 'alt' }, 'Refresh')),
          ),
          h('button', { class: 'btn btn-ghost', testid: 'recent-close', attrs: { type: 'button' }, on: { click: () => this.close() } }, '关闭', h('span', { class: 'alt' }, 'Close')),
        ),
        this.status === 'loading' && h('div', { class: 'recent-empty' }, '加载中…', h('span', { class: 'alt' }, 'Loading…')),
        this.status === 'error' && h('div', { class: 'note-error', attrs: { role: 'alert' } }, '无法读取报警：', this.error, h('span', { class: 'alt' }, 'Could not load the alarms')),
        this.status === 'ready' && shown.length === 0 && h('div', { class: 'recent-empty', testid: 'recent-empty' }, '没有符合条件的报警', h('span', { class: 'alt' }, 'No alarms match')),
        this.status === 'ready' &&
          shown.length > 0 &&
          h(
            'ol',
            { class: 'recent-list', testid: 'recent-list' },
            ...shown.map((a) =>
              h(
                'li',
                { class: 'recent-row' },
                h(
                  'button',
                  { class: 'recent-open', testid: 'recent-row', dataset: { alarmId: a.id, state: a.state }, attrs: { type: 'button' }, on: { click: () => this.ctx.openDetail(a) } },
                  h('span', { class: 'recent-time' }, formatTime(a.raisedAt, true)),
                  h('span', { class: `state-pill state-${a.state}` }, tk('state', a.state as AlarmState)),
                  h('span', { class: 'recent-kind' }, kindLabel(a.kind), a.test ? ' · 测试 test' : ''),
                  h('span', { class: 'recent-where' }, alarmSchool(a, schools), ' · ', alarmWhere(a)),
                  h('span', { class: 'recent-by' }, lastBy(a)),
                ),
              ),
            ),
          ),
        h('p', { class: 'recent-foot' }, `最近 ${RECENT_LIMIT} 条，按报警时间由新到旧`, h('span', { class: 'alt' }, `The newest ${RECENT_LIMIT}, newest first`)),
      ),
    );
    if (focused) this.el.querySelector<HTMLElement>(`[data-testid="${focused}"]`)?.focus();
  }

  private setFilter(f: RecentFilter): void {
    this.filter = f;
    this.render();
  }
}

/** Who took the last step (a note on its own is not a step). */
function lastBy(a: Alarm): string {
  const last = a.history.filter((e) => e.action !== 'note' && e.state !== 'raised').at(-1);
  return last?.by ?? '';
}
