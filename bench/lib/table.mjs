// A plain-text table (also valid Markdown), columns aligned.

/** columns: [{ key, title, align: 'left'|'right' }]; rows: objects; returns the text. */
export function formatTable(columns, rows) {
  const cells = rows.map((row) =>
    columns.map((c) => (row[c.key] === undefined || row[c.key] === null ? '' : String(row[c.key]))),
  );
  const widths = columns.map((c, i) => Math.max(c.title.length, 3, ...cells.map((r) => r[i].length)));
  const pad = (text, i) => (columns[i].align === 'right' ? text.padStart(widths[i]) : text.padEnd(widths[i]));
  const line = (values) => `| ${values.map(pad).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (columns[i].align === 'right' ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(columns.map((c) => c.title)), rule, ...cells.map(line)].join('\n');
}

/** Numbers for the table: fixed digits, thousands separators for big ones, '' for missing. */
export function fmt(value, digits = 0) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A ratio for the notes: `0.38×`, or 'n/a'. */
export function fmtRatio(value) {
  return typeof value === 'number' && Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a';
}
