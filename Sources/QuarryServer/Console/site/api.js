// The HTTP client of the console: one place that adds the API key, turns error bodies into
// ApiError and, on a 401, asks for a key once and retries, so no view handles authentication.

import { askForKey } from '/console/ui.js';

const KEY_STORAGE = 'quarry.key';

/** An error answer of the API: `{"error": {"code", "message"}, "request_id"}`. */
export class ApiError extends Error {
  constructor(status, code, message, requestId) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.requestId = requestId;
  }
}

// Where the key lives when sessionStorage is unavailable (storage disabled): until a reload.
let fallbackKey = null;

/** The key kept for this tab (sessionStorage: gone when the tab closes), or null. */
export function storedKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return fallbackKey;
  }
}

/** Keeps `key` for this tab; null forgets it. */
export function storeKey(key) {
  fallbackKey = key || null;
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // The fallback above holds it.
  }
}

/**
 * Sends a request and returns the response when it is 2xx; otherwise throws ApiError. A 401
 * opens the key dialog and the request is sent again with the key entered, until the user
 * cancels the dialog (then the 401's ApiError is thrown).
 * @param {string} path e.g. `/search` or `/documents?collection=docs`
 * @param {{method?: string, body?: unknown, signal?: AbortSignal, accept?: string}} [options]
 */
export async function request(path, { method = 'GET', body, signal, accept = 'application/json' } = {}) {
  let refusedKey = false;
  for (;;) {
    const headers = { Accept: accept };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const key = storedKey();
    if (key) headers.Authorization = `Bearer ${key}`;
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      credentials: 'omit',
      cache: 'no-store',
    });
    if (response.ok) return response;
    const error = await errorFrom(response);
    if (response.status !== 401) throw error;
    const entered = await askForKey(key || refusedKey ? `The server refused the key: ${error.message}` : '');
    if (!entered) throw error;
    storeKey(entered);
    refusedKey = true;
  }
}

/** GET (or another method) answering JSON; null for an empty answer (204). */
export async function getJSON(path, options) {
  const response = await request(path, options);
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** POST a JSON body, answering JSON. */
export const postJSON = (path, body, options = {}) => getJSON(path, { ...options, method: 'POST', body });

/** DELETE, answering JSON (or null). */
export const deleteJSON = (path, options = {}) => getJSON(path, { ...options, method: 'DELETE' });

/**
 * A query string from the entries whose value is neither empty nor null:
 * `queryString({collection: 'docs', contains: ''})` is `?collection=docs`.
 */
export function queryString(parameters) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/**
 * The path of a document: its id may hold slashes, which stay as they are, and `#` (JSONL
 * records), which must go as %23 or it would end the URL.
 */
export const documentPath = (id) => `/documents/${encodeURIComponent(id).replaceAll('%2F', '/')}`;

/** The message to show for any error (an ApiError's own, with its code). */
export function errorMessage(error) {
  if (error instanceof ApiError) {
    const where = error.status ? `${error.status} ${error.code ?? ''}`.trim() : error.code;
    return `${error.message} (${where})`;
  }
  if (error instanceof TypeError) return `The server cannot be reached: ${error.message}`;
  return error?.message ? String(error.message) : String(error);
}

async function errorFrom(response) {
  let code = `http_${response.status}`;
  let message = response.statusText || `HTTP ${response.status}`;
  let requestId = response.headers.get('X-Request-Id');
  try {
    const body = await response.json();
    if (body?.error) {
      code = String(body.error.code ?? code);
      message = String(body.error.message ?? message);
    }
    if (body?.request_id) requestId = String(body.request_id);
  } catch {
    // Not JSON (a proxy's page, an empty body): the status line says enough.
  }
  return new ApiError(response.status, code, message, requestId);
}
