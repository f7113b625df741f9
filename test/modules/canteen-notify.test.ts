/**
 * Notifying the school of its canteen cases (issue 11: "the school's food-safety officer is
 * notified, on their console and over MQTT/webhook"), in process with the real embedded broker and
 * a real local HTTP receiver:
 *  - the webhook: every step of a case is POSTed, signed (HMAC-SHA256 over the body), from a durable
 *    outbox: a receiver that is down while the gateway restarts gets everything afterwards, in order
 *    per case, each with a stable delivery id (a retried delivery has the same one);
 *  - MQTT: a school's canteen terminal, with its own credentials, receives its school's notification
 *    on `campus/v1/_gateway/{school}/canteen/case` and may not subscribe to another school's.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { buildInProcess, type InProcessGateway } from '../routes/harness.js';
import { REPO_ROOT } from '../support/gateway.js';
import { connectAs, waitForMessage, type MqttClient } from '../support/mqtt.js';
import { freePort } from '../support/ports.js';
import { makeTempDir } from '../support/procs.js';
import { waitFor } from '../support/wait.js';

const SECRET = randomBytes(24).toString('base64url');
const open: InProcessGateway[] = [];
const clients: MqttClient[] = [];
let env: Record<string, string>;
let port: number;

interface Got {
  path: string;
  delivery: string;
  body: { deliveryId: string; id: string; school: string; action: string; state: string; by: string };
}
const got: Got[] = [];
let failFirstOf: string | undefined;
const attempts = new Map<string, number>();
const receiver = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks);
    const want = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`);
    const sig = Buffer.from(String(req.headers['x-campus-signature'] ?? ''));
    // A receiver checks the signature before it trusts anything in the body.
    if (sig.length !== want.length || !timingSafeEqual(sig, want)) return void res.writeHead(401).end();
    const delivery = String(req.headers['x-campus-delivery']);
    attempts.set(delivery, (attempts.get(delivery) ?? 0) + 1);
    if (delivery === failFirstOf && attempts.get(delivery) === 1) return void res.writeHead(503).end();
    got.push({ path: req.url!, delivery, body: JSON.parse(raw.toString('utf8')) });
    res.writeHead(204).end();
  });
});

before(async () => {
  const dir = await makeTempDir('canteen-notify-');
  // The demo county: a canteen terminal (the food-safety officer's) per canteen, S001-CT1 and S002-CT1 among them.
  const registry = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'config/county.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'county.json'), JSON.stringify(registry));
  fs.writeFileSync(path.join(dir, 'webhook.secret'), `${SECRET}\n`, { mode: 0o600 });
  port = await freePort();
  env = {
    DATA_DIR: await makeTempDir('canteen-notify-data-'),
    GATEWAY_ADMIN_PASSWORD: randomBytes(12).toString('base64url'),
    REGISTRY: path.join(dir, 'county.json'),
    POLICY: path.join(REPO_ROOT, 'config/policy.json'),
    CANTEEN_WEBHOOK_URL: `http://127.0.0.1:${port}/hooks/{school}`,
    CANTEEN_WEBHOOK_SECRET_FILE: path.join(dir, 'webhook.secret'),
    CANTEEN_WEBHOOK_MAX_BACKOFF_MS: '200',
  };
});
after(async () => {
  for (const c of clients) await c.endAsync(true).catch(() => undefined);
  for (const g of open) await g.close().catch(() => undefined);
  receiver.close();
});

const start = async () => {
  const g = await buildInProcess(env);
  open.push(g);
  return g;
};
const failInspection = async (g: InProcessGateway, school: string, at?: string) => {
  const r = await g.call('POST', '/api/inspections', { token: g.tokens.maintenance, body: { school, item: 'canteen_storage', result: 'fail', note: '生熟混放', ...(at ? { at } : {}) } });
  assert.equal(r.status, 201, r.text);
  return waitFor('the case of the inspection', async () => {
    const cases = (await g.call('GET', `/api/canteen/cases?school=${school}`, { token: g.tokens.viewer })).body.cases as { id: string; inspection?: string }[];
    return cases.find((c) => c.inspection === r.body.id)?.id;
  });
};
const act = async (g: InProcessGateway, id: string, action: string) => {
  const r = await g.call('POST', `/api/canteen/cases/${id}/${action}`, { token: g.tokens.operator, body: {} });
  assert.equal(r.status, 200, r.text);
};

test('a receiver down across a gateway restart gets every step afterwards, signed, in order, once per delivery id', async () => {
  const g1 = await start();
  const a = await failInspection(g1, 'S001');
  await act(g1, a, 'notify');
  const b = await failInspection(g1, 'S002');
  await g1.close();

  const g2 = await start();
  await act(g2, a, 'start');
  assert.equal(got.length, 0, 'the receiver is down: nothing was taken yet');
  const health = await waitFor('/health to show the failing receiver', async () => {
    const h = (await g2.app.inject({ method: 'GET', url: '/health' })).json();
    return h.canteenWebhook?.failing?.length ? h : undefined;
  });
  assert.equal(health.canteenWebhook.pending, 4);
  assert.match(health.canteenWebhook.failing[0].error, /ECONNREFUSED/);
  assert.doesNotMatch(JSON.stringify(health), new RegExp(SECRET), 'the secret is never shown');
  // The receiver comes up; its first answer to one delivery is a 503: that one is sent again.
  failFirstOf = `${a}/2`;
  await new Promise<void>((resolve) => receiver.listen(port, '127.0.0.1', resolve));

  await waitFor('all four notifications', () => got.length >= 4 || undefined, { timeoutMs: 15_000 });
  const mine = got.filter((x) => x.body.id === a);
  assert.deepEqual(mine.map((x) => [x.delivery, x.body.deliveryId, x.body.action, x.body.state]), [
    [`${a}/1`, `${a}/1`, 'open', 'open'],
    [`${a}/2`, `${a}/2`, 'notify', 'notified'],
    [`${a}/3`, `${a}/3`, 'start', 'rectifying'],
  ], 'every step of the case, in order, each with its stable delivery id');
  assert.ok(mine.every((x) => x.path === '/hooks/S001'), 'to the school’s own receiver');
  assert.equal(attempts.get(`${a}/2`), 2, 'the refused delivery was retried with the same id, and the next waited for it');
  const other = got.filter((x) => x.body.id === b);
  assert.deepEqual(other.map((x) => [x.path, x.body.school, x.body.action]), [['/hooks/S002', 'S002', 'open']]);
  assert.equal(mine[0].body.by, 'maintenance-1', 'the frame names who opened it');

  // Delivered rows are marked: a restart sends nothing again.
  await waitFor('the outbox to be marked delivered', async () => {
    const pending = await g2.services.store.find('canteen_webhook_outbox', { where: [['delivered', '=', 0]] });
    return pending.length === 0 || undefined;
  });
  await g2.close();
  const before = got.length;
  const g3 = await start();
  await act(g3, a, 'submit').catch(() => undefined); // submit needs a photo: refused, nothing sent
  await act(g3, a, 'notify').catch(() => undefined); // illegal from rectifying: refused, nothing sent
  const c = await failInspection(g3, 'S001');
  await waitFor('the next notification', () => got.some((x) => x.body.id === c) || undefined, { timeoutMs: 10_000 });
  assert.equal(got.length, before + 1, 'nothing delivered before was sent again, and refused actions sent nothing');
});

test('a canteen terminal gets its school’s case notifications over MQTT and cannot subscribe to another school’s', async () => {
  const g = open.at(-1)!;
  const terminal = await connectAs(g.mqttUrl, 'S001-CT1');
  clients.push(terminal);
  // MQTT.js rejects a SUBACK of 0x80; the granted code is on the error's packet.
  const granted = async (c: MqttClient, filter: string) => {
    try {
      return (await c.subscribeAsync(filter, { qos: 1 }))[0].qos;
    } catch (err) {
      const codes = (err as { packet?: { granted?: number[] } }).packet?.granted;
      if (codes) return codes[0];
      throw err;
    }
  };
  assert.equal(await granted(terminal, 'campus/v1/_gateway/S001/canteen/case'), 1, 'its own school’s');
  assert.equal(await granted(terminal, 'campus/v1/_gateway/S002/canteen/case'), 128, 'another school’s');
  assert.equal(await granted(terminal, 'campus/v1/_gateway/+/canteen/case'), 128, 'every school’s');
  assert.equal(await granted(terminal, 'campus/v1/_gateway/#'), 128);
  const button = await connectAs(g.mqttUrl, 'S001-AB01');
  clients.push(button);
  assert.equal(await granted(button, 'campus/v1/_gateway/S001/canteen/case'), 128, 'an alarm button is no canteen terminal');

  const msg = waitForMessage(terminal, 'campus/v1/_gateway/S001/canteen/case', (_t, p) => JSON.parse(p.toString()).action === 'open', 10_000);
  const id = await failInspection(g, 'S001');
  const m = await msg;
  const body = JSON.parse(m.payload.toString());
  assert.equal(body.id, id);
  assert.equal(body.school, 'S001');
  assert.equal(body.deliveryId, `${id}/1`);
  assert.equal(body.source, 'inspection');
  assert.equal(body.state, 'open');

  const step = waitForMessage(terminal, 'campus/v1/_gateway/S001/canteen/case', (_t, p) => JSON.parse(p.toString()).action === 'notify', 10_000);
  await act(g, id, 'notify');
  assert.equal(JSON.parse((await step).payload.toString()).deliveryId, `${id}/2`);
});

test('the overdue escalation reaches the terminal and the receiver too, once, with its own delivery id', async () => {
  const g = open.at(-1)!;
  const terminal = clients[0];
  // Inspected almost 24 h ago (policy: 24 h to rectify): the deadline passes in a moment.
  const at = new Date(Date.now() - 24 * 3_600_000 + 1500).toISOString();
  const overdue = waitForMessage(terminal, 'campus/v1/_gateway/S001/canteen/case', (_t, p) => JSON.parse(p.toString()).action === 'overdue', 15_000);
  const id = await failInspection(g, 'S001', at);
  const m = JSON.parse((await overdue).payload.toString());
  assert.equal(m.id, id);
  assert.equal(m.deliveryId, `${id}/overdue`);
  assert.equal(m.escalated, true);
  assert.equal(m.overdue, true);
  await waitFor('the escalation at the receiver', () => got.some((x) => x.delivery === `${id}/overdue`) || undefined, { timeoutMs: 10_000 });
  assert.deepEqual(got.filter((x) => x.body.id === id).map((x) => x.body.action), ['open', 'overdue'], 'in order, once each');
});
