/** The open-alarm list (real ones, big) and the test-alarm strip (small, muted). Cards are keyed by id. */
import type { Alarm, AlarmAction, SchoolStatus } from '../../gateway/contract/api.js';
import { formatTime, lang, stateLabel, t } from '../i18n.js';
import { alarmSchool, alarmWhere, clockWarning, kindLabel } from './format.js';
import { clockElapsed, fill, h, reconcile, setText, warnIcon } from './dom.js';

export interface AlarmListContext {
  canAct: () => boolean;
  schools: () => Record<string, SchoolStatus>;
  onAction: (alarm: Alarm, action: AlarmAction) => void;
  /** The console only: a 详情 button that opens the alarm's detail (history, pictures). */
  onDetail?: (alarm: Alarm) => void;
}

function detailButton(alarm: Alarm, ctx: AlarmListContext): HTMLElement | null {
  if (!ctx.onDetail) return null;
  const open = ctx.onDetail;
  return h('button', { class: 'btn btn-ghost btn-detail', testid: 'action-detail', attrs: { type: 'button' }, on: { click: () => open(alarm) } }, t('detail.open'));
}

/** Which actions a state allows (contract: raised → acknowledged → dispatched → resolved; resolve also from acknowledged). */
export function allowedActions(state: Alarm['state']): AlarmAction[] {
  switch (state) {
    case 'raised':
      return ['ack'];
    case 'acknowledged':
      return ['dispatch', 'resolve'];
    case 'dispatched':
      return ['resolve'];
    default:
      return [];
  }
}

const ACTION_TESTID: Record<AlarmAction, string> = { ack: 'action-ack', dispatch: 'action-dispatch', resolve: 'action-resolve' };
const ACTION_LABEL = { ack: 'action.ack', dispatch: 'action.dispatch', resolve: 'action.resolve' } as const;

export function actionButtons(alarm: Alarm, ctx: AlarmListContext, size: 'big' | 'small'): HTMLElement | null {
  if (!ctx.canAct()) return null;
  const actions = allowedActions(alarm.state);
  if (!actions.length) return null;
  return h(
    'div',
    { class: `card-actions ${size}` },
    ...actions.map((action) =>
      h(
        'button',
        {
          class: `btn btn-${action}`,
          testid: ACTION_TESTID[action],
          attrs: { type: 'button' },
          on: { click: () => ctx.onAction(alarm, action) },
        },
        t(ACTION_LABEL[action]),
      ),
    ),
  );
}

/** The console's 详情 button, in the card's action column (its own column when the user cannot act). */
function withDetail(actions: HTMLElement | null, alarm: Alarm, ctx: AlarmListContext, size: 'big' | 'small'): HTMLElement | null {
  const detail = detailButton(alarm, ctx);
  if (!detail) return actions;
  const box = actions ?? h('div', { class: `card-actions ${size}` });
  box.append(detail);
  return box;
}

const urgent = (a: Alarm) => a.escalated && a.state === 'raised';

function lastAction(a: Alarm): string {
  const last = a.history.at(-1);
  if (!last || last.state === 'raised') return '';
  const who = last.by ?? '';
  const base = t('alarm.lastBy', { who, state: stateLabel(last.state) });
  return `${formatTime(last.at)} ${base}${last.note ? `：${last.note}` : ''}`;
}

function renderCard(el: HTMLElement, a: Alarm, ctx: AlarmListContext): void {
  el.className = `alarm-card kind-${a.kind} state-${a.state}${urgent(a) ? ' escalated' : ''}`;
  el.dataset.state = a.state;
  const warn = clockWarning(a);
  const last = lastAction(a);
  fill(
    el,
    h('div', { class: 'card-stripe' }),
    h(
      'div',
      { class: 'card-body' },
      h(
        'div',
        { class: 'card-top' },
        h('span', { class: 'kind' }, kindLabel(a.kind)),
        h('span', { class: `state-pill state-${a.state}`, testid: 'alarm-state' }, stateLabel(a.state)),
        urgent(a) && h('span', { class: 'esc-badge' }, t('alarm.escalated')),
        h('span', { class: 'spacer' }),
        h('span', { class: 'elapsed-label' }, t('alarm.elapsed')),
        h('span', { class: 'elapsed', dataset: { since: a.raisedAt } }, clockElapsed(Date.now() - Date.parse(a.raisedAt))),
      ),
      h(
        'div',
        { class: 'card-line' },
        h('div', { class: 'school', testid: 'alarm-school' }, alarmSchool(a, ctx.schools())),
        h('div', { class: 'where' }, alarmWhere(a)),
      ),
      h(
        'div',
        { class: 'meta' },
        h('span', null, `${t('alarm.raisedAt')} ${formatTime(a.raisedAt)}`),
        last && h('span', { class: 'last' }, last),
        warn && h('span', { class: 'clock-warn', testid: 'clock-warning' }, warnIcon(), warn),
      ),
    ),
    withDetail(actionButtons(a, ctx, 'big'), a, ctx, 'big'),
  );
}

function renderTestCard(el: HTMLElement, a: Alarm, ctx: AlarmListContext): void {
  el.className = `alarm-card test-card state-${a.state}`;
  el.dataset.state = a.state;
  fill(
    el,
    h('span', { class: 'test-tag' }, t('alarm.test')),
    h('span', { class: 'kind' }, kindLabel(a.kind)),
    h('span', { class: 'school' }, alarmSchool(a, ctx.schools())),
    h('span', { class: 'where' }, alarmWhere(a)),
    h('span', { class: 'time' }, formatTime(a.raisedAt)),
    h('span', { class: `state-pill state-${a.state}`, testid: 'alarm-state' }, stateLabel(a.state)),
    withDetail(actionButtons(a, ctx, 'small'), a, ctx, 'small'),
  );
}

/** A keyed list: a card is rebuilt only when what it shows changed (so its flashing does not restart). */
export class AlarmListView {
  readonly el: HTMLElement;
  private cards = new Map<string, { el: HTMLElement; key: string }>();

  constructor(
    private readonly ctx: AlarmListContext,
    private readonly test: boolean,
  ) {
    this.el = h('div', { class: test ? 'test-list' : 'alarm-list', testid: test ? 'test-alarm-list' : 'alarm-list' });
  }

  update(alarms: Alarm[], emptyText: string): void {
    const seen = new Set<string>();
    const els: HTMLElement[] = [];
    for (const a of alarms) {
      seen.add(a.id);
      const key = [a.state, a.escalated, a.history.length, a.clockSuspect, lang(), this.ctx.canAct(), a.schoolName].join('|');
      let card = this.cards.get(a.id);
      if (!card) {
        card = { el: h('article', { testid: 'alarm-card', dataset: { alarmId: a.id } }), key: '' };
        this.cards.set(a.id, card);
      }
      if (card.key !== key) {
        if (this.test) renderTestCard(card.el, a, this.ctx);
        else renderCard(card.el, a, this.ctx);
        card.key = key;
      }
      els.push(card.el);
    }
    for (const [id, card] of this.cards) if (!seen.has(id)) this.cards.delete(id), card.el.remove();
    // More alarms than fit: tighter cards (compact), then one line per card (dense).
    this.el.classList.toggle('compact', !this.test && alarms.length > 4);
    this.el.classList.toggle('dense', !this.test && alarms.length > 6);
    this.el.classList.toggle('empty', alarms.length === 0);
    if (!alarms.length) {
      fill(this.el, h('div', { class: 'empty-note' }, emptyText));
      return;
    }
    // Reorder in place (only moves what moved; the empty note goes).
    const topChanged = this.el.children[0] !== els[0];
    reconcile(this.el, els);
    // The top of the list is the most urgent alarm: when it changes, make sure it is in view.
    if (topChanged) this.el.scrollTop = 0;
  }

  /** Once a second: the elapsed timers. */
  tick(now: number): void {
    for (const el of this.el.querySelectorAll<HTMLElement>('.elapsed[data-since]'))
      setText(el, clockElapsed(now - Date.parse(el.dataset.since ?? '')));
  }
}
