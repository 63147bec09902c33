/**
 * RFC 4180 CSV that a spreadsheet opens as data, never as formulas: a field starting with = + - @ or a
 * tab, CR or LF gets a leading `'` (OWASP's CSV-injection advice), and a field is quoted when it holds
 * a quote, a line break, a comma, or a `;` or tab — the separators spreadsheets use in other locales,
 * where an unquoted `a;=HYPERLINK(…)` would be split into a second cell that starts a formula.
 */
export function csvField(value: unknown): string {
  let s = value === null || value === undefined ? "" : Array.isArray(value) ? value.join(" ") : String(value);
  if (/^[=+\-@\t\r\n]/.test(s)) s = `'${s}`;
  return /[",;\t\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(values: readonly unknown[]): string {
  return values.map(csvField).join(",") + "\r\n";
}
