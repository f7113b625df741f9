/**
 * A failed canteen inspection opens a case (contract §8): the pure decision (`inspections.ts`), and
 * end to end through `POST /api/inspections` (the targets module's route) in process: the case
 * carries the inspection's note, photo and inspector, takes the policy's deadline, and follows the
 * same lifecycle; a pass, or a campus item, opens nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { caseFromInspection } from '../../gateway/modules/canteen/inspections.js';
import { buildInProcess, type InProcessGateway } from '../routes/harness.js';
import { openLive, type LiveClient } from '../support/ws.js';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const T0 = Date.parse('2026-12-02T09:00:00+08:00');

test('decision: only a failed canteen item opens a case, with the note, photo, inspector and deadline', () => {
  const base = { id: 'insp-1', school: 'S001', item: 'canteen_storage', result: 'fail' as const, atMs: T0, by: 'inspector-li', photo: 'c'.repeat(64), note: ' 库房食品离地不足 ' };
  const c = caseFromInspection(base, ['main'], 24)!;
  assert.equal(c.source, 'inspection');
  assert.equal(c.id, 'insp-case-1');
  assert.equal(c.canteen, 'main');
  assert.equal(c.item, 'canteen_storage');
  assert.equal(c.inspection, 'insp-1');
  assert.equal(c.snapshot, 'c'.repeat(64));
  assert.equal(c.note, '库房食品离地不足');
  assert.equal(c.by, 'inspector-li');
  assert.equal(c.deadlineHours, 24);
  assert.match(c.reason.zh, /库房.*库房食品离地不足/);
  assert.equal(caseFromInspection({ ...base, result: 'pass' }, ['main'], 24), null, 'a pass opens nothing');
  assert.equal(caseFromInspection({ ...base, item: 'perimeter' }, ['main'], 24), null, 'a campus item is not the canteen’s');
  assert.equal(caseFromInspection(base, [], 24), null, 'no canteen, no case');
  assert.equal(caseFromInspection(base, ['c1', 'c2'], 24)!.canteen, undefined, 'two canteens: the inspection does not say which');
});

let g: InProcessGateway;
let live: LiveClient;
before(async () => {
  g = await buildInProcess();
  await g.app.listen({ host: '127.0.0.1', port: 0 });
  live = await openLive(`http://127.0.0.1:${(g.app.server.address() as import('node:net').AddressInfo).port}`, g.tokens.viewer);
  await live.next((f) => f.type === 'snapshot');
});
after(async () => {
  await live?.close();
  await g?.close();
});

const inspect = (body: Record<string, unknown>) => g.call('POST', '/api/inspections', { token: g.tokens.maintenance, body: { school: 'S001', ...body } });
const inspectionCases = async () => (await g.call('GET', '/api/canteen/cases?school=S001', { token: g.tokens.viewer })).body.cases.filter((c: { source: string }) => c.source === 'inspection');

test('a failed canteen inspection opens a case for the school’s canteen, which then follows the lifecycle', async () => {
  const at = new Date(Date.now() - 60_000).toISOString();
  const rec = await inspect({ item: 'canteen_hygiene', result: 'fail', note: '灶台油污未清理', photo: PNG, at });
  assert.equal(rec.status, 201, rec.text);
  const sha = createHash('sha256').update(Buffer.from(PNG, 'base64')).digest('hex');
  assert.equal(rec.body.photo, sha);

  const frame = await live.next((f) => f.type === 'case' && f.data.inspection === rec.body.id, 10_000);
  assert.equal(frame.data.action, 'open');
  const c = (await g.call('GET', `/api/canteen/cases/${frame.data.id}`, { token: g.tokens.viewer })).body;
  assert.equal(c.source, 'inspection');
  assert.equal(c.school, 'S001');
  assert.equal(c.canteen, 'main');
  assert.equal(c.item, 'canteen_hygiene');
  assert.equal(c.snapshot, sha, 'the inspection photo is the case snapshot');
  assert.equal(c.state, 'open');
  assert.equal(c.openedAt, new Date(Date.parse(at)).toISOString(), 'opens at the inspection’s time');
  assert.equal(Date.parse(c.deadlineAt) - Date.parse(c.openedAt), 24 * 3_600_000, 'policy canteen.inspections.deadlineHours');
  assert.deepEqual([c.history[0].by, c.history[0].note], ['maintenance-1', '灶台油污未清理'], 'the inspector and the note');
  assert.match(c.reason.zh, /后厨卫生/);

  for (const [action, body] of [['notify', {}], ['start', {}], ['submit', { photo: PNG, measure: '已清洗灶台' }], ['close', { note: '复查合格' }]] as const) {
    const r = await g.call('POST', `/api/canteen/cases/${c.id}/${action}`, { token: g.tokens.operator, body });
    assert.equal(r.status, 200, `${action}: ${r.text}`);
  }
  assert.equal((await g.call('GET', `/api/canteen/cases/${c.id}`, { token: g.tokens.viewer })).body.state, 'closed');
});

test('a passed canteen inspection and a failed campus inspection open no case', async () => {
  const before = (await inspectionCases()).length;
  const pass = await inspect({ item: 'canteen_sample', result: 'pass' });
  const campus = await inspect({ item: 'gatehouse', result: 'fail', note: '门卫室无人' });
  assert.equal(pass.status, 201);
  assert.equal(campus.status, 201);
  // A later failed one does open: when it shows, the two before it have been applied (one commit queue).
  const fail = await inspect({ item: 'canteen_disinfection', result: 'fail' });
  await live.next((f) => f.type === 'case' && f.data.inspection === fail.body.id, 10_000);
  const cases = await inspectionCases();
  assert.equal(cases.length, before + 1);
  assert.ok(!cases.some((c: { inspection: string }) => c.inspection === pass.body.id || c.inspection === campus.body.id));
});

test('an unknown inspection item is refused (400) and stores nothing', async () => {
  const r = await inspect({ item: 'canteen_roof', result: 'fail' });
  assert.equal(r.status, 400);
});
