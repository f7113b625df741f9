/**
 * The operator console's keyboard shortcuts (issue #12): which key does what, and when a key is
 * the console's at all. Pure (no DOM): the console wires it to `keydown`, tests call it directly.
 *
 * A key is never taken while the operator types (an input, a textarea, a select, an editable
 * element), while a dialog is open (the note dialog, a case, the records, a drill-down, the alarm's
 * detail — only Escape and `?` reach the help), or with Ctrl, Alt or Meta held (the browser's own).
 */
import type { Alarm } from '../gateway/contract/api.js';

export type ShortcutCommand = 'ack-newest' | 'next' | 'prev' | 'note' | 'dispatch' | 'resolve' | 'detail' | 'help' | 'close';

export interface ShortcutHelp {
  keys: string[];
  command: ShortcutCommand;
  zh: string;
  en: string;
}

/** The help table, in the order the help shows it (zh-CN first, English beside it). */
export const SHORTCUTS: ShortcutHelp[] = [
  { keys: ['A'], command: 'ack-newest', zh: '确认最新一条待确认报警', en: 'Acknowledge the newest unacknowledged alarm' },
  { keys: ['J', '↓'], command: 'next', zh: '选择下一条报警', en: 'Select the next alarm' },
  { keys: ['K', '↑'], command: 'prev', zh: '选择上一条报警', en: 'Select the previous alarm' },
  { keys: ['N'], command: 'note', zh: '为所选报警添加备注（不改变状态）', en: 'Add a note to the selected alarm (state unchanged)' },
  { keys: ['D'], command: 'dispatch', zh: '所选报警派警', en: 'Dispatch the selected alarm' },
  { keys: ['R'], command: 'resolve', zh: '解除所选报警', en: 'Resolve the selected alarm' },
  { keys: ['Enter', 'O'], command: 'detail', zh: '打开所选报警的详情（经过与图像）', en: "Open the selected alarm's detail (history and pictures)" },
  { keys: ['?'], command: 'help', zh: '显示或隐藏快捷键帮助', en: 'Show or hide this help' },
  { keys: ['Esc'], command: 'close', zh: '关闭帮助或详情', en: 'Close the help or the detail' },
];

const KEYS: Record<string, ShortcutCommand> = {
  a: 'ack-newest',
  j: 'next',
  ArrowDown: 'next',
  k: 'prev',
  ArrowUp: 'prev',
  n: 'note',
  d: 'dispatch',
  r: 'resolve',
  Enter: 'detail',
  o: 'detail',
  '?': 'help',
  Escape: 'close',
};

export interface KeyLike {
  key: string;
  ctrlKey?: boolean;
  altKey?: boolean;
  metaKey?: boolean;
  /** The focused element's tag (INPUT, TEXTAREA, SELECT…) and whether it is editable. */
  targetTag?: string;
  targetEditable?: boolean;
}

/**
 * The command a key press means, or null when the key is not the console's: typing, a modifier,
 * an open dialog (then only the help's own keys count while the help is the one open).
 */
export function commandFor(ev: KeyLike, open: { dialog: boolean; help: boolean }): ShortcutCommand | null {
  if (ev.ctrlKey || ev.altKey || ev.metaKey) return null;
  const tag = (ev.targetTag ?? '').toUpperCase();
  if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || ev.targetEditable) return null;
  const key = ev.key.length === 1 && ev.key !== '?' ? ev.key.toLowerCase() : ev.key;
  const cmd = KEYS[key] ?? null;
  if (!cmd) return null;
  if (open.help) return cmd === 'help' || cmd === 'close' ? 'close' : null;
  if (open.dialog) return null;
  // Enter on a focused button or link is that button's, not ours.
  if (cmd === 'detail' && key === 'Enter' && (tag === 'BUTTON' || tag === 'A')) return null;
  return cmd;
}

/** The alarm `A` acknowledges: the newest unacknowledged real alarm (test presses are acknowledged at leisure). */
export function newestUnacknowledged(alarms: Alarm[]): Alarm | null {
  let best: Alarm | null = null;
  for (const a of alarms)
    if (a.state === 'raised' && !a.test && (!best || Date.parse(a.raisedAt) > Date.parse(best.raisedAt))) best = a;
  return best;
}

/** The id `next`/`prev` selects in `order` (the list as shown); wraps around; the first one when nothing is selected. */
export function stepSelection(order: string[], selected: string | null, step: 1 | -1): string | null {
  if (!order.length) return null;
  const i = selected ? order.indexOf(selected) : -1;
  if (i < 0) return step === 1 ? order[0] : order[order.length - 1];
  return order[(i + step + order.length) % order.length];
}
