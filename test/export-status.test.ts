// The wall screen's reading of GET /health for the "history export behind" chip (dashboard/export-status.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_HEALTH_POLL_MS, exportLagOf, healthPollMs } from '../dashboard/export-status.js';

describe('export status on the wall', () => {
  it('warns only when the export is enabled and lagging', () => {
    assert.equal(exportLagOf({ status: 'ok', influx: { enabled: false, lagging: false } }), null, 'export disabled');
    assert.equal(exportLagOf({ influx: { enabled: true, lagging: false, lagSec: 4000, lastError: null } }), null, 'not lagging');
    assert.deepEqual(exportLagOf({ status: 'degraded', influx: { enabled: true, lagging: true, lagSec: 754, lastError: 'ECONNREFUSED: connect' } }), {
      minutes: 13,
      lastError: 'ECONNREFUSED: connect',
    });
    assert.deepEqual(exportLagOf({ influx: { enabled: true, lagging: true, lagSec: 2, lastError: null } }), { minutes: 1, lastError: null }, 'at least one minute');
  });

  it('ignores what it cannot read', () => {
    for (const body of [null, 'text', 42, {}, { influx: null }, { influx: 'x' }, { influx: { enabled: 'true', lagging: true } }])
      assert.equal(exportLagOf(body), null, JSON.stringify(body));
    assert.deepEqual(exportLagOf({ influx: { enabled: true, lagging: true, lagSec: 'x', lastError: '' } }), { minutes: 1, lastError: null });
  });

  it('takes the poll interval from ?healthPollMs=, 15 s otherwise', () => {
    assert.equal(healthPollMs(''), DEFAULT_HEALTH_POLL_MS);
    assert.equal(DEFAULT_HEALTH_POLL_MS, 15_000);
    assert.equal(healthPollMs('?healthPollMs=500'), 500);
    assert.equal(healthPollMs('?healthPollMs=5'), 200, 'never below 200 ms');
    assert.equal(healthPollMs('?healthPollMs=abc'), DEFAULT_HEALTH_POLL_MS);
    assert.equal(healthPollMs('?healthPollMs=-3'), DEFAULT_HEALTH_POLL_MS);
    assert.equal(healthPollMs('?healthPollMs='), DEFAULT_HEALTH_POLL_MS);
  });
});
