// The operator console's remaining parts of issue #12, in real Chromium against the real gateway:
// a note without a change of state (N, and the detail's 添加备注 on a resolved alarm), the recent
// alarms list opening a resolved alarm's detail, and kiosk admin (an admin issues a kiosk, its
// set-up link works in a second browser context, the admin revokes it after a confirmation and
// that screen shows 本屏幕已撤销; an operator is not offered kiosk admin).
//
//   node --import tsx --test --test-force-exit test/browser/console-admin.test.ts
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { closeWall, openWall, signIn } from './wall.js';
import type { Alarm } from '../../gateway/contract/api.js';
import { buildDashboard } from '../../scripts/build-dashboard.js';
import { api, login, startGateway, type GatewayProc } from '../support/gateway.js';
import { connectDevice, type MqttClient } from '../support/mqtt.js';
import { waitFor } from '../support/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = path.join(ROOT, 'test-results');
const OPERATOR = { user: 'desk-op', password: 'desk-op-Pass-1' };
const SCREEN = '指挥中心大屏 2';

describe('operator console: notes, recent alarms, kiosk admin', { timeout: 600_000 }, () => {
  let dashboardDir: string;
  let gw: GatewayProc;
  let admin: string;
  let browser: Browser;
  let page: Page;
  let device: MqttClient;
  const pageErrors: string[] = [];
  const contexts: BrowserContext[] = [];

  const alarmBySource = (sourceId: string) =>
    waitFor(`alarm ${sourceId} at the gateway`, async () => {
      const res = await api<{ alarms: Alarm[] }>(gw.url, admin, 'GET', '/api/alarms?state=all&limit=50');
      return res.body.alarms.find((a) => a.sourceId === sourceId);
    }, { timeoutMs: 15_000, intervalMs: 100 });
  const alarmWhere = (id: string, ok: (a: Alarm) => boolean, what: string) =>
    waitFor(`alarm ${id} ${what}`, async () => {
      const res = await api<Alarm>(gw.url, admin, 'GET', `/api/alarms/${encodeURIComponent(id)}`);
      return ok(res.body) ? res.body : undefined;
    }, { timeoutMs: 15_000, intervalMs: 100 });
  const noteDialog = () => page.getByTestId('note-dialog');

  /** A second browser context (its own storage: another screen), refusing the internet too. */
  async function newContext(): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    contexts.push(ctx);
    await ctx.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => {
      pageErrors.push(`external request: ${route.request().url()}`);
      return route.abort();
    });
    const p = await ctx.newPage();
    p.on('pageerror', (err) => pageErrors.push(String(err)));
    return p;
  }

  before(async () => {
    dashboardDir = await mkdtemp(path.join(os.tmpdir(), 'console-admin-dashboard-'));
    await buildDashboard(dashboardDir);
    gw = await startGateway({ env: { DASHBOARD_DIR: dashboardDir }, startTimeoutMs: 120_000 });
    admin = await login(gw.url, 'admin', gw.adminPassword);
    assert.equal((await api(gw.url, admin, 'POST', '/api/users', { ...OPERATOR, role: 'operator' })).status, 201);
    device = await connectDevice(gw.mqttUrl);
    ({ browser, page } = await openWall(pageErrors));
    mkdirSync(RESULTS, { recursive: true });
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await closeWall({ device, browser, gw, dashboardDir });
  });

  it('N writes a note without a change of state; an empty note is refused before it is sent', async () => {
    await signIn(page, `${gw.url}/console`, OPERATOR, 30_000);
    assert.equal(await page.getByTestId('open-kiosk-admin').count(), 0, 'an operator is not offered kiosk admin');
    await device.publishAsync('campus/v1/S001/S001-AB01/alarm', JSON.stringify({ id: 'note-1', ts: Date.now(), kind: 'fire' }), { qos: 1 });
    const alarm = await alarmBySource('note-1');
    await page.locator(`[data-testid="alarm-card"][data-alarm-id="${alarm.id}"]`).first().waitFor({ timeout: 15_000 });
    // The pop-up of the new alarm waits for the operator: put it aside, then select the alarm with J.
    const popup = page.getByTestId('alarm-popup');
    if (await popup.isVisible()) await popup.getByTestId('popup-dismiss').click();
    await page.keyboard.press('j');
    await waitFor('the alarm selected', async () => (await page.evaluate(() => document.body.dataset.selectedAlarm)) === alarm.id);

    await page.keyboard.press('n');
    await noteDialog().waitFor({ state: 'visible', timeout: 5000 });
    assert.match((await noteDialog().locator('h2').textContent()) ?? '', /添加备注/);
    await page.getByTestId('note-input').fill('   ');
    await page.keyboard.press('Control+Enter');
    await page.getByTestId('note-error').filter({ hasText: '请填写备注内容' }).waitFor({ timeout: 5000 });
    await page.getByTestId('note-input').fill('已通知校长 principal told');
    await page.keyboard.press('Control+Enter');
    await noteDialog().waitFor({ state: 'hidden', timeout: 15_000 }); // the gateway answered
    const noted = await alarmWhere(alarm.id, (a) => a.history.length === 2, 'with the note');
    assert.equal(noted.state, 'raised', 'a note is not an acknowledgement');
    assert.deepEqual([noted.history[1].note, noted.history[1].action, noted.history[1].by], ['已通知校长 principal told', 'note', OPERATOR.user]);

    // The detail shows it as a note, not as a step.
    await page.keyboard.press('Enter');
    const entry = page.locator(`[data-testid="alarm-detail"][data-alarm-id="${alarm.id}"] [data-testid="history-entry"][data-action="note"]`);
    await entry.waitFor({ timeout: 10_000 });
    assert.match((await entry.textContent()) ?? '', /备注.*desk-op.*已通知校长/);
    await page.keyboard.press('Escape');
    await page.getByTestId('alarm-detail').waitFor({ state: 'hidden', timeout: 5000 });
    assert.deepEqual(pageErrors, []);
  });

  it('recent alarms: a resolved alarm opens in the detail with its history, and takes a note that every console sees', async () => {
    const alarm = await alarmBySource('note-1');
    for (const action of ['ack', 'resolve'])
      assert.equal((await api(gw.url, admin, 'POST', `/api/alarms/${alarm.id}/${action}`, { note: action === 'resolve' ? '误报 false alarm' : undefined })).status, 200);
    await page.locator(`[data-testid="alarm-card"][data-alarm-id="${alarm.id}"]`).waitFor({ state: 'detached', timeout: 15_000 });

    await page.getByTestId('open-recent').click();
    const recent = page.getByTestId('recent-alarms');
    await page.locator('[data-testid="recent-alarms"][data-status="ready"]').waitFor({ timeout: 30_000 });
    await recent.getByTestId('recent-filter-resolved').click();
    const row = recent.locator(`[data-testid="recent-row"][data-alarm-id="${alarm.id}"]`);
    await row.waitFor({ timeout: 5000 });
    assert.equal(await row.getAttribute('data-state'), 'resolved');
    assert.equal(await recent.locator('[data-testid="recent-row"]:not([data-state="resolved"])').count(), 0, 'the filter shows resolved alarms only');
    await page.screenshot({ path: path.join(RESULTS, 'console-recent.png') });
    await row.click();

    const detail = page.locator(`[data-testid="alarm-detail"][data-alarm-id="${alarm.id}"]`);
    await detail.waitFor({ timeout: 10_000 });
    await detail.getByTestId('history-entry').nth(3).waitFor({ timeout: 10_000 });
    assert.equal(await detail.getByTestId('detail-state').textContent(), '已解除');
    assert.deepEqual(await detail.getByTestId('history-note').allTextContents(), ['已通知校长 principal told', '误报 false alarm']);
    assert.equal(await detail.getByTestId('detail-ack').count(), 0, 'no step on a resolved alarm');

    // A second console (the admin's) has the same alarm open: the note arrives there live.
    const other = await newContext();
    await signIn(other, `${gw.url}/console`, { user: 'admin', password: gw.adminPassword }, 30_000);
    await other.getByTestId('open-recent').click();
    await other.locator(`[data-testid="recent-row"][data-alarm-id="${alarm.id}"]`).click();
    const otherDetail = other.locator(`[data-testid="alarm-detail"][data-alarm-id="${alarm.id}"]`);
    await otherDetail.getByTestId('history-entry').nth(3).waitFor({ timeout: 10_000 });

    await detail.getByTestId('detail-note').click();
    await noteDialog().waitFor({ state: 'visible', timeout: 5000 });
    await page.getByTestId('note-input').fill('复盘：按钮误触 reviewed');
    await page.getByTestId('note-confirm').click();
    await noteDialog().waitFor({ state: 'hidden', timeout: 15_000 });
    await detail.getByTestId('history-entry').nth(4).waitFor({ timeout: 10_000 });
    await otherDetail.locator('[data-testid="history-entry"][data-action="note"]').filter({ hasText: '复盘：按钮误触 reviewed' }).waitFor({ timeout: 10_000 });
    const after = await alarmWhere(alarm.id, (a) => a.history.length === 5, 'with the later note');
    assert.equal(after.state, 'resolved');
    await page.screenshot({ path: path.join(RESULTS, 'console-resolved-detail.png') });
    await page.getByTestId('detail-close').click();
    await page.getByTestId('alarm-detail').waitFor({ state: 'detached', timeout: 5000 });
    await page.getByTestId('recent-close').click();
    await page.getByTestId('recent-alarms').waitFor({ state: 'detached', timeout: 5000 });
    assert.deepEqual(pageErrors, []);
  });

  it('kiosk admin: issue → the set-up link works on another screen → revoke after confirming → that screen is refused', async () => {
    const console = await newContext();
    await signIn(console, `${gw.url}/console`, { user: 'admin', password: gw.adminPassword }, 30_000);
    await console.getByTestId('open-kiosk-admin').click();
    const panel = console.getByTestId('kiosk-admin');
    await console.locator('[data-testid="kiosk-admin"][data-status="ready"]').waitFor({ timeout: 30_000 });
    // A nameless screen is refused before anything is sent.
    await panel.getByTestId('kiosk-issue-submit').click();
    await panel.getByTestId('kiosk-error').filter({ hasText: '请填写屏幕名称' }).waitFor({ timeout: 5000 });
    await panel.getByTestId('kiosk-name').fill(SCREEN);
    await panel.getByTestId('kiosk-school').selectOption('S001');
    await panel.getByTestId('kiosk-issue-submit').click();
    const issued = panel.getByTestId('kiosk-issued');
    await issued.waitFor({ timeout: 15_000 });
    const url = await panel.getByTestId('kiosk-url').inputValue();
    const kioskId = (await issued.getAttribute('data-kiosk-id'))!;
    assert.match(url, /#kiosk-setup=/);
    const row = panel.locator(`[data-testid="kiosk-row"][data-kiosk-id="${kioskId}"]`);
    assert.equal(await row.getAttribute('data-state'), 'awaiting_setup');
    assert.match((await row.textContent()) ?? '', new RegExp(SCREEN));
    await console.screenshot({ path: path.join(RESULTS, 'console-kiosk-issued.png') });

    // The wall screen: a browser of its own opens the link once and shows the wall, no login form.
    const screen = await newContext();
    await screen.goto(url);
    await screen.locator('[data-testid="conn-status"][data-state="open"]').waitFor({ timeout: 30_000 });
    assert.equal(await screen.getByTestId('login-view').count(), 0, 'no login form');
    assert.match((await screen.getByTestId('current-user').textContent()) ?? '', new RegExp(SCREEN));
    const listed = (await api<{ kiosks: { id: string; state: string; school?: string }[] }>(gw.url, admin, 'GET', '/api/kiosks')).body.kiosks.find((k) => k.id === kioskId);
    assert.deepEqual([listed?.state, listed?.school], ['active', 'S001']);

    // Closing and opening again lists it as set up; the link was shown once only.
    await panel.getByTestId('kiosk-admin-close').click();
    await console.getByTestId('open-kiosk-admin').click();
    await console.locator(`[data-testid="kiosk-row"][data-kiosk-id="${kioskId}"][data-state="active"]`).waitFor({ timeout: 30_000 });
    assert.equal(await console.getByTestId('kiosk-issued').count(), 0, 'the set-up link is not shown again');

    // Revoke: a first click asks, cancel keeps it, the confirmation revokes.
    const active = console.locator(`[data-testid="kiosk-row"][data-kiosk-id="${kioskId}"]`);
    await active.getByTestId('kiosk-revoke').click();
    await active.getByTestId('kiosk-revoke-cancel').click();
    assert.equal(await active.getAttribute('data-state'), 'active');
    await active.getByTestId('kiosk-revoke').click();
    await active.getByTestId('kiosk-revoke-confirm').click();
    await console.locator(`[data-testid="kiosk-row"][data-kiosk-id="${kioskId}"][data-state="revoked"]`).waitFor({ timeout: 30_000 });

    const revoked = screen.getByTestId('kiosk-revoked');
    await revoked.waitFor({ timeout: 30_000 });
    assert.equal(await revoked.textContent(), '本屏幕已撤销');
    assert.equal(await screen.getByTestId('wall').count(), 0, 'the wall is gone');
    const audit = await api<{ entries: { action: string; target?: string; user: string }[] }>(gw.url, admin, 'GET', '/api/audit?limit=200');
    for (const action of ['kiosk.issue', 'kiosk.revoke']) assert.ok(audit.body.entries.some((e) => e.action === action && e.target === kioskId && e.user === 'admin'), `${action} audited`);
    // A revoked screen's refused requests are the browser's notes, not script errors.
    assert.deepEqual(pageErrors.filter((e) => !/Failed to load resource|WebSocket connection to .* failed/.test(e)), []);
  });
});
