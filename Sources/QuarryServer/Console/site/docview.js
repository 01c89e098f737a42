// The document viewer (#doc-viewer): a stored document shown whole, its chunks in order with
// the chunker's overlap given once, the cited passage highlighted and scrolled to.

import { byId, el, replaceChildren } from '/console/dom.js';
import { documentPath, errorMessage, getJSON, queryString } from '/console/api.js';
import { bytes, count, location } from '/console/format.js';

// An overlap shorter than this is more likely a coincidence (a repeated word) than the
// chunker's repeated sentences.
const MIN_OVERLAP = 20;

let openSequence = 0;
let returnFocusTo = null;
// Until the reader scrolls, the highlight is kept centred when the viewer's size changes (a
// rotated phone, a resized window), as the text reflows under it.
let followHighlight = false;

/** Connects the viewer's close button and focus return; called once by main.js. */
export function wireViewer() {
  const dialog = byId('doc-viewer');
  byId('doc-viewer-close').addEventListener('click', () => dialog.close());
  const body = byId('doc-viewer-body');
  for (const type of ['wheel', 'touchstart', 'pointerdown', 'keydown']) {
    body.addEventListener(type, () => { followHighlight = false; }, { passive: true });
  }
  new ResizeObserver(() => {
    if (followHighlight && dialog.open) body.querySelector('mark.highlight')?.scrollIntoView({ block: 'center' });
  }).observe(body);
  dialog.addEventListener('close', () => {
    openSequence += 1; // a load still running must not fill a closed viewer
    followHighlight = false;
    if (returnFocusTo?.isConnected) returnFocusTo.focus();
    returnFocusTo = null;
  });
}

/**
 * Opens a document in the viewer.
 * @param {{collection: string, id: string, highlight?: string[]}} target `highlight`: the
 *   chunk ids to mark (a passage merges neighbouring chunks); the first is scrolled to.
 */
export async function openDocument({ collection, id, highlight = [] }) {
  const dialog = byId('doc-viewer');
  const body = byId('doc-viewer-body');
  const sequence = ++openSequence;
  followHighlight = false;
  returnFocusTo = document.activeElement;
  byId('doc-viewer-title').textContent = id;
  byId('doc-viewer-meta').textContent = collection;
  replaceChildren(body, el('p', { class: 'loading' }, 'Loading…'));
  if (!dialog.open) dialog.showModal();
  body.focus();
  try {
    const detail = await getJSON(documentPath(id) + queryString({ collection }));
    if (sequence !== openSequence) return;
    const chunks = [...(detail?.chunks ?? [])].sort((a, b) => a.ordinal - b.ordinal);
    const cited = new Set(highlight);
    const doc = detail?.document ?? {};
    byId('doc-viewer-meta').textContent =
      `${collection} · ${count(chunks.length)} chunks · ${bytes(doc.size)}${citedLocation(chunks, cited)}`;
    replaceChildren(body, renderDocument(chunks, cited));
    const mark = body.querySelector('mark.highlight');
    if (mark) mark.scrollIntoView({ block: 'center' });
    else body.scrollTop = 0;
    followHighlight = Boolean(mark);
  } catch (error) {
    if (sequence !== openSequence) return;
    replaceChildren(body, el('p', { class: 'inline-error', role: 'alert' }, errorMessage(error)));
  }
}

/** Where the highlighted chunks are, from the first one's start to the last one's end. */
function citedLocation(chunks, cited) {
  const marked = chunks.filter((chunk) => cited.has(chunk.chunk_id));
  if (!marked.length) return '';
  const first = marked[0].location ?? {};
  const last = marked.at(-1).location ?? {};
  const span = { line_start: first.line_start, line_end: last.line_end, page: first.page, byte_start: first.byte_start, byte_end: last.byte_end };
  return ` · passage at ${location(span)}`;
}

/**
 * The length of the longest suffix of `previous` (at least MIN_OVERLAP characters) that
 * `next` starts with; 0 when there is none.
 */
export function overlapLength(previous, next) {
  const probe = next.slice(0, MIN_OVERLAP);
  if (probe.length < MIN_OVERLAP) return 0;
  // The earliest occurrence whose rest of `previous` starts `next` is the longest suffix.
  const from = Math.max(0, previous.length - next.length);
  for (let at = previous.indexOf(probe, from); at >= 0; at = previous.indexOf(probe, at + 1)) {
    if (next.startsWith(previous.slice(at))) return previous.length - at;
  }
  return 0;
}

/**
 * Each chunk's text with the overlap between consecutive chunks given once: dropped from the
 * start of the next chunk, except when only the next one is cited — the cited chunk stays whole
 * and the overlap is dropped from the end of the one before it instead.
 * @returns {{chunk: object, text: string, joined: boolean}[]} `joined`: the text continues the
 *   previous chunk's (they overlapped), rather than starting a new block.
 */
export function trimOverlaps(chunks, cited) {
  const starts = chunks.map(() => 0);
  const ends = chunks.map((chunk) => chunk.text.length);
  const joined = chunks.map(() => false);
  for (let i = 1; i < chunks.length; i += 1) {
    if (chunks[i].ordinal !== chunks[i - 1].ordinal + 1) continue;
    const overlap = overlapLength(chunks[i - 1].text, chunks[i].text);
    if (!overlap) continue;
    joined[i] = true;
    if (cited.has(chunks[i].chunk_id) && !cited.has(chunks[i - 1].chunk_id)) {
      ends[i - 1] = Math.max(starts[i - 1], ends[i - 1] - overlap);
    } else {
      starts[i] = Math.min(overlap, ends[i]);
    }
  }
  return chunks.map((chunk, i) => ({ chunk, text: chunk.text.slice(starts[i], ends[i]), joined: joined[i] }));
}

/** The document as a fragment: headings where the heading path changes, blocks of chunk text. */
function renderDocument(chunks, cited) {
  const fragment = document.createDocumentFragment();
  if (!chunks.length) {
    fragment.append(el('p', { class: 'meta' }, 'This document has no chunks.'));
    return fragment;
  }
  let path = [];
  let block = null;
  for (const { chunk, text: trimmed, joined } of trimOverlaps(chunks, cited)) {
    let text = trimmed;
    const headings = Array.isArray(chunk.heading_path) ? chunk.heading_path.map(String) : [];
    const changedAt = firstDifference(path, headings);
    if (changedAt < headings.length || headings.length !== path.length) {
      for (let depth = changedAt; depth < headings.length; depth += 1) {
        fragment.append(el(`h${Math.min(3 + depth, 6)}`, { class: 'doc-heading' }, headings[depth]));
      }
      path = headings;
      block = null;
      // The chunk text repeats its section's heading line; it is shown as a heading already.
      const last = headings.at(-1);
      if (last && !joined && text.startsWith(last)) text = text.slice(last.length).replace(/^\s+/, '');
    }
    if (!block || !joined) {
      block = el('div', { class: 'doc-block' });
      fragment.append(block);
    }
    const isCited = cited.has(chunk.chunk_id);
    block.append(el('span', { class: isCited ? 'doc-chunk cited' : 'doc-chunk', 'data-chunk': chunk.chunk_id },
      isCited ? el('mark', { class: 'highlight' }, text) : text));
  }
  return fragment;
}

function firstDifference(a, b) {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i += 1;
  return i;
}
