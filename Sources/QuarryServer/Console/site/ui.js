// Page-wide pieces every view shares: the toast, the API key dialog and the confirm dialog.
// The dialogs are native <dialog>s opened with showModal(): focus is trapped, Escape closes.

import { byId } from '/console/dom.js';

let toastTimer = 0;

/**
 * Shows a short message in #toast (a status live region, so screen readers read it).
 * @param {string} message
 * @param {'info'|'success'|'error'} [kind]
 */
export function toast(message, kind = 'info') {
  const node = byId('toast');
  node.textContent = message;
  node.dataset.kind = kind;
  clearTimeout(toastTimer);
  // Errors stay longer: they usually need reading, not just noticing.
  toastTimer = setTimeout(() => { node.textContent = ''; }, kind === 'error' ? 12000 : 5000);
}

// One key prompt at a time: requests that meet a 401 while it is open wait for the same answer.
let pendingKey = null;
let resolveKey = null;

/**
 * Opens the key dialog and resolves with the key entered, or null when it is cancelled.
 * @param {string} [message] why it is asked again (the server refused the last key)
 */
export function askForKey(message = '') {
  if (pendingKey) return pendingKey;
  const dialog = byId('key-dialog');
  const error = byId('key-error');
  error.textContent = message;
  error.hidden = !message;
  byId('key-input').value = '';
  pendingKey = new Promise((resolve) => { resolveKey = resolve; });
  dialog.showModal();
  byId('key-input').focus();
  return pendingKey;
}

function finishKey(value) {
  if (!resolveKey) return;
  const resolve = resolveKey;
  resolveKey = null;
  pendingKey = null;
  const dialog = byId('key-dialog');
  if (dialog.open) dialog.close();
  resolve(value);
}

function wireKeyDialog() {
  const dialog = byId('key-dialog');
  byId('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = byId('key-input').value.trim();
    if (!key) {
      byId('key-error').textContent = 'Enter a key, or cancel.';
      byId('key-error').hidden = false;
      byId('key-input').focus();
      return;
    }
    finishKey(key);
  });
  byId('key-cancel').addEventListener('click', () => finishKey(null));
  // Escape fires `cancel` and then `close`; any way of closing counts as cancelling.
  dialog.addEventListener('close', () => finishKey(null));
}

let resolveConfirm = null;

/**
 * Asks a yes/no question in #confirm-dialog; resolves true only for the confirming button.
 * @param {string} message what will happen, naming the thing it happens to
 * @param {string} [action] the confirming button's label
 */
export function confirmAction(message, action = 'Delete') {
  resolveConfirm?.(false);
  const dialog = byId('confirm-dialog');
  byId('confirm-message').textContent = message;
  byId('confirm-yes').textContent = action;
  const answer = new Promise((resolve) => { resolveConfirm = resolve; });
  dialog.showModal();
  // The safe choice has the focus, so an absent-minded Enter deletes nothing.
  byId('confirm-no').focus();
  return answer;
}

function finishConfirm(value) {
  const resolve = resolveConfirm;
  resolveConfirm = null;
  const dialog = byId('confirm-dialog');
  if (dialog.open) dialog.close();
  resolve?.(value);
}

function wireConfirmDialog() {
  byId('confirm-yes').addEventListener('click', () => finishConfirm(true));
  byId('confirm-no').addEventListener('click', () => finishConfirm(false));
  byId('confirm-dialog').addEventListener('close', () => finishConfirm(false));
}

/** Connects the dialogs' buttons; called once by main.js. */
export function wireDialogs() {
  wireKeyDialog();
  wireConfirmDialog();
  byId('toast').addEventListener('click', () => { byId('toast').textContent = ''; });
}
