/** The big pop-up for a new real alarm, over the whole screen, until acknowledged or dismissed. */
import type { Alarm, SchoolStatus } from '../../gateway/contract/api.js';
import { formatTime, stateLabel, t } from '../i18n.js';
import { clockElapsed, fill, h, setText, warnIcon } from './dom.js';
import { alarmSchool, alarmWhere, clockWarning, kindLabel } from './format.js';
import { snapshotStrip, snapshotsKey } from './alarm-snapshots.js';
import type { MediaCache } from './media.js';

export interface PopupContext {
  canAct: () => boolean;
  schools: () => Record<string, SchoolStatus>;
  onAck: (alarm: Alarm) => void;
  onDismiss: (alarm: Alarm) => void;
  /** The alarm's linked pictures (报警联动), fetched with the token. */
  media: MediaCache;
}

export class PopupView {
  readonly el: HTMLElement;
  private shownKey = '';
  private current: Alarm | null = null;

  constructor(private readonly ctx: PopupContext) {
    this.el = h('div', { class: 'overlay popup-overlay', hidden: true });
  }

  get alarm(): Alarm | null {
    return this.current;
  }

  /** Shows `alarm` (or hides when null); `waiting` = how many other unacknowledged alarms are queued. */
  show(alarm: Alarm | null, waiting: number, force = false): void {
    if (!alarm) {
      this.current = null;
      this.shownKey = '';
      this.el.hidden = true;
      fill(this.el);
      return;
    }
    // A picture arriving (the alarm's frame with a snapshot fetched) redraws the pop-up.
    const key = [alarm.id, alarm.state, alarm.escalated, waiting, this.ctx.canAct(), snapshotsKey(alarm.snapshots)].join('|');
    this.current = alarm;
    this.el.hidden = false;
    if (key === this.shownKey && !force) return;
    this.shownKey = key;
    const escalated = alarm.escalated;
    const warn = clockWarning(alarm);
    const panicSub = alarm.kind === 'panic' ? t('kind.panic.sub') : '';
    fill(
      this.el,
      h(
        'div',
        {
          class: `popup kind-${alarm.kind}${escalated ? ' escalated' : ''}`,
          testid: 'alarm-popup',
          dataset: { alarmId: alarm.id },
          attrs: { role: 'alertdialog', 'aria-modal': 'true', 'aria-labelledby': 'popup-kind' },
        },
        h(
          'div',
          { class: 'popup-head' },
          h('span', { class: 'popup-flag' }, escalated ? t('popup.escalated') : t('popup.new')),
          h('span', { class: 'spacer' }),
          waiting > 0 && h('span', { class: 'popup-waiting', testid: 'popup-more' }, t('popup.more', { n: waiting })),
          h('span', { class: `state-pill state-${alarm.state}` }, stateLabel(alarm.state)),
        ),
        h(
          'div',
          { class: 'popup-kind', attrs: { id: 'popup-kind' } },
          kindLabel(alarm.kind),
          panicSub && h('span', { class: 'popup-kind-sub' }, panicSub),
        ),
        h('div', { class: 'popup-school', testid: 'popup-school' }, alarmSchool(alarm, this.ctx.schools())),
        h('div', { class: 'popup-where' }, alarmWhere(alarm)),
        h(
          'div',
          { class: 'popup-times' },
          h('div', null, h('div', { class: 'label' }, t('alarm.raisedAt')), h('div', { class: 'value' }, formatTime(alarm.raisedAt, true))),
          h(
            'div',
            null,
            h('div', { class: 'label' }, t('alarm.elapsed')),
            h('div', { class: 'value elapsed', dataset: { since: alarm.raisedAt } }, clockElapsed(Date.now() - Date.parse(alarm.raisedAt))),
          ),
        ),
        warn && h('div', { class: 'clock-warn' }, warnIcon(), warn),
        snapshotStrip(alarm.snapshots, this.ctx.media, 'popup'),
        h(
          'div',
          { class: 'popup-actions' },
          this.ctx.canAct() &&
            alarm.state === 'raised' &&
            h(
              'button',
              { class: 'btn btn-ack btn-huge', testid: 'popup-ack', attrs: { type: 'button' }, on: { click: () => this.ctx.onAck(alarm) } },
              t('action.ack'),
            ),
          h(
            'button',
            { class: 'btn btn-ghost btn-huge', testid: 'popup-dismiss', attrs: { type: 'button' }, on: { click: () => this.ctx.onDismiss(alarm) } },
            t('action.dismiss'),
          ),
        ),
      ),
    );
  }

  tick(now: number): void {
    if (this.el.hidden) return;
    const el = this.el.querySelector<HTMLElement>('.elapsed[data-since]');
    if (el) setText(el, clockElapsed(now - Date.parse(el.dataset.since ?? '')));
  }
}
