/**
 * The modal for ack / dispatch / resolve (an optional note with the step) and for a note on its
 * own (`note`: required, no change of state, any state): submit, and the gateway's answer.
 */
import type { Alarm, AlarmAction, SchoolStatus } from '../../gateway/contract/api.js';
import { t } from '../i18n.js';
import { fill, h } from './dom.js';
import { alarmSchool, alarmWhere, kindLabel } from './format.js';

/** A step with an optional note, or `note`: a note on its own (POST /api/alarms/{id}/note). */
export type NoteMode = AlarmAction | 'note';

export interface NoteDialogContext {
  schools: () => Record<string, SchoolStatus>;
  /** Resolves on success; rejects with a message to show. */
  submit: (alarm: Alarm, action: NoteMode, note: string) => Promise<void>;
}

const TITLE = { ack: 'note.title.ack', dispatch: 'note.title.dispatch', resolve: 'note.title.resolve', note: 'note.title.note' } as const;

export class NoteDialog {
  readonly el: HTMLElement;
  private open: { alarm: Alarm; action: NoteMode } | null = null;
  private busy = false;

  constructor(private readonly ctx: NoteDialogContext) {
    this.el = h('div', { class: 'overlay note-overlay', hidden: true });
    this.el.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') this.close();
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) void this.confirm();
    });
  }

  get isOpen(): boolean {
    return this.open !== null;
  }

  get alarmId(): string | null {
    return this.open?.alarm.id ?? null;
  }

  show(alarm: Alarm, action: NoteMode, keepNote?: string): void {
    this.open = { alarm, action };
    this.busy = false;
    this.render(keepNote ?? '');
    this.el.hidden = false;
    this.el.querySelector<HTMLTextAreaElement>('textarea')?.focus();
  }

  /** Re-renders the labels (language switch) keeping what was typed. */
  relabel(): void {
    if (!this.open) return;
    const note = this.el.querySelector<HTMLTextAreaElement>('textarea')?.value ?? '';
    this.render(note);
  }

  close(): void {
    this.open = null;
    this.el.hidden = true;
    fill(this.el);
  }

  private render(note: string): void {
    if (!this.open) return;
    const { alarm, action } = this.open;
    // A note on its own is nothing without words; with a step it is optional.
    const label = action === 'note' ? 'note.labelNeeded' : 'note.label';
    const textarea = h('textarea', {
      class: 'note-input',
      testid: 'note-input',
      attrs: { rows: 4, maxlength: 2000, placeholder: t('note.placeholder'), 'aria-label': t(label) },
    });
    textarea.value = note;
    fill(
      this.el,
      h(
        'form',
        {
          class: `note-dialog action-${action}`,
          testid: 'note-dialog',
          attrs: { role: 'dialog', 'aria-modal': 'true' },
          on: {
            submit: (ev) => {
              ev.preventDefault();
              void this.confirm();
            },
          },
        },
        h('h2', null, t(TITLE[action])),
        h('div', { class: 'note-alarm' }, `${kindLabel(alarm.kind)} · ${alarmSchool(alarm, this.ctx.schools())}`),
        h('div', { class: 'note-where' }, alarmWhere(alarm)),
        h('label', { class: 'note-label' }, t(label), textarea),
        h('div', { class: 'note-error', testid: 'note-error', attrs: { role: 'alert' } }),
        h(
          'div',
          { class: 'note-buttons' },
          h('button', { class: 'btn btn-ghost', testid: 'note-cancel', attrs: { type: 'button' }, on: { click: () => this.close() } }, t('action.cancel')),
          h('button', { class: `btn btn-${action}`, testid: 'note-confirm', attrs: { type: 'submit' } }, t('note.confirm')),
        ),
      ),
    );
  }

  private async confirm(): Promise<void> {
    if (!this.open || this.busy) return;
    const { alarm, action } = this.open;
    const textarea = this.el.querySelector<HTMLTextAreaElement>('textarea');
    const button = this.el.querySelector<HTMLButtonElement>('[data-testid="note-confirm"]');
    const error = this.el.querySelector<HTMLElement>('.note-error');
    if (action === 'note' && !(textarea?.value ?? '').trim()) {
      if (error) error.textContent = t('note.empty');
      textarea?.focus();
      return;
    }
    this.busy = true;
    if (button) {
      button.disabled = true;
      button.textContent = t('note.busy');
    }
    try {
      await this.ctx.submit(alarm, action, textarea?.value ?? '');
      if (this.open?.alarm.id === alarm.id) this.close();
    } catch (err) {
      if (error) error.textContent = err instanceof Error ? err.message : String(err);
      if (button) {
        button.disabled = false;
        button.textContent = t('note.confirm');
      }
    } finally {
      this.busy = false;
    }
  }
}
