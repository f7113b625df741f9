/**
 * A printable report opened as an operator opens it (from the gateway, with its CSP, its bundled
 * font and nothing from outside) and printed to PDF by Chromium: every page A4 portrait, nothing
 * wider than the printable width. Shared by the targets and canteen report tests.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser } from 'playwright-core';

/** Prints `reportPath` of the gateway at `url`; saves `<name>.pdf` and `<name>.png` in `results`; returns the page count. */
export async function printsOnA4(browser: Browser, url: string, token: string, reportPath: string, results: string, name: string, fontSample: string): Promise<number> {
  const p = await browser.newPage();
  try {
    // The printable width of A4 with the reports' 14 mm side margins, in CSS pixels (96 per inch).
    const printable = Math.floor(((210 - 28) / 25.4) * 96);
    await p.setViewportSize({ width: printable, height: 1000 });
    const outside: string[] = [];
    p.on('request', (r) => void (new URL(r.url()).origin !== new URL(url).origin && outside.push(r.url())));
    await p.setExtraHTTPHeaders({ authorization: `Bearer ${token}` });
    const res = await p.goto(`${url}${reportPath}`);
    assert.equal(res?.status(), 200);
    await p.evaluate(() => document.fonts.ready);
    // Chromium may not have asked for every unicode-range slice the text needs yet: ask, then check they came from the gateway.
    await p.evaluate((t) => document.fonts.load('16px "Noto Sans SC"', t), fontSample);
    const missing = await p.evaluate((t) => [...t].filter((c) => !document.fonts.check('16px "Noto Sans SC"', c)), fontSample);
    assert.deepEqual(missing, [], 'the Chinese text has its font');
    assert.deepEqual(outside, []);
    await p.emulateMedia({ media: 'print' });
    assert.ok(await p.evaluate((w) => document.documentElement.scrollWidth <= w + 1, printable), 'no table runs off the page');
    const pdf = await p.pdf({ preferCSSPageSize: true, printBackground: true, path: path.join(results, `${name}.pdf`) });
    const boxes = [...pdf.toString('latin1').matchAll(/\/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/g)].map((m) => [Number(m[1]), Number(m[2])]);
    assert.ok(boxes.length >= 1, 'at least one page');
    for (const [w, h] of boxes) assert.ok(Math.abs(w - 595.3) < 2 && Math.abs(h - 841.9) < 2, `A4 portrait, got ${w}×${h} pt`);
    await p.screenshot({ path: path.join(results, `${name}.png`), fullPage: true });
    await p.screenshot({ path: path.join(results, `${name}-top.png`), clip: { x: 0, y: 0, width: printable, height: 1100 } });
    return boxes.length;
  } finally {
    await p.close();
  }
}
