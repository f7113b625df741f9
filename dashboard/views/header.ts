/** Top bar (title, county, clock, connection, sound, user, language) and the connection-lost banner. */
import type { Role } from '../../gateway/contract/api.js';
import type { ExportLag } from '../export-status.js';
import { formatDate, formatTime, roleLabel, t } from '../i18n.js';
import type { LiveStatus } from '../live.js';
import { h, setText, warnIcon } from './dom.js';

export interface HeaderContext {
  /** Absent for a kiosk: it has nobody to log out. */
  logout?: () => void;
  toggleLang: () => void;
  enableSound: () => void;
  /** A link to the other screen: the wall (`/`) shows the console's, the console (`/console`) the wall's. */
  nav?: { href: string; testid: string; label: () => string };
}

export interface HeaderModel {
  user: string;
  role: Role;
  county: string;
  live: LiveStatus;
  soundBlocked: boolean;
  /** The history (time-series) export lags: a quiet chip; null hides it. */
  exportLag: ExportLag | null;
}

export class HeaderView {
  readonly el: HTMLElement;
  readonly banner: HTMLElement;
  private readonly title = h('h1', { class: 'title' });
  private readonly county = h('div', { class: 'county', testid: 'county' });
  private readonly time = h('div', { class: 'clock-time', testid: 'clock' });
  private readonly date = h('div', { class: 'clock-date' });
  private readonly conn = h('div', { class: 'conn', testid: 'conn-status', attrs: { role: 'status' } });
  private readonly exportWarn = h('div', { class: 'export-warn', testid: 'export-warning', attrs: { role: 'status' }, hidden: true });
  private readonly sound: HTMLButtonElement;
  private readonly user = h('div', { class: 'user', testid: 'current-user' });
  private readonly logout: HTMLButtonElement;
  private readonly lang: HTMLButtonElement;
  private readonly nav: HTMLAnchorElement | null;
  private readonly navLabel: (() => string) | null;
  private readonly bannerText = h('span', { class: 'banner-text' });
  private readonly bannerRetry = h('span', { class: 'banner-retry' });

  constructor(ctx: HeaderContext) {
    this.sound = h('button', { class: 'btn btn-sound', testid: 'sound-enable', attrs: { type: 'button' }, hidden: true, on: { click: () => ctx.enableSound() } });
    this.logout = h('button', { class: 'btn btn-ghost', testid: 'logout', attrs: { type: 'button' }, hidden: !ctx.logout, on: { click: () => ctx.logout?.() } });
    this.lang = h('button', { class: 'btn btn-ghost lang-toggle', testid: 'lang-toggle', attrs: { type: 'button' }, on: { click: () => ctx.toggleLang() } });
    this.nav = ctx.nav ? h('a', { class: 'btn btn-ghost mode-link', testid: ctx.nav.testid, attrs: { href: ctx.nav.href } }) : null;
    this.navLabel = ctx.nav?.label ?? null;
    this.el = h(
      'header',
      { class: 'topbar' },
      h('div', { class: 'brand' }, h('div', { class: 'emblem' }, h('span', null, '安')), h('div', { class: 'brand-text' }, this.title, this.county)),
      h('div', { class: 'clock' }, this.time, this.date),
      h('div', { class: 'top-right' }, this.exportWarn, this.sound, this.conn, h('div', { class: 'userbox' }, this.user, this.logout), this.nav, this.lang),
    );
    this.banner = h(
      'div',
      { class: 'conn-banner', testid: 'conn-banner', attrs: { role: 'alert' }, hidden: true },
      warnIcon('big'),
      this.bannerText,
      this.bannerRetry,
    );
  }

  update(m: HeaderModel): void {
    setText(this.title, `${t('app.title')} · ${t('app.subtitle')}`);
    setText(this.county, m.county);
    this.county.hidden = !m.county;
    setText(this.user, `${m.user} · ${roleLabel(m.role)}`);
    setText(this.logout, t('header.logout'));
    setText(this.lang, t('lang.toggle'));
    if (this.nav && this.navLabel) setText(this.nav, this.navLabel());
    setText(this.sound, t('sound.enable'));
    this.sound.hidden = !m.soundBlocked;

    // Not an alarm matter: alarms are stored and shown regardless; only the history database is behind.
    const lag = m.exportLag;
    this.exportWarn.hidden = !lag;
    setText(this.exportWarn, lag ? t('export.lagging', { n: lag.minutes }) : '');
    if (lag?.lastError) this.exportWarn.title = lag.lastError;
    else this.exportWarn.removeAttribute('title');

    const state = m.live.state;
    // The banner: only when the feed is really down (not during the very first connect).
    const down = state === 'down' || (state === 'connecting' && m.live.attempt > 1);
    this.conn.className = `conn conn-${down ? 'down' : state}`;
    this.conn.dataset.state = state;
    setText(this.conn, state === 'open' ? t('conn.online') : down ? t('conn.down') : t('conn.connecting'));
    this.banner.hidden = !down;
    // What the wall shows may be out of date while the feed is down: say so visually.
    this.el.parentElement?.classList.toggle('stale', down);
    setText(this.bannerText, t('conn.lost'));
    setText(
      this.bannerRetry,
      m.live.state === 'down' ? t('conn.retry', { s: Math.max(1, Math.round(m.live.retryInMs / 1000)), n: m.live.attempt }) : '',
    );
  }

  tick(now: Date): void {
    setText(this.time, formatTime(now));
    setText(this.date, formatDate(now));
  }
}
