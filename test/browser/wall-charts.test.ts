// The wall's statistics band and flood view (issue #12) in real Chromium against a real gateway:
// (a) after alarms are raised, acknowledged, dispatched, escalated and resolved (real, false, test),
//     the band shows the figures GET /api/stats/alarms answers, as numbers and as ECharts SVG charts;
// (b) more alarms than ALARM_FLOOD_COUNT from several schools start a flood: the banner says so, the
//     open alarms are grouped by school with the right counts, every one reachable; when the flood
//     ends (the window drains, gateway/modules/floods), the normal list is back with every alarm.
// Screenshots: test-results/stats.png, test-results/flood.png. Conditions are waited for, never slept.
//
//   node --import tsx --test --test-force-exit test/browser/wall-charts.test.ts
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { closeWall, openWall, signIn } from './wall.js';
import type { Alarm } from '../../gateway/contract/api.js';
import type { AlarmStats } from '../../gateway/modules/alarms/stats.js';
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
const county = JSON.parse(readFileSync(path.join(ROOT, 'config/county.json'), 'utf8')) as { schools: RegSchool[] };
const schoolOf = (id: string) => county.schools.find((s) => s.id === id)!;
const button = (school: string) => schoolOf(school).devices.find((d) => d.kind === 'alarm_button')!.id;

const ACK_TIMEOUT_SEC = 6;
const FLOOD = { count: 5, windowSec: 25, endBelow: 2 };

/** Polls `fn` until it answers something truthy (generous: two cores, other suites running). */
async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** "12" / "12.5" as the band writes seconds, then its unit. */
const sec = (v: number | null) => (v === null ? '—' : `${Number.isInteger(v) ? String(v) : v.toFixed(1)}秒`);

describe('wall screen: statistics and floods', { timeout: 300_000 }, () => {
  let dashboardDir: string;
  let gw: GatewayProc;
  let browser: Browser;
  let page: Page;
  let device: MqttClient;
  let token: string;
  const pageErrors: string[] = [];

  const press = (school: string, id: string, extra: Record<string, unknown> = {}) =>
    device.publishAsync(`campus/v1/${school}/${button(school)}/alarm`, JSON.stringify({ id, ts: Date.now(), kind: 'panic', ...extra }), { qos: 1 });
  const openAlarms = async () => (await api<{ alarms: Alarm[] }>(gw.url, token, 'GET', '/api/alarms?state=open&limit=1000')).body.alarms;
  const act = async (id: string, action: 'ack' | 'dispatch' | 'resolve', body: Record<string, unknown> = {}) => {
    const res = await api(gw.url, token, 'POST', `/api/alarms/${encodeURIComponent(id)}/${action}`, body);
    assert.equal(res.status, 200, `${action} ${id}: ${JSON.stringify(res.body)}`);
  };
  const bySource = async (sourceId: string) => until(`alarm ${sourceId}`, async () => (await openAlarms()).find((a) => a.sourceId === sourceId));
  const kpi = (id: string) => page.locator(`[data-testid="stats-kpi-${id}"] [data-testid="kpi-value"]`);

  before(async () => {
    dashboardDir = await mkdtemp(path.join(os.tmpdir(), 'wall-charts-'));
    await buildDashboard(dashboardDir);
    gw = await startGateway({
      env: {
        DASHBOARD_DIR: dashboardDir,
        ACK_TIMEOUT_SEC: String(ACK_TIMEOUT_SEC),
        ALARM_FLOOD_COUNT: String(FLOOD.count),
        ALARM_FLOOD_WINDOW_SEC: String(FLOOD.windowSec),
        ALARM_FLOOD_END_COUNT: String(FLOOD.endBelow),
      },
    });
    token = await login(gw.url, 'admin', gw.adminPassword);
    device = await connectDevice(gw.mqttUrl);
    ({ browser, page } = await openWall(pageErrors));
    mkdirSync(RESULTS, { recursive: true });
    await signIn(page, gw.url, { user: 'admin', password: gw.adminPassword }, 30_000);
  });

  after(async () => {
    await closeWall({ device, browser, gw, dashboardDir });
  });

  it('shows the figures GET /api/stats/alarms answers, as numbers and as ECharts SVG charts', async () => {
    await page.locator('[data-testid="stats-panel"][data-state="ok"]').waitFor({ timeout: 30_000 });
    assert.equal(await kpi('today').textContent(), '0', 'a fresh ledger: no alarm today');
    for (const c of ['trend', 'times', 'townships']) await page.locator(`[data-testid="stats-chart-${c}"] svg`).first().waitFor({ timeout: 10_000 });

    // A: real, acknowledged, dispatched, resolved. B: resolved as a false alarm. C: a test press.
    // E: left unacknowledged until it escalates (ACK_TIMEOUT_SEC), then acknowledged and dispatched.
    await Promise.all([press('S001', 'st-a'), press('S031', 'st-b'), press('S046', 'st-c', { test: true }), press('S051', 'st-e')]);
    const [a, b, c] = await Promise.all([bySource('st-a'), bySource('st-b'), bySource('st-c')]);
    await act(a.id, 'ack');
    await act(b.id, 'ack');
    await act(a.id, 'dispatch');
    await act(a.id, 'resolve', { outcome: 'real' });
    await act(b.id, 'resolve', { outcome: 'false' });
    await act(c.id, 'ack');
    await act(c.id, 'resolve', { outcome: 'test' });
    const e = await until('alarm E escalated', async () => (await openAlarms()).find((x) => x.sourceId === 'st-e' && x.escalated), 60_000);
    await act(e.id, 'ack');
    await act(e.id, 'dispatch');

    const stats = (await api<AlarmStats>(gw.url, token, 'GET', '/api/stats/alarms?days=7')).body;
    const today = stats.byDay.at(-1)!;
    assert.deepEqual([today.total, today.real, today.false, today.tests, today.escalations], [4, 2, 1, 1, 1]);
    assert.deepEqual([stats.county.ackSec.n, stats.county.dispatchSec.n], [3, 2]);

    // The band catches up on its own (alarm frames poke it) and shows exactly these numbers.
    const want = {
      today: '4',
      week: String(stats.county.total),
      escalations: '1',
      false: '1',
      tests: '1',
      ack: `P50 ${sec(stats.county.ackSec.p50)}`,
      dispatch: `P50 ${sec(stats.county.dispatchSec.p50)}`,
    };
    await until('the band to show the API figures', async () => {
      for (const [id, v] of Object.entries(want)) if ((await kpi(id).textContent()) !== v) return false;
      return true;
    });
    const ackSub = await page.locator('[data-testid="stats-kpi-ack"] [data-testid="kpi-sub"]').textContent();
    assert.ok(ackSub?.includes(`P90 ${sec(stats.county.ackSec.p90)}`), `p90 as a number: ${ackSub}`);
    assert.ok((await page.locator('[data-testid="stats-kpi-today"]').textContent())?.includes('误报 1'), 'today broken down in words');

    // ECharts drew SVG (not canvas) with the numbers and the townships written in it.
    assert.equal(await page.locator('[data-testid="stats-panel"] canvas').count(), 0, 'the SVG renderer, no canvas');
    const townships = (await page.locator('[data-testid="stats-chart-townships"] svg').textContent()) ?? '';
    for (const s of ['S001', 'S031', 'S051']) assert.ok(townships.includes(schoolOf(s).region), `township of ${s} (${schoolOf(s).region}) in the chart: ${townships}`);
    const times = (await page.locator('[data-testid="stats-chart-times"] svg').textContent()) ?? '';
    assert.ok(times.includes(sec(stats.county.ackSec.p90)), `ack p90 written on the chart: ${times}`);
    assert.ok(times.includes('P50') && times.includes('P90'), 'the legend says P50 and P90 in words');
    const trend = (await page.locator('[data-testid="stats-chart-trend"] svg').textContent()) ?? '';
    assert.ok(trend.includes('今天') && trend.includes('超时升级') && trend.includes('误报'), `trend legend and today: ${trend}`);
    assert.ok(await page.locator('[data-testid="stats-chart-trend"] svg path').count() > 3, 'bars drawn');
    // Decal patterns (not colour alone) are on: ECharts puts them in as SVG <pattern>s.
    assert.ok(await page.locator('[data-testid="stats-chart-trend"] svg pattern').count() > 0, 'decal patterns');
    await page.locator('[data-testid="alarm-popup"]').waitFor({ state: 'hidden', timeout: 10_000 });
    await page.screenshot({ path: path.join(RESULTS, 'stats.png') });

    // English: the same numbers, in English words.
    await page.getByTestId('lang-toggle').click();
    await page.locator('[data-testid="stats-chart-trend"] svg', { hasText: 'Today' }).waitFor({ timeout: 10_000 });
    assert.equal(await kpi('today').textContent(), '4');
    assert.ok((await page.locator('[data-testid="stats-chart-townships"] svg').textContent())?.includes('Chengguan') !== undefined);
    await page.getByTestId('lang-toggle').click();
    await page.locator('[data-testid="stats-chart-trend"] svg', { hasText: '今天' }).waitFor({ timeout: 10_000 });

    // A 4K wall: the same layout at twice the root font size (styles.css); the SVG charts follow, their text too, and stay vectors.
    const box1080 = (await page.locator('[data-testid="stats-chart-trend"] svg').boundingBox())!;
    const chartText = () => page.locator('[data-testid="stats-chart-trend"] svg text').first().evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
    const text1080 = await chartText();
    await page.setViewportSize({ width: 3840, height: 2160 });
    await until('the charts to follow the 4K zoom', async () => {
      const b = await page.locator('[data-testid="stats-chart-trend"] svg').boundingBox();
      return b && b.width > box1080.width * 1.8 && b.width < box1080.width * 2.2;
    }, 20_000);
    await until('the charts\' text to follow the 4K scale', async () => (await chartText()) > text1080 * 1.8, 20_000);
    await page.screenshot({ path: path.join(RESULTS, 'stats-4k.png') });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await until('back to 1080p', async () => {
      const b = await page.locator('[data-testid="stats-chart-trend"] svg').boundingBox();
      return b && Math.abs(b.width - box1080.width) < 4;
    }, 20_000);

    await act(e.id, 'resolve', { outcome: 'real' });
    await until('no open alarm', async () => (await openAlarms()).length === 0);
    assert.deepEqual(pageErrors, []);
  });

  it('groups a flood by school with every alarm reachable, and goes back to the list when it ends', async () => {
    const plan: [string, number][] = [
      ['S001', 4],
      ['S031', 3],
      ['S046', 1],
    ];
    // Whatever the first test left open (it may have failed half-way) is resolved first: the groups count every open alarm.
    for (const x of await openAlarms()) {
      if (x.state === 'raised') await act(x.id, 'ack');
      await act(x.id, 'resolve', { outcome: 'test' });
    }
    const presses = plan.flatMap(([s, n]) => Array.from({ length: n }, (_, k) => [s, `fl-${s}-${k}`] as const));
    await Promise.all(presses.map(([s, id]) => press(s, id)));
    const banner = page.getByTestId('flood-banner');
    await banner.waitFor({ state: 'visible', timeout: 30_000 });
    const text = (await banner.textContent()) ?? '';
    assert.ok(text.includes('报警泛滥') && text.includes('Alarm flood'), `the flood said in words, both languages: ${text}`);

    // Acknowledge them all (the pop-up goes; the flood stays until the window drains: acks do not end it).
    const open = await until('8 open alarms', async () => {
      const list = await openAlarms();
      return list.length === presses.length ? list : null;
    });
    for (const x of open) await act(x.id, 'ack');
    await page.locator('[data-testid="alarm-popup"]').waitFor({ state: 'hidden', timeout: 20_000 });

    const groups = page.locator('[data-testid="flood-groups"]');
    await page.locator(`[data-testid="flood-groups"][data-total="${presses.length}"][data-groups="${plan.length}"]`).waitFor({ timeout: 20_000 });
    assert.ok(await page.getByTestId('alarm-list').isHidden(), 'the grouped list stands in for the plain list');
    assert.equal(await page.getByTestId('open-count').textContent(), String(presses.length));

    // Every group: its count, and every alarm in it reachable (expand it, count its cards).
    const seen = new Map<string, number>();
    const seenIds = new Set<string>();
    const heads = groups.locator('[data-testid="flood-group"]');
    const n = await heads.count();
    assert.equal(n, plan.length);
    for (let i = 0; i < n; i++) {
      const g = heads.nth(i);
      const school = (await g.getAttribute('data-school-id'))!;
      const count = Number(await g.getAttribute('data-count'));
      assert.equal(await g.getByTestId('flood-group-count').textContent(), `${count} 条`);
      assert.equal(await g.getByTestId('flood-group-school').textContent(), schoolOf(school).name);
      if ((await g.getAttribute('data-expanded')) !== 'true') await g.getByTestId('flood-group-head').click();
      await page.locator(`[data-testid="flood-group"][data-school-id="${school}"][data-expanded="true"]`).waitFor({ timeout: 10_000 });
      const cards = g.locator('[data-testid="alarm-card"]');
      await until(`${count} visible cards of ${school}`, async () => (await cards.filter({ visible: true }).count()) === count, 10_000);
      for (const id of await cards.evaluateAll((els) => els.map((el) => (el as HTMLElement).dataset.alarmId ?? ''))) seenIds.add(id);
      seen.set(school, count);
    }
    assert.deepEqual([...seen].sort(), plan.map(([s, c]) => [s, c]).sort(), 'one group per school, with its count');
    assert.deepEqual([...seenIds].sort(), open.map((x) => x.id).sort(), 'every open alarm in exactly one group: nothing hidden, nothing dropped');
    await page.screenshot({ path: path.join(RESULTS, 'flood.png') });

    // The window drains (no new presses): the gateway ends the flood, the plain list is back with all 8.
    await banner.waitFor({ state: 'hidden', timeout: (FLOOD.windowSec + 60) * 1000 });
    await page.getByTestId('alarm-list').waitFor({ state: 'visible', timeout: 10_000 });
    assert.ok(await groups.isHidden());
    await until('8 cards in the plain list', async () => (await page.locator('[data-testid="alarm-list"] [data-testid="alarm-card"]').count()) === presses.length, 10_000);
    assert.deepEqual(pageErrors, []);
  });
});
