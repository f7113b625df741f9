// The canteen screens (contract §8, 明厨亮灶) in real Chromium against a real gateway: a vendor push
// with a snapshot opens a case that appears on the wall's panel with its picture; the county
// operator and the school's own user take it through notify → start → submit (photo) → reject →
// submit → close in their browsers, and each wall follows live; a case past its deadline escalates
// on the panel (mark and words 已超期 Overdue) and stays until closed; a stale action answers 409 in
// the dialog; the school user records a sample, sees a negative weight refused in words, and a
// 124 g sample opens a case. Screenshots: canteen-panel.png, canteen-case.png, canteen-school.png.
//
//   node --import tsx --test --test-force-exit test/browser/canteen.test.ts
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { openWall, signIn } from './wall.js';
import { buildDashboard } from '../../scripts/build-dashboard.js';
import { api, login, startGateway, type GatewayProc } from '../support/gateway.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = path.join(ROOT, 'test-results');
const SCHOOL = 'S001';
const OFFSET_MS = 8 * 3_600_000;
const localDay = (ms: number) => new Date(ms + OFFSET_MS).toISOString().slice(0, 10);

/** A small PNG in two colours (a snapshot, a rectification photo): made here, nothing from the net. */
function png(width: number, height: number, rgb: [number, number, number]): Buffer {
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
  ihdr[8] = 8;
  ihdr[9] = 2;
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) row.set(Math.floor(x / 16) % 2 ? rgb : [40, 40, 40], 1 + x * 3);
    rows.push(row);
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}

const row = (page: Page, id: string) => page.locator(`[data-testid="canteen-case"][data-case-id="${id}"]`);
/** Waits until the panel shows the case in `state` (drawn from the live feed: no reload). */
const waitRowState = (page: Page, id: string, state: string, timeout = 15_000) =>
  page.waitForFunction(([i, s]) => document.querySelector(`[data-testid="canteen-case"][data-case-id="${i}"]`)?.getAttribute('data-state') === s, [id, state] as const, { timeout });
const waitDialogState = (page: Page, state: string) =>
  page.waitForFunction((s) => document.querySelector('[data-testid="case-dialog"]')?.getAttribute('data-state') === s, state, { timeout: 15_000 });
/** An <img> that has really decoded a picture. */
const imgLoaded = (page: Page, selector: string) =>
  page.waitForFunction((sel) => [...document.querySelectorAll<HTMLImageElement>(sel)].some((i) => i.complete && i.naturalWidth > 0), selector, { timeout: 15_000 });

async function signInToCanteen(page: Page, url: string, user: string, password: string): Promise<void> {
  await signIn(page, url, { user, password }, 15_000);
  await page.getByTestId('canteen-panel').waitFor({ state: 'visible', timeout: 5000 });
}

describe('canteen screens: panel, case workflow, school console', { timeout: 300_000 }, () => {
  let dashboardDir: string;
  let policyDir: string;
  let gw: GatewayProc;
  let token: string;
  let pushKey: string;
  let browser: Browser;
  let page: Page;
  let schoolPage: Page;
  const pageErrors: string[] = [];
  const officer = { user: 's001-officer', password: `pw-${Math.random().toString(36).slice(2)}-canteen` };
  let caseId = '';
  let overdueId = '';

  const push = (device: string, kind: string, atMs: number, image?: Buffer) =>
    api(gw.url, pushKey, 'POST', '/api/push/webhook', { stream_id: device, event_type: kind, timestamp: atMs, ...(image ? { image_base64: image.toString('base64') } : {}) });

  before(async () => {
    dashboardDir = await mkdtemp(path.join(os.tmpdir(), 'wall-dashboard-'));
    policyDir = await mkdtemp(path.join(os.tmpdir(), 'canteen-policy-'));
    // Every day a school day: the school console has meals to record for.
    const policy = JSON.parse(readFileSync(path.join(ROOT, 'config/policy.json'), 'utf8'));
    policy.calendar = { terms: [{ name: 'test term', from: localDay(Date.now() - 40 * 86_400_000), to: localDay(Date.now() + 40 * 86_400_000) }], weekdays: [1, 2, 3, 4, 5, 6, 7], holidays: [], extraSchoolDays: [] };
    writeFileSync(path.join(policyDir, 'policy.json'), JSON.stringify(policy));
    await buildDashboard(dashboardDir);
    gw = await startGateway({ env: { DASHBOARD_DIR: dashboardDir, POLICY: path.join(policyDir, 'policy.json') } });
    token = await login(gw.url, 'admin', gw.adminPassword);
    const made = await api(gw.url, token, 'POST', '/api/users', { user: officer.user, password: officer.password, role: 'viewer', school: SCHOOL });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const key = await api(gw.url, token, 'POST', '/api/vendors/webhook/key');
    assert.equal(key.status, 201, JSON.stringify(key.body));
    pushKey = key.body.key;
    ({ browser, page } = await openWall(pageErrors));
    // The school's console: a second browser context (its own session storage), refusing the internet too.
    const ctx = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    await ctx.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => {
      pageErrors.push(`external request: ${route.request().url()}`);
      return route.abort();
    });
    schoolPage = await ctx.newPage();
    schoolPage.on('pageerror', (err) => pageErrors.push(String(err)));
    schoolPage.on('console', (msg) => {
      if (msg.type() === 'error' && !/status of 40[03]/.test(msg.text())) pageErrors.push(msg.text());
    });
    mkdirSync(RESULTS, { recursive: true });
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await gw?.stop().catch(() => gw.kill9());
    if (dashboardDir) await rm(dashboardDir, { recursive: true, force: true });
    if (policyDir) await rm(policyDir, { recursive: true, force: true });
  });

  it('a vendor push with a snapshot opens a case that appears on the panel with its picture, and the figures match the summary', async () => {
    // Cases are handled at the operator console (`/console`); the wall (`/`) only shows them (issue #12).
    await signInToCanteen(page, `${gw.url}/console`, 'admin', gw.adminPassword);
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    const res = await push('S001-KC26', 'rat', Date.now(), png(160, 100, [200, 60, 40]));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.match(res.body.snapshot, /^[0-9a-f]{64}$/);
    const list = await api(gw.url, token, 'GET', `/api/canteen/cases?school=${SCHOOL}`);
    const c = (list.body.cases as { id: string; device?: string; kind?: string; snapshot?: string }[]).find((x) => x.device === 'S001-KC26' && x.kind === 'rodent');
    assert.ok(c, 'the push opened a case');
    assert.equal(c.snapshot, res.body.snapshot);
    caseId = c.id;

    await row(page, caseId).waitFor({ timeout: 15_000 });
    await imgLoaded(page, `[data-testid="canteen-case"][data-case-id="${caseId}"] img[data-testid="canteen-thumb"]`);
    assert.match((await row(page, caseId).textContent()) ?? '', /老鼠/);
    assert.match((await row(page, caseId).textContent()) ?? '', /库房/, 'the area of the camera');
    assert.equal(await row(page, caseId).getAttribute('data-state'), 'open');
    assert.match((await row(page, caseId).getByTestId('case-state').textContent()) ?? '', /待通知/);
    // Today's AI events come from the summary, re-read after the frame.
    await page.waitForFunction(() => document.querySelector('[data-testid="canteen-ai-total"]')?.getAttribute('data-n') === '1', null, { timeout: 15_000 });
    const summary = await api(gw.url, token, 'GET', '/api/canteen/summary');
    let required = 0;
    let covered = 0;
    for (const s of summary.body.schools as { coverage: { required: number; covered: number } }[]) {
      required += s.coverage.required;
      covered += s.coverage.covered;
    }
    const cov = page.getByTestId('canteen-coverage');
    assert.equal(await cov.getAttribute('data-required'), String(required));
    assert.equal(await cov.getAttribute('data-covered'), String(covered));
    assert.equal(await page.getByTestId('canteen-open').getAttribute('data-n'), String((await api(gw.url, token, 'GET', '/api/canteen/cases?state=open')).body.cases.length));
    await page.screenshot({ path: path.join(RESULTS, 'canteen-panel.png') });
    // The breakdown: the county's AI events by kind and records per meal, and every school's figures.
    await page.getByTestId('canteen-schools-open').click();
    const s001 = page.locator(`[data-testid="canteen-school-row"][data-school="${SCHOOL}"]`);
    await s001.waitFor({ timeout: 5000 });
    assert.match((await page.locator('[data-testid="canteen-ai-kind"][data-kind="rodent"]').textContent()) ?? '', /老鼠\s*1/);
    // Today is a school day in this policy: one line per meal the county serves.
    assert.deepEqual(await page.getByTestId('canteen-meal').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.meal)), ['breakfast', 'lunch', 'dinner']);
    await page.screenshot({ path: path.join(RESULTS, 'canteen-schools.png') });
    assert.equal(await page.getByTestId('canteen-school-row').count(), summary.body.schools.length);
    assert.match((await s001.textContent()) ?? '', /老鼠 1/);
    await page.keyboard.press('Escape');
    await page.getByTestId('canteen-schools-overlay').waitFor({ state: 'hidden', timeout: 5000 });
    assert.deepEqual(navigations, [], 'no reload');
  });

  it('the operator notifies; the school user starts and submits with a photo; the review rejects, then closes — each wall live', async () => {
    // Operator: the dialog, keyboard-opened, with only the action the state allows.
    await row(page, caseId).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByTestId('case-dialog');
    await waitDialogState(page, 'open');
    await imgLoaded(page, 'img[data-testid="case-snapshot"]');
    assert.match((await dialog.getByTestId('case-reason').textContent()) ?? '', /\S/);
    assert.match((await dialog.getByTestId('case-area').textContent()) ?? '', /库房/);
    assert.deepEqual(await dialog.locator('.case-buttons .btn').allTextContents(), ['通知']);
    await dialog.getByTestId('case-notify').click();
    await dialog.getByTestId('case-note').fill('请食安员立即处理');
    await dialog.getByTestId('case-confirm').click();
    await waitDialogState(page, 'notified');
    await waitRowState(page, caseId, 'notified');
    assert.match((await dialog.getByTestId('case-history').textContent()) ?? '', /请食安员立即处理/);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden', timeout: 5000 });

    // The school's user: their own school's cases only; start, then submit (photo and measure required).
    await signInToCanteen(schoolPage, `${gw.url}/console`, officer.user, officer.password);
    await row(schoolPage, caseId).waitFor({ timeout: 15_000 });
    const schools = await schoolPage.getByTestId('canteen-case').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.school));
    assert.ok(schools.length > 0 && schools.every((s) => s === SCHOOL), `only ${SCHOOL}: ${schools}`);
    await row(schoolPage, caseId).click();
    const sd = schoolPage.getByTestId('case-dialog');
    await sd.getByTestId('case-start').click();
    await sd.getByTestId('case-confirm').click();
    await waitDialogState(schoolPage, 'rectifying');
    await waitRowState(page, caseId, 'rectifying'); // the operator's wall follows
    await sd.getByTestId('case-submit').click();
    await sd.getByTestId('case-measure').fill('已封堵鼠洞，放置粘鼠板');
    await sd.getByTestId('case-confirm').click();
    assert.match((await sd.getByTestId('case-error').textContent()) ?? '', /请选择整改照片/, 'no photo: said before sending');
    await sd.getByTestId('case-photo').setInputFiles({ name: 'fix.png', mimeType: 'image/png', buffer: png(120, 80, [40, 200, 90]) });
    await sd.getByTestId('case-confirm').click();
    await waitDialogState(schoolPage, 'submitted');
    await imgLoaded(schoolPage, 'img[data-testid="step-photo"]');
    assert.match((await sd.getByTestId('case-history').textContent()) ?? '', /已封堵鼠洞，放置粘鼠板/);
    // The review is the county's: not offered to the school.
    assert.equal(await sd.getByTestId('case-close').count(), 0);
    assert.equal(await sd.getByTestId('case-reject').count(), 0);
    await schoolPage.keyboard.press('Escape');

    // Operator: live, then reject (a note is required), then after a second submission close.
    await waitRowState(page, caseId, 'submitted');
    await row(page, caseId).click();
    await waitDialogState(page, 'submitted');
    await imgLoaded(page, 'img[data-testid="step-photo"]');
    await dialog.getByTestId('case-reject').click();
    await dialog.getByTestId('case-confirm').click();
    assert.match((await dialog.getByTestId('case-error').textContent()) ?? '', /退回必须填写原因/);
    await dialog.getByTestId('case-note').fill('照片看不清鼠洞位置');
    await dialog.getByTestId('case-confirm').click();
    await waitDialogState(page, 'rectifying');
    await waitRowState(schoolPage, caseId, 'rectifying'); // the school's wall follows
    await page.screenshot({ path: path.join(RESULTS, 'canteen-case.png') });

    await row(schoolPage, caseId).click();
    await waitDialogState(schoolPage, 'rectifying');
    assert.match((await sd.getByTestId('case-history').textContent()) ?? '', /照片看不清鼠洞位置/, 'the school reads why');
    await sd.getByTestId('case-submit').click();
    await sd.getByTestId('case-photo').setInputFiles({ name: 'fix2.png', mimeType: 'image/png', buffer: png(120, 80, [40, 90, 200]) });
    await sd.getByTestId('case-measure').fill('重新封堵并拍摄近景');
    await sd.getByTestId('case-confirm').click();
    await waitDialogState(schoolPage, 'submitted');
    await schoolPage.keyboard.press('Escape');

    // The operator's open dialog reads the case again on its frame.
    await waitDialogState(page, 'submitted');
    await dialog.getByTestId('case-close').click();
    await dialog.getByTestId('case-note').fill('验收通过');
    await dialog.getByTestId('case-confirm').click();
    await waitDialogState(page, 'closed');
    assert.deepEqual(await dialog.getByTestId('case-step').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.action)), ['open', 'notify', 'start', 'submit', 'reject', 'submit', 'close']);
    assert.equal(await dialog.getByTestId('case-no-actions').count(), 1);
    await page.keyboard.press('Escape');
    // Closed: it leaves both panels.
    await row(page, caseId).waitFor({ state: 'detached', timeout: 15_000 });
    await row(schoolPage, caseId).waitFor({ state: 'detached', timeout: 15_000 });
  });

  it('a case past its deadline escalates on the panel (mark and words, first in the list) and stays until closed; a stale action answers 409 in the dialog', async () => {
    // A rat seen three hours ago: its 2 h deadline has passed.
    const res = await push('S001-KC27', 'rat', Date.now() - 3 * 3_600_000, png(160, 100, [90, 60, 200]));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const list = await api(gw.url, token, 'GET', `/api/canteen/cases?state=overdue&school=${SCHOOL}`);
    const c = (list.body.cases as { id: string; device?: string }[]).find((x) => x.device === 'S001-KC27');
    assert.ok(c, 'an overdue case');
    overdueId = c.id;
    await page.waitForFunction((id) => document.querySelector(`[data-testid="canteen-case"][data-case-id="${id}"]`)?.getAttribute('data-overdue') === 'true', overdueId, { timeout: 15_000 });
    const r = row(page, overdueId);
    assert.match((await r.getByTestId('case-overdue').textContent()) ?? '', /已超期.*Overdue/);
    assert.equal(await r.locator('.icon-warn').count(), 1, 'a warning mark, not colour alone');
    assert.equal(await page.getByTestId('canteen-case').first().getAttribute('data-case-id'), overdueId, 'overdue first');
    assert.ok(Number(await page.getByTestId('canteen-overdue').getAttribute('data-n')) >= 1);
    // The escalation was sent (escalatedAt).
    await page.getByTestId('canteen-panel').screenshot({ path: path.join(RESULTS, 'canteen-overdue-strip.png') });
    const one = await api(gw.url, token, 'GET', `/api/canteen/cases/${overdueId}`);
    assert.ok(one.body.escalatedAt, 'escalated');

    // 409: the dialog's notify form is open when someone else notifies first.
    await r.click();
    const dialog = page.getByTestId('case-dialog');
    await waitDialogState(page, 'open');
    assert.equal(await dialog.getByTestId('case-overdue').count(), 1, 'the dialog says overdue too');
    await dialog.getByTestId('case-notify').click();
    assert.equal((await api(gw.url, token, 'POST', `/api/canteen/cases/${overdueId}/notify`, { note: 'by phone' })).status, 200);
    await dialog.getByTestId('case-confirm').click();
    await page.waitForFunction(() => /已通知/.test(document.querySelector('[data-testid="case-error"]')?.textContent ?? ''), null, { timeout: 10_000 });
    assert.match((await dialog.getByTestId('case-error').textContent()) ?? '', /整改单状态已变为「已通知」/);
    await page.keyboard.press('Escape'); // the form
    await waitDialogState(page, 'notified');
    await page.keyboard.press('Escape'); // the dialog
    await dialog.waitFor({ state: 'hidden', timeout: 5000 });
    // Still escalated after a step.
    await waitRowState(page, overdueId, 'notified');
    assert.equal(await row(page, overdueId).getAttribute('data-overdue'), 'true');
    assert.equal(await row(page, overdueId).getByTestId('case-overdue').count(), 1);
    // In English the words lead, the Chinese beside them.
    await page.getByTestId('lang-toggle').click();
    await page.waitForFunction((id) => /^Overdue/.test(document.querySelector(`[data-testid="canteen-case"][data-case-id="${id}"] [data-testid="case-overdue"]`)?.textContent?.trim() ?? ''), overdueId, { timeout: 5000 });
    assert.match((await row(page, overdueId).getByTestId('case-overdue').textContent()) ?? '', /Overdue\s*已超期/);
    assert.match((await row(page, overdueId).getByTestId('case-state').textContent()) ?? '', /Notified/);
    await page.getByTestId('lang-toggle').click();
    await page.waitForFunction((id) => /^已超期/.test(document.querySelector(`[data-testid="canteen-case"][data-case-id="${id}"] [data-testid="case-overdue"]`)?.textContent?.trim() ?? ''), overdueId, { timeout: 5000 });
  });

  it('the school user records a sample: a negative weight is refused in words, a good one saved, a 124 g one opens a case', async () => {
    await schoolPage.getByTestId('canteen-records-open').click();
    const d = schoolPage.getByTestId('records-dialog');
    await d.waitFor({ timeout: 5000 });
    await d.getByTestId('rec-meal').first().waitFor({ timeout: 5000 });
    const meals = await d.locator('select[data-testid="rec-meal"] option').evaluateAll((els) => els.map((e) => (e as HTMLOptionElement).value));
    const summary = await api(gw.url, token, 'GET', `/api/canteen/summary?school=${SCHOOL}`);
    assert.deepEqual(meals, summary.body.schools[0].meals.map((m: { meal: string }) => m.meal), 'the meals are the summary’s');
    const meal = meals.includes('dinner') ? 'dinner' : meals[meals.length - 1];
    const fill = async (dish: string, grams: string) => {
      await d.getByTestId('rec-dish').fill(dish);
      await d.locator('select[data-testid="rec-meal"]').selectOption(meal);
      await d.getByTestId('rec-grams').fill(grams);
      await d.getByTestId('rec-person').fill('王师傅');
      await d.getByTestId('rec-submit').click();
    };
    await fill('番茄炒蛋', '-5');
    await schoolPage.waitForFunction(() => (document.querySelector('[data-testid="rec-error"]')?.textContent ?? '') !== '', null, { timeout: 10_000 });
    assert.match((await d.getByTestId('rec-error').textContent()) ?? '', /重量不能为负数/);
    assert.equal(await d.getByTestId('rec-saved-item').count(), 0, 'nothing saved');
    await schoolPage.screenshot({ path: path.join(RESULTS, 'canteen-school.png') });
    await fill('番茄炒蛋', '150');
    await d.getByTestId('rec-saved-item').first().waitFor({ timeout: 10_000 });
    assert.match((await d.getByTestId('rec-ok').textContent()) ?? '', /已保存/);
    await fill('青菜', '124');
    await schoolPage.waitForFunction(() => document.querySelectorAll('[data-testid="rec-saved-item"]').length === 2, null, { timeout: 10_000 });
    // Today's records as the gateway stored them (GET /api/canteen/records), newest first.
    const lines = await d.getByTestId('rec-saved-item').allTextContents();
    assert.match(lines[0], /留样 · 青菜 · 124 g · .*s001-officer/);
    assert.match(lines[1], /番茄炒蛋 · 150 g/);
    await schoolPage.keyboard.press('Escape');
    await d.waitFor({ state: 'hidden', timeout: 5000 });
    // The 124 g sample is a case (not a refusal), live on the school's panel and the county's.
    const underweight = (p: Page) => p.waitForFunction(() => [...document.querySelectorAll('[data-testid="canteen-case"]')].some((e) => /留样不足125克/.test(e.textContent ?? '')), null, { timeout: 15_000 });
    await underweight(schoolPage);
    await underweight(page);
    // The refusals the test provoked (400, 409) are logged by Chromium as failed loads: nothing else.
    assert.deepEqual(pageErrors.filter((e) => !/status of (400|409)/.test(e)), []);
  });
});
