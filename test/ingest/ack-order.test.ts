/** AckOrder: PUBACKs in arrival order, each only after its message is done, within a window (issue 13). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckOrder } from '../../gateway/ingest/ack-order.js';

function line(window: number) {
  const sent: number[] = [];
  const failures: Error[] = [];
  const order = new AckOrder((id) => sent.push(id), (err) => failures.push(err), window);
  return { order, sent, failures };
}

test('a message done before an earlier one waits for it: PUBACKs leave in arrival order', () => {
  const { order, sent } = line(10);
  const resumed: number[] = [];
  const done = [11, 12, 13, 14].map((id) => order.take(id, () => resumed.push(id)));
  assert.deepEqual(resumed, [11, 12, 13, 14], 'the window has room: reading goes on');
  done[2]();
  done[1]();
  assert.deepEqual(sent, [], 'nothing before the first is done');
  done[0]();
  assert.deepEqual(sent, [11, 12, 13]);
  done[3]();
  assert.deepEqual(sent, [11, 12, 13, 14]);
  assert.equal(order.pending, 0);
});

test('a random completion order of 10,000 messages still gives arrival order, nothing twice', () => {
  const { order, sent } = line(100_000);
  const ids = Array.from({ length: 10_000 }, (_, i) => (i % 65_535) + 1);
  const done = ids.map((id) => order.take(id, () => undefined));
  const perm = done.map((d, i) => [Math.sin(i * 7919) , d] as const).sort((a, b) => a[0] - b[0]);
  for (const [, d] of perm) d();
  for (const d of done) d(); // a second call is ignored
  assert.deepEqual(sent, ids);
});

test('the window pauses reading until the oldest PUBACK is released', () => {
  const { order, sent } = line(2);
  const resumed: number[] = [];
  const a = order.take(1, () => resumed.push(1));
  const b = order.take(2, () => resumed.push(2));
  assert.deepEqual(resumed, [1], 'the second fills the window: reading pauses');
  b();
  assert.deepEqual(resumed, [1], 'a later message done does not free the window while an earlier one waits');
  a();
  assert.deepEqual(sent, [1, 2]);
  assert.deepEqual(resumed, [1, 2]);
});

test('window 1: one message at a time, as MQTT.js alone does it', () => {
  const { order, sent } = line(1);
  const resumed: number[] = [];
  const a = order.take(5, () => resumed.push(5));
  assert.deepEqual(resumed, []);
  a();
  assert.deepEqual(sent, [5]);
  assert.deepEqual(resumed, [5]);
});

test('a message that could not be stored stops the line: nothing after it is acknowledged, fail is called once', () => {
  const { order, sent, failures } = line(10);
  const done = [1, 2, 3].map((id) => order.take(id, () => undefined));
  done[0]();
  done[2]();
  done[1](new Error('disk full'));
  assert.deepEqual(sent, [1]);
  assert.equal(failures.length, 1);
  done[2]();
  assert.deepEqual(sent, [1]);
});

test('after close (the connection is gone), nothing more is sent', () => {
  const { order, sent } = line(10);
  const done = [1, 2].map((id) => order.take(id, () => undefined));
  order.close();
  done[0]();
  done[1]();
  assert.deepEqual(sent, []);
});

test('compaction keeps slots right over a long connection', () => {
  const { order, sent } = line(4);
  const expected: number[] = [];
  const open: (() => void)[] = [];
  for (let i = 1; i <= 5000; i++) {
    open.push(order.take(i, () => undefined));
    expected.push(i);
    // finish the second-newest first, then the older ones
    if (open.length === 3) {
      open[1]();
      open[0]();
      open.splice(0, 2);
    }
  }
  for (const d of open) d();
  assert.deepEqual(sent, expected);
});
