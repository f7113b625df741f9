// The county at a glance (wall screen, 学校概览 · 地图) in real Chromium against the real gateway: the
// schematic map of the demo county's townships and schools is the default at 1920 wide; a school
// whose devices are all online is a green circle, one with devices offline an amber diamond; a
// one-key alarm over MQTT turns its school into a red triangle that pulses (still under reduced
// motion) and carries its name, and back when the alarm is resolved. A marker opens the school's
// six targets by click or keyboard; the List/Map switch is remembered. Screenshots at 1080p and 4K.
//
//   node --import tsx --test --test-force-exit test/browser/county-map.test.ts
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Locator, Page } from 'playwright-core';
import { closeWall, openWall, signIn } from './wall.js';
import { buildDashboard } from '../../scripts/build-dashboard.js';
import { api, login, startGateway, type GatewayProc } from '../support/gateway.js';
import { connectDevice, type MqttClient } from '../support/mqtt.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = path.join(ROOT, 'test-results');

interface RegSchool {
  id: string;
  name: string;
  region: string;
  devices: { id: string; kind: string }[];
}
const county = JSON.parse(readFileSync(path.join(ROOT, 'config/county.json'), 'utf8')) as { county: { townships: { name: string }[] }; schools: RegSchool[] };
/** All its devices beat: every device online. */
const LIVE = county.schools[0];
/** Never heard from: its devices are offline. */
const SILENT = county.schools[1];

const marker = (page: Page, id: string) => page.locator(`[data-testid="map-school"][data-school-id="${id}"]`);
const shapeOf = (l: Locator) => l.locator('.map-shape').getAttribute('d');
const legendShape = (page: Page, state: string) => page.locator(`[data-testid="county-map-legend"] [data-state="${state}"] .map-shape`).getAttribute('d');
const fillOf = (l: Locator) => l.locator('.map-shape').evaluate((el) => getComputedStyle(el).fill);

describe('wall screen: county map', { timeout: 180_000 }, () => {
  let dashboardDir: string;
  let gw: GatewayProc;
  let browser: Browser;
  let page: Page;
  let device: MqttClient | undefined;
  let token: string;
  let alarmId: string;
  const pageErrors: string[] = [];

  before(async () => {
    dashboardDir = await mkdtemp(path.join(os.tmpdir(), 'wall-dashboard-'));
    await buildDashboard(dashboardDir);
    gw = await startGateway({ env: { DASHBOARD_DIR: dashboardDir } });
    token = await login(gw.url, 'admin', gw.adminPassword);
    device = await connectDevice(gw.mqttUrl);
    ({ browser, page } = await openWall(pageErrors));
    mkdirSync(RESULTS, { recursive: true });
  });

  after(async () => {
    await closeWall({ device, browser, gw, dashboardDir });
  });

  it('draws every township and school; shape and colour tell online from offline', async () => {
    // Every device of the first school beats once: it is all online (heartbeat intervals are 30–60 s).
    await Promise.all(LIVE.devices.map((d) => device!.publishAsync(`campus/v1/${LIVE.id}/${d.id}/heartbeat`, JSON.stringify({ ts: Date.now() }), { qos: 1 })));

    await signIn(page, gw.url, { user: 'admin', password: gw.adminPassword }, 15_000);

    // At 1920 wide the map is what the pane shows first; the tiles are a click away.
    await page.getByTestId('county-map').waitFor({ state: 'visible', timeout: 10_000 });
    assert.ok(await page.getByTestId('school-tiles').isHidden(), 'the tiles are hidden while the map shows');
    assert.equal(await page.getByTestId('schools-view-map').getAttribute('aria-pressed'), 'true');
    assert.equal(await page.getByTestId('schools-view-map').textContent(), '地图');
    assert.equal(await page.getByTestId('map-school').count(), county.schools.length, 'one marker per school');
    const townshipNames = await page.locator('.map-township-name').allTextContents();
    assert.deepEqual(townshipNames.sort(), county.county.townships.map((t) => t.name).sort(), 'every township named');
    // Markers do not overlap: their boxes on the screen are apart.
    const boxes = await page.locator('[data-testid="map-school"] .map-shape').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().toJSON() as DOMRect));
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i], boxes[j]];
        const overlap = a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
        assert.ok(!overlap, `markers ${i} and ${j} overlap on the screen`);
      }

    await page.locator(`[data-testid="map-school"][data-school-id="${LIVE.id}"][data-state="normal"]`).waitFor({ state: 'attached', timeout: 15_000 });
    const silent = marker(page, SILENT.id);
    assert.equal(await silent.getAttribute('data-state'), 'offline');
    // The shapes are the legend's, and differ: not colour alone.
    const [normalShape, offlineShape] = [await shapeOf(marker(page, LIVE.id)), await shapeOf(silent)];
    assert.equal(normalShape, await legendShape(page, 'normal'));
    assert.equal(offlineShape, await legendShape(page, 'offline'));
    assert.notEqual(normalShape, offlineShape, 'offline has its own shape');
    assert.notEqual(await fillOf(marker(page, LIVE.id)), await fillOf(silent), 'and its own colour');
    // Hover/focus: the full name, township and state.
    assert.match((await silent.locator('title').textContent()) ?? '', new RegExp(`${SILENT.name} · ${SILENT.region} · 设备离线 ${SILENT.devices.length}/${SILENT.devices.length}`));
    assert.match((await page.getByTestId('county-map-legend').textContent()) ?? '', /报警 0 校.*设备离线 83 校.*正常 1 校/);
    assert.ok(await marker(page, LIVE.id).locator('.map-label').isHidden(), 'no name on a quiet school (only on hover or focus)');
  });

  it('an alarm turns its school into a pulsing red triangle with its name, and back when resolved', async () => {
    const live = marker(page, LIVE.id);
    await device!.publishAsync(`campus/v1/${LIVE.id}/${LIVE.devices.find((d) => d.kind === 'alarm_button')!.id}/alarm`, JSON.stringify({ id: 'map-1', ts: Date.now(), kind: 'panic' }), { qos: 1 });
    await page.locator(`[data-testid="map-school"][data-school-id="${LIVE.id}"][data-state="alarm"]`).waitFor({ state: 'attached', timeout: 10_000 });
    const popup = page.getByTestId('alarm-popup');
    await popup.waitFor({ state: 'visible', timeout: 10_000 });
    alarmId = (await popup.getAttribute('data-alarm-id'))!;
    // Acknowledged (the pop-up goes), still open: still an alarm on the map.
    assert.equal((await api(gw.url, token, 'POST', `/api/alarms/${encodeURIComponent(alarmId)}/ack`, { note: 'map test' })).status, 200);
    await popup.waitFor({ state: 'hidden', timeout: 10_000 });

    assert.equal(await live.getAttribute('data-state'), 'alarm');
    assert.equal(await live.getAttribute('data-open-alarms'), '1');
    assert.equal(await shapeOf(live), await legendShape(page, 'alarm'));
    assert.notEqual(await shapeOf(live), await shapeOf(marker(page, SILENT.id)), 'alarm has its own shape');
    const pulse = live.locator('.map-pulse');
    assert.ok(await pulse.isVisible(), 'the pulse ring shows');
    assert.equal(await pulse.evaluate((el) => getComputedStyle(el).animationName), 'map-pulse', 'and pulses');
    // The school's name is on the map, legible on the wall (≥ 14 px tall at 1920×1080).
    const label = live.locator('.map-label');
    assert.ok(await label.isVisible(), 'a school in alarm carries its name');
    assert.ok(LIVE.name.endsWith((await label.textContent()) ?? '∅'), `the label is the school's (short) name: ${await label.textContent()}`);
    const labelBox = (await label.boundingBox())!;
    assert.ok(labelBox.height >= 14, `label ${labelBox.height.toFixed(1)} px tall`);
    assert.ok((await page.locator(`.map-township[data-township="${LIVE.region}"]`).getAttribute('class'))?.includes('hot'), 'its township is marked');
    assert.match((await live.getAttribute('aria-label')) ?? '', /未处置报警 1 起/);
    await page.screenshot({ path: path.join(RESULTS, 'county-map.png') });

    // Reduced motion: no pulse, yet still the triangle and a ring.
    await page.emulateMedia({ reducedMotion: 'reduce' });
    assert.equal(await pulse.evaluate((el) => getComputedStyle(el).animationName), 'none');
    assert.ok(await pulse.isVisible(), 'a still ring instead');
    await page.emulateMedia({ reducedMotion: 'no-preference' });

    // A 4K wall: the same map, scaled up.
    const small = (await live.locator('.map-shape').boundingBox())!;
    await page.setViewportSize({ width: 3840, height: 2160 });
    await page.waitForFunction(() => getComputedStyle(document.documentElement).fontSize === '32px'); // 16px × 3840/1920
    const big = (await live.locator('.map-shape').boundingBox())!;
    assert.ok(big.width > small.width * 1.8, `markers scale with the wall (${small.width.toFixed(1)} → ${big.width.toFixed(1)} px)`);
    await page.screenshot({ path: path.join(RESULTS, 'county-map-4k.png') });
    await page.setViewportSize({ width: 1920, height: 1080 });

    assert.equal((await api(gw.url, token, 'POST', `/api/alarms/${encodeURIComponent(alarmId)}/resolve`, { note: 'map test done' })).status, 200);
    await page.locator(`[data-testid="map-school"][data-school-id="${LIVE.id}"][data-state="normal"]`).waitFor({ state: 'attached', timeout: 10_000 });
    assert.equal(await shapeOf(live), await legendShape(page, 'normal'));
    assert.ok(await pulse.isHidden(), 'no pulse once resolved');
    assert.ok(await label.isHidden(), 'and no name');
  });

  it('a school opens its six targets by click or keyboard; focus comes back', async () => {
    const silent = marker(page, SILENT.id);
    await silent.click();
    const drill = page.getByTestId('targets-drill-overlay');
    await drill.waitFor({ state: 'visible', timeout: 5000 });
    await page.waitForFunction((name) => document.querySelector('[data-testid="targets-drill-overlay"]')?.textContent?.includes(name), SILENT.name, { timeout: 10_000 });
    await page.keyboard.press('Escape');
    await drill.waitFor({ state: 'hidden', timeout: 5000 });
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-school-id')), SILENT.id, 'focus back on the marker');

    // Keyboard alone: Tab reaches the markers, Enter opens.
    await marker(page, LIVE.id).focus();
    assert.ok(await marker(page, LIVE.id).locator('.map-label').isVisible(), 'a focused school shows its name');
    await page.keyboard.press('Enter');
    await drill.waitFor({ state: 'visible', timeout: 5000 });
    await page.waitForFunction((name) => document.querySelector('[data-testid="targets-drill-overlay"]')?.textContent?.includes(name), LIVE.name, { timeout: 10_000 });
    await page.keyboard.press('Escape');
    await drill.waitFor({ state: 'hidden', timeout: 5000 });
  });

  it('the List/Map switch shows the tiles and is remembered', async () => {
    await page.getByTestId('schools-view-list').click();
    await page.getByTestId('school-tiles').waitFor({ state: 'visible' });
    assert.ok(await page.getByTestId('county-map').isHidden());
    await page.reload();
    await page.getByTestId('school-tiles').waitFor({ state: 'visible', timeout: 15_000 });
    assert.equal(await page.getByTestId('school-tile').count(), county.schools.length);
    assert.ok(await page.getByTestId('county-map').isHidden(), 'still the list after a reload');
    assert.equal(await page.getByTestId('schools-view-list').getAttribute('aria-pressed'), 'true');
    await page.getByTestId('schools-view-map').click();
    await page.getByTestId('county-map').waitFor({ state: 'visible' });
    assert.deepEqual(pageErrors, [], 'no page errors, nothing fetched from outside');
  });
});
