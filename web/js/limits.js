// Limit windows of keys and client tokens (docs/API.md "Limit windows"),
// edited as lines of a textarea: "minute requests=10",
// "day tokens=500000 model=gpt-4o*".  The usage of each window comes from
// a single key's or token's GET (limits_usage).
import {field, h, table} from './dom.js';
import {fmtNumber as fmtNum, fmtTime, t} from './i18n.js';

export function limitsText(limits) {
  return (limits || []).map((l) => [l.window,
    l.requests !== undefined ? `requests=${l.requests}` : null,
    l.tokens !== undefined ? `tokens=${l.tokens}` : null,
    l.model !== undefined ? `model=${l.model}` : null].filter((w) => w !== null).join(' ')).join('\n');
}

// The limits of the text, null when it is empty.  A word the form does not
// know goes as a member of its own name, for the API to name in its answer.
export function readLimits(text) {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (!lines.length) return null;
  return lines.map((line) => {
    const [window, ...words] = line.split(/\s+/);
    const l = {window};
    for (const w of words) {
      const eq = w.indexOf('=');
      const name = eq < 0 ? w : w.slice(0, eq), value = eq < 0 ? '' : w.slice(eq + 1);
      l[name] = name !== 'model' && /^\d+$/.test(value) ? Number(value) : value;
    }
    return l;
  });
}

export function limitsField(readOnly) {
  return field(t('Limit windows'), h('textarea', {name: 'limits', rows: '3', class: 'mono', spellcheck: 'false',
    disabled: !!readOnly, placeholder: 'minute requests=60\nday tokens=1000000 model=gpt-4o*'}),
  t('One limit a line: minute, hour or day, then requests=N and/or tokens=N, and model=pattern (* wildcards) to count some models only. At most 8. Empty = none.'));
}

// The current window of each limit: used, limit, when it resets.
export function usageTable(limits, usage) {
  const rows = (usage || []).map((u, i) => ({u, l: (limits || [])[i] || {}}));
  const used = (n, max) => (max ? `${fmtNum(n)} / ${fmtNum(max)}` : fmtNum(n));
  return table([
    {title: t('Window'), cell: (r) => t(r.u.window)},
    {title: t('Model'), class: 'mono', cell: (r) => r.u.model || t('all')},
    {title: t('Requests'), class: 'num', cell: (r) => used(r.u.requests_used, r.l.requests)},
    {title: t('Tokens'), class: 'num', cell: (r) => used(r.u.tokens_used, r.l.tokens)},
    {title: t('Resets'), class: 'small nowrap', cell: (r) => fmtTime(r.u.resets_at) || '—'},
  ], rows, {empty: t('No limit windows.')});
}
