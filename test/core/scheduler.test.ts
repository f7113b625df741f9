import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Scheduler, nextDaily } from '../../gateway/core/scheduler.js';

const log = pino({ level: 'silent' });

test('a deadline never fires early, even when the timer wakes before it', async () => {
  // A clock that runs 40 ms behind the timers: every wake-up is early by the clock the job is judged by.
  const lag = 40;
  const s = new Scheduler(log, () => Date.now() - lag);
  const due = Date.now() - lag + 50;
  const firedAt = await new Promise<number>((resolve) => s.at('k', due, () => resolve(Date.now() - lag)));
  assert.ok(firedAt >= due, `fired ${due - firedAt} ms early`);
  s.stop();
});

test('arming a key again replaces its job; cancel and stop leave nothing to fire', async () => {
  const s = new Scheduler(log);
  const fired: string[] = [];
  s.at('a', Date.now() + 20, () => void fired.push('first'));
  s.at('a', Date.now() + 30, () => void fired.push('second'));
  s.at('b', Date.now() + 10, () => void fired.push('b'));
  s.cancel('b');
  assert.equal(s.has('a'), true);
  await new Promise<void>((resolve) => s.at('done', Date.now() + 80, resolve));
  assert.deepEqual(fired, ['second']);
  s.at('c', Date.now() + 10, () => void fired.push('c'));
  s.stop();
  await new Promise((r) => setTimeout(r, 40));
  assert.deepEqual(fired, ['second']);
});

test('a job already overdue (restored after a restart) fires at once', async () => {
  const s = new Scheduler(log);
  const t0 = Date.now();
  await new Promise<void>((resolve) => s.at('late', t0 - 60_000, resolve));
  assert.ok(Date.now() - t0 < 1000);
  s.stop();
});

test('a failing job is logged and does not stop the others', async () => {
  const s = new Scheduler(log);
  s.at('bad', Date.now(), () => {
    throw new Error('boom');
  });
  await new Promise<void>((resolve) => s.at('good', Date.now() + 5, resolve));
  s.stop();
});

test('daily jobs run at the local wall-clock time (China, UTC+8), the next day once it has passed', () => {
  const cn = { hour: 6, minute: 30, utcOffsetMin: 480 };
  // 2026-12-01 05:00 in China is 2026-11-30T21:00Z: 06:30 local is 22:30Z the same evening.
  assert.equal(new Date(nextDaily(Date.parse('2026-11-30T21:00:00Z'), cn)).toISOString(), '2026-11-30T22:30:00.000Z');
  // At 06:30 exactly it is tomorrow's turn; at 07:00 too.
  assert.equal(new Date(nextDaily(Date.parse('2026-11-30T22:30:00Z'), cn)).toISOString(), '2026-12-01T22:30:00.000Z');
  assert.equal(new Date(nextDaily(Date.parse('2026-11-30T23:00:00Z'), cn)).toISOString(), '2026-12-01T22:30:00.000Z');
  // Midnight local (16:00Z the day before), across a month end.
  assert.equal(new Date(nextDaily(Date.parse('2026-12-31T16:00:01Z'), { hour: 0, minute: 0, utcOffsetMin: 480 })).toISOString(), '2027-01-01T16:00:00.000Z');
});
