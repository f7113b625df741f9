/**
 * The console's shortcut help (`?`): every key with what it does in zh-CN and in English side by
 * side (both always, whatever the screen's language), and a short-lived notice for a key that
 * cannot act (a viewer pressing A, nothing selected…).
 */
import { SHORTCUTS } from '../shortcuts.js';
import { t } from '../i18n.js';
import { fill, h } from './dom.js';

export class ShortcutHelpView {
  readonly el: HTMLElement;

  constructor() {
    this.el = h('div', { class: 'overlay note-overlay shortcut-help-overlay', testid: 'shortcut-help-overlay', hidden: true });
    this.el.addEventListener('click', (ev) => {
      if (ev.target === this.el) this.close();
    });
  }

  get isOpen(): boolean {
    return !this.el.hidden;
  }

  toggle(): void {
    if (this.isOpen) this.close();
    else this.open();
  }

  open(): void {
    fill(
      this.el,
      h(
        'section',
        { class: 'note-dialog shortcut-help', testid: 'shortcut-help', attrs: { role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'shortcut-help-title' } },
        h('h2', { attrs: { id: 'shortcut-help-title' } }, '键盘快捷键', h('span', { class: 'alt' }, 'Keyboard shortcuts')),
        h(
          'table',
          { class: 'shortcut-table' },
          h('thead', null, h('tr', null, h('th', null, '按键 Key'), h('th', null, '中文'), h('th', null, 'English'))),
          h(
            'tbody',
            null,
            ...SHORTCUTS.map((s) =>
              h('tr', { dataset: { command: s.command } }, h('td', null, ...s.keys.flatMap((k, i) => [i > 0 && ' / ', h('kbd', null, k)])), h('td', null, s.zh), h('td', { class: 'en' }, s.en)),
            ),
          ),
        ),
        h('p', { class: 'shortcut-foot' }, '输入文字或对话框打开时快捷键不起作用。', h('span', { class: 'alt' }, 'Shortcuts are off while typing or while a dialog is open.')),
        h('div', { class: 'note-buttons' }, h('button', { class: 'btn btn-ghost', testid: 'shortcut-help-close', attrs: { type: 'button' }, on: { click: () => this.close() } }, t('detail.close'))),
      ),
    );
    this.el.hidden = false;
    this.el.querySelector<HTMLElement>('[data-testid="shortcut-help-close"]')?.focus();
  }

  close(): void {
    this.el.hidden = true;
    fill(this.el);
  }
}

/** A notice at the bottom of the console for a few seconds (role=status: read out, never in the way). */
export class ConsoleNotice {
  readonly el = h('div', { class: 'console-notice', testid: 'console-notice', attrs: { role: 'status', 'aria-live': 'polite' }, hidden: true });
  private timer: ReturnType<typeof setTimeout> | null = null;

  show(text: string, ms = 5000): void {
    this.el.textContent = text;
    this.el.hidden = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.el.hidden = true;
      this.timer = null;
    }, ms);
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.el.hidden = true;
  }
}
