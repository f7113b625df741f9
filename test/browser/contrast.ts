/**
 * WCAG 2.x AA contrast of every visible text under a root element, as rendered (issue #12): each
 * element with text of its own, its colour (with its alpha and its ancestors' opacity) against the
 * background it actually sits on — the ancestors' background colours and gradients composited from
 * the page down (every gradient stop is a candidate: the text must read over the worst one).
 * Normal text needs 4.5:1, large text 3:1 (≥ 24px, or ≥ 18.66px bold, at the rendered size).
 * Disabled controls are exempt (WCAG 1.4.3). SVG text is judged against its halo stroke when it has one.
 */
import type { Page } from 'playwright-core';

export interface ContrastFailure {
  selector: string;
  text: string;
  color: string;
  background: string;
  ratio: number;
  required: number;
  fontPx: number;
  bold: boolean;
}

// Kept as a string: the test runner's TypeScript transform may decorate nested functions with
// helpers that do not exist in the page.
const IN_PAGE = String.raw`(rootSelector) => {
  const parse = (s) => {
    const m = /^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)$/.exec(String(s).trim());
    if (!m) return null;
    let a = m[4] === undefined ? 1 : m[4].endsWith('%') ? parseFloat(m[4]) / 100 : parseFloat(m[4]);
    return [Number(m[1]), Number(m[2]), Number(m[3]), a];
  };
  const over = (top, bottom) => {
    const a = top[3];
    return [top[0] * a + bottom[0] * (1 - a), top[1] * a + bottom[1] * (1 - a), top[2] * a + bottom[2] * (1 - a), 1];
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const css = (c) => 'rgb(' + c.slice(0, 3).map((v) => Math.round(v)).join(', ') + ')';
  const chain = (el) => { const out = []; for (let a = el; a; a = a.parentElement) out.unshift(a); return out; };
  const root = document.querySelector(rootSelector);
  if (!root) return [];
  const failures = [];
  const all = [root, ...root.querySelectorAll('*')];
  for (const el of all) {
    const own = [...el.childNodes].filter((n) => n.nodeType === 3 && n.textContent.trim()).map((n) => n.textContent.trim()).join(' ');
    if (!own) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.bottom <= 0 || r.right <= 0 || r.top >= innerHeight || r.left >= innerWidth) continue;
    const cs = getComputedStyle(el);
    if (cs.visibility !== 'visible' || el.closest('[hidden], :disabled, [aria-disabled="true"]')) continue;
    const isSvg = el instanceof SVGElement;
    let text = parse(isSvg ? cs.fill : cs.color);
    if (!text || text[3] === 0) continue;
    let opacity = 1;
    const ancestors = chain(el);
    for (const a of ancestors) opacity *= parseFloat(getComputedStyle(a).opacity);
    if (opacity < 0.05) continue;
    let cands = [[0, 0, 0, 1]];
    for (const a of ancestors) {
      const acs = getComputedStyle(a);
      const bg = parse(acs.backgroundColor);
      if (bg && bg[3] > 0) cands = cands.map((c) => over(bg, c));
      const img = acs.backgroundImage;
      if (img && img !== 'none' && img.includes('gradient')) {
        const stops = (img.match(/rgba?\([^)]*\)/g) || []).map(parse).filter(Boolean);
        if (stops.length) {
          const next = [];
          for (const c of cands) for (const s of stops) next.push(over(s, c));
          const seen = new Set();
          cands = next.filter((c) => { const k = c.slice(0, 3).map(Math.round).join(','); if (seen.has(k)) return false; seen.add(k); return true; }).slice(0, 48);
        }
      }
    }
    if (isSvg && el.ownerSVGElement) {
      // A chart's label sits on a shape drawn before it in the same SVG (a bar), not on an ancestor:
      // the last filled shape before the text whose box holds the text's centre is its background.
      const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
      for (const shape of el.ownerSVGElement.querySelectorAll('path, rect, circle, polygon')) {
        if (shape.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_PRECEDING) break;
        const b = shape.getBoundingClientRect();
        if (cx < b.left || cx > b.right || cy < b.top || cy > b.bottom) continue;
        const f = parse(getComputedStyle(shape).fill);
        const fo = parseFloat(getComputedStyle(shape).fillOpacity);
        if (f && f[3] > 0 && fo > 0) cands = cands.map((c) => over([f[0], f[1], f[2], f[3] * fo], c));
      }
    }
    if (isSvg) {
      const stroke = parse(cs.stroke);
      if (stroke && stroke[3] > 0 && parseFloat(cs.strokeWidth) > 0 && cs.paintOrder.startsWith('stroke')) cands = cands.map((c) => over(stroke, c));
    }
    const fontPx = parseFloat(cs.fontSize) * (isSvg ? (el.getScreenCTM()?.a ?? 1) : 1);
    const bold = Number(cs.fontWeight) >= 700;
    const large = fontPx >= 24 || (bold && fontPx >= 18.66);
    const required = large ? 3 : 4.5;
    let worst = Infinity, worstBg = cands[0];
    for (const c of cands) {
      const ink = over([text[0], text[1], text[2], text[3] * opacity], c);
      const q = ratio(ink, c);
      if (q < worst) { worst = q; worstBg = c; }
    }
    if (worst + 1e-6 < required) {
      const cls = typeof el.className === 'string' ? el.className : el.getAttribute('class') || '';
      failures.push({ selector: el.tagName.toLowerCase() + (cls ? '.' + cls.trim().split(/\s+/).join('.') : ''), text: own.slice(0, 30), color: css(text) + (text[3] * opacity < 1 ? ' α' + (text[3] * opacity).toFixed(2) : ''), background: css(worstBg), ratio: Math.round(worst * 100) / 100, required, fontPx: Math.round(fontPx * 10) / 10, bold });
    }
  }
  return failures;
}`;

/** The texts under `rootSelector` that fail WCAG AA contrast (empty: all pass). */
export async function contrastReport(page: Page, rootSelector: string): Promise<ContrastFailure[]> {
  return page.evaluate(`(${IN_PAGE})(${JSON.stringify(rootSelector)})`) as Promise<ContrastFailure[]>;
}
