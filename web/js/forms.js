// Reading typed values out of form inputs, for JSON bodies, and showing the
// API's errors at the inputs they are about.
import {t} from './i18n.js';

// kind: 'string' | 'nullable' | 'int' | 'int_nullable' | 'json_nullable' | 'bool' | 'select'
// Returns undefined when the member should be left out of the body.
export function readValue(el, kind, creating) {
  if (kind === 'bool') return el.checked;
  const raw = el.value;
  if (kind === 'int') {
    if (raw.trim() === '') return undefined;
    return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
  }
  if (kind === 'nullable') {
    if (raw.trim() === '') return creating ? undefined : null;
    return raw;
  }
  if (kind === 'json_nullable') {
    // JSON text; text that does not parse goes as it is, and the API names
    // the field in its answer.
    if (raw.trim() === '') return creating ? undefined : null;
    try { return JSON.parse(raw); } catch (e) { return raw; }
  }
  if (kind === 'int_nullable') {
    if (raw.trim() === '') return creating ? undefined : null;
    return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
  }
  return raw;
}

// fields: [[name, kind]]; form inputs are found by name.
export function readForm(form, fields, creating) {
  const body = {};
  for (const [name, kind] of fields) {
    const el = form.elements.namedItem(name);
    if (!el) continue;
    const v = readValue(el, kind, creating);
    if (v !== undefined) body[name] = v;
  }
  return body;
}

export function setForm(form, fields, obj) {
  for (const [name, kind] of fields) {
    const el = form.elements.namedItem(name);
    if (!el || !(name in obj)) continue;
    if (kind === 'bool') el.checked = !!obj[name];
    else if (kind === 'json_nullable') el.value = obj[name] === null || obj[name] === undefined ? '' : JSON.stringify(obj[name]);
    else el.value = obj[name] === null || obj[name] === undefined ? '' : String(obj[name]);
  }
}

// ---- errors at their fields ------------------------------------------------
//
// The API answers a bad body with 400 invalid_field: error.message names the
// first bad field ("NAME: what is wrong") and error.fields lists every one
// ([{field, message}]).  The page shows each under its own input, whose label
// already says which it is, so the API's field name is not repeated there;
// only a fault with no input of its own goes to the form's error line, named
// by the field's label when the form has one.  An error is cleared as soon
// as its input changes, and every error on the next submit.

// The server's validation wording (core/valid.c), as patterns whose parts
// are kept; in English each reads as the server wrote it, and a message
// that matches none is shown as it came.
const WORDS = [
  [/^required$/, 'required'],
  [/^unknown field$/, 'unknown field'],
  [/^length must be (\d+) to (\d+)$/, 'length must be {a} to {b}'],
  [/^must be between (-?\d+) and (-?\d+)$/, 'must be between {a} and {b}'],
  [/^must be a number from (-?\d+) to (-?\d+)$/, 'must be a number from {a} to {b}'],
  [/^must have (\d+) to (\d+) items$/, 'must have {a} to {b} items'],
  [/^must be a string$/, 'must be a string'],
  [/^must be an integer$/, 'must be an integer'],
  [/^must be true or false$/, 'must be true or false'],
  [/^must be an array of ids$/, 'must be an array of ids'],
  [/^must be an array$/, 'must be an array'],
  [/^must be an object$/, 'must be an object'],
  [/^must be a number$/, 'must be a number'],
  [/^must be an RFC 3339 time such as (\S+)$/, 'must be an RFC 3339 time such as {a}'],
  [/^must be (.+), not null$/, 'must be {a}, not null'],
  [/^must not contain NUL characters$/, 'must not contain NUL characters'],
  [/^must be valid UTF-8$/, 'must be valid UTF-8'],
  [/^must not contain control characters$/, 'must not contain control characters'],
  [/^must not contain spaces or control characters$/, 'must not contain spaces or control characters'],
  [/^use only a-z, 0-9, _ and -$/, 'use only a-z, 0-9, _ and -'],
  [/^must start with http:\/\/ or https:\/\/$/, 'must start with http:// or https://'],
  [/^must start with \/$/, 'must start with /'],
  [/^must contain \{key\}$/, 'must contain {key}'],
  [/^must not have a query or fragment$/, 'must not have a query or fragment'],
  [/^must be ([\w-]+(?:, [\w-]+)* or [\w-]+)$/, 'must be {a}'],
];

// The server's words about a field, in the page's language.
export function humanMessage(message) {
  for (const [re, text] of WORDS) {
    const m = re.exec(message);
    if (!m) continue;
    // {key} in 'must contain {key}' is the literal text, not a placeholder.
    return t(text, text.includes('{key}') ? {key: '{key}'} : {a: m[1], b: m[2]});
  }
  return message;
}

// Every fault of an error: error.fields when the API listed them, else the
// one its message names ("NAME: what is wrong"), else none (a message that
// is about the whole form).
export function faultsOf(err) {
  if (err && Array.isArray(err.fields) && err.fields.length) {
    return err.fields.filter((f) => f && typeof f.field === 'string')
      .map((f) => ({field: f.field, message: String(f.message || '')}));
  }
  const message = err && err.message ? err.message : String(err);
  const m = /^([A-Za-z_][\w.[\]-]*):\s([\s\S]*)$/.exec(message);
  return m ? [{field: m[1], message: m[2]}] : [];
}

const watched = new WeakSet();

function clearOne(box) {
  box.classList.remove('has-error');
  const e = box.querySelector('.field-error');
  if (e) { e.textContent = ''; e.hidden = true; }
  for (const i of box.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
}

// Clears every field error of a form, and its form-level error.
export function clearFieldErrors(form) {
  for (const e of form.querySelectorAll('.field-error')) {
    e.textContent = '';
    e.hidden = true;
  }
  for (const f of form.querySelectorAll('.field.has-error')) f.classList.remove('has-error');
  for (const i of form.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
}

// Once per form: an input's error goes when the input changes, all of them
// when the form is sent again.
function watch(form) {
  if (watched.has(form)) return;
  watched.add(form);
  const onEdit = (ev) => {
    const box = ev.target.closest && ev.target.closest('.field.has-error');
    if (box && box.dataset.field !== '_form') clearOne(box);
  };
  form.addEventListener('input', onEdit);
  form.addEventListener('change', onEdit);
  form.addEventListener('submit', () => clearFieldErrors(form), true);
}

function labelOf(form, name) {
  const box = form.querySelector(`.field[data-field="${CSS.escape(name)}"] label`);
  return box ? box.textContent.trim() : name;
}

function put(box, line) {
  const e = box.querySelector('.field-error');
  if (!e) return;
  e.textContent = e.hidden || !e.textContent ? line : e.textContent + '\n' + line;
  e.hidden = false;
  box.classList.add('has-error');
  const inp = box.querySelector('input, select, textarea');
  if (inp) inp.setAttribute('aria-invalid', 'true');
}

// Shows an API error: each fault at the input it names (fieldFor(name) may
// map an API field to the form's own name), the rest in the form's error
// line.  Focuses the first; returns its field element (or null).
export function showFieldErrors(form, err, fieldFor) {
  clearFieldErrors(form);
  watch(form);
  const whole = form.querySelector('.field[data-field="_form"]');
  const faults = faultsOf(err);
  let first = null;
  for (const f of faults) {
    const top = f.field.split(/[.[]/)[0];
    const key = (fieldFor ? fieldFor(f.field) : null) || top;
    const box = form.querySelector(`.field[data-field="${CSS.escape(key)}"]`);
    // Under its own input the label names the field: only the part of the
    // path below it is said ("[0].window").  An input that stands for
    // something else (a JSON editor, a split field) gets the whole path.
    const rest = f.field.slice(top.length).replace(/^\./, '');
    const message = humanMessage(f.message);
    const shown = key !== top ? f.field : rest;
    if (box && key !== '_form') {
      put(box, shown ? `${shown}: ${message}` : message);
      first = first || box;
    } else if (whole) {
      put(whole, `${labelOf(form, top)}${rest ? ' ' + rest : ''}: ${message}`);
      first = first || whole;
    }
  }
  if (!faults.length && whole) {
    put(whole, err && err.message ? err.message : String(err));
    first = whole;
  }
  const inp = first && first.querySelector('input, select, textarea');
  if (inp && typeof inp.focus === 'function') inp.focus({preventScroll: false});
  return first;
}
