/**
 * The console's alarm detail: what the alarm is, its linked pictures (报警联动) and its whole
 * history (who did what, when, with which note), and the steps the user may take. Opened from a
 * card's 详情 button or with Enter on the selected alarm; kept current by the alarm's frames.
 */
import type { Alarm, SchoolStatus } from '../../gateway/contract/api.js';
import { formatTime, stateLabel, t } from '../i18n.js';
import { allowedActions } from './alarms.js';
import { snapshotStrip } from './alarm-snapshots.js';
import { fill, h, overlay } from './dom.js';
import { alarmSchool, alarmWhere, kindLabel } from './format.js';
import type { MediaCache } from './media.js';
import type { NoteMode } from './note-dialog.js';

export interface AlarmDetailContext {
  load: (id: string) => Promise<Alarm>;
  media: MediaCache;
  schools: () => Record<string, SchoolStatus>;
  canAct: () => boolean;
  onAction: (alarm: Alarm, action: NoteMode) => void;
}

const ACTION_LABEL = { ack: 'action.ack', dispatch: 'action.dispatch', resolve: 'action.resolve', note: 'action.note' } as const;

export class AlarmDetailView {
  readonly el: HTMLElement;
  private alarm: Alarm | null = null;
  private error = '';
  private returnFocus: HTMLElement | null = null;

  constructor(private readonly ctx: AlarmDetailContext) {
    this.el = overlay('alarm-detail-overlay', 'alarm-detail-overlay', () => this.close(), () => this.close());
  }

  get isOpen(): boolean {
    return !this.el.hidden;
  }

  get alarmId(): string | null {
    return this.isOpen ? (this.alarm?.id ?? null) : null;
  }

  /** Shows `alarm` at once (as the wall holds it), then the gateway's full view of it. */
  open(alarm: Alarm): void {
    this.returnFocus = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    this.alarm = alarm;
    this.error = '';
    this.el.hidden = false;
    this.render();
    this.el.querySelector<HTMLElement>('[data-testid="detail-close"]')?.focus();
    this.ctx.load(alarm.id).then(
      (a) => this.onAlarm(a),
      (err: unknown) => {
        if (this.alarm?.id !== alarm.id) return;
        this.error = err instanceof Error ? err.message : String(err);
        this.render();
      },
    );
  }

  /** A newer view of an alarm (a frame, an action's reply): redrawn when it is the one shown. */
  onAlarm(a: Alarm): void {
    if (!this.isOpen || this.alarm?.id !== a.id) return;
    if (this.alarm.history.length > a.history.length) return; // older than what we show
    this.alarm = a;
    this.render();
  }

  relabel(): void {
    if (this.isOpen) this.render();
  }

  close(): void {
    if (!this.isOpen) return;
    this.el.hidden = true;
    this.alarm = null;
    fill(this.el);
    if (this.returnFocus?.isConnected) this.returnFocus.focus();
    this.returnFocus = null;
  }

  private render(): void {
    const a = this.alarm;
    if (!a) return;
    const focused = (document.activeElement as HTMLElement | null)?.dataset?.testid;
    // A note on its own is allowed in every state, resolved too (a review afterwards).
    const actions: NoteMode[] = this.ctx.canAct() ? [...allowedActions(a.state), 'note'] : [];
    fill(
      this.el,
      h(
        'section',
        { class: 'drill alarm-detail', testid: 'alarm-detail', dataset: { alarmId: a.id, state: a.state }, attrs: { role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'alarm-detail-title' } },
        h(
          'div',
          { class: 'drill-head' },
          h(
            'div',
            { class: 'drill-title-block' },
            h('h2', { class: 'drill-title', attrs: { id: 'alarm-detail-title' } }, kindLabel(a.kind), a.test && h('span', { class: 'test-tag' }, t('alarm.test'))),
            h('div', { class: 'alarm-detail-school' }, alarmSchool(a, this.ctx.schools()), ' · ', alarmWhere(a)),
          ),
          h('span', { class: `state-pill state-${a.state}`, testid: 'detail-state' }, stateLabel(a.state)),
          h('button', { class: 'btn btn-ghost', testid: 'detail-close', attrs: { type: 'button' }, on: { click: () => this.close() } }, t('detail.close')),
        ),
        h(
          'div',
          { class: 'alarm-detail-body' },
          h('div', { class: 'alarm-detail-meta' }, `${t('alarm.raisedAt')} ${formatTime(a.raisedAt, true)}`, a.escalated && a.state === 'raised' && h('span', { class: 'esc-badge' }, t('alarm.escalated'))),
          this.error && h('div', { class: 'note-error', attrs: { role: 'alert' } }, this.error),
          snapshotStrip(a.snapshots, this.ctx.media, 'detail') ?? h('div', { class: 'alarm-detail-nosnap' }, t('snap.none')),
          h('h3', { class: 'alarm-detail-sub' }, t('detail.history')),
          h(
            'ol',
            { class: 'alarm-history', testid: 'detail-history' },
            ...a.history.map((e) =>
              h(
                'li',
                { class: `alarm-history-entry state-${e.state}`, testid: 'history-entry', dataset: { state: e.state, action: e.action ?? '' } },
                h('span', { class: 'alarm-history-time' }, formatTime(e.at, true)),
                e.action === 'note'
                  ? h('span', { class: 'state-pill note-pill' }, t('detail.noteEntry'))
                  : h('span', { class: `state-pill state-${e.state}` }, e.state === 'raised' ? t('detail.raised') : stateLabel(e.state)),
                e.by && h('span', { class: 'alarm-history-by', testid: 'history-by' }, e.by),
                e.note && h('span', { class: 'alarm-history-note', testid: 'history-note' }, e.note),
              ),
            ),
          ),
        ),
        actions.length > 0 &&
          h(
            'div',
            { class: 'card-actions big alarm-detail-actions' },
            ...actions.map((action) =>
              h('button', { class: action === 'note' ? 'btn btn-ghost' : `btn btn-${action}`, testid: `detail-${action}`, attrs: { type: 'button' }, on: { click: () => this.ctx.onAction(a, action) } }, t(ACTION_LABEL[action])),
            ),
          ),
      ),
    );
    if (focused) this.el.querySelector<HTMLElement>(`[data-testid="${focused}"]`)?.focus();
  }
}
