/**
 * What every report the inspectorate and the schools print has in common (the monthly targets
 * report, the daily canteen report): HTML escaping, percentages, the A4 page with the wall
 * screen's bundled font, the CSP that lets exactly that page render, and the CSV/HTML reply.
 * Pure, except `sendReport`, which only sets headers.
 */
import type { FastifyReply } from 'fastify';
import { toCsv } from '../contract/csv.js';

export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A share as a percentage with one decimal; `—` when there is nothing to divide (never 0%). */
export const pct = (r: number | null): string => (r === null ? '—' : `${(r * 100).toFixed(1)}%`);

/** The report pages run nothing; their style is inline plus the bundled font: a CSP that allows exactly that. */
export const REPORT_CSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; font-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** A printable zh-CN page: A4 portrait, no script, no outside resource (`/fonts.css` is the gateway's own). */
export function a4Page(title: string, body: string, extraCss = ''): string {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>${esc(title)}</title>
<link rel="stylesheet" href="/fonts.css">
<style>
@page { size: A4 portrait; margin: 16mm 14mm; }
body { font-family: "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; font-size: 10.5pt; color: #000; }
h1 { font-size: 16pt; text-align: center; margin: 0 0 4mm; }
h2 { font-size: 12.5pt; margin: 6mm 0 2mm; border-bottom: 1px solid #000; }
p.meta { text-align: center; margin: 0 0 4mm; font-size: 9pt; }
table { width: 100%; border-collapse: collapse; page-break-inside: auto; }
tr { page-break-inside: avoid; }
thead { display: table-header-group; }
th, td { border: 1px solid #444; padding: 1.5mm 2mm; vertical-align: top; text-align: left; }
td { overflow-wrap: anywhere; }
th { background: #eee; }
td.n { text-align: right; white-space: nowrap; }
small { color: #444; }
${extraCss}</style></head><body>
${body}
</body></html>`;
}

/** CSV as staff open it: a BOM for Excel's Chinese, and cells others typed never run as formulas. */
export const reportCsv = (header: readonly string[], rows: readonly (readonly unknown[])[]): string => toCsv(header, rows, { bom: true, neutralizeFormulas: true });

/** Sends a rendered report: CSV as an attachment named `filename`, or the printable page with its CSP. */
export function sendReport(reply: FastifyReply, format: 'csv' | 'html', text: string, filename: string): FastifyReply {
  if (format === 'csv') return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${filename}"`).send(text);
  return reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', REPORT_CSP).send(text);
}
