// Number, size, date and location formats shared by the views, so that a score or a timing
// reads the same everywhere (scores 4 decimals, milliseconds 1).

const integers = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const dates = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

const isNumber = (value) => typeof value === 'number' && Number.isFinite(value);

/** A count with grouping (12,345); an em dash for a missing value. */
export const count = (value) => (isNumber(value) ? integers.format(value) : '—');

/** A retrieval score or metric: 4 decimals. */
export const score = (value, digits = 4) => (isNumber(value) ? value.toFixed(digits) : '—');

/** Milliseconds with one decimal. */
export const ms = (value) => (isNumber(value) ? `${value.toFixed(1)} ms` : '—');

/**
 * A cost in US dollars: 4 decimals, or 2 significant digits below a cent, since one call of a
 * small model costs a few millionths of a dollar and would otherwise read as $0.0000.
 */
export function usd(value) {
  if (!isNumber(value)) return '—';
  if (value === 0 || Math.abs(value) >= 0.01) return `$${value.toFixed(4)}`;
  return `$${Number(value.toPrecision(2)).toFixed(Math.max(4, 1 - Math.floor(Math.log10(Math.abs(value)))))}`;
}

/** A signed difference, with a true minus sign: +0.0200, −0.0100. */
export function delta(value, digits = 4) {
  if (!isNumber(value)) return '—';
  const text = Math.abs(value).toFixed(digits);
  if (Number(text) === 0) return `±${text}`;
  return value > 0 ? `+${text}` : `−${text}`;
}

/** A size in bytes, KB or MB (1 KB = 1,024 bytes). */
export function bytes(value) {
  if (!isNumber(value)) return '—';
  if (value < 1024) return `${value} B`;
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(1)} KB`;
  return `${(value / 1024 / 1024).toFixed(1)} MB`;
}

/** A timestamp (ISO 8601) in the reader's locale; the raw text when it does not parse. */
export function dateTime(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : dates.format(date);
}

/** Where a passage is in its file: "lines 41–52 · page 3 · bytes 5,751–7,520". */
export function location(loc) {
  if (!loc || typeof loc !== 'object') return '';
  const parts = [];
  if (isNumber(loc.line_start)) {
    parts.push(loc.line_end > loc.line_start ? `lines ${count(loc.line_start)}–${count(loc.line_end)}` : `line ${count(loc.line_start)}`);
  }
  if (isNumber(loc.page)) parts.push(`page ${count(loc.page)}`);
  if (isNumber(loc.byte_start) && isNumber(loc.byte_end)) parts.push(`bytes ${count(loc.byte_start)}–${count(loc.byte_end)}`);
  return parts.join(' · ');
}

/** A heading path as a breadcrumb: "Guide › Checkpoints". */
export const headingPath = (path) => (Array.isArray(path) ? path.map(String).join(' › ') : '');

/** The day (UTC) `daysAgo` days before today, as YYYY-MM-DD. */
export function utcDay(daysAgo = 0) {
  const date = new Date();
  date.setUTCDate(date.getUTCDate() - daysAgo);
  return date.toISOString().slice(0, 10);
}

/**
 * A passage's text for reading: the lines of a hard-wrapped paragraph joined with spaces, so that
 * it flows to the width of the screen; blank lines, headings, list items, quotes, table rows and
 * code (indented or fenced) keep their line breaks.
 */
export function reflow(text) {
  const fence = /^\s*(```|~~~)/;
  const startsBlock = /^\s*([-*+>|#]|\d+[.)])(\s|$)|^(\t| {4})/;
  const standsAlone = /^\s*[#|]|^(\t| {4})/;
  const lines = [];
  let fenced = false;
  let joinable = false;
  for (const line of String(text ?? '').split('\n')) {
    if (fence.test(line)) {
      fenced = !fenced;
      lines.push(line);
      joinable = false;
      continue;
    }
    const blank = line.trim() === '';
    if (!fenced && joinable && !blank && !startsBlock.test(line)) {
      lines[lines.length - 1] = `${lines[lines.length - 1].trimEnd()} ${line.trim()}`;
    } else {
      lines.push(line);
    }
    joinable = !fenced && !blank && !standsAlone.test(lines[lines.length - 1]);
  }
  return lines.join('\n');
}
