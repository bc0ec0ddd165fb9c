// The upstream form's "Preview shaping" panel: a sample request goes to
// POST /upstreams/{id}/shape/test with the form's shaping fields as they
// are (saved or not), and the panel shows what the first attempt would
// send upstream (the key as <key>) or how the gateway would refuse it.
import * as api from './api.js';
import {field, h, replace} from './dom.js';
import {t} from './i18n.js';

// "Name: value" lines as [[name, value]], in order (a name may repeat).
function headerPairs(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const i = line.indexOf(':');
    if (i <= 0) throw new Error(t('headers: "{line}" is not "Name: value"', {line}));
    out.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
  }
  return out;
}

function part(title, content, id) {
  return h('div', {class: 'script-result-part'}, h('h4', null, title), h('pre', {class: 'mono small', id}, content));
}

// Renders the preview's answer.
function renderPreview(out) {
  if (out.refused) {
    const r = out.refused;
    return [part(t('Refused before any attempt'), `${r.status} ${r.error.code}: ${r.error.message}`, 'shape-preview-refused')];
  }
  const head = [`${out.method} ${out.url}`, ...out.headers.map(([n, v]) => `${n}: ${v}`)].join('\n');
  const parts = [part(t('Outgoing request'), head, 'shape-preview-request'),
    part(out.body_rewritten ? t('Body (rewritten)') : t('Body'), out.body === '' ? t('(none)') : out.body, 'shape-preview-body')];
  const model = out.model_requested === out.model_sent ? (out.model_sent || t('none'))
    : `${out.model_requested} → ${out.model_sent}`;
  parts.push(h('p', {class: 'muted small', id: 'shape-preview-model'}, t('Model: {model}', {model})));
  parts.push(part(t('Applied'), out.applied.length ? out.applied.join('\n') : t('nothing: the request goes as it came'), 'shape-preview-applied'));
  for (const n of out.notes) parts.push(h('p', {class: 'muted small'}, n));
  return parts;
}

// upstreamId: the saved upstream; readDraft() gives the shaping fields of
// the form ({header_rules, strip_forwarding_headers, model_allow,
// model_map, body_set}).
export function shapePreviewPanel(upstreamId, readDraft) {
  const el = {
    method: h('input', {name: 'preview_method', class: 'mono', value: 'POST', size: '7', 'aria-label': t('Method')}),
    path: h('input', {name: 'preview_path', class: 'mono', value: '/v1/chat/completions', 'aria-label': t('Path')}),
    headers: h('textarea', {name: 'preview_headers', rows: '2', class: 'mono', spellcheck: 'false', placeholder: 'Content-Type: application/json'}),
    body: h('textarea', {name: 'preview_body', rows: '4', class: 'mono', spellcheck: 'false'}),
    token: h('input', {name: 'preview_token', class: 'mono', placeholder: 'preview', 'aria-label': t('Client token name')}),
  };
  el.headers.value = 'Content-Type: application/json';
  el.body.value = '{"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]}';
  const result = h('div', {class: 'script-result', id: 'shape-preview-result', 'aria-live': 'polite'});
  const run = h('button', {type: 'button', class: 'btn', id: 'shape-preview-run'}, t('Preview'));

  run.addEventListener('click', async () => {
    let body;
    try {
      body = {method: el.method.value.trim(), path: el.path.value.trim(), headers: headerPairs(el.headers.value),
        body: el.body.value === '' ? null : el.body.value, upstream: readDraft()};
      if (el.token.value.trim() !== '') body.token = el.token.value.trim();
    } catch (e) {
      replace(result, h('p', {class: 'field-error'}, e.message));
      return;
    }
    run.disabled = true;
    try {
      replace(result, renderPreview(await api.post(`/upstreams/${upstreamId}/shape/test`, body)));
    } catch (e) {
      replace(result, h('p', {class: 'field-error', id: 'shape-preview-error'}, e.message));
    } finally {
      run.disabled = false;
    }
  });

  return h('details', {class: 'script-test shape-preview', id: 'shape-preview'},
    h('summary', null, t('Preview shaping (the fields above, saved or not; no network)')),
    h('p', {class: 'muted small'}, t('Shows what the first attempt would send: header rules, forwarding headers, model map and body overrides applied, the key as <key>. The onRequest script is not run.')),
    h('div', {class: 'form form-grid'},
      field(t('Method'), el.method), field(t('Path (and query)'), el.path),
      field(t('Request headers (Name: value per line)'), el.headers), field(t('Request body'), el.body),
      field(t('Client token name ({token})'), el.token)),
    h('div', {class: 'actions'}, run), result);
}
