// Small helpers that build the page from elements and text nodes only.
// Values from the API always go in as text (textContent, text nodes,
// element.value): nothing here parses HTML.
import * as i18n from './i18n.js';

const {t} = i18n;

import {clearFieldErrors, showFieldErrors} from './forms.js';

const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'multiple',
  'readOnly', 'required', 'indeterminate', 'open']);

// h('div', {class: 'x', on: {click: fn}}, 'text', child, [more children])
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'on') {
        for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      } else if (k === 'class') {
        el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      } else if (k === 'dataset') {
        for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv);
      } else if (k === 'text') {
        el.textContent = String(v);
      } else if (PROPS.has(k)) {
        el[k] = v;
      } else if (k === 'style' || k.startsWith('on') || k === 'srcdoc') {
        throw new Error('dom.h: attribute ' + k + ' is not allowed');
      } else {
        el.setAttribute(k, v === true ? '' : String(v));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

export function text(v) {
  return document.createTextNode(v === null || v === undefined ? '' : String(v));
}

// ---- formatting -------------------------------------------------------

// The page's one time format (i18n.js), with a dash for no time.
export function fmtTime(iso) {
  return iso ? i18n.fmtTime(iso) : '—';
}

// Short form for tables: the time alone today, else the date too.
export function fmtTimeShort(iso) {
  return iso ? i18n.fmtTimeShort(iso) : '—';
}

export function fmtNum(n) {
  if (n === null || n === undefined || n === '') return '—';
  const x = Number(n);
  if (!Number.isFinite(x)) return String(n);
  return i18n.fmtNumber(x, {maximumFractionDigits: 1});
}

// A latency: milliseconds below 10 s, seconds below a minute, then
// minutes (i18n.fmtDuration).
export function fmtMs(n) {
  if (n === null || n === undefined) return '—';
  const x = Number(n);
  if (x < 10000) return t('{n} ms', {n: fmtNum(Math.round(x * 10) / 10)});
  if (x < 60000) return t('{n} s', {n: i18n.fmtNumber(x / 1000, {minimumFractionDigits: 1, maximumFractionDigits: 1})});
  return i18n.fmtDuration(x);
}

// A datetime-local input's value (local time) as RFC 3339 UTC, or null.
export function localToIso(v) {
  if (!v) return null;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return null;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function isoToLocal(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// ---- widgets ------------------------------------------------------------

const BADGE = {
  active: 'ok', enabled: 'ok', disabled: 'warn', exhausted: 'info', banned: 'bad',
  admin: 'bad', operator: 'warn', viewer: 'info',
};

// The words of the known states are translated; any other value (a name,
// a code) is shown as it is.
export function badge(value, kind) {
  const k = kind || BADGE[value] || 'neutral';
  const known = BADGE[value] !== undefined || value === 'yes' || value === 'no';
  return h('span', {class: ['badge', 'badge-' + k], dataset: {value: String(value)}}, known ? t(value) : value);
}

export function statusBadge(status) {
  const s = Number(status);
  let k = 'neutral';
  if (s >= 200 && s < 300) k = 'ok';
  else if (s >= 300 && s < 400) k = 'info';
  else if (s >= 400 && s < 500) k = 'warn';
  else if (s >= 500) k = 'bad';
  return h('span', {class: ['badge', 'badge-' + k, 'mono']}, status === null ? '—' : String(status));
}

export function boolBadge(v, yes = 'yes', no = 'no') {
  return badge(v ? yes : no, v ? 'ok' : 'neutral');
}

// A table in a horizontally scrolling wrapper.
// columns: [{title, cell: (row) => node|string, class}]
export function table(columns, rows, opts = {}) {
  const thead = h('thead', null, h('tr', null, columns.map((c) =>
    h('th', {class: (c.class || '').split(' ').filter((x) => ['num', 'check', 'actions-cell'].includes(x)).join(' ') || null,
      scope: 'col'}, c.title))));
  const tbody = h('tbody');
  if (!rows.length) {
    tbody.appendChild(h('tr', {class: 'empty'},
      h('td', {colspan: String(columns.length)}, opts.empty || t('Nothing here yet.'))));
  }
  for (const row of rows) {
    const tr = h('tr', opts.rowAttrs ? opts.rowAttrs(row) : null,
      columns.map((c) => h('td', {class: c.class, 'data-label': typeof c.title === 'string' ? c.title : null},
        c.cell(row))));
    tbody.appendChild(tr);
  }
  return h('div', {class: 'table-wrap'},
    h('table', {class: ['table', opts.class]}, thead, tbody));
}

// A labelled form field.  Its error line is filled by setFieldError().
export function field(label, input, help) {
  const id = input.id || ('f-' + (input.name || Math.random().toString(36).slice(2)));
  input.id = id;
  const err = h('div', {class: 'field-error', id: id + '-error', 'aria-live': 'polite', hidden: true});
  input.setAttribute('aria-describedby', id + '-error');
  const wrap = h('div', {class: 'field', dataset: {field: input.name || ''}},
    h('label', {for: id}, label), input,
    help ? h('div', {class: 'help'}, help) : null, err);
  return wrap;
}

export function checkField(label, input, help) {
  const id = input.id || ('f-' + (input.name || Math.random().toString(36).slice(2)));
  input.id = id;
  return h('div', {class: 'field field-check', dataset: {field: input.name || ''}},
    h('label', {for: id}, input, ' ', label),
    help ? h('div', {class: 'help'}, help) : null,
    h('div', {class: 'field-error', id: id + '-error', hidden: true}));
}

export function input(name, attrs = {}) {
  return h('input', {name, type: 'text', autocomplete: 'off', ...attrs});
}

export function select(name, options, value, attrs = {}) {
  const s = h('select', {name, ...attrs},
    options.map(([v, label]) => h('option', {value: String(v)}, label)));
  if (value !== undefined && value !== null) s.value = String(value);
  return s;
}

// Clears every field error of a form, and its form-level error.
export function clearErrors(form) {
  clearFieldErrors(form);
}

// Shows an API error at the fields it names (forms.js showFieldErrors:
// every fault at once, in words for people).
export function showFormError(form, err, fieldFor) {
  return showFieldErrors(form, err, fieldFor);
}

export function formError() {
  return h('div', {class: 'field field-form', dataset: {field: '_form'}},
    h('div', {class: 'field-error', role: 'alert', hidden: true}));
}

// A modal dialog.  Returns {dialog, body, close}.
export function modal(title, content, opts = {}) {
  const body = h('div', {class: 'dialog-body'}, content);
  const closeBtn = h('button', {type: 'button', class: 'btn btn-ghost dialog-close', 'aria-label': t('Close')}, '×');
  const dialog = h('dialog', {class: ['dialog', opts.wide ? 'dialog-wide' : null]},
    h('div', {class: 'dialog-head'}, h('h2', null, title), closeBtn), body);
  const close = () => { dialog.close(); };
  closeBtn.addEventListener('click', close);
  // A dialog belongs to the page it was opened on: going elsewhere (a
  // link, the Back button) closes it.
  window.addEventListener('hashchange', close);
  window.addEventListener('popstate', close);
  dialog.addEventListener('close', () => {
    window.removeEventListener('hashchange', close);
    window.removeEventListener('popstate', close);
    dialog.remove();
    if (opts.onClose) opts.onClose();
  });
  dialog.addEventListener('click', (ev) => { if (ev.target === dialog) close(); });
  document.body.appendChild(dialog);
  dialog.showModal();
  return {dialog, body, close};
}

export function confirmDialog(title, message, okLabel = t('Confirm'), danger = true) {
  return new Promise((resolve) => {
    let answered = false;
    const ok = h('button', {type: 'button', class: ['btn', danger ? 'btn-danger' : 'btn-primary']}, okLabel);
    const cancel = h('button', {type: 'button', class: 'btn'}, t('Cancel'));
    const m = modal(title, [h('p', null, message), h('div', {class: 'actions'}, cancel, ok)], {
      onClose: () => { if (!answered) resolve(false); },
    });
    ok.addEventListener('click', () => { answered = true; resolve(true); m.close(); });
    cancel.addEventListener('click', () => { answered = true; resolve(false); m.close(); });
    ok.focus();
  });
}

// A short-lived note at the bottom of the screen.
export function toast(message, kind = 'ok') {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', {id: 'toasts', class: 'toasts', 'aria-live': 'polite'});
    document.body.appendChild(box);
  }
  const t = h('div', {class: ['toast', 'toast-' + kind]}, message);
  box.appendChild(t);
  setTimeout(() => t.remove(), 4000);
}

export function pageHead(title, ...actions) {
  return h('div', {class: 'page-head'}, h('h1', null, title),
    h('div', {class: 'page-actions'}, actions));
}

export function kv(pairs) {
  return h('dl', {class: 'kv'}, pairs.map(([k, v]) => [h('dt', null, k),
    h('dd', null, v === null || v === undefined || v === '' ? '—' : v)]));
}
