// The six targets (contract §7, issue 10) on the wall screen, in real Chromium against a real gateway:
// six rates with met / not met / unknown counts; a failed barrier inspection with a photo (HTTP) and
// test presses of every alarm button of a school (MQTT) move the panel without a reload; the
// drill-down lists the failing school with its reasons and evidence, the school's six verdicts show
// the inspection photo; closing returns to the wall. Screenshots at 1920×1080 and 3840×2160.
//
//   node --import tsx --test --test-force-exit test/browser/targets.test.ts
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { printsOnA4 } from './print.js';
import { closeWall, openWall, signIn } from './wall.js';
import { buildDashboard } from '../../scripts/build-dashboard.js';
import { api, login, startGateway, type GatewayProc } from '../support/gateway.js';
import { connectDevice, type MqttClient } from '../support/mqtt.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = path.join(ROOT, 'test-results');
const TARGETS = ['closed_campus', 'guard_posts', 'security_guards', 'hard_barriers', 'one_key_alarm', 'video_networked'];

interface RegSchool {
  id: string;
  name: string;
  gates?: { id: string; name: string }[];
  devices: { id: string; kind: string }[];
}
const county = JSON.parse(readFileSync(path.join(ROOT, 'config/county.json'), 'utf8')) as { schools: RegSchool[] };
// The school whose barrier inspection fails, and the one whose alarm buttons are all tested.
const FAILING = county.schools[0];
const TESTED = county.schools[1];
const gate = FAILING.gates?.[0];
const buttons = TESTED.devices.filter((d) => d.kind === 'alarm_button');

/** A small striped PNG (the inspection photo): made here, nothing read from disk or the net. */
function png(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      const stripe = Math.floor((x + y) / 12) % 2 === 0;
      row.set(stripe ? [230, 60, 40] : [245, 245, 245], 1 + x * 3); // a red-and-white barrier
    }
    rows.push(row);
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}

const cell = (page: Page, id: string) => page.locator(`[data-testid="target-rate"][data-target="${id}"]`);
const countOf = async (page: Page, id: string, status: string) => Number(await cell(page, id).getByTestId(`count-${status}`).getAttribute('data-n'));
/** Waits until a count in a cell is `n` (the panel is drawn from the live feed, not polled). */
const waitCount = (page: Page, id: string, status: string, n: number, timeout = 15_000) =>
  page.waitForFunction(
    ([t, s, want]) => document.querySelector(`[data-testid="target-rate"][data-target="${t}"] [data-testid="count-${s}"]`)?.getAttribute('data-n') === String(want),
    [id, status, n] as const,
    { timeout },
  );

describe('wall screen: the six targets', { timeout: 240_000 }, () => {
  let dashboardDir: string;
  let gw: GatewayProc;
  let token: string;
  let browser: Browser;
  let page: Page;
  let device: MqttClient | undefined;
  const pageErrors: string[] = [];

  before(async () => {
    assert.ok(gate, `${FAILING.id} has a gate in config/county.json`);
    assert.ok(buttons.length > 0, `${TESTED.id} has alarm buttons`);
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

  it('shows six rates with their met / not met / unknown counts, each told by shape and word', async () => {
    await signIn(page, gw.url, { user: 'admin', password: gw.adminPassword }, 15_000);
    const panel = page.getByTestId('targets-panel');
    await panel.waitFor({ state: 'visible', timeout: 5000 });
    await page.getByTestId('target-rate').nth(5).waitFor({ timeout: 10_000 });
    assert.deepEqual(await page.getByTestId('target-rate').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.target)), TARGETS);
    assert.match((await panel.locator('.pane-title').textContent()) ?? '', /六个100%/);

    // What the wall shows is what the gateway says.
    const reply = await api(gw.url, token, 'GET', '/api/targets');
    assert.equal(reply.status, 200);
    for (const r of reply.body.targets as { id: string; met: number; notMet: number; unknown: number; inScope: number }[]) {
      assert.equal(await countOf(page, r.id, 'met'), r.met, `${r.id} met`);
      assert.equal(await countOf(page, r.id, 'not_met'), r.notMet, `${r.id} not met`);
      assert.equal(await countOf(page, r.id, 'unknown'), r.unknown, `${r.id} unknown`);
      assert.match((await cell(page, r.id).getByTestId('target-percent').textContent()) ?? '', /^(\d{1,3}(\.\d)?%|—)$/);
      // The name and the counts for a screen reader; the counts each have an icon of their own shape.
      const label = (await cell(page, r.id).getAttribute('aria-label')) ?? '';
      assert.match(label, new RegExp(`达标 ${r.met} 校，未达标 ${r.notMet} 校，未知 ${r.unknown} 校`));
    }
    const shapes = await cell(page, 'hard_barriers').locator('.status-icon').evaluateAll((els) => els.map((e) => e.firstElementChild?.tagName));
    assert.deepEqual(shapes, ['circle', 'rect', 'circle'], 'met round, not met square, unknown a (dashed) circle');
    assert.deepEqual(await page.locator('.targets-legend .status-word').allTextContents(), ['达标', '未达标', '未知'], 'a legend in words');

    // The alarms stay the biggest thing on the wall.
    const alarms = await page.locator('.alarms-pane').boundingBox();
    const targets = await panel.boundingBox();
    assert.ok(alarms && targets && alarms.width * alarms.height > 4 * targets.width * targets.height, `alarm pane ${JSON.stringify(alarms)} vs targets ${JSON.stringify(targets)}`);
    // The left column's width and over half the screen's height (the statistics band and the canteen strip sit under it).
    assert.ok(alarms.width >= 950 && alarms.height >= 540, `the alarm pane is as big as before: ${JSON.stringify(alarms)}`);
    // Every rate is inside the panel, nothing cut off.
    for (const id of TARGETS) {
      const b = await cell(page, id).boundingBox();
      assert.ok(b && b.x >= targets.x && b.x + b.width <= targets.x + targets.width + 1 && b.y + b.height <= targets.y + targets.height + 1, `${id} inside the panel`);
    }
  });

  it('a failed barrier inspection (HTTP) and test presses of every alarm button (MQTT) move the rates without a reload', async () => {
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    const barriersNotMet = await countOf(page, 'hard_barriers', 'not_met');
    const alarmMet = await countOf(page, 'one_key_alarm', 'met');

    const photo = png(320, 200);
    const rec = await api(gw.url, token, 'POST', '/api/inspections', { school: FAILING.id, item: 'barrier', gate: gate!.id, result: 'fail', note: '隔离墩缺失', photo: photo.toString('base64') });
    assert.equal(rec.status, 201, JSON.stringify(rec.body));
    await waitCount(page, 'hard_barriers', 'not_met', barriersNotMet + 1);
    assert.equal(await cell(page, 'hard_barriers').getAttribute('data-level'), 'short');

    // Every alarm button of the second school sends a test press: it is heard from and tested.
    for (const b of buttons) {
      await device!.publishAsync(`campus/v1/${TESTED.id}/${b.id}/heartbeat`, JSON.stringify({ ts: Date.now() }), { qos: 1 });
      await device!.publishAsync(`campus/v1/${TESTED.id}/${b.id}/alarm`, JSON.stringify({ id: `test-${b.id}`, ts: Date.now(), kind: 'panic', test: true }), { qos: 1 });
    }
    await waitCount(page, 'one_key_alarm', 'met', alarmMet + 1);
    const verdict = await api(gw.url, token, 'GET', `/api/schools/${TESTED.id}/targets`);
    assert.equal((verdict.body.targets as { target: string; status: string }[]).find((v) => v.target === 'one_key_alarm')?.status, 'met', 'the gateway agrees');
    assert.notEqual(await cell(page, 'one_key_alarm').getByTestId('target-percent').textContent(), '0.0%');
    assert.deepEqual(navigations, [], 'no reload');
    assert.ok(await page.getByTestId('alarm-popup').isHidden(), 'test presses never pop up');
    await page.screenshot({ path: path.join(RESULTS, 'targets-1920x1080.png') });
  });

  it('opens the drill-down from the keyboard: the failing school with its reasons and evidence, then its six verdicts with the photo', async () => {
    const rate = cell(page, 'hard_barriers');
    await rate.focus();
    await page.keyboard.press('Enter');
    const drill = page.getByTestId('targets-drill');
    await drill.waitFor({ state: 'visible', timeout: 5000 });
    assert.equal(await drill.getAttribute('role'), 'dialog');
    assert.match((await drill.locator('#drill-title').textContent()) ?? '', /^硬隔离设施\s*Hard physical barriers$/);

    // The failing school, in the "not met" section, with its reason in words (zh, English beside) and the evidence.
    const row = page.locator(`[data-testid="drill-section-not_met"] [data-testid="drill-school"][data-school="${FAILING.id}"]`);
    await row.waitFor({ state: 'visible', timeout: 10_000 });
    assert.match((await row.getByTestId('drill-school-open').textContent()) ?? '', new RegExp(FAILING.name));
    const reasons = await row.getByTestId('drill-reason').allTextContents();
    assert.ok(reasons.some((r) => r.includes(`${gate!.name} 硬隔离检查未通过`) && /barrier inspection of .* failed/.test(r)), `reasons: ${JSON.stringify(reasons)}`);
    assert.match((await row.getByTestId('status-tag').textContent()) ?? '', /未达标/);
    assert.match((await row.getByTestId('drill-evidence').textContent()) ?? '', /检查记录 /);
    // Schools with missing evidence are listed below, as unknown.
    await page.getByTestId('drill-section-unknown').waitFor();
    const sections = await drill.locator('.drill-section').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.testid));
    assert.deepEqual(sections, ['drill-section-not_met', 'drill-section-unknown']);
    const photoInList = row.getByTestId('evidence-photo');
    await photoInList.waitFor({ timeout: 10_000 });
    await page.screenshot({ path: path.join(RESULTS, 'targets-drill-1920x1080.png') });

    // The school: six verdicts, since when, the photo as an image (a blob: URL the CSP admits).
    await row.getByTestId('drill-school-open').click();
    await page.locator('[data-testid="targets-drill"][data-view="school"]').waitFor({ timeout: 5000 });
    await page.getByTestId('school-verdict').nth(5).waitFor({ timeout: 10_000 });
    assert.deepEqual(await page.getByTestId('school-verdict').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.target)), TARGETS);
    const card = page.locator('[data-testid="school-verdict"][data-target="hard_barriers"]');
    assert.equal(await card.getAttribute('data-status'), 'not_met');
    assert.match((await card.getByTestId('verdict-since').textContent()) ?? '', /起$/);
    const img = card.getByTestId('evidence-photo');
    await img.waitFor({ timeout: 10_000 });
    assert.match((await img.getAttribute('src')) ?? '', /^blob:/);
    await page.waitForFunction(() => {
      const el = document.querySelector<HTMLImageElement>('[data-testid="school-verdict"][data-target="hard_barriers"] [data-testid="evidence-photo"]');
      return !!el && el.complete && el.naturalWidth === 320;
    }, null, { timeout: 5000 });
    await page.screenshot({ path: path.join(RESULTS, 'targets-school-1920x1080.png') });

    // Escape: back to the list; again: back to the wall, the focus where it was.
    await page.keyboard.press('Escape');
    await page.locator('[data-testid="targets-drill"][data-view="target"]').waitFor({ timeout: 5000 });
    await page.keyboard.press('Escape');
    await drill.waitFor({ state: 'detached', timeout: 5000 });
    assert.equal(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.target), 'hard_barriers', 'the focus is back on the rate');
  });

  it('a verdict that changes while the drill-down is open shows there too; the close button returns to the wall', async () => {
    await cell(page, 'hard_barriers').click();
    const row = page.locator(`[data-testid="drill-section-not_met"] [data-testid="drill-school"][data-school="${FAILING.id}"]`);
    await row.waitFor({ timeout: 10_000 });
    // The gate is fixed: a passing inspection with a photo. The school leaves the "not met" list (it is unknown for its other gates).
    const rec = await api(gw.url, token, 'POST', '/api/inspections', { school: FAILING.id, item: 'barrier', gate: gate!.id, result: 'pass', photo: png(160, 100).toString('base64') });
    assert.equal(rec.status, 201);
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    await page.locator(`[data-testid="drill-section-unknown"] [data-testid="drill-school"][data-school="${FAILING.id}"]`).waitFor({ timeout: 10_000 });
    await page.getByTestId('drill-close').click();
    await page.getByTestId('targets-drill').waitFor({ state: 'detached', timeout: 5000 });
    assert.ok(await page.getByTestId('targets-drill-overlay').isHidden());
  });

  it('speaks English when switched, with the Chinese beside it in the drill-down', async () => {
    await page.getByTestId('lang-toggle').click();
    const panel = page.getByTestId('targets-panel');
    await panel.locator('.pane-title', { hasText: '6 × 100%' }).waitFor({ timeout: 5000 });
    assert.deepEqual(await page.locator('.targets-legend .status-word').allTextContents(), ['met', 'not met', 'unknown']);
    assert.match((await cell(page, 'one_key_alarm').getAttribute('aria-label')) ?? '', /^One-key alarm: .* met; \d+ met, \d+ not met, \d+ unknown/);
    await cell(page, 'one_key_alarm').click();
    await page.getByTestId('drill-school').first().waitFor({ timeout: 10_000 });
    assert.match((await page.locator('#drill-title').textContent()) ?? '', /^One-key alarm\s*一键报警$/);
    const reason = page.getByTestId('drill-reason').first();
    const [main, beside] = [(await reason.locator('.r-main').textContent()) ?? '', (await reason.locator('.alt').textContent()) ?? ''];
    assert.ok(/alarm button/.test(main) && !/[\u4e00-\u9fff]/.test(main) && /一键报警/.test(beside), `English first, Chinese beside: ${main} | ${beside}`);
    await page.screenshot({ path: path.join(RESULTS, 'targets-drill-en-1920x1080.png') });
    await page.keyboard.press('Escape');
    await page.getByTestId('targets-drill').waitFor({ state: 'detached', timeout: 5000 });
    await page.getByTestId('lang-toggle').click();
    await panel.locator('.pane-title', { hasText: '六个100%' }).waitFor({ timeout: 5000 });
  });

  it('reads at 3840×2160: the same layout, twice the size', async () => {
    const small = await cell(page, 'one_key_alarm').getByTestId('target-percent').boundingBox();
    await page.setViewportSize({ width: 3840, height: 2160 });
    await page.waitForFunction(() => getComputedStyle(document.documentElement).fontSize === '32px', null, { timeout: 5000 }); // 16px × 3840/1920
    const big = await cell(page, 'one_key_alarm').getByTestId('target-percent').boundingBox();
    assert.ok(small && big && big.height >= small.height * 1.9, `the rate is twice as tall: ${small?.height} → ${big?.height}`);
    const screen = await page.getByTestId('wall').boundingBox();
    assert.ok(screen && Math.abs(screen.height - 2160) <= 2 && Math.abs(screen.width - 3840) <= 2, `the wall fills the screen: ${JSON.stringify(screen)}`);
    const ticker = await page.locator('.ticker').boundingBox();
    assert.ok(ticker && ticker.y + ticker.height <= 2161, 'nothing falls off the bottom');
    await page.screenshot({ path: path.join(RESULTS, 'targets-3840x2160.png') });
    await cell(page, 'hard_barriers').click();
    await page.locator('[data-testid="drill-section-unknown"] [data-testid="drill-school"]').first().waitFor({ timeout: 10_000 });
    await page.screenshot({ path: path.join(RESULTS, 'targets-drill-3840x2160.png') });
    await page.getByTestId('drill-close').click();
    await page.setViewportSize({ width: 1920, height: 1080 });
    assert.deepEqual(pageErrors, [], 'no script errors, no CSP refusals, no external requests');
  });
  it("prints the month's report on A4 in Chromium: portrait pages, nothing wider than the page", async () => {
    const month = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 7);
    await printsOnA4(browser, gw.url, token, `/api/reports/targets?month=${month}&format=html`, RESULTS, 'targets-report', '校园安全');
  });
});
