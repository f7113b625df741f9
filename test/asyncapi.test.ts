/**
 * docs/asyncapi.yaml: valid AsyncAPI (checked by @asyncapi/parser), what scripts/asyncapi.ts
 * generates now from gateway/contract/mqtt.ts (so it never drifts), and complete: every device
 * topic with the payload schema and device kinds the gateway enforces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Parser, type OperationInterface } from '@asyncapi/parser';
import { ASYNCAPI_PATH, renderAsyncapi } from '../scripts/asyncapi.js';
import { AlarmFeedback, DEVICE_TOPICS, Rejection } from '../gateway/contract/mqtt.js';
import { CaseNotification } from '../gateway/contract/canteen.js';

const committed = fs.readFileSync(ASYNCAPI_PATH, 'utf8');

test('the committed file is what `npm run asyncapi` generates now', () => {
  assert.ok(committed === renderAsyncapi(), 'docs/asyncapi.yaml is out of date: run `npm run asyncapi` and commit the result');
});

test('is a valid AsyncAPI document, with every topic, payload and device kind', async () => {
  const { document, diagnostics } = await new Parser().parse(committed);
  const errors = diagnostics.filter((d) => d.severity === 0); // DiagnosticSeverity.Error
  assert.deepEqual(errors.map((d) => `${d.path.join('.')}: ${d.message}`), []);
  assert.ok(document, 'parsed');
  assert.equal(document.version(), '3.0.0');

  const address = (id: string) => document.channels().get(id)?.address();
  const payload = (channel: string) => document.channels().get(channel)!.messages().all()[0].payload()!.json();
  const plain = (s: unknown) => JSON.parse(JSON.stringify(s));
  for (const [type, spec] of Object.entries(DEVICE_TOPICS)) {
    assert.equal(address(type), `campus/v1/{schoolId}/{deviceId}/${type}`);
    const op: OperationInterface = document.operations().get(`receive_${type}`)!;
    assert.equal(op.action(), 'receive');
    assert.deepEqual(op.extensions().get('x-device-kinds')?.value(), [...spec.kinds], `${type}: device kinds`);
    if (spec.schema) assert.deepEqual(strip(payload(type)), plain(spec.schema), `${type}: payload is the gateway's own schema`);
    else assert.deepEqual(strip(payload(type)), { type: 'string', enum: ['online', 'offline'] });
  }
  assert.equal(address('alarmState'), 'campus/v1/{schoolId}/{deviceId}/alarm/state');
  assert.deepEqual(strip(payload('alarmState')), plain(AlarmFeedback));
  assert.equal(address('gatewayStatus'), 'campus/v1/_gateway/status');
  assert.equal(address('gatewayRejected'), 'campus/v1/_gateway/rejected');
  assert.deepEqual(strip(payload('gatewayRejected')), plain(Rejection));
  assert.equal(address('canteenCase'), 'campus/v1/_gateway/{schoolId}/canteen/case');
  assert.deepEqual(strip(payload('canteenCase')), plain(CaseNotification));
  for (const id of ['send_alarmState', 'send_gatewayStatus', 'send_rejection', 'send_caseNotification']) assert.equal(document.operations().get(id)?.action(), 'send');
});

/** The parser tags schemas it has seen with `x-parser-*` keys; compare without them. */
function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith('x-parser-')).map(([k, x]) => [k, strip(x)]));
  return v;
}
