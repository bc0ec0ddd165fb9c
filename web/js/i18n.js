// The page's language: English (the source strings) or Simplified Chinese.
//
// Strings are keyed by their English text: t('Delete all banned') returns
// the Chinese of it when the page speaks Chinese.  Placeholders are
// {name}: t('{n} keys', {n: 3}).  Every catalogue lives under i18n/ (one
// file per area, imported by i18n/catalogue.js), so no page holds a
// translation and no string is translated in two places.
//
// A string with no translation shows in English and is remembered in
// missing(): the browser tests fail on any, so a string cannot be added
// to the page without its translation.

const STORE = 'apigw.lang';
export const LOCALES = ['en', 'zh-CN'];

const tables = {en: new Map(), 'zh-CN': new Map()};
const misses = new Set();
let current = pick();

function pick() {
  let saved = null;
  try { saved = localStorage.getItem(STORE); } catch { /* storage may be off */ }
  if (LOCALES.includes(saved)) return saved;
  const wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
  for (const w of wanted) {
    const l = String(w).toLowerCase();
    if (l.startsWith('zh')) return 'zh-CN';
    if (l.startsWith('en')) return 'en';
  }
  return 'en';
}

// Adds one area's catalogue: {'English text': '中文', ...}.
export function addStrings(locale, table) {
  const into = tables[locale];
  if (!into) throw new Error('i18n: no locale ' + locale);
  for (const [k, v] of Object.entries(table)) into.set(k, v);
}

export function locale() {
  return current;
}

export function setLocale(l) {
  if (!LOCALES.includes(l)) return;
  current = l;
  try { localStorage.setItem(STORE, l); } catch { /* storage may be off */ }
  document.documentElement.lang = l;
}

function fill(text, vars) {
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

export function t(text, vars) {
  if (current === 'en') return fill(text, vars);
  const out = tables[current].get(text);
  if (out === undefined) {
    misses.add(text);
    return fill(text, vars);
  }
  return fill(out, vars);
}

// The strings asked for that have no translation in the current locale.
export function missing() {
  return [...misses];
}

export function fmtNumber(n, opts) {
  if (n === null || n === undefined || n === '') return '';
  return new Intl.NumberFormat(current, opts).format(Number(n));
}

// One time format for the whole page: the locale's date and time to the
// second, in the browser's zone.  Accepts ms, seconds-free ISO text or a Date.
export function fmtTime(v) {
  if (v === null || v === undefined || v === '') return '';
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return new Intl.DateTimeFormat(current, {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    second: '2-digit', hour12: false,
  }).format(d);
}

document.documentElement.lang = current;
window.__apigwI18nMissing = missing;
