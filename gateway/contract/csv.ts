/** CSV as spreadsheets read it (RFC 4180): a cell with a comma, quote or line break is quoted. */

export interface CsvOptions {
  /**
   * Prefix cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) with `'`
   * (OWASP "CSV injection"). For text others typed (user names, notes); never for secrets.
   */
  neutralizeFormulas?: boolean;
  /** Start with a byte-order mark, so that Excel (what staff open reports with) reads Chinese as UTF-8. */
  bom?: boolean;
}

export function toCsv(header: readonly string[], rows: readonly (readonly unknown[])[], o: CsvOptions = {}): string {
  const cell = (v: unknown): string => {
    let s = v === null || v === undefined ? '' : String(v);
    if (o.neutralizeFormulas && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return (o.bom ? '\ufeff' : '') + [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}
