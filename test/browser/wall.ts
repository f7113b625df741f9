/**
 * The wall screen in a real browser: Debian's Chromium driven by playwright-core, at the command
 * center's 1920×1080, in zh-CN and Beijing time, with every request to the internet refused and
 * recorded (command centers sit on closed networks, so the screen must need nothing from outside).
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { GatewayProc } from '../support/gateway.js';
import type { MqttClient } from '../support/mqtt.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Without the background-networking flags Chromium keeps dialling Google on this closed network.
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Page errors, console errors and refused external requests are pushed to `pageErrors`: a test expects it to stay empty. */
export async function openWall(pageErrors: string[], opts: { acceptDownloads?: boolean } = {}): Promise<{ browser: Browser; page: Page }> {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', acceptDownloads: opts.acceptDownloads ?? false });
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(msg.text());
  });
  await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => {
    pageErrors.push(`external request: ${route.request().url()}`);
    return route.abort();
  });
  return { browser, page };
}

/** Stops what a wall test started, each part even when one before it fails: the device, the browser, the gateway, the built dashboard. */
export async function closeWall(parts: { device?: MqttClient; browser?: Browser; gw?: GatewayProc; dashboardDir?: string }): Promise<void> {
  await parts.device?.endAsync(true).catch(() => {});
  await parts.browser?.close().catch(() => {});
  await parts.gw?.stop().catch(() => parts.gw?.kill9());
  if (parts.dashboardDir) await rm(parts.dashboardDir, { recursive: true, force: true });
}

/** Opens `url`, signs in through the login form and waits for the live feed (within `timeoutMs`). */
export async function signIn(page: Page, url: string, who: { user: string; password: string }, timeoutMs: number): Promise<void> {
  await page.goto(url);
  await page.getByTestId('login-user').fill(who.user);
  await page.getByTestId('login-password').fill(who.password);
  await page.getByTestId('login-submit').click();
  await page.locator('[data-testid="conn-status"][data-state="open"]').waitFor({ timeout: timeoutMs });
}
