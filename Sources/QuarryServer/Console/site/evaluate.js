// Evaluate: the eval reports the server keeps (quarry eval --html), one shown in a sandboxed
// frame, and two runs compared metric by metric.

import { byId, el, replaceChildren } from '/console/dom.js';
import { errorMessage, getJSON, queryString, request } from '/console/api.js';
import { toast } from '/console/ui.js';
import { state } from '/console/state.js';
import { count, dateTime, delta, score } from '/console/format.js';

// Metrics where a smaller number is the better one: their deltas are styled the other way.
const LOWER_IS_BETTER = /latency|_ms$|\bms\b|time|seconds|cost/i;

let reportURL = null;
let openSequence = 0;

export function init() {
  byId('reports-list').addEventListener('click', (event) => {
    const button = event.target.closest('button.open-report');
    if (button) openReport(button.dataset.name, button.dataset.title);
  });
  byId('compare-run').addEventListener('click', compare);
  // A blob URL holds its report in memory until revoked.
  window.addEventListener('pagehide', () => { if (reportURL) URL.revokeObjectURL(reportURL); });
}

export function show() {
  return loadReports();
}

async function loadReports() {
  const list = byId('reports-list');
  // GET /info says whether there is a reports folder; asking anyway would only log a 404.
  if (state.info?.reports === false) {
    byId('reports-note').hidden = false;
    replaceChildren(list);
    fillCompareSelects([]);
    return;
  }
  try {
    const body = await getJSON('/reports');
    const reports = Array.isArray(body?.reports) ? body.reports : [];
    byId('reports-note').hidden = true;
    replaceChildren(list, reports.map(reportItem));
    if (!reports.length) list.append(el('li', { class: 'empty' }, 'No reports yet: write one with quarry eval --html into the reports folder.'));
    fillCompareSelects(reports);
  } catch (error) {
    replaceChildren(list);
    fillCompareSelects([]);
    if (error.status === 404) byId('reports-note').hidden = false;
    else toast(errorMessage(error), 'error');
  }
}

function reportItem(report) {
  const name = String(report.name ?? '');
  const title = String(report.title ?? name);
  const details = [report.dataset ? `dataset ${report.dataset}` : '',
    Array.isArray(report.modes) && report.modes.length ? `modes ${report.modes.join(', ')}` : '',
    typeof report.bytes === 'number' ? `${count(Math.ceil(report.bytes / 1024))} KB` : ''].filter(Boolean).join(' · ');
  return el('li', { class: 'report' },
    el('div', { class: 'report-title' }, title, ' ', el('span', { class: 'report-name mono' }, name)),
    el('div', { class: 'meta' }, el('time', { datetime: report.generated_at ?? null }, dateTime(report.generated_at)), details ? ` · ${details}` : ''),
    el('button', { type: 'button', class: 'open-report small', 'data-name': name, 'data-title': title, 'aria-label': `Open report ${title}` }, 'Open'));
}

function fillCompareSelects(reports) {
  // Newest first is how the server lists them; A defaults to the older of the two newest.
  const comparable = reports.filter((r) => r.comparable !== false);
  for (const [id, pick] of [['compare-a', 1], ['compare-b', 0]]) {
    const select = byId(id);
    const previous = select.value;
    replaceChildren(select, comparable.map((r) => el('option', { value: String(r.name) }, `${r.name} (${dateTime(r.generated_at)})`)));
    const names = comparable.map((r) => String(r.name));
    select.value = names.includes(previous) ? previous : names[Math.min(pick, names.length - 1)] ?? '';
  }
  byId('compare-run').disabled = comparable.length < 2;
}

/** Fetches a report (with the key) and shows it through a blob URL in the sandboxed frame. */
async function openReport(name, title) {
  const mine = ++openSequence;
  const frame = byId('report-frame');
  byId('report-name').textContent = `— loading ${title}…`;
  try {
    const response = await request(`/reports/${encodeURIComponent(name)}`, { accept: 'text/html' });
    const blob = new Blob([await response.arrayBuffer()], { type: 'text/html' });
    if (mine !== openSequence) return;
    const previous = reportURL;
    reportURL = URL.createObjectURL(blob);
    frame.title = `Evaluation report: ${title}`;
    frame.src = reportURL;
    if (previous) URL.revokeObjectURL(previous);
    byId('report-name').textContent = `— ${title}`;
    frame.scrollIntoView({ block: 'start', behavior: 'smooth' });
  } catch (error) {
    if (mine !== openSequence) return;
    byId('report-name').textContent = `— ${title} could not be opened: ${errorMessage(error)}`;
    toast(errorMessage(error), 'error');
  }
}

async function compare() {
  const a = byId('compare-a').value;
  const b = byId('compare-b').value;
  const status = byId('compare-status');
  const tbody = byId('compare-table').tBodies[0];
  if (!a || !b) {
    status.textContent = 'Choose two reports.';
    return;
  }
  status.textContent = 'Comparing…';
  try {
    const result = await getJSON('/reports/compare' + queryString({ a, b }));
    const rows = [];
    for (const mode of Array.isArray(result?.modes) ? result.modes : []) {
      for (const metric of Array.isArray(mode.metrics) ? mode.metrics : []) rows.push(compareRow(String(mode.mode ?? ''), metric));
    }
    // The answer-quality means, when either run evaluated answers.
    for (const metric of Array.isArray(result?.qa) ? result.qa : []) rows.push(compareRow('answers', metric));
    replaceChildren(tbody, rows);
    if (!rows.length) tbody.append(el('tr', {}, el('td', { colspan: 5, class: 'empty' }, 'The two runs share no metric.')));
    status.textContent = `B (${result?.b?.name ?? b}) against A (${result?.a?.name ?? a}): ${count(rows.length)} metrics.`;
  } catch (error) {
    replaceChildren(tbody);
    status.textContent = errorMessage(error);
    toast(errorMessage(error), 'error');
  }
}

function compareRow(mode, metric) {
  const change = typeof metric.delta === 'number' ? metric.delta
    : typeof metric.a === 'number' && typeof metric.b === 'number' ? metric.b - metric.a : null;
  const name = String(metric.metric ?? '');
  const direction = change === null || Math.abs(change) < 5e-5 ? 'same' : change > 0 ? 'up' : 'down';
  const better = direction === 'same' ? '' : (direction === 'up') !== LOWER_IS_BETTER.test(name) ? 'better' : 'worse';
  // The arrow and sign carry the direction; colour only repeats it.
  const arrow = { up: '▲ ', down: '▼ ', same: '' }[direction];
  return el('tr', {},
    el('td', {}, mode), el('td', {}, name),
    el('td', { class: 'num' }, score(metric.a)), el('td', { class: 'num' }, score(metric.b)),
    el('td', { class: ['num', 'delta', direction, better].filter(Boolean).join(' ') }, arrow + delta(change)));
}
