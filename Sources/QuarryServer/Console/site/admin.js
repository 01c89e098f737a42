// Admin (admin and operator keys): the tenant's keys, and its model usage by day over the last
// 30 days as a chart with the same numbers in a table (the table is the accessible reading).

import { byId, el, replaceChildren } from '/console/dom.js';
import { errorMessage, getJSON, queryString } from '/console/api.js';
import { toast } from '/console/ui.js';
import { can } from '/console/state.js';
import { barChart } from '/console/chart.js';
import { count, dateTime, usd, utcDay } from '/console/format.js';

const DAYS = 30;

export function init() {}

export function configure() {
  const allowed = can('administer');
  byId('admin-note').hidden = allowed;
  byId('admin-content').hidden = !allowed;
}

export function show() {
  if (!can('administer')) return;
  loadKeys();
  loadUsage();
}

async function loadKeys() {
  const tbody = byId('keys-table').tBodies[0];
  try {
    const body = await getJSON('/keys');
    const keys = Array.isArray(body?.keys) ? body.keys : [];
    replaceChildren(tbody, keys.map(keyRow));
    if (!keys.length) tbody.append(el('tr', {}, el('td', { colspan: 9, class: 'empty' }, 'No keys: the server runs without authentication.')));
  } catch (error) {
    replaceChildren(tbody, el('tr', {}, el('td', { colspan: 9, class: 'inline-error' }, errorMessage(error))));
  }
}

function keyRow(key) {
  const now = Date.now();
  const status = key.revoked_at ? 'revoked'
    : key.expires_at && Date.parse(key.expires_at) < now ? 'expired' : 'active';
  return el('tr', { 'data-status': status },
    el('td', { class: 'mono' }, String(key.id ?? '')),
    el('td', {}, String(key.role ?? '')),
    el('td', {}, String(key.tenant ?? '')),
    el('td', {}, String(key.tier ?? '—')),
    el('td', {}, dateTime(key.created_at)),
    el('td', {}, key.expires_at ? dateTime(key.expires_at) : 'never'),
    el('td', { class: 'last-used', title: 'written by the server every few seconds' }, key.last_used_at ? dateTime(key.last_used_at) : 'never'),
    el('td', {}, Array.isArray(key.principals) && key.principals.length ? key.principals.join(', ') : '—'),
    el('td', {}, el('span', { class: `key-status ${status}` }, status)));
}

async function loadUsage() {
  const from = utcDay(DAYS - 1);
  const to = utcDay(0);
  const chart = byId('usage-chart');
  try {
    const body = await getJSON('/usage' + queryString({ group_by: 'day', from, to }));
    const days = dailyTotals(body?.daily?.rows ?? [], from);
    renderUsage(days);
  } catch (error) {
    replaceChildren(chart, el('p', { class: 'inline-error' }, errorMessage(error)));
    replaceChildren(byId('usage-table').tBodies[0]);
    byId('usage-summary').textContent = '';
    toast(errorMessage(error), 'error');
  }
}

/** One entry per day from `from` for DAYS days, summed over tenants (an operator sees several); missing days are 0. */
function dailyTotals(rows, from) {
  const days = new Map();
  const start = Date.parse(`${from}T00:00:00Z`);
  for (let i = 0; i < DAYS; i += 1) {
    const day = new Date(start + i * 86400000).toISOString().slice(0, 10);
    days.set(day, { day, requests: 0, prompt_tokens: 0, completion_tokens: 0, tokens: 0, cost_usd: 0 });
  }
  for (const row of rows) {
    const entry = days.get(row?.day);
    if (!entry) continue;
    for (const field of ['requests', 'prompt_tokens', 'completion_tokens', 'tokens', 'cost_usd']) {
      if (typeof row[field] === 'number') entry[field] += row[field];
    }
  }
  return [...days.values()];
}

function renderUsage(days) {
  const totals = days.reduce((sum, d) => ({ tokens: sum.tokens + d.tokens, cost: sum.cost + d.cost_usd, requests: sum.requests + d.requests }),
    { tokens: 0, cost: 0, requests: 0 });
  const summary = `${count(totals.tokens)} tokens, ${usd(totals.cost)}, ${count(totals.requests)} model requests from ${days[0].day} to ${days.at(-1).day} (UTC)`;
  byId('usage-summary').textContent = `Total: ${summary}. Bars: tokens per day; line: cost per day.`;
  const chart = barChart({
    bars: days.map((d) => ({ label: d.day.slice(5), value: d.tokens, title: `${d.day}: ${count(d.tokens)} tokens, ${usd(d.cost_usd)}, ${count(d.requests)} requests` })),
    line: days.map((d) => d.cost_usd),
    ariaLabel: `Tokens per day, last ${DAYS} days: ${summary}. The table below lists each day.`,
    formatBar: (n) => count(n),
    formatLine: (n) => usd(n).replace(/0+$/, '').replace(/\.$/, ''),
  });
  replaceChildren(byId('usage-chart'), chart,
    el('figcaption', { class: 'legend' }, el('span', { class: 'swatch bar-swatch' }), 'tokens ', el('span', { class: 'swatch line-swatch' }), 'cost (right scale)'));
  replaceChildren(byId('usage-table').tBodies[0], days.map((d) => el('tr', {},
    el('th', { scope: 'row' }, d.day),
    el('td', { class: 'num' }, count(d.requests)),
    el('td', { class: 'num' }, count(d.prompt_tokens)),
    el('td', { class: 'num' }, count(d.completion_tokens)),
    el('td', { class: 'num' }, count(d.tokens)),
    el('td', { class: 'num' }, usd(d.cost_usd)))));
}
