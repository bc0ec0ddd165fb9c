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

const listeners = new Set();

// Switches the language, remembers it, and tells every listener (the frame
// re-renders the page; a page with state of its own may listen too).
export function setLocale(l) {
  if (!LOCALES.includes(l)) return;
  current = l;
  try { localStorage.setItem(STORE, l); } catch { /* storage may be off */ }
  document.documentElement.lang = l;
  for (const fn of [...listeners]) fn(l);
}

// fn(locale) after each switch; returns the function that stops it.
export function onLocaleChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
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

// The short form for tables: the time alone when it is today, else the
// date too (the year only when it is not this year).
export function fmtTimeShort(v) {
  if (v === null || v === undefined || v === '') return '';
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  const now = new Date();
  const opts = {hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false};
  if (d.toDateString() !== now.toDateString()) {
    opts.month = '2-digit';
    opts.day = '2-digit';
    if (d.getFullYear() !== now.getFullYear()) opts.year = 'numeric';
  }
  return new Intl.DateTimeFormat(current, opts).format(d);
}

// A duration given in milliseconds: "850 ms", "12.5 s", "3 min 5 s",
// "2 h 10 min", "3 d 4 h" (units in the page's language).
export function fmtDuration(ms) {
  if (ms === null || ms === undefined || ms === '') return '';
  const x = Number(ms);
  if (!Number.isFinite(x)) return String(ms);
  const n = (v, digits = 0) => fmtNumber(v, {maximumFractionDigits: digits});
  if (Math.abs(x) < 1000) return t('{n} ms', {n: n(x, 1)});
  if (Math.abs(x) < 60000) return t('{n} s', {n: n(x / 1000, 1)});
  const s = Math.round(Math.abs(x) / 1000);
  const sign = x < 0 ? '-' : '';
  const [d, hr, mi, se] = [Math.floor(s / 86400), Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60, s % 60];
  if (d) return sign + t('{d} d {h} h', {d: n(d), h: hr});
  if (hr) return sign + t('{h} h {m} min', {h: hr, m: mi});
  return sign + t('{m} min {s} s', {m: mi, s: se});
}

// A size in bytes, in binary units: "512 B", "1.5 KiB", "3.2 MiB".
export function fmtBytes(b) {
  if (b === null || b === undefined || b === '') return '';
  let x = Number(b);
  if (!Number.isFinite(x)) return String(b);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(x) >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return fmtNumber(x, {maximumFractionDigits: i ? 1 : 0}) + ' ' + units[i];
}

// How long ago (or how far ahead) a time is: "5 minutes ago", "in 2 hours",
// "5分钟前".  Uses the browser's own wording for each language.
export function fmtRelative(v, now = Date.now()) {
  if (v === null || v === undefined || v === '') return '';
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  const secs = Math.round((d.getTime() - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(current, {numeric: 'auto'});
  const steps = [['year', 31536000], ['month', 2592000], ['day', 86400], ['hour', 3600], ['minute', 60]];
  for (const [unit, size] of steps) {
    if (Math.abs(secs) >= size) return rtf.format(Math.round(secs / size), unit);
  }
  return rtf.format(secs, 'second');
}

document.documentElement.lang = current;
window.__apigwI18nMissing = missing;
