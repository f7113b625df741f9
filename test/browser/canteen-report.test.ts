// The daily canteen report (明厨亮灶日报) printed in real Chromium from a real gateway: the county's
// report for today, with AI events sent over MQTT and records over HTTP, prints on A4 portrait pages
// with nothing wider than the page, in the bundled Chinese font, asking nothing from outside.
//
//   node --import tsx --test --test-force-exit test/browser/canteen-report.test.ts
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { printsOnA4 } from './print.js';
import { closeWall, openWall } from './wall.js';
import { buildDashboard } from '../../scripts/build-dashboard.js';
import { api, login, startGateway, type GatewayProc } from '../support/gateway.js';
import { connectDevice, type MqttClient } from '../support/mqtt.js';
import { waitFor } from '../support/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = path.join(ROOT, 'test-results');
const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);

describe('the daily canteen report in print', { timeout: 180_000 }, () => {
  let dashboardDir: string;
  let gw: GatewayProc;
  let token: string;
  let browser: Browser;
  let device: MqttClient | undefined;

  before(async () => {
    dashboardDir = await mkdtemp(path.join(os.tmpdir(), 'canteen-report-dashboard-'));
    await buildDashboard(dashboardDir);
    gw = await startGateway({ env: { DASHBOARD_DIR: dashboardDir } });
    token = await login(gw.url, 'admin', gw.adminPassword);
    device = await connectDevice(gw.mqttUrl);
    ({ browser } = await openWall([]));
    mkdirSync(RESULTS, { recursive: true });
  });

  after(async () => {
    await closeWall({ device, browser, gw, dashboardDir });
  });

  it("prints the county's report for today on A4: portrait pages, nothing wider than the page", async () => {
    for (const [cam, kind] of [['S001-KC26', 'rodent'], ['S001-KC01', 'no_hat'], ['S001-KC18', 'smoking'], ['S002-KC36', 'animal']])
      await device!.publishAsync(`campus/v1/${cam.slice(0, 4)}/${cam}/ai`, JSON.stringify({ id: `p-${randomBytes(5).toString('hex')}`, ts: Date.now(), kind, confidence: 0.95 }), { qos: 1 });
    const rec = await api(gw.url, token, 'POST', '/api/canteen/records', { school: 'S001', kind: 'morning_check', person: '王师傅', result: 'abnormal', symptom: '手部伤口', at: new Date().toISOString() });
    assert.equal(rec.status, 201, JSON.stringify(rec.body));
    await waitFor('the events in the report', async () => {
      const r = await api(gw.url, token, 'GET', `/api/reports/canteen?date=${today}&school=S001`);
      return r.status === 200 && r.body.schools[0].aiEvents.total >= 3;
    });
    const pages = await printsOnA4(browser, gw.url, token, `/api/reports/canteen?date=${today}&format=html`, RESULTS, 'canteen-report', '明厨亮灶日报学校');
    assert.ok(pages >= 1);
  });
});
