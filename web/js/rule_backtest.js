// The rules editor's "Backtest" panel: the rule in the editor, saved or
// not, goes to POST /rules/backtest with a time range and an upstream, and
// the panel shows what it would have done to the recorded answers: how
// many it matches, the keys it would have taken out and when, what the
// upstream-wide guard would have held back, and a sample of matches.
import * as api from './api.js';
import {
  badge, clearErrors, field, fmtNum, fmtTime, formError, h, input, kv, localToIso, replace,
  select, showFormError, table,
} from './dom.js';

const UNJUDGED = {status: 'no status', body: 'no body kept', headers: 'no headers kept', script: 'script leaf'};

function renderResult(r) {
  const unj = Object.entries(UNJUDGED).filter(([k]) => r.unjudged[k] > 0)
    .map(([k, label]) => `${label}: ${fmtNum(r.unjudged[k])}`).join(', ');
  const statuses = Object.entries(r.by_status).map(([s, n]) => `${s === '0' ? 'no answer' : s} × ${fmtNum(n)}`).join(', ');
  const g = r.guard;
  return [
    kv([
      ['Scanned', `${fmtNum(r.scanned.events)} key events, ${fmtNum(r.scanned.log_rows)} failed log rows`],
      ['Matched', h('span', {id: 'backtest-matched'}, fmtNum(r.matched))],
      ['By status', statuses],
      ['Not judged', r.unjudged.rows ? `${fmtNum(r.unjudged.rows)} (${unj})` : '0'],
      ['Fired', fmtNum(r.fired)],
      ['Guard', h('span', {id: 'backtest-guard'}, g.held
        ? `would have held back ${fmtNum(g.held)} action(s) from ${fmtTime(g.first_held_at)} (${g.alerts} alert(s))`
        : 'would not have held anything back')],
      ['Took', `${r.elapsed_ms} ms`],
    ]),
    r.truncated ? h('p', {class: 'small warn'}, 'More matches than the backtest replays: the figures after the first four million are counts only.') : null,
    h('h4', null, `Keys (${r.keys_count})`),
    table([
      {title: 'Key', cell: (k) => k.name || `#${k.key_id}`},
      {title: 'Would', cell: (k) => k.would ? badge(k.would, k.would === 'ban' ? 'bad' : 'warn') : '—'},
      {title: 'At', cell: (k) => k.at ? fmtTime(k.at) : '—'},
      {title: 'Times', class: 'num', cell: (k) => String(k.times)},
      {title: 'Held by guard', class: 'num', cell: (k) => String(k.held)},
    ], r.keys, {empty: 'No key would have been touched.', rowAttrs: () => ({class: 'backtest-key'})}),
    h('h4', null, 'Sample'),
    table([
      {title: 'Time', cell: (m) => fmtTime(m.time)},
      {title: 'Key', cell: (m) => m.key_name || `#${m.key_id}`},
      {title: 'Status', class: 'num', cell: (m) => String(m.status)},
      {title: 'Answer', cell: (m) => h('span', {class: 'mono small'}, m.excerpt ?? m.error ?? '')},
    ], r.sample, {empty: 'No match.'}),
  ];
}

// The panel.  editorRule() returns the editor's rule (or null after
// showing why not); editorError(e) shows a fault of the rule there;
// upstreams() the upstreams as loaded.
export function backtestCard({editorRule, editorError, upstreams}) {
  const from = input('from', {type: 'datetime-local', 'aria-label': 'From'});
  const to = input('to', {type: 'datetime-local', 'aria-label': 'To'});
  const up = select('upstream_id', [['', 'every upstream']], '', {'aria-label': 'Upstream'});
  const result = h('div', {class: 'dryrun-result', id: 'backtest-result', 'aria-live': 'polite'});
  const runBtn = h('button', {type: 'submit', class: 'btn btn-primary', id: 'backtest-run'}, 'Backtest');
  const form = h('form', {class: 'form', id: 'backtest-form', novalidate: true},
    h('div', {class: 'field-row'},
      field('From', from, 'empty: 7 days ago'),
      field('To', to, 'empty: now'),
      field('Upstream', up)),
    formError(),
    h('div', {class: 'actions'}, runBtn),
    result);
  up.addEventListener('focus', () => {
    if (up.options.length > 1) return;
    for (const u of upstreams()) up.append(h('option', {value: String(u.id)}, u.name));
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    replace(result);
    const rule = editorRule();
    if (!rule) return;
    const body = {rule};
    if (localToIso(from.value)) body.from = localToIso(from.value);
    if (localToIso(to.value)) body.to = localToIso(to.value);
    if (up.value) body.upstream_id = Number(up.value);
    runBtn.disabled = true;
    replace(result, h('p', {class: 'muted small'}, 'Replaying…'));
    try {
      replace(result, ...renderResult(await api.post('/rules/backtest', body)));
    } catch (e) {
      replace(result);
      if (e.status === 401 || e.status === 403) return;
      if (/^rule[.:]/.test(e.message || '')) editorError(e);
      else showFormError(form, e, (name) => (['from', 'to', 'upstream_id'].includes(name) ? name : null));
    } finally {
      runBtn.disabled = false;
    }
  });
  return h('section', {class: 'card', id: 'backtest', hidden: true},
    h('h2', null, 'Backtest'),
    h('p', {class: 'muted small'}, 'Replays the rule in the editor against the answers the gateway recorded (key events with their excerpts, failed requests of the log) before you save it. Nothing is changed.'),
    form);
}
