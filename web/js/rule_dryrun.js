// The rules page's sample answer and what can be asked of it: the dry run
// of the rule in the editor (POST /rules/test), which rules of an
// upstream would fire on it, in order (rule_order.js), and a sample taken
// from a logged request.  Nothing here changes or counts anything.
import * as api from './api.js';
import {badge, clearErrors, field, formError, h, input, replace, select, showFormError} from './dom.js';
import {t} from './i18n.js';
import {recentRequests, runOrder, sampleFromLog} from './rule_order.js';

// "Name: value" lines to a headers object.
function parseHeaders(textValue) {
  const out = {};
  for (const line of textValue.split('\n')) {
    if (!line.trim()) continue;
    const i = line.indexOf(':');
    if (i <= 0) throw new Error(t('headers: "{line}" is not "Name: value"', {line: line.trim()}));
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

// "response.status: ..." belongs to the sample's own field.
const toSampleField = (name) => {
  const m = /^(?:response\.)?(\w+)/.exec(name);
  return m && ['status', 'headers', 'body', 'latency_ms', 'transport_error'].includes(m[1]) ? m[1] : null;
};

// Runs fn(rule) on a submit of form with the editor's rule, after clearing
// the form's errors and its result; editorRule() shows why there is none.
export function onRuleSubmit(form, result, editorRule, fn) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    replace(result);
    const rule = editorRule();
    if (rule) await fn(rule);
  });
}

// editorRule() returns the editor's rule or null (after showing why);
// editorError(e) shows a fault of the rule at the editor; upstreams() the
// loaded upstreams; describe(id, at) a leaf of a stored rule in words.
export function samplePanel({editorRule, editorError, upstreams, describe}) {
  const dr = {
    status: input('status', {type: 'number', value: '429', 'aria-label': t('Status')}),
    headers: h('textarea', {name: 'headers', rows: '3', class: 'mono', spellcheck: 'false', placeholder: 'Retry-After: 20'}),
    body: h('textarea', {name: 'body', rows: '5', class: 'mono', spellcheck: 'false', placeholder: '{"error": {...}}'}),
    latency: input('latency_ms', {type: 'number', value: '0'}),
    transport: select('transport_error', [['', t('none (an answer came)')], ['timeout', t('timeout')], ['connect', t('connect')], ['proxy', t('egress proxy')], ['other', t('other')]]),
  };
  const result = h('div', {class: 'dryrun-result', id: 'dryrun-result', 'aria-live': 'polite'});
  const orderResult = h('div', {class: 'dryrun-result', id: 'order-result', 'aria-live': 'polite'});
  const logNotes = h('div', {class: 'small muted', id: 'log-sample-notes', 'aria-live': 'polite'});
  const reqId = input('request_id', {id: 'log-request-id', list: 'log-request-ids', placeholder: t('a request id from the log'), 'aria-label': t('Request id')});
  const reqList = h('datalist', {id: 'log-request-ids'});
  const orderUp = h('select', {id: 'order-upstream', 'aria-label': t('Upstream')});
  const runBtn = h('button', {type: 'submit', class: 'btn btn-primary', id: 'dryrun-run'}, t('Test the rule in the editor'));
  const orderBtn = h('button', {type: 'button', class: 'btn', id: 'order-run'}, t('Which rules would fire, in order'));
  const logBtn = h('button', {type: 'button', class: 'btn', id: 'log-sample-load'}, t('Use this request'));

  const form = h('form', {class: 'form', id: 'dryrun-form', novalidate: true},
    h('div', {class: 'field-row log-sample'},
      field(t('Upstream'), orderUp),
      field(t('Test against a logged request'), reqId, t('Pick one of the latest requests of the upstream, or paste an id from the log.')),
      h('div', {class: 'actions'}, logBtn)),
    reqList, logNotes,
    h('div', {class: 'field-row'},
      field(t('Status'), dr.status, t('0 = no answer')),
      field(t('Latency (ms)'), dr.latency),
      field(t('Transport error'), dr.transport)),
    field(t('Headers (one "Name: value" a line)'), dr.headers),
    field(t('Body'), dr.body),
    formError(),
    h('div', {class: 'actions'}, runBtn, orderBtn),
    result, orderResult);

  function fillUpstreams() {
    if (orderUp.options.length) return;
    for (const u of upstreams()) orderUp.append(h('option', {value: String(u.id)}, u.name));
  }

  function sample() {
    const response = {};
    if (dr.status.value.trim() !== '') response.status = Number(dr.status.value);
    const hdrs = parseHeaders(dr.headers.value);
    if (Object.keys(hdrs).length) response.headers = hdrs;
    if (dr.body.value !== '') response.body = dr.body.value;
    if (dr.latency.value.trim() !== '') response.latency_ms = Number(dr.latency.value);
    if (dr.transport.value) response.transport_error = dr.transport.value;
    return response;
  }

  function fill(s) {
    dr.status.value = String(s.status ?? 0);
    dr.headers.value = s.headers || '';
    dr.body.value = s.body || '';
    dr.latency.value = String(s.latency_ms || 0);
    dr.transport.value = s.transport_error || '';
  }

  const quiet = (e) => e.status === 401 || e.status === 403;

  onRuleSubmit(form, result, editorRule, async (rule) => {
    let response;
    try { response = sample(); } catch (e) { showFormError(form, {message: e.message}); return; }
    try {
      const r = await api.post('/rules/test', {rule, response});
      replace(result,
        h('p', {class: 'verdict', id: 'dryrun-verdict', dataset: {matched: String(r.matched)}},
          t('Matched:'), ' ', badge(r.matched ? 'true' : 'false', r.matched ? 'ok' : 'neutral')),
        r.matched ? h('div', null, h('div', {class: 'small muted'}, t('Actions it would take:')),
          h('pre', {class: 'code'}, JSON.stringify(r.actions, null, 2))) : null,
        h('p', {class: 'small muted'}, r.threshold > 1
          ? t('On the proxy it fires after {n} matches within {s} s for the same key.', {n: r.threshold, s: r.window_s})
          : t('On the proxy it fires on every match.')));
    } catch (e) {
      if (quiet(e)) return;
      // "rule.condition...": the editor's; "response.status": the panel's.
      if (/^rule[.:]/.test(e.message || '')) editorError(e);
      else showFormError(form, e, toSampleField);
    }
  });

  orderBtn.addEventListener('click', async () => {
    clearErrors(form);
    fillUpstreams();
    if (!orderUp.value) { showFormError(form, {message: t('Create an upstream first: rules run on an upstream\'s answers.')}); return; }
    let response;
    try { response = sample(); } catch (e) { showFormError(form, {message: e.message}); return; }
    orderBtn.disabled = true;
    try {
      await runOrder(orderUp.value, response, orderResult, describe);
    } catch (e) {
      replace(orderResult);
      if (!quiet(e)) showFormError(form, e, toSampleField);
    } finally {
      orderBtn.disabled = false;
    }
  });

  reqId.addEventListener('focus', async () => {
    fillUpstreams();
    try {
      const rows = await recentRequests(orderUp.value);
      replace(reqList, rows.map((r) => h('option', {value: r.request_id}, `${r.status} ${r.upstream || ''} ${r.path}`)));
    } catch { /* the picker stays empty; pasting still works */ }
  });
  logBtn.addEventListener('click', async () => {
    clearErrors(form);
    replace(logNotes);
    const id = reqId.value.trim();
    if (!id) return;
    try {
      const got = await sampleFromLog(id, orderUp.value);
      if (!got) {
        showFormError(form, {message: t('request_id: no request of this upstream has this id')}, () => 'request_id');
        return;
      }
      fill(got.sample);
      replace(logNotes, got.notes.map((n) => h('div', null, n)),
        got.row.rules && got.row.rules.length ? h('div', {id: 'log-sample-fired'}, t('On the proxy these rules fired: {names}', {names: got.row.rules.join(', ')})) : null);
    } catch (e) {
      if (!quiet(e)) showFormError(form, e);
    }
  });

  const card = h('section', {class: 'card', id: 'dryrun'},
    h('h2', null, t('Try an answer')),
    h('p', {class: 'muted small'}, t('Describe an answer (or take one from the log), then test the rule in the editor on it, or see which rules of an upstream would fire, in order. Nothing is changed and nothing is counted.')),
    form);
  return {
    card, fill, fillUpstreams,
    // The dry run needs a rule in the editor.
    editorOpen(open) {
      runBtn.hidden = !open;
      if (open) { replace(result); clearErrors(form); }
    },
  };
}
