/**
 * The console's tool bar (issue #12): 近期报警 Recent alarms for everyone signed in, 大屏终端
 * Wall screens for admins only (kiosk admin). One place that builds both dialogs, so the App
 * only places `bar` and `overlays` and forwards alarm frames.
 */
import type { Alarm, Role, SchoolStatus } from '../../gateway/contract/api.js';
import type { Api } from '../api.js';
import '../console-tools.css';
import { h } from './dom.js';
import { KioskAdminView } from './kiosk-admin.js';
import { RECENT_LIMIT, RecentAlarmsView } from './recent-alarms.js';

export interface ConsoleToolsContext {
  api: Api;
  role: () => Role | undefined;
  schools: () => Record<string, SchoolStatus>;
  openDetail: (alarm: Alarm) => void;
}

export class ConsoleTools {
  readonly bar: HTMLElement;
  readonly recent: RecentAlarmsView;
  readonly kiosks: KioskAdminView | null;

  constructor(ctx: ConsoleToolsContext) {
    this.recent = new RecentAlarmsView({ list: () => ctx.api.alarms({ state: 'all', limit: RECENT_LIMIT }), schools: ctx.schools, openDetail: ctx.openDetail });
    // Non-admins are not offered it at all (the gateway would answer 403 anyway).
    this.kiosks =
      ctx.role() === 'admin'
        ? new KioskAdminView({ list: () => ctx.api.kiosks(), issue: (name, school) => ctx.api.issueKiosk(name, school), revoke: (id) => ctx.api.revokeKiosk(id), schools: ctx.schools })
        : null;
    this.bar = h(
      'nav',
      { class: 'console-tools', testid: 'console-tools', attrs: { 'aria-label': '操作台工具 Console tools' } },
      h('button', { class: 'btn btn-ghost console-tool', testid: 'open-recent', attrs: { type: 'button' }, on: { click: () => this.recent.open() } }, '近期报警', h('span', { class: 'alt' }, 'Recent alarms')),
      this.kiosks &&
        h('button', { class: 'btn btn-ghost console-tool', testid: 'open-kiosk-admin', attrs: { type: 'button' }, on: { click: () => this.kiosks?.open() } }, '大屏终端', h('span', { class: 'alt' }, 'Wall screens')),
    );
  }

  get overlays(): HTMLElement[] {
    return [this.recent.el, ...(this.kiosks ? [this.kiosks.el] : [])];
  }

  onAlarm(a: Alarm): void {
    this.recent.onAlarm(a);
  }
}
