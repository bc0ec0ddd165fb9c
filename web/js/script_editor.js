// The script editor of the upstream page: a monospace textarea with line
// numbers, the compile error shown at its line, three templates, and a test
// panel that runs both hooks through POST /api/admin/scripts/test (no
// network; the key is only ever shown as <key>).
import * as api from './api.js';
import {confirmDialog, field, h, replace} from './dom.js';
import {t} from './i18n.js';
import {SCRIPT_TEMPLATES} from './script_templates.js';

// The line an error message names ("script: line 3: ..."), or 0.
export function errorLine(message) {
  const m = /\bline (\d+)\b/.exec(message || '');
  return m ? Number(m[1]) : 0;
}

// Returns {root, textarea, showError(message), clearError()}; root is a
// form field named `script` (so that showFormError finds it).
export function scriptEditor({readOnly}) {
  const textarea = h('textarea', {
    name: 'script', id: 'upstream-script', class: 'mono code script-text', rows: '14',
    spellcheck: 'false', wrap: 'off', readOnly, autocomplete: 'off',
    placeholder: 'function onRequest(req, ctx) { ... }\nfunction onResponse(res, req, ctx) { ... }',
  });
  const gutter = h('div', {class: 'code-gutter mono', 'aria-hidden': 'true'});
  const marker = h('div', {class: 'script-error-at', id: 'script-error-at', hidden: true});
  let errLine = 0;

  function renumber() {
    const n = textarea.value.split('\n').length;
    const rows = [];
    for (let i = 1; i <= n; i++) {
      rows.push(h('div', {class: ['code-line-no', i === errLine ? 'line-error' : null]}, String(i)));
    }
    replace(gutter, rows);
    gutter.scrollTop = textarea.scrollTop;
  }

  function showError(message) {
    errLine = errorLine(message);
    editor.dataset.errorLine = String(errLine);
    marker.textContent = errLine ? t('Line {n}: {msg}', {n: errLine, msg: message.replace(/^script:\s*line \d+:\s*/, '')}) : message;
    marker.hidden = false;
    renumber();
    if (errLine) selectLine(errLine);
  }

  function clearError() {
    errLine = 0;
    delete editor.dataset.errorLine;
    marker.hidden = true;
    const fe = root.querySelector('.field-error');
    fe.hidden = true;
    fe.textContent = '';
    root.classList.remove('has-error');
    textarea.removeAttribute('aria-invalid');
    renumber();
  }

  function selectLine(line) {
    const lines = textarea.value.split('\n');
    let start = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
    const end = start + (lines[line - 1] || '').length;
    textarea.setSelectionRange(start, end);
    const lh = textarea.scrollHeight / Math.max(lines.length, 1);
    textarea.scrollTop = Math.max(0, (line - 3) * lh);
  }

  // field() wraps the textarea; the editor (gutter + textarea) then takes the textarea in.
  const root = field(t('Script'), textarea, t('JavaScript hooks onRequest / onResponse (ES5.1), see docs/SCRIPTS.md. Empty = none. Checked when saved.'));
  const editor = h('div', {class: 'code-editor', id: 'script-editor'}, gutter, textarea);
  textarea.addEventListener('input', () => { if (errLine) clearError(); else renumber(); });
  textarea.addEventListener('scroll', () => { gutter.scrollTop = textarea.scrollTop; });
  textarea.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Tab' || readOnly) return;
    ev.preventDefault();
    textarea.setRangeText('    ', textarea.selectionStart, textarea.selectionEnd, 'end');
    renumber();
  });

  const templates = readOnly ? null : h('div', {class: 'script-templates'},
    h('span', {class: 'muted small'}, t('Templates:')),
    SCRIPT_TEMPLATES.map((tpl) => h('button', {
      type: 'button', class: 'btn btn-small', dataset: {template: tpl.id}, title: tpl.about(),
      on: {click: async () => {
        if (textarea.value.trim() !== '' &&
            !(await confirmDialog(t('Replace the script'), t('Replace the script with this template?'), t('Replace'), false))) return;
        textarea.value = tpl.source;
        clearError();
      }},
    }, tpl.label())));

  root.classList.add('field-wide');
  root.insertBefore(editor, root.querySelector('.help'));
  if (templates) root.insertBefore(templates, editor);
  root.insertBefore(marker, root.querySelector('.field-error'));
  setTimeout(renumber, 0);
  return {root, textarea, showError, clearError, renumber};
}

function pre(title, value, id) {
  return h('div', {class: 'script-result-part'}, h('h4', null, title),
    h('pre', {class: 'mono small', id}, typeof value === 'string' ? value : JSON.stringify(value, null, 2)));
}

// Renders the dry run's answer.
function renderResult(out) {
  const parts = [];
  if (out.errors.length) {
    parts.push(h('div', {class: 'script-result-part script-errors', id: 'script-test-errors'}, h('h4', null, t('Errors')),
      h('ul', null, out.errors.map((e) => h('li', null,
        `${e.hook}: ${e.kind}${e.line ? ' ' + t('at line {n}', {n: e.line}) : ''}: ${e.message}`)))));
  }
  if (out.answer) parts.push(pre(t('onRequest answered the client itself'), out.answer, 'script-test-answer'));
  if (out.request) {
    const {body, ...head} = out.request;
    parts.push(pre(out.changed && out.changed.length ? t('Outgoing request (changed: {what})', {what: out.changed.join(', ')}) : t('Outgoing request (unchanged)'),
      head, 'script-test-request'));
    parts.push(pre(t('Outgoing body'), body === null ? t('(none)') : body, 'script-test-body'));
  }
  if (out.dropped_headers && out.dropped_headers.length) {
    parts.push(h('p', {class: 'muted small'}, t('Headers a script cannot set, dropped: {names}', {names: out.dropped_headers.join(', ')})));
  }
  if (out.hooks.on_response) {
    parts.push(pre(t('onResponse returned'), out.response_result === null ? t('undefined (no opinion)') : out.response_result, 'script-test-response'));
  }
  if (out.logs.length) parts.push(pre('ctx.log', out.logs.map((l) => `[${l.hook}] ${l.message}`).join('\n'), 'script-test-logs'));
  const ms = Object.entries(out.ms).map(([k, v]) => `${k.replace('_', ' ')}: ${v.toFixed(3)} ms`).join(', ');
  parts.push(h('p', {class: 'muted small', id: 'script-test-ms'}, ms || t('No hook ran.')));
  return parts;
}

function headerLines(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (line.trim() === '') continue;
    if (i <= 0) throw new Error(t('headers: "{line}" is not "Name: value"', {line}));
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

// The test panel: a sample request (and answer) and the run's result.
// readAuth() gives {auth_header, auth_template, auth_query_param, upstream}
// from the form; ed is the scriptEditor.
export function scriptTestPanel(ed, readAuth) {
  const el = {
    method: h('input', {name: 'test_method', class: 'mono', value: 'POST', size: '7', 'aria-label': t('Method')}),
    path: h('input', {name: 'test_path', class: 'mono', value: '/v1/chat/completions', 'aria-label': t('Path')}),
    headers: h('textarea', {name: 'test_headers', rows: '2', class: 'mono', spellcheck: 'false', placeholder: 'Content-Type: application/json'}),
    body: h('textarea', {name: 'test_body', rows: '4', class: 'mono', spellcheck: 'false'}),
    token: h('input', {name: 'test_token', class: 'mono', placeholder: t('none'), 'aria-label': t('Client token name')}),
    status: h('input', {name: 'test_status', type: 'number', placeholder: t('none'), 'aria-label': t('Response status')}),
    rbody: h('textarea', {name: 'test_response_body', rows: '3', class: 'mono', spellcheck: 'false'}),
  };
  el.headers.value = 'Content-Type: application/json';
  el.body.value = '{"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]}';
  el.rbody.value = '{"error": {"code": "overloaded", "message": "try again"}}';
  const result = h('div', {class: 'script-result', id: 'script-test-result', 'aria-live': 'polite'});
  const run = h('button', {type: 'button', class: 'btn', id: 'script-test-run'}, t('Run test'));

  run.addEventListener('click', async () => {
    let body;
    try {
      body = {
        script: ed.textarea.value,
        request: {method: el.method.value.trim(), path: el.path.value.trim(), headers: headerLines(el.headers.value),
          body: el.body.value === '' ? null : el.body.value},
        ...readAuth(),
      };
      if (el.token.value.trim() !== '') body.token = el.token.value.trim();
      if (el.status.value.trim() !== '') {
        body.response = {status: Number(el.status.value), body: el.rbody.value === '' ? null : el.rbody.value,
          headers: {'Content-Type': 'application/json'}};
      }
    } catch (e) {
      replace(result, h('p', {class: 'field-error'}, e.message));
      return;
    }
    run.disabled = true;
    try {
      const out = await api.post('/scripts/test', body);
      replace(result, renderResult(out));
      const compile = out.errors.find((e) => e.line);
      if (compile) ed.showError(`script: line ${compile.line}: ${compile.message}`);
      else ed.clearError();
    } catch (e) {
      replace(result, h('p', {class: 'field-error'}, e.message));
    } finally {
      run.disabled = false;
    }
  });

  return h('details', {class: 'script-test', id: 'script-test'},
    h('summary', null, t('Test the script (no network)')),
    h('div', {class: 'form form-grid'},
      field(t('Method'), el.method), field(t('Path'), el.path),
      field(t('Request headers (Name: value per line)'), el.headers), field(t('Request body'), el.body),
      field(t('Client token name (ctx.token)'), el.token), field(t('Response status (empty: onResponse does not run)'), el.status),
      field(t('Response body'), el.rbody)),
    h('div', {class: 'actions'}, run), result);
}
