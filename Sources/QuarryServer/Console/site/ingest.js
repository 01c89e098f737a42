// Ingest: start an ingest of a folder under one of the server's ingest roots and watch the job
// (GET /jobs/{id} every 500 ms) until it ends; the recent jobs below.

import { byId, el, replaceChildren } from '/console/dom.js';
import { deleteJSON, errorMessage, getJSON, postJSON, queryString } from '/console/api.js';
import { toast } from '/console/ui.js';
import { can, currentCollection, loadCollections, state } from '/console/state.js';
import { count, dateTime } from '/console/format.js';

const POLL_MS = 500;
const FINAL_STATES = new Set(['succeeded', 'failed', 'cancelled']);

let watchedJob = null;
let pollTimer = 0;

export function init() {
  byId('ingest-form').addEventListener('submit', (event) => {
    event.preventDefault();
    start();
  });
  byId('ingest-root').addEventListener('change', renderPathPreview);
  byId('ingest-path').addEventListener('input', renderPathPreview);
  // Once typed, the collection is the user's: a later reload of /info must not reset it.
  byId('ingest-collection').addEventListener('input', (event) => { event.target.dataset.edited = 'yes'; });
  byId('ingest-cancel').addEventListener('click', cancel);
  byId('jobs-refresh').addEventListener('click', loadJobs);
  byId('jobs-table').tBodies[0].addEventListener('click', (event) => {
    const button = event.target.closest('button.watch-job');
    if (button) watch(button.dataset.job);
  });
}

export function configure() {
  const roots = Array.isArray(state.info?.ingest_roots) ? state.info.ingest_roots : [];
  // Writers are the role that may delete documents; they may also ingest and list jobs.
  const writer = can('delete_documents');
  byId('ingest-no-roots').hidden = roots.length > 0;
  byId('ingest-need-root').hidden = !writer;
  byId('ingest-need-writer').hidden = writer;
  byId('jobs-section').hidden = !writer;
  byId('ingest-form').hidden = roots.length === 0;
  replaceChildren(byId('ingest-root'), roots.map((root) => el('option', { value: root }, root)));
  if (!byId('ingest-collection').dataset.edited) byId('ingest-collection').value = currentCollection() || 'default';
  renderPathPreview();
}

export function show() {
  if (can('delete_documents')) loadJobs();
}

/** The absolute folder to send: the root joined with the relative path typed. */
function targetPath() {
  const root = byId('ingest-root').value.replace(/\/+$/, '');
  const relative = byId('ingest-path').value.trim().replace(/^\/+|\/+$/g, '');
  return relative ? `${root}/${relative}` : root || '/';
}

function renderPathPreview() {
  byId('ingest-path-preview').textContent = byId('ingest-root').value ? `Ingests ${targetPath()}` : '';
}

/** Shows why an ingest did not start, under the form and in the toast; null clears it. */
function showStartError(message, field) {
  const line = byId('ingest-error');
  line.textContent = message ?? '';
  line.hidden = !message;
  if (!message) return;
  toast(message, 'error');
  field?.focus();
}

async function start() {
  const relative = byId('ingest-path').value.trim();
  const collection = byId('ingest-collection').value.trim() || 'default';
  if (relative.split(/[\\/]/).includes('..')) {
    showStartError('The folder must lie under the root: ".." is not allowed.', byId('ingest-path'));
    return;
  }
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(collection)) {
    showStartError('A collection name is 1–64 letters, digits, "-", "_" or ".".', byId('ingest-collection'));
    return;
  }
  showStartError(null);
  byId('ingest-start').disabled = true;
  try {
    const answer = await postJSON('/ingest', { path: targetPath(), collection });
    toast(`Ingest of ${targetPath()} into ${collection} started.`, 'success');
    watch(answer.job_id);
    loadJobs();
  } catch (error) {
    showStartError(errorMessage(error));
  } finally {
    byId('ingest-start').disabled = false;
  }
}

/** Shows job `id` in #ingest-job and polls it until it ends. */
function watch(id) {
  clearTimeout(pollTimer);
  watchedJob = id;
  byId('ingest-job-id').textContent = id;
  byId('ingest-job').hidden = false;
  poll(id);
}

async function poll(id) {
  try {
    const job = await getJSON(`/jobs/${encodeURIComponent(id)}`);
    if (watchedJob !== id) return;
    renderJob(job ?? {});
    if (FINAL_STATES.has(job?.state)) {
      loadJobs();
      loadCollections().catch(() => {}); // a new collection or new counts
      return;
    }
  } catch (error) {
    if (watchedJob !== id) return;
    byId('ingest-job-state').textContent = `Cannot read the job: ${errorMessage(error)}`;
    if (error.status === 404 || error.status === 403) return; // it will not come back
  }
  pollTimer = setTimeout(() => poll(id), POLL_MS);
}

function renderJob(job) {
  const panel = byId('ingest-job');
  const jobState = String(job.state ?? 'unknown');
  panel.dataset.state = jobState;
  const progress = byId('ingest-progress');
  if (job.files_total > 0) {
    progress.max = job.files_total;
    progress.value = Math.min(job.files_done ?? 0, job.files_total);
  } else if (FINAL_STATES.has(jobState)) {
    progress.max = 1;
    progress.value = 1;
  } else {
    progress.removeAttribute('value'); // indeterminate while the files are being counted
  }
  byId('ingest-job-state').textContent = `${stateLabel(jobState)} · ${job.path ?? ''} → ${job.collection ?? ''}`;
  byId('ingest-counts').textContent = [
    // The server counts the files with its first batch; until then there is nothing to count.
    job.files_total > 0 || FINAL_STATES.has(jobState) ? `${count(job.files_done ?? 0)} of ${count(job.files_total ?? 0)} files` : 'reading the folder…',
    `${count(job.chunks_written ?? 0)} chunks written`,
    `added ${count(job.added ?? 0)}`, `updated ${count(job.updated ?? 0)}`, `removed ${count(job.removed ?? 0)}`,
    `unchanged ${count(job.unchanged ?? 0)}`, `skipped ${count(job.skipped ?? 0)}`,
    personalData(job),
  ].filter(Boolean).join(' · ');
  const failure = byId('ingest-job-error');
  failure.hidden = !job.error;
  failure.textContent = job.error ? `${job.error}${job.error_code ? ` (${job.error_code})` : ''}${job.limit ? ` — limit ${job.limit}` : ''}` : '';
  const errors = Array.isArray(job.errors) ? job.errors : [];
  byId('ingest-errors-heading').hidden = errors.length === 0;
  replaceChildren(byId('ingest-errors'), errors.map((e) => el('li', {}, el('span', { class: 'mono' }, String(e?.path ?? '?')), ` — ${e?.reason ?? ''}`)));
  const warnings = Array.isArray(job.warnings) ? job.warnings : [];
  replaceChildren(byId('ingest-warnings'), warnings.map((w) => el('li', {}, `Warning: ${typeof w === 'string' ? w : JSON.stringify(w)}`)));
  byId('ingest-cancel').disabled = FINAL_STATES.has(jobState);
}

function stateLabel(jobState) {
  return { queued: '⏳ Queued', running: '▶ Running', succeeded: '✓ Succeeded', failed: '✗ Failed', cancelled: '■ Cancelled' }[jobState] ?? jobState;
}

function personalData(job) {
  const found = Object.entries(job.personal_data ?? {}).filter(([, n]) => n > 0);
  if (!found.length) return '';
  return `personal data ${job.personal_data_redacted ? 'redacted' : 'found'}: ${found.map(([kind, n]) => `${count(n)} ${kind}`).join(', ')}`;
}

async function cancel() {
  if (!watchedJob) return;
  byId('ingest-cancel').disabled = true;
  try {
    await deleteJSON(`/jobs/${encodeURIComponent(watchedJob)}`);
    toast('Cancelling: the job stops at its next batch.', 'info');
  } catch (error) {
    toast(errorMessage(error), 'error');
    byId('ingest-cancel').disabled = false;
  }
}

async function loadJobs() {
  const tbody = byId('jobs-table').tBodies[0];
  const note = byId('jobs-note');
  try {
    const body = await getJSON('/jobs' + queryString({ limit: 20 }));
    const jobs = Array.isArray(body?.jobs) ? body.jobs : [];
    note.hidden = true;
    replaceChildren(tbody, jobs.map(jobRow));
    if (!jobs.length) tbody.append(el('tr', {}, el('td', { colspan: 8, class: 'empty' }, 'No jobs yet.')));
  } catch (error) {
    replaceChildren(tbody);
    // An older server has no job listing (404/405); a reader may not list jobs (403).
    note.textContent = [404, 405].includes(error.status) ? 'This server does not list recent jobs.' : errorMessage(error);
    note.hidden = false;
  }
}

function jobRow(job) {
  const errors = Array.isArray(job.errors) ? job.errors.length : 0;
  return el('tr', { 'data-state': String(job.state ?? '') },
    el('td', {}, el('time', { datetime: job.created_at ?? null }, dateTime(job.created_at))),
    el('td', { class: 'path' }, String(job.path ?? '')),
    el('td', {}, String(job.collection ?? '')),
    el('td', {}, el('span', { class: `job-badge state-${job.state}` }, stateLabel(String(job.state ?? '')))),
    el('td', { class: 'num' }, `${count(job.files_done ?? 0)}/${count(job.files_total ?? 0)}`),
    el('td', { class: 'num' }, count(job.chunks_written ?? 0)),
    el('td', { class: 'num' }, count(errors)),
    el('td', {}, el('button', { type: 'button', class: 'watch-job small', 'data-job': String(job.id), 'aria-label': `Show job ${job.id}` }, 'Show')));
}
