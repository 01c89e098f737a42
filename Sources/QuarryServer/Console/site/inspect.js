// Inspect: one query's dense, lexical and fused (hybrid) rankings side by side, from POST
// /search with `explain`, and the stage timings. A chunk hovered or focused in one column is
// highlighted in all three.

import { byId, el, replaceChildren } from '/console/dom.js';
import { errorMessage, postJSON } from '/console/api.js';
import { toast } from '/console/ui.js';
import { openDocument } from '/console/docview.js';
import { count, ms, score } from '/console/format.js';

const STAGES = ['embed', 'dense', 'lexical', 'fuse', 'search', 'total'];
let sequence = 0;
let searchedCollection = '';

export function init() {
  byId('inspect-form').addEventListener('submit', (event) => {
    event.preventDefault();
    inspect();
  });
  const columns = byId('inspect-rankings');
  columns.addEventListener('mouseover', (event) => linkChunk(event.target));
  columns.addEventListener('focusin', (event) => linkChunk(event.target));
  columns.addEventListener('mouseleave', () => linkChunk(null));
  columns.addEventListener('focusout', (event) => {
    if (!columns.contains(event.relatedTarget)) linkChunk(null);
  });
  columns.addEventListener('click', (event) => {
    const button = event.target.closest('button.open-chunk');
    if (button) openDocument({ collection: searchedCollection, id: button.dataset.document, highlight: [button.dataset.chunk] });
  });
}

/** Marks every item of the chunk under `target` (in any column) as linked; null clears. */
function linkChunk(target) {
  const chunk = target?.closest?.('li[data-chunk]')?.dataset.chunk ?? null;
  for (const item of byId('inspect-rankings').querySelectorAll('li[data-chunk]')) {
    item.classList.toggle('linked', chunk !== null && item.dataset.chunk === chunk);
  }
}

function setStatus(text, stateName = 'idle') {
  const status = byId('inspect-status');
  status.textContent = text;
  status.dataset.state = stateName;
}

async function inspect() {
  const query = byId('inspect-query').value.trim();
  const collection = byId('inspect-collection').value;
  if (!query) {
    setStatus('Type a query first.', 'error');
    byId('inspect-query').focus();
    return;
  }
  const topK = Math.min(100, Math.max(1, Math.round(Number(byId('inspect-topk').value) || 10)));
  byId('inspect-topk').value = String(topK);
  const mine = ++sequence;
  setStatus('Searching…', 'streaming');
  byId('inspect-submit').disabled = true;
  try {
    const result = await postJSON('/search', { query, collection, top_k: topK, mode: 'hybrid', explain: true });
    if (mine !== sequence) return;
    searchedCollection = collection;
    render(result ?? {});
  } catch (error) {
    if (mine !== sequence) return;
    setStatus(errorMessage(error), 'error');
    toast(errorMessage(error), 'error');
  } finally {
    if (mine === sequence) byId('inspect-submit').disabled = false;
  }
}

function render(result) {
  const explain = result.explain;
  const hits = Array.isArray(result.hits) ? result.hits : [];
  fillColumn('rank-dense', explain?.dense, () => null);
  fillColumn('rank-lexical', explain?.lexical, () => null);
  fillColumn('rank-fused', hits, (hit) => el('span', { class: 'ranks' },
    `dense ${hit.dense_rank ? `#${hit.dense_rank}` : '—'} · lexical ${hit.lexical_rank ? `#${hit.lexical_rank}` : '—'}`));
  const candidates = typeof explain?.candidates === 'number' ? ` from ${count(explain.candidates)} candidates` : '';
  setStatus(explain
    ? `${count(hits.length)} fused results${candidates}.`
    : 'The server did not explain this search (no dense and lexical rankings): only the fused one is shown.', 'done');
  renderTimings(result.timings_ms ?? {});
}

function fillColumn(id, items, extra) {
  const list = byId(id);
  if (!Array.isArray(items)) {
    replaceChildren(list, el('li', { class: 'empty' }, 'not available'));
    return;
  }
  replaceChildren(list, items.map((item, index) => {
    const rank = Number.isInteger(item.rank) ? item.rank : index + 1;
    return el('li', { 'data-chunk': String(item.chunk_id ?? ''), value: rank },
      el('button', { type: 'button', class: 'open-chunk link', 'data-document': String(item.document ?? ''), 'data-chunk': String(item.chunk_id ?? ''),
        title: `Open ${item.chunk_id ?? ''}` }, String(item.document ?? '')),
      el('span', { class: 'chunk-id' }, chunkSuffix(item.chunk_id)),
      el('span', { class: 'item-score' }, score(item.score)),
      extra(item));
  }));
  if (!items.length) list.append(el('li', { class: 'empty' }, 'no results'));
}

/** The chunk's ordinal as its id ends ("wal.md#7" → "#7"): the document is already shown. */
function chunkSuffix(chunkId) {
  const text = String(chunkId ?? '');
  const hash = text.lastIndexOf('#');
  return hash >= 0 ? text.slice(hash) : text;
}

function renderTimings(timings) {
  const stages = [...STAGES.filter((s) => s in timings), ...Object.keys(timings).filter((s) => !STAGES.includes(s))];
  replaceChildren(byId('inspect-timings').tBodies[0], stages.map((stage) =>
    el('tr', { class: stage === 'total' ? 'total' : null }, el('th', { scope: 'row' }, stage), el('td', { class: 'num' }, ms(timings[stage])))));
}
