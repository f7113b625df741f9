/** A strip of recent events along the bottom: devices going offline/online, canteen AI events, alarm changes. */
import type { SchoolStatus } from '../../gateway/contract/api.js';
import { formatTime, stateLabel, t, tk } from '../i18n.js';
import type { Activity } from '../state/activity.js';
import { fill, h } from './dom.js';
import { kindLabel, schoolName } from './format.js';

const SHOWN = 12;

export class TickerView {
  readonly el: HTMLElement;
  private readonly heading = h('div', { class: 'ticker-title' });
  private readonly list = h('div', { class: 'ticker-list', testid: 'ticker' });
  private key = '';

  /** `deviceName` turns a device id into its registry name when known. */
  constructor(private readonly deviceName: (id: string) => string = (id) => id) {
    this.el = h('footer', { class: 'ticker' }, this.heading, this.list);
  }

  update(items: Activity[], schools: Record<string, SchoolStatus>, lang: string, force = false): void {
    this.heading.textContent = t('ticker.heading');
    const key = `${lang}|${items[0]?.seq ?? ''}|${items.length}`;
    if (key === this.key && !force) return;
    this.key = key;
    if (!items.length) {
      fill(this.list, h('span', { class: 'ticker-empty' }, t('ticker.none')));
      return;
    }
    fill(this.list, ...items.slice(0, SHOWN).map((a) => this.item(a, schools)));
  }

  private item(a: Activity, schools: Record<string, SchoolStatus>): HTMLElement {
    const school = schoolName(schools[a.school], a.school);
    const device = a.device ? this.deviceName(a.device) : '';
    let text: string;
    let cls: string;
    switch (a.kind) {
      case 'device':
        text = t(a.online ? 'ticker.deviceOnline' : 'ticker.deviceOffline', { school, device });
        cls = a.online ? 'ok' : 'warn';
        break;
      case 'camera':
        text = t(a.online ? 'ticker.cameraOnline' : 'ticker.cameraOffline', { school, device });
        cls = a.online ? 'ok' : 'warn';
        break;
      case 'ai':
        text = t('ticker.ai', { school, kind: tk('ai', a.detail ?? 'other') });
        cls = 'info';
        break;
      default: {
        const [kind = '', state = ''] = (a.detail ?? '').split(':');
        text = t('ticker.alarm', { school, kind: kindLabel(kind), state: stateLabel(state as 'raised') });
        cls = state === 'raised' ? 'hot' : 'alarm';
      }
    }
    return h('span', { class: `tick tick-${cls}` }, h('span', { class: 'tick-time' }, formatTime(a.at)), text);
  }
}
