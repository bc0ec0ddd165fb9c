// The keys page's import dialog: paste or a file, a preview that applies
// the server's paste rules before anything is sent, and the server's
// counts.  `page`: {ctx, upstreamId (the list's filter), imported(upstreamId, jobId)}.
import * as api from './api.js';
import {clearErrors, field, formError, h, input, modal, replace, select, showFormError} from './dom.js';
import {readForm} from './forms.js';
import {fmtNumber, t} from './i18n.js';
import {onInvalidOptions} from './validate_jobs.js';

// The paste rules of POST /keys/import (admin/keys_paste.c), for the
// preview: split on line ends, commas, semicolons and whitespace; strip
// quotes around a value; refuse values outside printable ASCII, over 512
// bytes or under KEY_MIN_LENGTH (the server's default key_min_length).
// The server stays the authority: a gateway configured otherwise, or keys
// already in the pool, show up in its answer.
const KEY_MIN_LENGTH = 8;
const KEY_MAX_LENGTH = 512;
const REJECTED_SHOWN = 100;

export function parsePaste(text) {
  const seen = new Set();
  const out = {keys: 0, duplicates: 0, invalid: 0, rejected: []};
  const reject = (line, reason) => {
    if (out.rejected.length < REJECTED_SHOWN) out.rejected.push({line, reason});
  };
  text.split('\n').forEach((row, i) => {
    for (const piece of row.split(/[\r,; \t\v\f]+/)) {
      const v = piece.replace(/^["'`]+/, '').replace(/["'`]+$/, '');
      if (!v) continue;
      let reason = null;
      if (!/^[\x21-\x7e]*$/.test(v)) reason = 'bad character';
      else if (v.length > KEY_MAX_LENGTH) reason = 'too long';
      else if (v.length < KEY_MIN_LENGTH) reason = 'too short';
      if (reason) {
        out.invalid++;
        reject(i + 1, reason);
      } else if (seen.has(v)) {
        out.duplicates++;
        reject(i + 1, 'duplicate');
      } else {
        seen.add(v);
        out.keys++;
      }
    }
  });
  return out;
}

// The reasons the server and the preview give (admin/keys_paste.c), in the
// page's language.
function reasonText(r) {
  const names = {'too short': t('too short'), 'too long': t('too long'), 'bad character': t('bad character'),
    'not a string': t('not a string'), 'duplicate': t('duplicate'), 'already in pool': t('already in pool')};
  return names[r] || r;
}

// The rejected lines of a paste (the preview's or the server's, at most
// REJECTED_SHOWN) as a list with the given id, and how many more there are.
function rejectedList(id, rejected, total) {
  if (!rejected.length) return [];
  const more = total - rejected.length;
  return h('ul', {class: 'import-rejected small', id},
    rejected.map((e) => h('li', null, t('line {line}: {reason}', {line: e.line, reason: reasonText(e.reason)}))),
    more > 0 ? h('li', {class: 'muted'}, t('and {n} more', {n: fmtNumber(more)})) : []);
}

function resultCounts(r) {
  return [h('div', {class: 'counts'},
    h('div', {class: 'count count-ok', id: 'import-created'}, h('strong', null, fmtNumber(r.created)), ' ', t('created')),
    h('div', {class: 'count count-warn', id: 'import-duplicates'}, h('strong', null, fmtNumber(r.duplicates)), ' ', t('duplicate(s)')),
    h('div', {class: 'count count-bad', id: 'import-invalid'}, h('strong', null, fmtNumber(r.invalid)), ' ', t('invalid'))),
  rejectedList('import-rejected', r.rejected || [], r.duplicates + r.invalid),
  r.job_id ? h('p', {id: 'import-job'}, t('Validation job {id} queued for the new keys.', {id: r.job_id})) : null];
}

export async function openImport(page) {
  let upstreams;
  // Upstreams made since the page was drawn count too.
  try {
    upstreams = await api.listAll('/upstreams');
  } catch (e) {
    if (e.status !== 401) page.ctx.showError(e);
    return;
  }
  const up = select('upstream_id', upstreams.map((u) => [u.id, u.name]), page.upstreamId || (upstreams[0] && upstreams[0].id));
  const text = h('textarea', {name: 'text', rows: '8', spellcheck: 'false', class: 'mono',
    placeholder: t('One key per line, or separated by commas, semicolons or spaces')});
  const file = h('input', {type: 'file', name: 'file', accept: '.txt,.csv,text/plain'});
  const result = h('div', {class: 'import-result', id: 'import-result', 'aria-live': 'polite'});
  const lines = h('span', {class: 'muted small'});
  const preview = h('div', {class: 'import-preview small', id: 'import-preview', 'aria-live': 'polite'});
  const countLines = () => {
    const p = parsePaste(text.value);
    lines.textContent = t('{n} key(s)', {n: fmtNumber(p.keys)});
    replace(preview, text.value.trim() ? [
      h('div', {id: 'import-preview-counts'}, t('{keys} key(s) to import, {dups} duplicate(s) in the paste, {bad} rejected',
        {keys: fmtNumber(p.keys), dups: fmtNumber(p.duplicates), bad: fmtNumber(p.invalid)})),
      rejectedList('import-preview-rejected', p.rejected, p.duplicates + p.invalid)] : []);
  };
  file.addEventListener('change', async () => {
    const f = file.files && file.files[0];
    if (!f) return;
    const read = await f.text();
    text.value = read.endsWith('\n') || !text.value ? text.value + read : text.value + '\n' + read;
    countLines();
  });
  text.addEventListener('input', countLines);
  const form = h('form', {class: 'form', id: 'import-form', novalidate: true},
    field(t('Upstream'), up),
    field(t('Keys (paste: one per line, or separated by commas, semicolons or spaces)'), text),
    h('div', {class: 'field'}, h('label', null, t('Or read a file')), file, lines),
    preview,
    h('div', {class: 'field-row'},
      field(t('Weight'), input('weight', {type: 'number', placeholder: '1'})),
      field(t('Priority (tier)'), input('priority', {type: 'number', placeholder: '0'})),
      field(t('Daily quota'), input('daily_quota', {type: 'number', placeholder: t('0 = unlimited')})),
      field(t('Requests per minute'), input('rpm_limit', {type: 'number', placeholder: t('0 = none')}))),
    h('div', {class: 'field-row'},
      h('div', {class: 'field field-check'}, h('label', null, input('validate', {type: 'checkbox'}), ' ', t('Validate the new keys (a probe each, in the background)'))),
      field(t('When a key is invalid'), select('on_invalid', onInvalidOptions(), 'none'))),
    formError(), result);
  if (!upstreams.length) result.append(h('p', {class: 'error-text'}, t('Create an upstream first.')));
  const go = h('button', {type: 'submit', class: 'btn btn-primary', form: 'import-form'}, t('Import'));
  const close = h('button', {type: 'button', class: 'btn'}, t('Close'));
  const m = modal(t('Import keys'), [form, h('div', {class: 'actions'}, close, go)], {wide: true});
  close.addEventListener('click', m.close);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    replace(result);
    const body = readForm(form, [['upstream_id', 'int'], ['weight', 'int'], ['priority', 'int'], ['daily_quota', 'int'], ['rpm_limit', 'int']], true);
    body.text = text.value;
    if (form.elements.namedItem('validate').checked) {
      body.validate = true;
      body.on_invalid = form.elements.namedItem('on_invalid').value;
    }
    go.disabled = true;
    try {
      const r = await api.post('/keys/import', body);
      replace(result, resultCounts(r));
      text.value = '';
      file.value = '';
      countLines();
      await page.imported(String(body.upstream_id), r.job_id);
    } catch (e) {
      if (e.status === 401 || e.status === 403) { m.close(); return; }
      showFormError(form, e, (name) => (name === 'keys' ? 'text' : null));
    } finally {
      go.disabled = false;
    }
  });
  text.focus();
}
