/**
 * One rectification case (整改单) in a dialog: its snapshot, reason, school, area, opened and deadline,
 * the history (who, when, note, measure, photo), and the actions the principal is offered: notify,
 * start, submit (a photo and the measure, both required), close, reject (a note required). The
 * gateway's refusals (409 with the state, 403, 400 with the reason) are shown in the dialog.
 * Keyboard: focus moves into the dialog, Esc closes it (or the open action form first).
 */
import type { SchoolStatus } from '../../gateway/contract/api.js';
import { formatTime, lang, t, tk } from '../i18n.js';
import { isCaseOverdue, offeredActions, type CaseAction, type CaseDetail } from '../state/canteen.js';
import { caseTitle, overdueBadge, schoolName } from './canteen.js';
import { fill, h, overlay } from './dom.js';
import type { MediaCache } from './media.js';

export interface CaseDialogContext {
  load: (id: string) => Promise<CaseDetail>;
  /** Resolves with the case after the action; rejects with a message to show. */
  act: (id: string, action: CaseAction, body: { note?: string; photo?: string; measure?: string }) => Promise<CaseDetail>;
  media: MediaCache;
  schools: () => Record<string, SchoolStatus>;
  who: () => { role: string; school?: string };
}

type Load = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ok'; c: CaseDetail };

/** A file as base64 (no `data:` prefix). */
function fileBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => reject(r.error ?? new Error('read failed'));
    r.readAsDataURL(file);
  });
}

export class CaseDialog {
  readonly el: HTMLElement;
  private id: string | null = null;
  private data: Load = { state: 'loading' };
  private form: CaseAction | null = null;
  private busy = false;
  private done: string | null = null;
  private opener: HTMLElement | null = null;
  private gen = 0;

  constructor(private readonly ctx: CaseDialogContext) {
    this.el = overlay('case-overlay', 'case-overlay', (e) => {
      e.stopPropagation();
      if (this.form && !this.busy) this.cancelForm();
      else this.close();
    }, () => this.close());
  }

  get caseId(): string | null {
    return this.id;
  }

  open(id: string, from?: HTMLElement): void {
    if (from) this.opener = from;
    this.id = id;
    this.form = null;
    this.done = null;
    this.data = { state: 'loading' };
    this.el.hidden = false;
    this.draw();
    this.el.querySelector<HTMLElement>('[data-testid="case-dialog-close"]')?.focus();
    void this.reload();
  }

  close(): void {
    if (this.id === null) return;
    this.id = null;
    this.gen++;
    this.form = null;
    this.el.hidden = true;
    fill(this.el);
    const back = this.opener;
    this.opener = null;
    if (back?.isConnected) back.focus();
    else if (back?.dataset.caseId) document.querySelector<HTMLElement>(`[data-testid="canteen-case"][data-case-id="${CSS.escape(back.dataset.caseId)}"]`)?.focus();
  }

  /** A `case` frame for the open case: read it again (not while the user fills in an action). */
  onFrame(id: string): void {
    if (id === this.id && !this.form && !this.busy) void this.reload();
  }

  relabel(): void {
    if (this.id !== null) this.draw();
  }

  private async reload(): Promise<void> {
    const id = this.id;
    if (!id) return;
    const gen = ++this.gen;
    try {
      const c = await this.ctx.load(id);
      if (gen !== this.gen) return;
      this.data = { state: 'ok', c };
    } catch (err) {
      if (gen !== this.gen) return;
      if (this.data.state === 'ok') return; // keep what we showed
      this.data = { state: 'error', message: t('case.loadError', { msg: err instanceof Error ? err.message : String(err) }) };
    }
    this.draw();
  }

  private draw(): void {
    if (this.id === null) return;
    const focused = (document.activeElement as HTMLElement | null)?.dataset?.testid;
    const body = h('div', { class: 'drill-body case-body' });
    const d = this.data;
    let title = t('case.title');
    if (d.state === 'loading') fill(body, h('div', { class: 'drill-note' }, t('canteen.loading')));
    else if (d.state === 'error') fill(body, h('div', { class: 'drill-note error', attrs: { role: 'alert' } }, d.message));
    else {
      title = `${t('case.title')} · ${caseTitle(d.c)}`;
      fill(body, this.details(d.c), this.history(d.c), this.actions(d.c));
    }
    fill(
      this.el,
      h(
        'div',
        { class: 'drill case-dialog', testid: 'case-dialog', dataset: { caseId: this.id, state: d.state === 'ok' ? d.c.state : '' }, attrs: { role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'case-title' } },
        h(
          'div',
          { class: 'drill-head' },
          h('h2', { class: 'drill-title', attrs: { id: 'case-title' } }, title),
          d.state === 'ok' && isCaseOverdue(d.c, Date.now()) && overdueBadge(),
          h('button', { class: 'btn btn-ghost drill-close', testid: 'case-dialog-close', attrs: { type: 'button' }, on: { click: () => this.close() } }, t('case.close')),
        ),
        body,
      ),
    );
    if (focused && focused !== 'case-dialog-close') this.el.querySelector<HTMLElement>(`[data-testid="${focused}"]`)?.focus();
    if (!this.el.contains(document.activeElement)) this.el.querySelector<HTMLElement>('[data-testid="case-dialog-close"]')?.focus();
  }

  private details(c: CaseDetail): HTMLElement {
    const en = lang() === 'en';
    const row = (label: string, value: string | Node, testid?: string) => h('div', { class: 'case-field', testid }, h('dt', null, label), h('dd', null, value));
    return h(
      'div',
      { class: 'case-details' },
      c.snapshot
        ? this.ctx.media.figure(c.snapshot, { testid: 'case-snapshot', alt: t('canteen.snapshot'), cls: 'case-snapshot', caption: `${t('canteen.snapshot')} · ${c.snapshot.slice(0, 8)}` })
        : h('div', { class: 'case-snapshot none' }, t('canteen.noSnapshot')),
      h(
        'dl',
        { class: 'case-fields' },
        row(t('case.reason'), h('span', null, en ? c.reason.en : c.reason.zh, h('span', { class: 'alt' }, en ? c.reason.zh : c.reason.en)), 'case-reason'),
        row(t('case.school'), schoolName(this.ctx.schools(), c.school), 'case-school'),
        c.area ? row(t('case.area'), tk('area', c.area), 'case-area') : null,
        c.device ? row(t('case.device'), c.device) : null,
        row(t('case.openedAt'), formatTime(c.openedAt, true)),
        row(t('case.deadlineAt'), formatTime(c.deadlineAt, true), 'case-deadline'),
        row(t('case.state'), h('span', { class: `cstate-pill cstate-${c.state}`, testid: 'case-dialog-state' }, tk('cstate', c.state))),
      ),
    );
  }

  private history(c: CaseDetail): HTMLElement {
    return h(
      'section',
      { class: 'case-history' },
      h('h3', { class: 'drill-section-title' }, t('case.history')),
      h(
        'ol',
        { testid: 'case-history' },
        ...c.history.map((e) =>
          h(
            'li',
            { class: 'case-step', testid: 'case-step', dataset: { action: e.action } },
            h('span', { class: 'step-when' }, formatTime(e.at, true)),
            h('span', { class: 'step-what' }, tk('caction', e.action), ' → ', tk('cstate', e.state)),
            h('span', { class: 'step-who' }, e.by),
            e.note && h('span', { class: 'step-note', testid: 'step-note' }, `${t('case.note')}：${e.note}`),
            e.measure && h('span', { class: 'step-measure', testid: 'step-measure' }, `${t('case.measure').replace(/（.*）|\s*\(.*\)/, '')}：${e.measure}`),
            e.photo && this.ctx.media.figure(e.photo, { testid: 'step-photo', alt: t('case.photoShown'), cls: 'step-photo' }),
          ),
        ),
      ),
    );
  }

  private actions(c: CaseDetail): HTMLElement {
    const who = this.ctx.who();
    const offered = offeredActions(c, who);
    const wrap = h('section', { class: 'case-actions', testid: 'case-actions' });
    if (this.done) wrap.append(h('div', { class: 'drill-note ok', testid: 'case-done', attrs: { role: 'status' } }, this.done));
    if (!offered.length) {
      wrap.append(h('div', { class: 'drill-note small', testid: 'case-no-actions' }, t('case.noActions')));
    } else {
      wrap.append(
        h(
          'div',
          { class: 'case-buttons' },
          ...offered.map((a) =>
            h(
              'button',
              {
                class: `btn case-btn act-${a}${this.form === a ? ' active' : ''}`,
                testid: `case-${a}`,
                attrs: { type: 'button', 'aria-expanded': this.form === a ? 'true' : 'false' },
                on: {
                  click: () => {
                    this.form = a;
                    this.done = null;
                    this.draw();
                    this.el.querySelector<HTMLElement>('.case-form textarea, .case-form input')?.focus();
                  },
                },
              },
              tk('caction', a),
            ),
          ),
        ),
      );
    }
    if (who.school !== undefined && c.state === 'submitted') wrap.append(h('div', { class: 'drill-note small' }, t('case.reviewCounty')));
    if (this.form && offered.includes(this.form)) wrap.append(this.actionForm(c, this.form));
    return wrap;
  }

  private actionForm(c: CaseDetail, action: CaseAction): HTMLElement {
    const note = h('textarea', { class: 'note-input', testid: 'case-note', attrs: { rows: 2, maxlength: 2000, 'aria-label': action === 'reject' ? t('case.noteRequired') : t('case.noteOptional') } });
    const measure = action === 'submit' ? h('textarea', { class: 'note-input', testid: 'case-measure', attrs: { rows: 2, maxlength: 2000, 'aria-label': t('case.measure') } }) : null;
    const photo = action === 'submit' ? h('input', { class: 'file-input', testid: 'case-photo', attrs: { type: 'file', accept: 'image/jpeg,image/png', 'aria-label': t('case.photo') } }) : null;
    const error = h('div', { class: 'note-error', testid: 'case-error', attrs: { role: 'alert' } });
    const confirm = h('button', { class: `btn btn-primary act-${action}`, testid: 'case-confirm', attrs: { type: 'submit' } }, tk('caction', action));
    const form = h(
      'form',
      {
        class: 'case-form',
        testid: 'case-form',
        dataset: { action },
        on: {
          submit: (ev) => {
            ev.preventDefault();
            void this.confirm(c, action, { note, measure, photo, error, confirm });
          },
        },
      },
      photo && h('label', { class: 'note-label' }, t('case.photo'), photo),
      measure && h('label', { class: 'note-label' }, t('case.measure'), measure),
      h('label', { class: 'note-label' }, action === 'reject' ? t('case.noteRequired') : t('case.noteOptional'), note),
      error,
      h(
        'div',
        { class: 'note-buttons' },
        h('button', { class: 'btn btn-ghost', testid: 'case-cancel', attrs: { type: 'button' }, on: { click: () => this.cancelForm() } }, t('action.cancel')),
        confirm,
      ),
    );
    return form;
  }

  private async confirm(
    c: CaseDetail,
    action: CaseAction,
    f: { note: HTMLTextAreaElement; measure: HTMLTextAreaElement | null; photo: HTMLInputElement | null; error: HTMLElement; confirm: HTMLButtonElement },
  ): Promise<void> {
    if (this.busy) return;
    const body: { note?: string; photo?: string; measure?: string } = { note: f.note.value };
    // What the gateway would refuse, said before sending (it checks again).
    if (action === 'submit') {
      const file = f.photo?.files?.[0];
      if (!file) return this.fail(f, t('case.needPhoto'), f.photo);
      if (!f.measure?.value.trim()) return this.fail(f, t('case.needMeasure'), f.measure);
      if (file.type && !/^image\/(jpeg|png)$/.test(file.type)) return this.fail(f, t('case.photoNotImage'), f.photo);
      body.measure = f.measure.value;
      try {
        body.photo = await fileBase64(file);
      } catch (err) {
        return this.fail(f, String(err), f.photo);
      }
    }
    if (action === 'reject' && !f.note.value.trim()) return this.fail(f, t('case.needNote'), f.note);
    this.busy = true;
    f.confirm.disabled = true;
    f.confirm.textContent = t('case.busy');
    try {
      const updated = await this.ctx.act(c.id, action, body);
      if (this.id !== c.id) return;
      this.data = { state: 'ok', c: updated };
      this.form = null;
      this.done = t('case.done', { action: tk('caction', action) });
      this.busy = false;
      this.draw();
      this.el.querySelector<HTMLElement>('.case-buttons .btn, [data-testid="case-dialog-close"]')?.focus();
    } catch (err) {
      this.busy = false;
      f.confirm.disabled = false;
      f.confirm.textContent = tk('caction', action);
      f.error.textContent = err instanceof Error ? err.message : String(err);
      // The button was disabled while sending (which drops the focus): give the keyboard its place back.
      if (f.confirm.isConnected) f.confirm.focus();
    }
  }

  /** Back from an action form: the case is read again (frames were not applied while it was open). */
  private cancelForm(): void {
    this.form = null;
    this.draw();
    this.el.querySelector<HTMLElement>('.case-actions .btn')?.focus();
    void this.reload();
  }

  private fail(f: { error: HTMLElement }, message: string, focus: HTMLElement | null | undefined): void {
    f.error.textContent = message;
    focus?.focus();
  }
}
