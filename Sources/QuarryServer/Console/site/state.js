// What the server told the console about itself and the caller (GET /info) and the
// collections it holds (GET /collections), shared by the views. The collection chosen last is
// remembered for the tab and chosen in every collection select.

import { getJSON } from '/console/api.js';
import { el, replaceChildren } from '/console/dom.js';
import { count } from '/console/format.js';

const COLLECTION_STORAGE = 'quarry.collection';

/** `info`: the body of GET /info (null until loaded); `collections`: GET /collections' list. */
export const state = { info: null, collections: [] };

/** Loads GET /info. A server without the route yet gets a conservative stand-in. */
export async function loadInfo() {
  try {
    state.info = await getJSON('/info');
  } catch (error) {
    if (error.status !== 404) throw error;
    state.info = { answerers: ['none', 'extractive'], models: [], principal: null, reports: false };
  }
  return state.info;
}

/** Whether the caller may do `permission` (a key of GET /info `can`), else guessed from the role. */
export function can(permission) {
  const info = state.info;
  if (info?.can && permission in info.can) return Boolean(info.can[permission]);
  const role = info?.principal?.role;
  const rank = { reader: 0, writer: 1, admin: 2, operator: 3 }[role];
  if (rank === undefined) return permission === 'query' || permission === 'read_documents';
  const needed = { query: 0, read_documents: 0, ingest: 1, delete_documents: 1, administer: 2 }[permission] ?? 3;
  return rank >= needed;
}

/** Loads the collections and refills every collection select and the ingest suggestions. */
export async function loadCollections() {
  const body = await getJSON('/collections');
  state.collections = Array.isArray(body?.collections) ? body.collections : [];
  fillCollectionSelects();
  return state.collections;
}

/** The collection chosen last (in any view), if it still exists; else `default` or the first. */
export function currentCollection() {
  const names = state.collections.map((c) => c.name);
  let remembered = null;
  try {
    remembered = sessionStorage.getItem(COLLECTION_STORAGE);
  } catch {
    // No storage: fall through to the default.
  }
  if (remembered && names.includes(remembered)) return remembered;
  if (names.includes('default')) return 'default';
  return names[0] ?? '';
}

function rememberCollection(name) {
  try {
    sessionStorage.setItem(COLLECTION_STORAGE, name);
  } catch {
    // Not remembered across reloads; the selects still agree for this page.
  }
}

function fillCollectionSelects() {
  const chosen = currentCollection();
  for (const select of document.querySelectorAll('select[data-collections]')) {
    const options = state.collections.map((c) =>
      el('option', { value: c.name, selected: c.name === chosen }, `${c.name} (${count(c.documents)} docs)`));
    if (!options.length) options.push(el('option', { value: '' }, 'no collections yet'));
    replaceChildren(select, options);
    select.value = chosen;
  }
  const suggestions = document.getElementById('ingest-collections');
  if (suggestions) replaceChildren(suggestions, state.collections.map((c) => el('option', { value: c.name })));
}

/**
 * Keeps the collection selects in step: choosing one in any view remembers it and shows it in
 * the others. Views hear of it through the `quarry:collection` event on document.
 */
export function bindCollectionSelects() {
  document.addEventListener('change', (event) => {
    const select = event.target;
    if (!(select instanceof HTMLSelectElement) || !select.hasAttribute('data-collections')) return;
    rememberCollection(select.value);
    for (const other of document.querySelectorAll('select[data-collections]')) {
      if (other !== select) other.value = select.value;
    }
    document.dispatchEvent(new CustomEvent('quarry:collection', { detail: select.value }));
  });
}
