// The wall screen as a kiosk, in real Chromium against the real gateway: opened once with the
// setup link an admin issued, it shows the wall without a login form, renews its short session by
// itself, recovers from a gateway restart and a network cut by itself, and shows 已撤销 when the admin revokes it.
//
//   node --import tsx --test --test-force-exit test/browser/kiosk.test.ts
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { openWall } from './wall.js';
import { buildDashboard } from '../../scripts/build-dashboard.js';
import { api, login, startGateway, type GatewayProc } from '../support/gateway.js';
import { connectDevice, type MqttClient } from '../support/mqtt.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = path.join(ROOT, 'test-results');
// Kiosk sessions last TOKEN_TTL_SEC at most: short here, so the test sees a silent renewal (at 80 %)
// and the live socket's close at the old session's expiry (4002) followed by a reconnect.
const TTL_SEC = 20;
const NAME = '指挥中心大屏 1';

/** What a user would not want on a kiosk: script errors and outside requests (not the browser's notes on refused requests while the gateway is away or after revocation). */
const unexpected = (errors: string[]) => errors.filter((e) => !/Failed to load resource|WebSocket connection to .* failed/.test(e));

describe('the wall screen as a kiosk', { timeout: 180_000 }, () => {
  let dashboardDir: string;
  let gw: GatewayProc;
  // The screen reaches the gateway through a proxy the test can cut, as a pulled cable would.
  let wire: TcpProxy;
  let browser: Browser;
  let page: Page;
  let device: MqttClient | undefined;
  let kioskId: string;
  const pageErrors: string[] = [];
  const admin = () => login(gw.url, 'admin', gw.adminPassword);
  const storage = () => page.evaluate(() => ({ kiosk: localStorage.getItem('wall.kiosk'), session: sessionStorage.getItem('wall.session') }));
  const connected = () => page.locator('[data-testid="conn-status"][data-state="open"]').waitFor({ timeout: 25_000 });

  before(async () => {
    mkdirSync(RESULTS, { recursive: true });
    dashboardDir = await mkdtemp(path.join(os.tmpdir(), 'kiosk-dashboard-'));
    await buildDashboard(dashboardDir);
    gw = await startGateway({ env: { DASHBOARD_DIR: dashboardDir, TOKEN_TTL_SEC: String(TTL_SEC) } });
    wire = await startTcpProxy(gw.port);
    ({ browser, page } = await openWall(pageErrors));
  });
  after(async () => {
    await device?.endAsync(true).catch(() => {});
    await browser?.close().catch(() => {});
    await wire?.close();
    await gw?.stop().catch(() => gw.kill9());
    if (dashboardDir) await rm(dashboardDir, { recursive: true, force: true });
  });

  it('opened with the setup link, shows the wall and live alarms without a login form, and cannot act', async () => {
    // Issued through the proxy, so the setup link names the address the screen uses.
    const issued = await api(wire.url, await admin(), 'POST', '/api/kiosks', { name: NAME });
    assert.ok(issued.body.url.startsWith(`${wire.url}/`), issued.body.url);
    assert.equal(issued.status, 201);
    kioskId = issued.body.id;
    await page.goto(issued.body.url);
    await connected();
    assert.equal(await page.getByTestId('login-view').count(), 0, 'no login form');
    // The tiles come with the first render after the snapshot, which may be a frame after `connected`.
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="school-tile"]').length === 84, undefined, { timeout: 15_000 }).catch(() => undefined);
    assert.equal(await page.getByTestId('school-tile').count(), 84, 'the county overview is there');
    assert.ok(!page.url().includes('kiosk-setup'), `the setup code left the address bar: ${page.url()}`);
    assert.match((await page.getByTestId('current-user').textContent()) ?? '', new RegExp(NAME));
    assert.ok(await page.getByTestId('logout').isHidden(), 'a kiosk has no logout button');
    const stored = await storage();
    const kiosk = JSON.parse(stored.kiosk ?? '{}');
    assert.equal(kiosk.id, kioskId);
    assert.match(kiosk.secret, /^kd_/, 'the device secret is kept in localStorage');
    assert.ok(!stored.kiosk!.includes(issued.body.setupCode), 'not the setup code');

    // The admin sees where it was set up; the link cannot set up a second screen.
    const row = (await api(gw.url, await admin(), 'GET', '/api/kiosks')).body.kiosks.find((k: { id: string }) => k.id === kioskId);
    assert.equal(row.state, 'active');
    assert.match(row.boundAgent, /Chrom/);
    const second = await api(gw.url, undefined, 'POST', '/api/kiosk/setup', { setupCode: issued.body.setupCode });
    assert.equal(second.body.error, 'setup_used');

    // Live data: a new alarm pops up, without the acknowledge button a kiosk may not use.
    device = await connectDevice(gw.mqttUrl);
    await device.publishAsync('campus/v1/S001/S001-AB01/alarm', JSON.stringify({ id: 'kiosk-1', ts: Date.now(), kind: 'panic' }), { qos: 1 });
    const popup = page.getByTestId('alarm-popup');
    await popup.waitFor({ state: 'visible', timeout: 30_000 });
    assert.equal(await popup.getByTestId('popup-ack').count(), 0, 'no acknowledge button on a kiosk');
    await popup.getByTestId('popup-dismiss').click();

    // A reload with no session left: a new one from the secret, still no login form.
    await page.evaluate(() => sessionStorage.clear());
    await page.reload();
    await connected();
    assert.equal(await page.getByTestId('login-view').count(), 0);
    assert.deepEqual(unexpected(pageErrors), []);
  });

  it('renews its short session silently, and the live feed carries on past the old session', async () => {
    const first = JSON.parse((await storage()).session ?? '{}').token as string;
    assert.ok(first);
    await waitFor('a renewed session', async () => {
      const now = JSON.parse((await storage()).session ?? '{}').token;
      return now && now !== first;
    }, { timeoutMs: TTL_SEC * 1000 });
    // Past the first session's expiry: the gateway closed its socket (4002); the screen is connected again with the new one.
    await waitFor('the first session to expire', () => {
      const [, payload] = first.split('.');
      return Date.now() > JSON.parse(Buffer.from(payload, 'base64url').toString()).exp * 1000 + 2000;
    }, { timeoutMs: TTL_SEC * 1000 });
    await connected();
    await device!.publishAsync('campus/v1/S002/S002-AB01/alarm', JSON.stringify({ id: 'kiosk-2', ts: Date.now(), kind: 'intrusion' }), { qos: 1 });
    await page.getByTestId('alarm-list').getByTestId('alarm-card').filter({ hasText: '入侵' }).waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('login-view').count(), 0);
  });

  it('recovers by itself from a gateway restart, without a login form', async () => {
    await connected();
    await gw.kill9();
    await page.getByTestId('conn-banner').waitFor({ state: 'visible', timeout: 30_000 });
    await gw.restart();
    await connected();
    await page.getByTestId('conn-banner').waitFor({ state: 'hidden', timeout: 30_000 });
    assert.equal(await page.getByTestId('login-view').count(), 0, 'no login form after the restart');
    await device?.endAsync(true).catch(() => {});
    device = await connectDevice(gw.mqttUrl);
    await device.publishAsync('campus/v1/S001/S001-AB03/alarm', JSON.stringify({ id: 'kiosk-3', ts: Date.now(), kind: 'fire' }), { qos: 1 });
    await page.getByTestId('alarm-list').getByTestId('alarm-card').filter({ hasText: '火警' }).waitFor({ timeout: 30_000 });
    assert.deepEqual(unexpected(pageErrors), []);
  });

  // Made on the wire: Chromium's offline emulation does not close a WebSocket that is already open.
  it('recovers by itself from a network cut, without a login form', async () => {
    await connected();
    wire.cut();
    await page.getByTestId('conn-banner').waitFor({ state: 'visible', timeout: 30_000 });
    await device!.publishAsync('campus/v1/S003/S003-AB01/alarm', JSON.stringify({ id: 'kiosk-4', ts: Date.now(), kind: 'medical' }), { qos: 1 });
    wire.mend();
    await connected();
    await page.getByTestId('conn-banner').waitFor({ state: 'hidden', timeout: 30_000 });
    assert.equal(await page.getByTestId('login-view').count(), 0, 'no login form after the cut');
    // The alarm raised while the screen was cut off is there once it is back (the feed resumes).
    await page.getByTestId('alarm-list').getByTestId('alarm-card').filter({ hasText: '医疗' }).waitFor({ timeout: 30_000 });
    assert.deepEqual(unexpected(pageErrors), []);
  });

  it('shows the revoked screen when the admin revokes it, and still after a reload — never a login form', async () => {
    await connected();
    assert.equal((await api(gw.url, await admin(), 'DELETE', `/api/kiosks/${kioskId}`)).status, 200);
    const revoked = page.getByTestId('kiosk-revoked');
    await revoked.waitFor({ timeout: 30_000 });
    assert.equal(await revoked.textContent(), '本屏幕已撤销');
    assert.equal(await page.getByTestId('login-view').count(), 0);
    assert.equal(await page.getByTestId('wall').count(), 0, 'the wall is gone');
    await page.screenshot({ path: path.join(RESULTS, 'kiosk-revoked.png') });
    const kiosk = JSON.parse((await storage()).kiosk ?? '{}');
    assert.equal(kiosk.revoked, true);
    assert.equal(kiosk.secret, undefined, 'the dead secret is dropped');

    await page.reload();
    await revoked.waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('login-view').count(), 0, 'a reload shows the revoked screen again, not a login form');
    assert.deepEqual(unexpected(pageErrors), []);
  });
});
