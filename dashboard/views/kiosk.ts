/** The kiosk's own screens: setting up, connecting (no session yet, gateway away), set-up refused, revoked. Never a login form. */
import { t } from '../i18n.js';
import { h } from './dom.js';

export type KioskScreen =
  | { state: 'setup' }
  | { state: 'connecting'; name: string; retryInS?: number }
  | { state: 'setup_failed'; message: string; toLogin: () => void }
  | { state: 'revoked'; name?: string };

export function kioskView(s: KioskScreen, toggleLang: () => void): HTMLElement {
  const body: (HTMLElement | string)[] = [];
  if (s.state === 'setup') body.push(h('h2', { class: 'login-heading' }, t('kiosk.setup')));
  if (s.state === 'connecting') {
    body.push(h('h2', { class: 'login-heading' }, s.name));
    body.push(h('div', { class: 'kiosk-text' }, s.retryInS === undefined ? t('conn.connecting') : t('kiosk.retry', { s: s.retryInS })));
  }
  if (s.state === 'setup_failed') {
    body.push(h('h2', { class: 'login-heading kiosk-bad' }, t('kiosk.setupFailed')));
    body.push(h('div', { class: 'kiosk-text', testid: 'kiosk-message' }, s.message));
    body.push(h('button', { class: 'btn btn-ghost', testid: 'kiosk-to-login', attrs: { type: 'button' }, on: { click: () => s.toLogin() } }, t('kiosk.toLogin')));
  }
  if (s.state === 'revoked') {
    body.push(h('h2', { class: 'kiosk-revoked-title', testid: 'kiosk-revoked' }, t('kiosk.revoked')));
    if (s.name) body.push(h('div', { class: 'kiosk-text kiosk-name' }, s.name));
    body.push(h('div', { class: 'kiosk-text' }, t('kiosk.revokedHelp')));
  }
  const toggle = h('button', { class: 'btn btn-ghost lang-toggle', testid: 'lang-toggle', attrs: { type: 'button' }, on: { click: () => toggleLang() } }, t('lang.toggle'));
  return h(
    'div',
    { class: `login-view kiosk-view kiosk-${s.state}`, testid: 'kiosk-screen', attrs: { 'data-state': s.state } },
    h('div', { class: 'login-corner' }, toggle),
    h(
      'div',
      { class: 'login-card' },
      h('div', { class: 'login-emblem' }, h('span', null, '安')),
      h('h1', { class: 'login-title' }, t('app.title')),
      h('div', { class: 'login-sub' }, t('app.subtitle')),
      ...body,
    ),
  );
}
