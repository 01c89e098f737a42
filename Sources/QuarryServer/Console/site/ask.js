// Ask: a question answered with streamed text (SSE) whose [n] markers link to the numbered
// passages, which are shown as soon as retrieval is done; abstentions and guardrail flags are
// shown as such.

import { byId, el, replaceChildren } from '/console/dom.js';
import { ApiError, errorMessage, request } from '/console/api.js';
import { readEvents } from '/console/sse.js';
import { toast } from '/console/ui.js';
import { state } from '/console/state.js';
import { openDocument } from '/console/docview.js';
import { count, headingPath, location, ms, reflow, score, usd } from '/console/format.js';

// [1], [1, 2], [Source 3]: the citation forms the server's citation check accepts ([1][2] is two).
const MARKER = /\[(?:source\s+)?(\d+(?:\s*,\s*\d+)*)\]/gi;

const ABSTENTION_REASONS = {
  no_relevant_passage: 'No passage in the collection is relevant enough to answer this question.',
  unsupported_answer: 'The passages found do not support an answer.',
  guardrail: 'A guardrail withheld the answer.',
};

/** The run being shown: later events of an older, aborted run must not touch the page. */
let run = null;

export function init() {
  byId('ask-form').addEventListener('submit', (event) => {
    event.preventDefault();
    ask();
  });
  byId('ask-question').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      byId('ask-form').requestSubmit();
    } else if (event.key === 'Escape' && run && !byId('ask-stop').hidden) {
      event.preventDefault();
      stop();
    }
  });
  byId('ask-stop').addEventListener('click', () => {
    stop();
    byId('ask-question').focus();
  });
  byId('ask-answerer').addEventListener('change', syncModelSelect);
  byId('ask-answer').addEventListener('click', followCitation);
  byId('ask-passages').addEventListener('click', (event) => {
    const button = event.target.closest('button.open-source');
    if (!button || !run) return;
    const citation = run.passages.get(Number(button.dataset.citation));
    if (!citation) return;
    const chunkIds = Array.isArray(citation.chunk_ids) && citation.chunk_ids.length ? citation.chunk_ids : [citation.chunk_id];
    openDocument({ collection: run.collection, id: citation.document, highlight: chunkIds });
  });
}

/** Fills the answerer and model selects from GET /info. */
export function configure() {
  const answerers = state.info?.answerers?.length ? state.info.answerers : ['none', 'extractive'];
  const select = byId('ask-answerer');
  const previous = select.value;
  replaceChildren(select, answerers.map((name) => el('option', { value: name }, name)));
  select.value = answerers.includes(previous) ? previous : answerers.includes('extractive') ? 'extractive' : answerers[0];
  const models = state.info?.models ?? [];
  replaceChildren(byId('ask-model'), el('option', { value: '' }, 'server default'),
    models.map((name) => el('option', { value: name }, name)));
  syncModelSelect();
}

function syncModelSelect() {
  const models = state.info?.models ?? [];
  byId('ask-model').disabled = !(byId('ask-answerer').value === 'llm' && models.length > 0);
}

/** Stops the answer being streamed: the request is aborted (the server stops its model call) and
 * what arrived stays on the page, marked as cut short. */
function stop() {
  if (!run || byId('ask-stop').hidden) return;
  run.stopped = true;
  run.controller.abort();
}

function setStatus(stateName, text) {
  const status = byId('ask-status');
  status.dataset.state = stateName;
  status.textContent = text;
}

async function ask() {
  const question = byId('ask-question').value.trim();
  const collection = byId('ask-collection').value;
  if (!question) {
    setStatus('error', 'Type a question first.');
    byId('ask-question').focus();
    return;
  }
  if (!collection) {
    setStatus('error', 'There is no collection to ask: ingest a folder first.');
    return;
  }
  run?.controller.abort();
  const answerer = byId('ask-answerer').value;
  const topK = Math.min(100, Math.max(1, Math.round(Number(byId('ask-topk').value) || 5)));
  byId('ask-topk').value = String(topK);
  const body = { query: question, collection, mode: byId('ask-mode').value, top_k: topK, answer: answerer, stream: true };
  if (answerer === 'llm' && byId('ask-model').value) body.model = byId('ask-model').value;

  const current = { controller: new AbortController(), collection, answerer, text: '', passages: new Map() };
  run = current;
  clearResults();
  setStatus('streaming', 'Searching…');
  byId('ask-answer').setAttribute('aria-busy', 'true');
  byId('ask-stop').hidden = false;
  try {
    const response = await request('/query', { method: 'POST', body, signal: current.controller.signal, accept: 'text/event-stream' });
    let finished = false;
    for await (const event of readEvents(response.body)) {
      if (run !== current) return;
      finished = handleEvent(current, event) || finished;
    }
    if (!finished) throw new Error('The answer stream ended before the server said it was done.');
  } catch (error) {
    if (run !== current) return;
    if (error.name === 'AbortError') {
      if (current.stopped) {
        if (current.text) byId('ask-answer').append(el('p', { class: 'meta stopped-note' }, 'Stopped before the answer was finished.'));
        setStatus('stopped', 'Stopped: what had arrived is shown. Ask again for a whole answer.');
      }
      return;
    }
    setStatus('error', errorMessage(error));
    toast(errorMessage(error), 'error');
  } finally {
    if (run === current) {
      byId('ask-answer').setAttribute('aria-busy', 'false');
      byId('ask-stop').hidden = true;
    }
  }
}

function clearResults() {
  replaceChildren(byId('ask-answer'));
  replaceChildren(byId('ask-passages'));
  replaceChildren(byId('ask-flags'));
  byId('ask-flags').hidden = true;
  byId('ask-meta').textContent = '';
}

/** Applies one SSE event; true when it ends the stream (done). An `error` event throws. */
function handleEvent(current, { event, data }) {
  let payload;
  try {
    payload = JSON.parse(data);
  } catch {
    throw new Error(`The server sent an unreadable "${event}" event.`);
  }
  switch (event) {
    case 'retrieval':
      renderPassages(current, Array.isArray(payload?.citations) ? payload.citations : []);
      setStatus('streaming', current.answerer === 'none' ? 'Searching…' : 'Streaming…');
      return false;
    case 'delta':
      current.text += typeof payload?.text === 'string' ? payload.text : '';
      renderAnswer(current);
      return false;
    case 'citation':
      if (payload && typeof payload === 'object') {
        // A source retrieval did not list (not expected, but harmless): its markers become links now.
        if (!current.passages.has(payload.id)) {
          current.passages.set(payload.id, payload);
          renderAnswer(current);
        }
        byId(`passage-${payload.id}`)?.classList.add('cited');
      }
      return false;
    case 'done':
      renderDone(current, payload ?? {});
      setStatus('done', 'Done');
      return true;
    case 'error':
      throw new ApiError(0, payload?.error?.code ?? 'stream_error', payload?.error?.message ?? 'The answer broke off.', payload?.request_id);
    default:
      return false; // events added later are not this console's business
  }
}

function renderPassages(current, citations) {
  current.passages = new Map(citations.map((c) => [c.id, c]));
  const items = citations.map((c) => el('li', { class: 'passage', id: `passage-${c.id}`, 'data-citation': c.id, tabindex: '-1' },
    el('div', { class: 'passage-head' },
      el('span', { class: 'passage-number' }, `[${c.id}]`),
      el('span', { class: 'passage-doc' }, String(c.document ?? '')),
      el('span', { class: 'passage-score', title: 'retrieval score' }, `score ${score(c.score)}`)),
    el('div', { class: 'passage-location' }, location(c.location)),
    c.heading_path?.length ? el('div', { class: 'passage-heading' }, headingPath(c.heading_path)) : null,
    el('p', { class: 'passage-text' }, reflow(c.text)),
    el('button', { type: 'button', class: 'open-source', 'data-citation': c.id, 'aria-label': `Open source ${c.id}: ${c.document ?? ''}` }, 'Open source')));
  replaceChildren(byId('ask-passages'), items);
  if (!citations.length) byId('ask-passages').append(el('li', { class: 'empty' }, 'No passages found.'));
}

/**
 * Renders the answer from the whole text received so far. Re-rendering from the accumulated
 * string (rather than appending each delta) turns a marker split across deltas ("[" then "2]")
 * into a link as soon as it is complete.
 */
function renderAnswer(current) {
  if (current.answerer === 'none') return;
  replaceChildren(byId('ask-answer'), el('p', { class: 'answer-text' }, answerNodes(current.text, current.passages)));
}

/** The answer text as text nodes, with each citation marker a link to its passage. */
export function answerNodes(text, passages) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(MARKER)) {
    if (match.index > last) nodes.push(text.slice(last, match.index));
    const numbers = match[1].split(',').map((n) => Number(n.trim()));
    if (numbers.length === 1 && passages.has(numbers[0])) {
      nodes.push(citeLink(numbers[0], match[0]));
    } else {
      // [1, 2] links each number; a number that names no passage stays plain, marked invalid.
      nodes.push('[');
      numbers.forEach((n, i) => {
        if (i) nodes.push(', ');
        nodes.push(passages.has(n) ? citeLink(n, String(n)) : el('span', { class: 'cite-invalid', title: 'no such source' }, String(n)));
      });
      nodes.push(']');
    }
    last = match.index + match[0].length;
  }
  nodes.push(text.slice(last));
  return nodes;
}

function citeLink(n, label) {
  return el('a', { class: 'cite', href: `#passage-${n}`, 'data-citation': n, 'aria-label': `source ${n}` }, label);
}

/** A citation link scrolls to its passage and focuses it, without touching the router's hash. */
function followCitation(event) {
  const link = event.target.closest('a.cite');
  if (!link) return;
  event.preventDefault();
  const passage = byId(`passage-${link.dataset.citation}`);
  if (!passage) return;
  const still = matchMedia('(prefers-reduced-motion: reduce)').matches;
  passage.scrollIntoView({ block: 'nearest', behavior: still ? 'auto' : 'smooth' });
  passage.focus({ preventScroll: true });
  passage.classList.remove('flash');
  void passage.offsetWidth; // restart the highlight animation
  passage.classList.add('flash');
}

function renderDone(current, done) {
  const answer = byId('ask-answer');
  if (done.abstained) {
    // Under a guardrail the sentences sent before the refusal are withdrawn, so they are not
    // shown; otherwise the answer text is the server's own no-answer sentence.
    const reason = done.abstention_reason;
    const serverText = reason !== 'guardrail' ? current.text.trim() : '';
    const details = [reason ? `reason: ${reason}` : '',
      typeof done.evidence?.confidence === 'number' ? `confidence ${score(done.evidence.confidence, 3)}` : ''].filter(Boolean);
    replaceChildren(answer, el('div', { class: 'abstention', role: 'note' },
      el('strong', {}, 'No answer'),
      serverText
        ? el('p', { class: 'answer-text' }, answerNodes(serverText, current.passages))
        : el('p', {}, ABSTENTION_REASONS[reason] ?? 'The server abstained.'),
      details.length ? el('p', { class: 'meta' }, details.join(' · ')) : null));
  } else if (current.answerer !== 'none') {
    renderAnswer(current);
    if (!current.text.trim()) answer.append(el('p', { class: 'meta' }, 'The answerer wrote nothing.'));
    if (done.grounded === false) {
      answer.append(el('p', { class: 'ungrounded', role: 'note' },
        'Not grounded: some of this answer is not backed by a cited passage.'));
    }
  }
  renderFlags(done.guardrails);
  byId('ask-meta').textContent = metaLine(current, done);
}

/** Guardrail flags, rendered whatever fields they turn out to have. */
function renderFlags(guardrails) {
  const list = byId('ask-flags');
  const flags = Array.isArray(guardrails) ? guardrails.filter((f) => f && typeof f === 'object') : [];
  replaceChildren(list, flags.map((flag) => {
    const kind = String(flag.kind ?? 'guardrail').replaceAll('_', ' ');
    const where = flag.location === 'passage' && flag.citation != null ? `passage [${flag.citation}]` : String(flag.location ?? '');
    const details = [where, flag.action ? String(flag.action) : '', typeof flag.score === 'number' ? `score ${score(flag.score, 2)}` : '',
      Array.isArray(flag.signals) && flag.signals.length ? `signals: ${flag.signals.map(String).join(', ')}` : ''].filter(Boolean);
    if (flag.citation != null) byId(`passage-${flag.citation}`)?.classList.add('flagged');
    return el('li', { class: 'guardrail-flag', 'data-kind': String(flag.kind ?? '') },
      el('span', { class: 'flag-kind' }, `⚑ ${kind}`), ' ', details.join(' · '));
  }));
  list.hidden = flags.length === 0;
}

function metaLine(current, done) {
  const parts = [];
  if (current.answerer === 'none') parts.push('passages only (answerer: none)');
  else if (done.answerer) parts.push(`answered by ${done.answerer}`);
  if (done.llm?.model) parts.push(`model ${done.llm.model}`);
  if (done.cached) parts.push('cached');
  const timings = done.timings_ms ?? {};
  if (typeof timings.search === 'number') parts.push(`search ${ms(timings.search)}`);
  if (typeof timings.total === 'number') parts.push(`total ${ms(timings.total)}`);
  const usage = done.usage;
  if (usage && typeof usage === 'object') {
    const tokens = (usage.prompt_tokens ?? 0) + (usage.completion_tokens ?? 0);
    parts.push(`${count(tokens)} tokens${usage.estimated ? ' (estimated)' : ''}`);
    if (typeof usage.cost_usd === 'number') parts.push(usd(usage.cost_usd));
  }
  if (current.passages.size) parts.push(`${count(current.passages.size)} passages`);
  return parts.join(' · ');
}
