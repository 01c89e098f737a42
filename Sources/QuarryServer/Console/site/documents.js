// Documents: a collection's documents, 50 a page, searched by path; a document's metadata,
// access list and chunks; deletion after confirmation.

import { byId, debounce, el, replaceChildren } from '/console/dom.js';
import { deleteJSON, documentPath, errorMessage, getJSON, queryString } from '/console/api.js';
import { confirmAction, toast } from '/console/ui.js';
import { can, loadCollections, state } from '/console/state.js';
import { openDocument } from '/console/docview.js';
import { bytes, count, dateTime, headingPath, location } from '/console/format.js';

const PAGE_SIZE = 50;

let offset = 0;
let total = 0;
// The collection, search and offset of the page shown: a search that fires both `input` and
// `change` loads once.
let loadedKey = null;
let sequence = 0;
let selected = null; // {collection, id} of the document in #doc-detail

export function init() {
  document.addEventListener('quarry:collection', () => {
    offset = 0;
    selected = null;
    byId('doc-detail').hidden = true;
    if (!byId('view-documents').hidden) load();
  });
  // `change` too: a field cleared by a script or an autofill fires no `input`.
  const search = debounce(() => {
    if (listKey() === loadedKey) return;
    offset = 0;
    load();
  }, 250);
  byId('docs-search').addEventListener('input', search);
  byId('docs-search').addEventListener('change', search);
  byId('docs-prev').addEventListener('click', () => {
    offset = Math.max(0, offset - PAGE_SIZE);
    load();
  });
  byId('docs-next').addEventListener('click', () => {
    offset += PAGE_SIZE;
    load();
  });
  const tbody = byId('docs-table').tBodies[0];
  tbody.addEventListener('click', (event) => {
    const row = event.target.closest('tr[data-id]');
    if (row) showDetail(row.dataset.id);
  });
  // The rows are one Tab stop (roving tabindex): arrows move between them, Enter opens one.
  tbody.addEventListener('keydown', (event) => {
    const row = event.target.closest('tr[data-id]');
    if (!row) return;
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      showDetail(row.dataset.id);
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      const next = event.key === 'ArrowDown' ? row.nextElementSibling : row.previousElementSibling;
      if (!next?.dataset.id) return;
      event.preventDefault();
      row.tabIndex = -1;
      next.tabIndex = 0;
      next.focus();
    }
  });
  byId('doc-open').addEventListener('click', () => {
    if (selected) openDocument({ collection: selected.collection, id: selected.id });
  });
  byId('doc-chunks').addEventListener('click', (event) => {
    const button = event.target.closest('button.open-chunk');
    if (button && selected) openDocument({ collection: selected.collection, id: selected.id, highlight: [button.dataset.chunk] });
  });
  byId('doc-delete').addEventListener('click', deleteSelected);
}

export function configure() {
  byId('doc-delete').hidden = !can('delete_documents');
}

/** Reloads the page shown: an ingest or a deletion elsewhere may have changed it. */
export function show() {
  return load();
}

function listKey() {
  return JSON.stringify([byId('docs-collection').value, byId('docs-search').value.trim(), offset]);
}

async function load() {
  const collection = byId('docs-collection').value;
  const tbody = byId('docs-table').tBodies[0];
  const info = state.collections.find((c) => c.name === collection);
  byId('docs-collection-info').textContent = info
    ? `${info.name}: ${count(info.documents)} documents, ${count(info.chunks)} chunks, model ${info.model ?? '—'} (${info.dimension ?? '—'} dimensions)`
    : '';
  if (!collection) {
    replaceChildren(tbody, emptyRow('There are no collections yet: ingest a folder first.'));
    renderPager(0);
    return;
  }
  const mine = ++sequence;
  const key = listKey();
  byId('docs-table').setAttribute('aria-busy', 'true');
  try {
    const page = await getJSON('/documents' + queryString({
      collection, limit: PAGE_SIZE, offset, contains: byId('docs-search').value.trim(),
    }));
    if (mine !== sequence) return;
    const documents = Array.isArray(page?.documents) ? page.documents : [];
    total = typeof page?.total === 'number' ? page.total : offset + documents.length;
    // A page past the end (after deletions) steps back to the last one.
    if (!documents.length && offset > 0 && total > 0) {
      offset = Math.floor((total - 1) / PAGE_SIZE) * PAGE_SIZE;
      load();
      return;
    }
    replaceChildren(tbody, documents.map(documentRow));
    const current = tbody.querySelector('tr.selected') ?? tbody.querySelector('tr[data-id]');
    if (current) current.tabIndex = 0;
    if (!documents.length) tbody.append(emptyRow(byId('docs-search').value.trim() ? 'No document path contains that text.' : 'This collection has no documents.'));
    renderPager(documents.length);
    loadedKey = key;
  } catch (error) {
    if (mine !== sequence) return;
    replaceChildren(tbody, emptyRow(errorMessage(error), 'inline-error'));
    renderPager(0);
    toast(errorMessage(error), 'error');
  } finally {
    if (mine === sequence) byId('docs-table').setAttribute('aria-busy', 'false');
  }
}

function documentRow(doc) {
  const isSelected = selected && selected.id === doc.id;
  return el('tr', { 'data-id': String(doc.id), tabindex: '-1', class: isSelected ? 'selected' : null, 'aria-current': isSelected ? 'true' : null },
    el('td', { class: 'path' }, String(doc.id), doc.access ? el('span', { class: 'badge', title: `access: ${doc.access.join(', ')}` }, 'restricted') : null),
    el('td', { class: 'num' }, count(doc.chunks)),
    el('td', { class: 'num' }, bytes(doc.size)),
    el('td', {}, el('time', { datetime: doc.modified_at ?? null }, dateTime(doc.modified_at))));
}

function emptyRow(text, className = 'empty') {
  return el('tr', {}, el('td', { colspan: 4, class: className }, text));
}

function renderPager(shown) {
  const first = shown ? offset + 1 : 0;
  byId('docs-page').textContent = shown ? `${count(first)}–${count(offset + shown)} of ${count(total)}` : `0 of ${count(total)}`;
  byId('docs-prev').disabled = offset === 0;
  byId('docs-next').disabled = offset + shown >= total;
}

async function showDetail(id) {
  const collection = byId('docs-collection').value;
  selected = { collection, id };
  for (const row of byId('docs-table').tBodies[0].rows) {
    const isSelected = row.dataset.id === id;
    row.classList.toggle('selected', isSelected);
    row.tabIndex = isSelected ? 0 : -1;
    if (isSelected) row.setAttribute('aria-current', 'true');
    else row.removeAttribute('aria-current');
  }
  const panel = byId('doc-detail');
  panel.hidden = false;
  byId('doc-detail-title').textContent = id;
  replaceChildren(byId('doc-meta'));
  replaceChildren(byId('doc-chunks'), el('li', { class: 'loading' }, 'Loading…'));
  try {
    const detail = await getJSON(documentPath(id) + queryString({ collection }));
    if (selected?.id !== id) return;
    renderDetail(detail ?? {});
    panel.focus({ preventScroll: true });
    panel.scrollIntoView({ block: 'nearest' });
  } catch (error) {
    if (selected?.id !== id) return;
    replaceChildren(byId('doc-chunks'), el('li', { class: 'inline-error' }, errorMessage(error)));
  }
}

function renderDetail(detail) {
  const doc = detail.document ?? {};
  const entries = [
    ['Source', doc.source], ['Size', bytes(doc.size)], ['Modified', dateTime(doc.modified_at)],
    ['Chunks', count(doc.chunks)], ['Content hash', doc.content_hash],
    ['Access', Array.isArray(doc.access) ? doc.access.join(', ') : 'every key of the tenant'],
  ];
  for (const [name, value] of Object.entries(doc.metadata ?? {})) entries.push([`metadata: ${name}`, typeof value === 'string' ? value : JSON.stringify(value)]);
  replaceChildren(byId('doc-meta'), entries.map(([term, value]) =>
    [el('dt', {}, term), el('dd', { class: term === 'Content hash' ? 'mono' : null }, String(value ?? '—'))]));
  const chunks = [...(detail.chunks ?? [])].sort((a, b) => a.ordinal - b.ordinal);
  replaceChildren(byId('doc-chunks'), chunks.map((chunk) => el('li', { class: 'chunk', 'data-chunk': String(chunk.chunk_id) },
    el('div', { class: 'chunk-head' },
      el('span', { class: 'chunk-id mono' }, `#${chunk.ordinal}`),
      el('span', { class: 'passage-location' }, location(chunk.location)),
      chunk.heading_path?.length ? el('span', { class: 'passage-heading' }, headingPath(chunk.heading_path)) : null,
      el('button', { type: 'button', class: 'open-chunk small', 'data-chunk': String(chunk.chunk_id), 'aria-label': `Show chunk ${chunk.ordinal} in the document` }, 'Show in document')),
    el('p', { class: 'chunk-text' }, String(chunk.text ?? '')))));
  if (!chunks.length) byId('doc-chunks').append(el('li', { class: 'empty' }, 'No chunks.'));
}

async function deleteSelected() {
  if (!selected) return;
  const { collection, id } = selected;
  const confirmed = await confirmAction(
    `Delete “${id}” from the collection “${collection}”, with its chunks and vectors? The next ingest of its folder brings it back if its file is still there.`);
  if (!confirmed) return;
  try {
    await deleteJSON(documentPath(id) + queryString({ collection }));
    toast(`Deleted ${id}.`, 'success');
    selected = null;
    byId('doc-detail').hidden = true;
    await loadCollections().catch(() => {}); // the document counts changed
    await load();
    byId('docs-search').focus();
  } catch (error) {
    toast(errorMessage(error), 'error');
  }
}
