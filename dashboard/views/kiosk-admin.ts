/**
 * Kiosk admin in the console (issue #12; admins only — the console does not offer it to others,
 * and the gateway refuses them anyway): every wall screen's kiosk (name, school scope, created,
 * set up, last seen, state), issuing a new one (its one-time setup link shown once, here only),
 * and revoking one after a confirmation. Labels are zh-CN with the English beside them.
 */
import type { SchoolStatus } from '../../gateway/contract/api.js';
import { formatTime } from '../i18n.js';
import { fill, h, overlay } from './dom.js';

/** A kiosk as `GET /api/kiosks` lists it (gateway/contract/kiosk.ts KioskView). */
export interface KioskRow {
  id: string;
  name: string;
  school?: string;
  createdAt: string;
  createdBy: string;
  state: 'awaiting_setup' | 'setup_expired' | 'active' | 'revoked';
  boundAt?: string;
  lastSeenAt?: string;
  lastSeenFrom?: string;
  revokedAt?: string;
}

export interface KioskAdminContext {
  list: () => Promise<{ kiosks: KioskRow[] }>;
  issue: (name: string, school?: string) => Promise<KioskRow & { url: string }>;
  revoke: (id: string) => Promise<KioskRow>;
  schools: () => Record<string, SchoolStatus>;
}

const STATE: Record<KioskRow['state'], [string, string]> = {
  awaiting_setup: ['待设置', 'awaiting set-up'],
  setup_expired: ['设置链接已过期', 'set-up link expired'],
  active: ['使用中', 'active'],
  revoked: ['已撤销', 'revoked'],
};

export class KioskAdminView {
  readonly el: HTMLElement;
  private kiosks: KioskRow[] = [];
  private status: 'loading' | 'ready' | 'error' = 'loading';
  private error = '';
  /** The link of the kiosk just issued: shown once, gone when the dialog closes. */
  private issued: { id: string; name: string; url: string } | null = null;
  /** The kiosk whose revocation waits for a second click. */
  private confirming: string | null = null;
  private busy = false;
  private returnFocus: HTMLElement | null = null;

  constructor(private readonly ctx: KioskAdminContext) {
    this.el = overlay('kiosk-admin-overlay', 'kiosk-admin-overlay', () => this.close(), () => this.close());
  }

  get isOpen(): boolean {
    return !this.el.hidden;
  }

  open(): void {
    this.returnFocus = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    this.issued = null;
    this.confirming = null;
    this.error = '';
    this.el.hidden = false;
    void this.load();
    this.el.querySelector<HTMLElement>('[data-testid="kiosk-name"]')?.focus();
  }

  close(): void {
    if (!this.isOpen) return;
    this.el.hidden = true;
    this.issued = null; // the setup link is shown once
    fill(this.el);
    if (this.returnFocus?.isConnected) this.returnFocus.focus();
    this.returnFocus = null;
  }

  private async load(): Promise<void> {
    this.status = 'loading';
    this.render();
    try {
      this.kiosks = (await this.ctx.list()).kiosks;
      this.status = 'ready';
    } catch (err) {
      this.status = 'error';
      this.error = message(err);
    }
    if (this.isOpen) this.render();
  }

  private async issue(form: HTMLFormElement): Promise<void> {
    if (this.busy) return;
    const name = (form.querySelector<HTMLInputElement>('[data-testid="kiosk-name"]')?.value ?? '').trim();
    const school = form.querySelector<HTMLSelectElement>('[data-testid="kiosk-school"]')?.value || undefined;
    if (!name) return this.fail('请填写屏幕名称 / Name the screen first');
    this.busy = true;
    try {
      const k = await this.ctx.issue(name, school);
      this.issued = { id: k.id, name: k.name, url: k.url };
      this.error = '';
      this.kiosks = [k, ...this.kiosks.filter((x) => x.id !== k.id)];
    } catch (err) {
      this.error = message(err);
    } finally {
      this.busy = false;
    }
    this.render();
  }

  private async revoke(id: string): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const k = await this.ctx.revoke(id);
      this.kiosks = this.kiosks.map((x) => (x.id === id ? k : x));
      this.error = '';
      if (this.issued?.id === id) this.issued = null;
    } catch (err) {
      this.error = message(err);
    } finally {
      this.busy = false;
      this.confirming = null;
    }
    this.render();
  }

  private fail(msg: string): void {
    this.error = msg;
    this.render();
  }

  private render(): void {
    const focused = (document.activeElement as HTMLElement | null)?.dataset?.testid;
    const typed = this.el.querySelector<HTMLInputElement>('[data-testid="kiosk-name"]')?.value ?? '';
    const schools = this.ctx.schools();
    const nameInput = h('input', { class: 'kiosk-input', testid: 'kiosk-name', attrs: { type: 'text', maxlength: 100, placeholder: '例如：指挥中心大屏 1', 'aria-label': '屏幕名称 Screen name' } });
    nameInput.value = this.issued ? '' : typed;
    fill(
      this.el,
      h(
        'section',
        { class: 'drill kiosk-admin', testid: 'kiosk-admin', dataset: { status: this.status }, attrs: { role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'kiosk-admin-title' } },
        h(
          'div',
          { class: 'drill-head' },
          h('h2', { class: 'drill-title', attrs: { id: 'kiosk-admin-title' } }, '大屏终端管理', h('span', { class: 'alt' }, 'Wall screens (kiosks)')),
          h('button', { class: 'btn btn-ghost', testid: 'kiosk-admin-close', attrs: { type: 'button' }, on: { click: () => this.close() } }, '关闭', h('span', { class: 'alt' }, 'Close')),
        ),
        h(
          'form',
          {
            class: 'kiosk-issue',
            testid: 'kiosk-issue',
            on: {
              submit: (ev) => {
                ev.preventDefault();
                void this.issue(ev.currentTarget as HTMLFormElement);
              },
            },
          },
          h('label', { class: 'kiosk-field' }, h('span', null, '屏幕名称', h('span', { class: 'alt' }, 'Screen name')), nameInput),
          h(
            'label',
            { class: 'kiosk-field' },
            h('span', null, '范围', h('span', { class: 'alt' }, 'Scope')),
            h(
              'select',
              { class: 'kiosk-input', testid: 'kiosk-school' },
              h('option', { attrs: { value: '' } }, '全县 Whole county'),
              ...Object.values(schools)
                .sort((a, b) => a.id.localeCompare(b.id))
                .map((s) => h('option', { attrs: { value: s.id } }, `${s.name} (${s.id})`)),
            ),
          ),
          h('button', { class: 'btn btn-ack', testid: 'kiosk-issue-submit', attrs: { type: 'submit' } }, '签发', h('span', { class: 'alt' }, 'Issue')),
        ),
        this.error && h('div', { class: 'note-error', testid: 'kiosk-error', attrs: { role: 'alert' } }, this.error),
        this.issued &&
          h(
            'div',
            { class: 'kiosk-issued', testid: 'kiosk-issued', dataset: { kioskId: this.issued.id } },
            h('p', null, `「${this.issued.name}」的设置链接只显示这一次：在该屏幕的浏览器中打开一次（24 小时内有效）。`, h('span', { class: 'alt' }, 'The set-up link is shown this once: open it once in that screen’s browser (valid 24 h).')),
            h('input', { class: 'kiosk-input kiosk-url', testid: 'kiosk-url', attrs: { type: 'text', readonly: true, value: this.issued.url, 'aria-label': '设置链接 Set-up link' } }),
          ),
        this.status === 'loading' && h('div', { class: 'recent-empty' }, '加载中…', h('span', { class: 'alt' }, 'Loading…')),
        this.status === 'ready' && this.kiosks.length === 0 && h('div', { class: 'recent-empty', testid: 'kiosk-empty' }, '还没有大屏终端', h('span', { class: 'alt' }, 'No kiosks yet')),
        this.status === 'ready' &&
          this.kiosks.length > 0 &&
          h(
            'table',
            { class: 'kiosk-table', testid: 'kiosk-table' },
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                ...[['名称', 'Name'], ['范围', 'Scope'], ['签发', 'Issued'], ['最后在线', 'Last seen'], ['状态', 'State'], ['', '']].map(([zh, en]) => h('th', null, zh, en && h('span', { class: 'alt' }, en))),
              ),
            ),
            h('tbody', null, ...this.kiosks.map((k) => this.row(k, schools))),
          ),
      ),
    );
    const again = focused && this.el.querySelector<HTMLElement>(`[data-testid="${focused}"]`);
    if (again) again.focus();
    else if (this.confirming) this.el.querySelector<HTMLElement>('[data-testid="kiosk-revoke-confirm"]')?.focus();
  }

  private row(k: KioskRow, schools: Record<string, SchoolStatus>): HTMLElement {
    const [zh, en] = STATE[k.state];
    const scope = k.school ? (schools[k.school]?.name ?? k.school) : '全县 county';
    const seen = k.lastSeenAt ? `${formatTime(k.lastSeenAt, true)}${k.lastSeenFrom ? ` · ${k.lastSeenFrom}` : ''}` : '—';
    const revocable = k.state !== 'revoked';
    const actions =
      !revocable
        ? null
        : this.confirming === k.id
          ? h(
              'span',
              { class: 'kiosk-confirm' },
              h('span', null, '撤销后该屏幕立即停止显示。', h('span', { class: 'alt' }, 'The screen stops at once.')),
              h('button', { class: 'btn btn-resolve', testid: 'kiosk-revoke-confirm', attrs: { type: 'button' }, on: { click: () => void this.revoke(k.id) } }, '确认撤销', h('span', { class: 'alt' }, 'Revoke')),
              h('button', { class: 'btn btn-ghost', testid: 'kiosk-revoke-cancel', attrs: { type: 'button' }, on: { click: () => ((this.confirming = null), this.render()) } }, '取消', h('span', { class: 'alt' }, 'Cancel')),
            )
          : h('button', { class: 'btn btn-ghost', testid: 'kiosk-revoke', attrs: { type: 'button' }, on: { click: () => ((this.confirming = k.id), this.render()) } }, '撤销…', h('span', { class: 'alt' }, 'Revoke…'));
    return h(
      'tr',
      { testid: 'kiosk-row', dataset: { kioskId: k.id, state: k.state } },
      h('td', { class: 'kiosk-name' }, k.name),
      h('td', null, scope),
      h('td', null, formatTime(k.createdAt, true), h('span', { class: 'alt' }, k.createdBy)),
      h('td', null, seen),
      h('td', null, h('span', { class: `kiosk-state kiosk-${k.state}` }, zh, h('span', { class: 'alt' }, en))),
      h('td', { class: 'kiosk-actions' }, actions),
    );
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
