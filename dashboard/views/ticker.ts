/** A strip of recent events along the bottom: devices going offline/online, canteen AI events, alarm changes. */
import type { SchoolStatus } from '../../gateway/contract/api.js';
import { formatTime, stateLabel, t, tk } from '../i18n.js';
import type { Activity } from '../state/activity.js';
import { fill, h, reconcile } from './dom.js';
import { kindLabel, schoolName } from './format.js';

const SHOWN = 12;

export class TickerView {
  readonly el: HTMLElement;
  private readonly heading = h('div', { class: 'ticker-title' });
  private readonly list = h('div', { class: 'ticker-list', testid: 'ticker' });
  private key = '';
  /** Items built, by what they show: a new event adds one item and the others stay put (issue #12: the strip was rebuilt per event). */
  private built = new Map<string, HTMLElement>();
  private builtLang = '';

  /** `deviceName` turns a device id into its registry name when known. */
  constructor(private readonly deviceName: (id: string) => string = (id) => id) {
    this.el = h('footer', { class: 'ticker' }, this.heading, this.list);
  }

  update(items: Activity[], schools: Record<string, SchoolStatus>, lang: string, force = false): void {
    this.heading.textContent = t('ticker.heading');
    const key = `${lang}|${items[0]?.seq ?? ''}|${items.length}`;
    if (key === this.key && !force) return;
    this.key = key;
    if (force || lang !== this.builtLang) this.built = new Map();
    this.builtLang = lang;
    if (!items.length) {
      this.built.clear();
      fill(this.list, h('span', { class: 'ticker-empty' }, t('ticker.none')));
      return;
    }
    const shown = items.slice(0, SHOWN);
    const next = new Map<string, HTMLElement>();
    for (const a of shown) {
      // One feed frame can carry several changes (devices), so the seq alone does not name an item.
      const id = `${a.seq}|${a.kind}|${a.school}|${a.device ?? ''}|${a.detail ?? ''}|${'online' in a ? a.online : ''}`;
      next.set(id, this.built.get(id) ?? this.item(a, schools));
    }
    this.built = next;
    reconcile(this.list, [...next.values()]);
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
