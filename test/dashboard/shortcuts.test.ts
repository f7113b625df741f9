// The operator console's keyboard shortcuts without a browser (dashboard/shortcuts.ts): which key
// means what, that typing, modifiers and open dialogs turn them off, which alarm A acknowledges,
// and how J/K walk the list. The browser test (test/browser/console.test.ts) drives them for real.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Alarm } from '../../gateway/contract/api.js';
import { SHORTCUTS, commandFor, newestUnacknowledged, stepSelection } from '../../dashboard/shortcuts.js';

const closed = { dialog: false, help: false };
const alarm = (id: string, state: Alarm['state'], raisedAt: string, test = false): Alarm =>
  ({ id, state, raisedAt, test, school: 'S001', device: 'S001-AB01', kind: 'panic', escalated: false, history: [] }) as unknown as Alarm;

describe('console shortcuts', () => {
  it('maps the keys, case-insensitively, arrows too', () => {
    assert.equal(commandFor({ key: 'a' }, closed), 'ack-newest');
    assert.equal(commandFor({ key: 'A' }, closed), 'ack-newest'); // Caps Lock or Shift
    assert.equal(commandFor({ key: 'j' }, closed), 'next');
    assert.equal(commandFor({ key: 'ArrowDown' }, closed), 'next');
    assert.equal(commandFor({ key: 'k' }, closed), 'prev');
    assert.equal(commandFor({ key: 'ArrowUp' }, closed), 'prev');
    assert.equal(commandFor({ key: 'n' }, closed), 'note');
    assert.equal(commandFor({ key: 'd' }, closed), 'dispatch');
    assert.equal(commandFor({ key: 'r' }, closed), 'resolve');
    assert.equal(commandFor({ key: 'Enter' }, closed), 'detail');
    assert.equal(commandFor({ key: '?' }, closed), 'help');
    assert.equal(commandFor({ key: 'x' }, closed), null);
  });

  it('never fires while typing, with a modifier, or with a dialog open', () => {
    for (const targetTag of ['INPUT', 'TEXTAREA', 'SELECT', 'input']) assert.equal(commandFor({ key: 'a', targetTag }, closed), null, targetTag);
    assert.equal(commandFor({ key: 'a', targetTag: 'DIV', targetEditable: true }, closed), null);
    assert.equal(commandFor({ key: 'a', ctrlKey: true }, closed), null);
    assert.equal(commandFor({ key: 'r', metaKey: true }, closed), null, 'Cmd+R reloads, as ever');
    assert.equal(commandFor({ key: 'd', altKey: true }, closed), null);
    assert.equal(commandFor({ key: 'a' }, { dialog: true, help: false }), null);
    assert.equal(commandFor({ key: 'Enter', targetTag: 'BUTTON' }, closed), null, 'Enter on a button is the button');
    // The help open: only ? and Escape, both closing it.
    assert.equal(commandFor({ key: 'a' }, { dialog: false, help: true }), null);
    assert.equal(commandFor({ key: '?' }, { dialog: false, help: true }), 'close');
    assert.equal(commandFor({ key: 'Escape' }, { dialog: false, help: true }), 'close');
  });

  it('A takes the newest unacknowledged real alarm', () => {
    const list = [
      alarm('old', 'raised', '2026-03-01T08:00:00Z'),
      alarm('new', 'raised', '2026-03-01T08:05:00Z'),
      alarm('acked', 'acknowledged', '2026-03-01T08:06:00Z'),
      alarm('test', 'raised', '2026-03-01T08:07:00Z', true),
    ];
    assert.equal(newestUnacknowledged(list)?.id, 'new');
    assert.equal(newestUnacknowledged([list[2], list[3]]), null);
  });

  it('J/K walk the list as shown and wrap around', () => {
    const order = ['a', 'b', 'c'];
    assert.equal(stepSelection(order, null, 1), 'a');
    assert.equal(stepSelection(order, null, -1), 'c');
    assert.equal(stepSelection(order, 'a', 1), 'b');
    assert.equal(stepSelection(order, 'c', 1), 'a');
    assert.equal(stepSelection(order, 'a', -1), 'c');
    assert.equal(stepSelection(order, 'gone', 1), 'a');
    assert.equal(stepSelection([], 'a', 1), null);
  });

  it('the help names every command in zh-CN and English', () => {
    const commands = new Set(SHORTCUTS.map((s) => s.command));
    for (const c of ['ack-newest', 'next', 'prev', 'note', 'dispatch', 'resolve', 'detail', 'help', 'close']) assert.ok(commands.has(c as never), c);
    for (const s of SHORTCUTS) assert.ok(/\p{Script=Han}/u.test(s.zh) && /^[\x20-\x7e]+$/.test(s.en), JSON.stringify(s));
  });
});
