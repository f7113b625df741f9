// The wall screen's quiet "history export behind" chip, in real Chromium against a real gateway whose
// InfluxDB (a VictoriaMetrics) is down: hidden while nothing waits, shown once a point is older than
// EXPORT_LAG_WARN_SEC, without moving the alarm layout; hidden again when the database is back.
//
//   node --import tsx --test --test-force-exit test/browser/export-warning.test.ts
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { openWall, signIn } from './wall.js';
import { buildDashboard } from '../../scripts/build-dashboard.js';
import { startGateway } from '../support/gateway.js';
import { connectDevice, type MqttClient } from '../support/mqtt.js';
import { startVictoria, type Victoria } from '../support/victoria.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = path.join(ROOT, 'test-results');
const SCHOOL = 'S001';
const GATE = 'S001-GATE1'; // a gate controller of S001 in config/county.json
const POLL_MS = 500;

type Gateway = Awaited<ReturnType<typeof startGateway>>;

describe('wall screen: history export warning', { timeout: 120_000 }, () => {
  let dashboardDir: string;
  let vm: Victoria;
  let gw: Gateway;
  let browser: Browser;
  let page: Page;
  let device: MqttClient | undefined;
  const pageErrors: string[] = [];

  before(async () => {
    dashboardDir = await mkdtemp(path.join(os.tmpdir(), 'wall-dashboard-'));
    await buildDashboard(dashboardDir);
    // A database that was there and is gone: its port refuses connections.
    vm = await startVictoria();
    await vm.stop();
    gw = await startGateway({
      env: {
        DASHBOARD_DIR: dashboardDir,
        INFLUX_URL: vm.url,
        INFLUX_TOKEN: 'test-token',
        INFLUX_ORG: 'bureau',
        INFLUX_BUCKET: 'campus',
        EXPORT_LAG_WARN_SEC: '1',
        EXPORT_MAX_BATCH_AGE_MS: '100',
        EXPORT_MIN_BACKOFF_MS: '200',
        EXPORT_MAX_BACKOFF_MS: '1000',
        INFLUX_TIMEOUT_MS: '1000',
      },
    });
    ({ browser, page } = await openWall(pageErrors));
    mkdirSync(RESULTS, { recursive: true });
  });

  after(async () => {
    await device?.endAsync(true).catch(() => {});
    await browser?.close().catch(() => {});
    await gw?.stop().catch(() => gw.kill9());
    await vm?.stop().catch(() => {});
    if (dashboardDir) await rm(dashboardDir, { recursive: true, force: true });
  });

  it('shows a quiet chip while the export lags, without moving the alarm layout, and hides it once it catches up', async () => {
    await signIn(page, `${gw.url}/?healthPollMs=${POLL_MS}`, { user: 'admin', password: gw.adminPassword }, 15_000);

    // Export enabled, database down, but nothing waiting: no warning (several polls later).
    const chip = page.getByTestId('export-warning');
    await page.waitForTimeout(3 * POLL_MS);
    assert.ok(await chip.isHidden(), 'no chip while the outbox is empty');
    const paneBefore = await page.locator('.alarms-pane').boundingBox();
    const bodyBefore = await page.locator('main.body').boundingBox();

    // One heartbeat: its point cannot be delivered and ages past EXPORT_LAG_WARN_SEC (1 s).
    device = await connectDevice(gw.mqttUrl);
    const shownFrom = Date.now();
    await device.publishAsync(`campus/v1/${SCHOOL}/${GATE}/heartbeat`, JSON.stringify({ ts: Date.now(), battery: 90 }), { qos: 1 });
    await chip.waitFor({ state: 'visible', timeout: 10_000 });
    const shownAfterMs = Date.now() - shownFrom;
    assert.match((await chip.textContent()) ?? '', /^历史数据导出滞后 \d+ 分钟$/);

    // The tooltip carries the exporter's last error (connection refused).
    await page.waitForFunction(() => !!document.querySelector('[data-testid="export-warning"]')?.getAttribute('title'), null, { timeout: 5000 });
    const title = (await chip.getAttribute('title')) ?? '';
    assert.match(title, /ECONNREFUSED|refused|connect/i, `tooltip names the error: ${title}`);

    // What /health says is what the chip shows.
    const health = (await (await fetch(new URL('/health', gw.url))).json()) as { status: string; influx: Record<string, unknown> };
    assert.equal(health.influx.enabled, true);
    assert.equal(health.influx.lagging, true);
    assert.equal(health.status, 'degraded', 'a lagging export makes /health degraded (still 200)');

    // Quiet: the alarm pane and the body keep their place and size; the header keeps its height.
    assert.deepEqual(await page.locator('.alarms-pane').boundingBox(), paneBefore, 'alarm pane unchanged');
    assert.deepEqual(await page.locator('main.body').boundingBox(), bodyBefore, 'body unchanged');
    const chipBox = await chip.boundingBox();
    const headerBox = await page.locator('header.topbar').boundingBox();
    assert.ok(chipBox && headerBox && chipBox.y >= headerBox.y && chipBox.y + chipBox.height <= headerBox.y + headerBox.height, 'chip sits inside the header');
    assert.equal(await chip.evaluate((el) => getComputedStyle(el).animationName), 'none', 'no blinking');
    await page.screenshot({ path: path.join(RESULTS, 'export-warning.png') });

    // English.
    await page.getByTestId('lang-toggle').click();
    await page.getByText(/^History export behind by \d+ min$/).waitFor({ timeout: 5000 });
    await page.getByTestId('lang-toggle').click();

    // The database comes back: the exporter drains the outbox and the chip goes away.
    await vm.restart();
    await chip.waitFor({ state: 'hidden', timeout: 15_000 });

    assert.ok(shownAfterMs < 10_000, `chip shown within 10 s (took ${shownAfterMs} ms)`);
    assert.deepEqual(pageErrors, [], 'no script errors, no external requests');
  });
});
