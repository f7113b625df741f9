/**
 * The canteen module across a restart (contract §8): open cases come back from the store, a rat
 * after the restart joins the case it belongs to, and a deadline that passed while the gateway was
 * down escalates once at start (never before the deadline, never twice).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FeedFrame } from '../../gateway/contract/api.js';
import type { DomainEvent } from '../../gateway/core/events.js';
import type { CanteenModule } from '../../gateway/modules/canteen/index.js';
import { buildInProcess, type InProcessGateway } from '../routes/harness.js';
import { makeTempDir } from '../support/procs.js';
import { waitFor } from '../support/wait.js';

const open: InProcessGateway[] = [];
after(async () => {
  for (const g of open) await g.close().catch(() => undefined);
});

const camera = 'S001-KC26';
const HOUR = 3_600_000;

const SNAPSHOT = 'ab'.repeat(32);

/** An `ai` event as the vendors module hands one over: `snapshot` is a photo already in the media store. */
function ai(g: InProcessGateway, id: string, atMs: number, extra: Record<string, unknown> = {}): Promise<void> {
  const e = { type: 'ai', school: 'S001', device: camera, sourceId: id, atMs, receivedAtMs: Date.now(), data: { id, ts: atMs, kind: 'rodent', confidence: 0.95, ...extra } } as DomainEvent;
  return new Promise((resolve, reject) => g.services.dispatcher.submit(e, (err) => (err ? reject(err) : resolve())));
}
async function frames(g: InProcessGateway): Promise<FeedFrame[]> {
  return ((await g.services.store.feedSince(0, 100_000)) ?? []).filter((f) => f.type === 'case');
}

test('a deadline passed while the gateway was down escalates once at start; the open case is restored and joined', async () => {
  const dataDir = await makeTempDir('canteen-restart-');
  const env = { DATA_DIR: dataDir, GATEWAY_ADMIN_PASSWORD: 'canteen-restart-pw' };
  const g1 = await buildInProcess(env);
  open.push(g1);
  // A rat seen almost 2 h ago: the rodent case's 2 h deadline is a moment away.
  const seenMs = Date.now() - 2 * HOUR + 3000;
  await ai(g1, 'r-1', seenMs, { snapshot: SNAPSHOT });
  const [c] = await g1.services.module<CanteenModule>('canteen').list({ school: 'S001' });
  assert.equal(c.snapshot, SNAPSHOT);
  assert.equal(c.area, 'storage');
  assert.equal(c.deadlineAt, new Date(seenMs + 2 * HOUR).toISOString());
  assert.equal(c.overdue, false);
  await g1.close();
  // The gateway stays down past the deadline.
  await waitFor('the deadline to pass', () => Date.now() > Date.parse(c.deadlineAt) + 50, { timeoutMs: 5000 });

  const restartedAt = Date.now();
  const g2 = await buildInProcess(env);
  open.push(g2);
  const canteen = g2.services.module<CanteenModule>('canteen');
  const escalated = await waitFor('the escalation after the restart', async () => {
    const now = await canteen.get(c.id);
    return now?.escalatedAt ? now : undefined;
  });
  assert.ok(Date.parse(escalated.escalatedAt!) >= Date.parse(c.deadlineAt), 'never before the deadline');
  assert.ok(Date.parse(escalated.escalatedAt!) >= restartedAt, 'escalated by the restarted gateway');
  assert.equal(escalated.overdue, true);
  const overdueFrames = (await frames(g2)).filter((f) => (f.data as { id: string; action: string }).id === c.id && (f.data as { action: string }).action === 'overdue');
  assert.equal(overdueFrames.length, 1);
  assert.equal((overdueFrames[0].data as { school: string }).school, 'S001');

  // A frame of the same rat within the window (a late delivery) joins the restored case.
  await ai(g2, 'r-2', seenMs + 60_000);
  const after2 = await canteen.get(c.id);
  assert.equal(after2!.events, 2);
  assert.equal((await canteen.list({ school: 'S001' })).length, 1);
  assert.equal(canteen.snapshot!('S001').canteen && (canteen.snapshot!('S001').canteen as { open: number }).open, 1);
  assert.deepEqual(canteen.snapshot!('S002'), { canteen: { cases: [], open: 0, overdue: 0 } });

  // A third start escalates nothing again.
  await g2.close();
  const g3 = await buildInProcess(env);
  open.push(g3);
  const c3 = await g3.services.module<CanteenModule>('canteen').get(c.id);
  assert.equal(c3!.escalatedAt, escalated.escalatedAt);
  assert.equal((await frames(g3)).filter((f) => (f.data as { id: string; action: string }).id === c.id && (f.data as { action: string }).action === 'overdue').length, 1);
});
