// Reading the OpenAPI document's JSON Schemas for the API reference page
// (pages/api_docs.js): a field's type, limits and notes as short text.
// Types, field names and values are the API's own words and stay as they
// are; the words around them go through t().
import {t, fmtNumber} from './i18n.js';

// "string", "integer | null", "array of integer", "string (date-time)".
export function typeText(s) {
  if (!s) return '';
  const types = Array.isArray(s.type) ? s.type : [s.type || 'any'];
  return types.map((ty) => {
    if (ty === 'array' && s.items && s.items.type) return t('array of {type}', {type: s.items.type});
    if (ty === 'string' && s.format) return `string (${s.format})`;
    return ty;
  }).join(' | ');
}

// The accepted range or values: "length 1–64", "0 to 10", "one of: a, b".
export function limitsText(s) {
  const out = [];
  if (s.minLength !== undefined || s.maxLength !== undefined) {
    out.push(t('length {min} to {max}', {min: fmtNumber(s.minLength ?? 0), max: fmtNumber(s.maxLength ?? '∞')}));
  }
  if (s.minimum !== undefined && s.maximum !== undefined) {
    out.push(t('{min} to {max}', {min: fmtNumber(s.minimum), max: fmtNumber(s.maximum)}));
  } else if (s.minimum !== undefined) {
    out.push(t('at least {min}', {min: fmtNumber(s.minimum)}));
  }
  if (s.minItems !== undefined || s.maxItems !== undefined) {
    out.push(t('{min} to {max} items', {min: fmtNumber(s.minItems ?? 0), max: fmtNumber(s.maxItems ?? '∞')}));
  }
  if (Array.isArray(s.enum)) {
    out.push(t('one of: {list}', {list: s.enum.map((v) => (v === null ? 'null' : String(v))).join(', ')}));
  }
  return out.join('; ');
}

// Read-only, write-only, set once; and the default.
export function notesText(s) {
  const out = [];
  if (s.readOnly) out.push(t('read-only'));
  if (s.writeOnly) out.push(t('write-only (never shown)'));
  if (s.description) out.push(t(s.description));
  if (s.default !== undefined) out.push(t('default {value}', {value: JSON.stringify(s.default)}));
  return out.join('; ');
}

// The rows of an object schema: [{name, schema, required}].
export function fieldRows(s) {
  if (!s || !s.properties) return [];
  const req = new Set(s.required || []);
  return Object.entries(s.properties).map(([name, schema]) => ({name, schema, required: req.has(name)}));
}

// Follows a local $ref (#/components/...) once.
export function deref(doc, o) {
  if (!o || typeof o.$ref !== 'string' || !o.$ref.startsWith('#/')) return o;
  let at = doc;
  for (const part of o.$ref.slice(2).split('/')) at = at ? at[part] : undefined;
  return at || o;
}
