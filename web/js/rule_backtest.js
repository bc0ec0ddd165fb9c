// The rules editor's "Backtest" panel: the rule in the editor, saved or
// not, goes to POST /rules/backtest with a time range and an upstream, and
// the panel shows what it would have done to the recorded answers: how
// many it matches, the keys it would have taken out and when, what the
// upstream-wide guard would have held back, and a sample of matches.
import * as api from './api.js';
import {
  badge, field, fmtNum, fmtTime, formError, h, input, kv, localToIso, replace,
  select, showFormError, table,
} from './dom.js';
import {t} from './i18n.js';
import {onRuleSubmit} from './rule_dryrun.js';

const UNJUDGED = {status: 'no status', body: 'no body kept', headers: 'no headers kept', script: 'script leaf'};
const WOULD = {ban: 'ban', disable: 'disable', exhaust: 'exhaust'};

function renderResult(r) {
  const unj = Object.entries(UNJUDGED).filter(([k]) => r.unjudged[k] > 0)
    .map(([k, label]) => `${t(label)}: ${fmtNum(r.unjudged[k])}`).join(', ');
  const statuses = Object.entries(r.by_status).map(([s, n]) => `${s === '0' ? t('no answer') : s} × ${fmtNum(n)}`).join(', ');
  const g = r.guard;
  return [
    kv([
      [t('Scanned'), t('{e} key events, {l} failed log rows', {e: fmtNum(r.scanned.events), l: fmtNum(r.scanned.log_rows)})],
      [t('Matched'), h('span', {id: 'backtest-matched'}, fmtNum(r.matched))],
      [t('By status'), statuses],
      [t('Not judged'), r.unjudged.rows ? `${fmtNum(r.unjudged.rows)} (${unj})` : '0'],
      [t('Fired'), fmtNum(r.fired)],
      [t('Guard'), h('span', {id: 'backtest-guard'}, g.held
        ? t('would have held back {n} action(s) from {at} ({a} alert(s))', {n: fmtNum(g.held), at: fmtTime(g.first_held_at), a: g.alerts})
        : t('would not have held anything back'))],
      [t('Took'), `${r.elapsed_ms} ms`],
    ]),
    r.truncated ? h('p', {class: 'small warn'}, t('More matches than the backtest replays: the figures after the first four million are counts only.')) : null,
    h('h4', null, t('Keys ({n})', {n: r.keys_count})),
    table([
      {title: t('Key'), cell: (k) => k.name || `#${k.key_id}`},
      {title: t('Would'), cell: (k) => k.would ? badge(WOULD[k.would] ? t(WOULD[k.would]) : k.would, k.would === 'ban' ? 'bad' : 'warn') : '—'},
      {title: t('At'), cell: (k) => k.at ? fmtTime(k.at) : '—'},
      {title: t('Times'), class: 'num', cell: (k) => String(k.times)},
      {title: t('Held by guard'), class: 'num', cell: (k) => String(k.held)},
    ], r.keys, {empty: t('No key would have been touched.'), rowAttrs: () => ({class: 'backtest-key'})}),
    h('h4', null, t('Sample')),
    table([
      {title: t('Time'), cell: (m) => fmtTime(m.time)},
      {title: t('Key'), cell: (m) => m.key_name || `#${m.key_id}`},
      {title: t('Status'), class: 'num', cell: (m) => String(m.status)},
      {title: t('Answer'), cell: (m) => h('span', {class: 'mono small'}, m.excerpt ?? m.error ?? '')},
    ], r.sample, {empty: t('No match.')}),
  ];
}

// The panel.  editorRule() returns the editor's rule (or null after
// showing why not); editorError(e) shows a fault of the rule there;
// upstreams() the upstreams as loaded.
export function backtestCard({editorRule, editorError, upstreams}) {
  const from = input('from', {type: 'datetime-local', 'aria-label': t('From')});
  const to = input('to', {type: 'datetime-local', 'aria-label': t('To')});
  const up = select('upstream_id', [['', t('every upstream')]], '', {'aria-label': t('Upstream')});
  const result = h('div', {class: 'dryrun-result', id: 'backtest-result', 'aria-live': 'polite'});
  const runBtn = h('button', {type: 'submit', class: 'btn btn-primary', id: 'backtest-run'}, t('Backtest'));
  const form = h('form', {class: 'form', id: 'backtest-form', novalidate: true},
    h('div', {class: 'field-row'},
      field(t('From'), from, t('empty: 7 days ago')),
      field(t('To'), to, t('empty: now')),
      field(t('Upstream'), up)),
    formError(),
    h('div', {class: 'actions'}, runBtn),
    result);
  up.addEventListener('focus', () => {
    if (up.options.length > 1) return;
    for (const u of upstreams()) up.append(h('option', {value: String(u.id)}, u.name));
  });
  onRuleSubmit(form, result, editorRule, async (rule) => {
    const body = {rule};
    if (localToIso(from.value)) body.from = localToIso(from.value);
    if (localToIso(to.value)) body.to = localToIso(to.value);
    if (up.value) body.upstream_id = Number(up.value);
    runBtn.disabled = true;
    replace(result, h('p', {class: 'muted small'}, t('Replaying…')));
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
    h('h2', null, t('Backtest')),
    h('p', {class: 'muted small'}, t('Replays the rule in the editor against the answers the gateway recorded (key events with their excerpts, failed requests of the log) before you save it. Nothing is changed.')),
    form);
}
