/**
 * The alarm list during a flood (ISA-18.2, issue #12): a banner that says so in words (报警泛滥 ·
 * Alarm flood, with its counts), and the open alarms grouped by school. A group's header shows the
 * school, how many alarms, the newest time and its states in words; it expands to the school's
 * cards (the same cards and actions as the normal list). Nothing is hidden or dropped: every open
 * alarm is in exactly one group, and the group counts add up to the open count in the pane head.
 * The group holding the most urgent alarms is open from the start; the operator opens the others.
 */
import type { Alarm, SchoolStatus } from '../../gateway/contract/api.js';
import { ct } from '../i18n-charts.js';
import { formatTime, stateLabel, t } from '../i18n.js';
import { groupBySchool, stateCounts, type FloodInfo, type SchoolGroup } from '../state/flood.js';
import { AlarmListView, type AlarmListContext } from './alarms.js';
import { fill, h, setText, warnIcon } from './dom.js';
import { schoolName } from './format.js';

interface GroupView {
  el: HTMLElement;
  head: HTMLButtonElement;
  list: AlarmListView;
  /** The operator's choice; undefined: the default (the first group open). */
  expanded?: boolean;
}

export class FloodView {
  /** The banner (over the list). */
  readonly banner: HTMLElement;
  /** The grouped list (in place of the normal list). */
  readonly el: HTMLElement;
  private readonly bannerText = h('span', { class: 'flood-detail', testid: 'flood-detail' });
  private readonly bannerTitle = h('strong', { class: 'flood-title' });
  private readonly groups = new Map<string, GroupView>();

  constructor(
    private readonly ctx: AlarmListContext,
    /** A group was opened or closed: draw again. */
    private readonly onToggle: () => void,
  ) {
    this.banner = h('div', { class: 'flood-banner', testid: 'flood-banner', hidden: true, attrs: { role: 'status', 'aria-live': 'polite' } }, warnIcon('big'), this.bannerTitle, this.bannerText);
    this.el = h('div', { class: 'flood-groups', testid: 'flood-groups', hidden: true });
  }

  /** Shows or hides the flood; answers whether the grouped list is shown (the normal list is then hidden). */
  update(flood: FloodInfo, alarms: Alarm[], schools: Record<string, SchoolStatus>): boolean {
    const on = flood.active;
    this.banner.hidden = !on;
    this.el.hidden = !on;
    document.body.classList.toggle('flood-on', on);
    if (!on) {
      if (this.groups.size) {
        for (const g of this.groups.values()) g.el.remove();
        this.groups.clear();
      }
      return false;
    }
    const groups = groupBySchool(alarms, schools);
    setText(this.bannerTitle, `${ct('flood.title', undefined, 'zh')} · ${ct('flood.title', undefined, 'en')}`);
    setText(
      this.bannerText,
      ct('flood.detail', {
        window: flood.windowSec % 60 === 0 ? ct('flood.window.min', { n: flood.windowSec / 60 }) : ct('flood.window.sec', { n: flood.windowSec }),
        count: flood.count,
        threshold: flood.threshold,
        since: flood.since ? formatTime(flood.since) : '—',
        schools: groups.length,
        open: alarms.length,
      }),
    );
    this.banner.dataset.count = String(flood.count);
    this.el.dataset.total = String(alarms.length);
    this.el.dataset.groups = String(groups.length);

    const seen = new Set<string>();
    groups.forEach((g, i) => {
      seen.add(g.school);
      let v = this.groups.get(g.school);
      if (!v) {
        const list = new AlarmListView(this.ctx, false);
        list.el.dataset.testid = 'flood-group-list'; // not a second `alarm-list`: that one is the plain list
        const head = h('button', { class: 'flood-group-head', testid: 'flood-group-head', attrs: { type: 'button' } });
        const el = h('section', { class: 'flood-group', testid: 'flood-group', dataset: { schoolId: g.school } }, head, list.el);
        const view: GroupView = { el, head, list };
        head.addEventListener('click', () => {
          view.expanded = !this.isExpanded(view, el.dataset.first === '1');
          this.onToggle();
        });
        v = view;
        this.groups.set(g.school, v);
      }
      v.el.dataset.first = i === 0 ? '1' : '0';
      this.drawGroup(v, g, schools);
      if (this.el.children[i] !== v.el) this.el.insertBefore(v.el, this.el.children[i] ?? null);
    });
    for (const [school, v] of this.groups) if (!seen.has(school)) v.el.remove(), this.groups.delete(school);
    return true;
  }

  private isExpanded(v: GroupView, first: boolean): boolean {
    return v.expanded ?? first;
  }

  private drawGroup(v: GroupView, g: SchoolGroup, schools: Record<string, SchoolStatus>): void {
    const open = this.isExpanded(v, v.el.dataset.first === '1');
    v.el.dataset.count = String(g.count);
    v.el.dataset.expanded = String(open);
    v.el.classList.toggle('urgent', g.urgent > 0);
    v.head.setAttribute('aria-expanded', String(open));
    const s = schools[g.school];
    const name = s ? schoolName(s, g.schoolName) : g.schoolName;
    const states = Object.entries(stateCounts(g.alarms))
      .map(([st, n]) => `${stateLabel(st as Alarm['state'])} ${n}`)
      .join(' · ');
    fill(
      v.head,
      h('span', { class: 'flood-chevron', attrs: { 'aria-hidden': 'true' } }, open ? '▾' : '▸'),
      h('span', { class: 'flood-school', testid: 'flood-group-school' }, name),
      h('span', { class: 'flood-count', testid: 'flood-group-count' }, ct('flood.group.count', { n: g.count })),
      g.urgent > 0 && h('span', { class: 'esc-badge' }, ct('flood.group.urgent', { n: g.urgent })),
      h('span', { class: 'flood-states' }, states),
      h('span', { class: 'spacer' }),
      h('span', { class: 'flood-newest', testid: 'flood-group-newest' }, ct('flood.group.newest', { time: formatTime(g.newest) })),
      h('span', { class: 'flood-toggle' }, open ? ct('flood.group.collapse') : ct('flood.group.expand')),
    );
    v.list.el.hidden = !open;
    // Cards are drawn even while collapsed: expanding is then instant and the elapsed timers stay right.
    v.list.update(g.alarms, t('alarms.none'));
  }

  tick(now: number): void {
    for (const v of this.groups.values()) if (!v.list.el.hidden) v.list.tick(now);
  }
}
