// Entry point: wires the page-wide controls, loads what the server offers (GET /info, GET
// /collections) and routes between the views by the URL's hash (#/ask, #/inspect, …).
//
// Each view module exports `init()` (wire its controls, once), optionally `configure()`
// (apply GET /info, after every load of it: a new key may change what is allowed) and
// `show()` (it became visible: refresh what it lists).

import { byId, el, replaceChildren } from '/console/dom.js';
import { errorMessage, storeKey } from '/console/api.js';
import { toast, wireDialogs } from '/console/ui.js';
import { state, loadInfo, loadCollections, bindCollectionSelects } from '/console/state.js';
import { wireViewer } from '/console/docview.js';
import * as ask from '/console/ask.js';
import * as inspect from '/console/inspect.js';
import * as documents from '/console/documents.js';
import * as ingest from '/console/ingest.js';
import * as evaluate from '/console/evaluate.js';
import * as admin from '/console/admin.js';

const views = { ask, inspect, documents, ingest, evaluate, admin };
const titles = { ask: 'Ask', inspect: 'Inspect', documents: 'Documents', ingest: 'Ingest', evaluate: 'Evaluate', admin: 'Admin' };
let ready = false;
const initialized = new Set();

/** The view the hash names; Ask for an empty or unknown one. */
function viewFromHash() {
  const match = /^#\/([a-z]+)/.exec(location.hash);
  return match && match[1] in views ? match[1] : 'ask';
}

function route({ moveFocus }) {
  const name = viewFromHash();
  for (const key of Object.keys(views)) byId(`view-${key}`).hidden = key !== name;
  for (const link of document.querySelectorAll('nav a')) {
    if (link.getAttribute('href') === `#/${name}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${titles[name]} · Quarry console`;
  // After a click in the menu, keyboard and screen reader users land on the view's heading.
  if (moveFocus) byId(`view-${name}`).querySelector('h2')?.focus();
  if (ready) runView(name, 'show');
}

function runView(name, step) {
  Promise.resolve()
    .then(() => views[name][step]?.())
    .catch((error) => toast(errorMessage(error), 'error'));
}

// Theme: the system's unless chosen with the toggle; the choice is stored and applied early by theme.js.
const darkQuery = matchMedia('(prefers-color-scheme: dark)');

function isDark() {
  const chosen = document.documentElement.dataset.theme;
  return chosen ? chosen === 'dark' : darkQuery.matches;
}

function renderThemeToggle() {
  const toggle = byId('theme-toggle');
  toggle.textContent = isDark() ? '☀ Light' : '☾ Dark';
  toggle.setAttribute('aria-label', isDark() ? 'Use the light theme' : 'Use the dark theme');
}

function wireHeader() {
  byId('theme-toggle').addEventListener('click', () => {
    const theme = isDark() ? 'light' : 'dark';
    document.documentElement.dataset.theme = theme;
    try {
      localStorage.setItem('quarry.theme', theme);
    } catch {
      // Kept for this page only.
    }
    renderThemeToggle();
  });
  darkQuery.addEventListener('change', renderThemeToggle);
  renderThemeToggle();

  byId('key-clear').addEventListener('click', () => {
    storeKey(null);
    toast('The API key is forgotten for this tab.');
    // What the caller may do came from the old key; ask again (a 401 opens the key dialog).
    boot();
  });

  // The skip link must not change the hash (the router's): it moves focus to the view's heading.
  byId('skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    byId(`view-${viewFromHash()}`).querySelector('h2')?.focus();
  });
}

function renderWhoami() {
  const principal = state.info?.principal;
  const node = byId('whoami');
  node.textContent = principal ? `${principal.tenant} · ${principal.role}` : '';
  node.title = principal?.key_id ? `key ${principal.key_id}` : 'no key';
}

function showBootError(error) {
  const note = byId('boot-note');
  const retry = el('button', { type: 'button', class: 'primary' }, error.status === 401 ? 'Enter a key' : 'Try again');
  retry.addEventListener('click', () => boot());
  const message = error.status === 401
    ? 'This server needs an API key before it shows anything.'
    : `The console could not load the server's information: ${errorMessage(error)}`;
  replaceChildren(note, el('p', {}, message), retry);
  note.hidden = false;
}

/** Loads the server's information and collections, then configures and shows the views. */
async function boot() {
  try {
    await loadInfo();
    renderWhoami();
    await loadCollections();
  } catch (error) {
    showBootError(error);
    return;
  }
  byId('boot-note').hidden = true;
  for (const name of Object.keys(views)) {
    if (initialized.has(name)) continue;
    initialized.add(name);
    views[name].init();
  }
  for (const name of Object.keys(views)) runView(name, 'configure');
  ready = true;
  runView(viewFromHash(), 'show');
}

wireDialogs();
wireViewer();
wireHeader();
bindCollectionSelects();
window.addEventListener('hashchange', () => {
  // Other fragments (a skip link without script) are not routes.
  if (location.hash === '' || location.hash.startsWith('#/')) route({ moveFocus: true });
});
route({ moveFocus: false });
boot();
