// Upstreams: the list, and a form to create or edit one (admin), with the
// API's validation messages shown at the field they name, provider presets
// (#/upstreams?new=PRESET opens the form filled from one), each upstream's
// client base URL and snippets, and confirmations before making one public
// or deleting one with keys.
import * as api from '../api.js';
import {
  boolBadge, checkField, clearErrors, confirmDialog, field, fmtMs, formError, h, input, kv,
  modal, pageHead, replace, select, table, toast, showFormError,
} from '../dom.js';
import {readForm, readValue, setForm} from '../forms.js';
import {scriptEditor, scriptTestPanel} from '../script_editor.js';
import {shapePreviewPanel} from '../shape_preview.js';
import {fmtTime, t} from '../i18n.js';
import {clientBaseUrl, snippetsPanel} from '../snippets.js';
import {confirmDeleteWithKeys, confirmPublic} from '../upstream_confirm.js';
import {applyPreset, presetBar, presetById} from '../upstream_presets.js';

const FIELDS = [
  ['name', 'string'], ['base_url', 'string'], ['auth_header', 'string'],
  ['auth_template', 'string'], ['auth_query_param', 'nullable'], ['strategy', 'string'],
  ['timeout_ms', 'int'], ['connect_timeout_ms', 'int'], ['max_retries', 'int'],
  ['retry_backoff_ms', 'int'], ['enabled', 'bool'], ['public', 'bool'],
  ['probe_method', 'nullable'], ['probe_path', 'nullable'], ['probe_body', 'nullable'],
  ['probe_content_type', 'nullable'], ['recheck_banned_s', 'int_nullable'], ['auto_disable_max_pct', 'int'],
  ['max_concurrent', 'int_nullable'], ['usage_format', 'string'], ['usage_paths', 'json_nullable'],
  ['script', 'nullable'], ['queue_wait_ms', 'int'], ['affinity', 'string'],
  ['affinity_path', 'nullable'], ['proxy_mode', 'string'], ['endpoint_fail_threshold', 'int'],
  ['endpoint_window_s', 'int'], ['endpoint_cooldown_s', 'int'], ['strip_forwarding_headers', 'bool'],
  ['model_map', 'json_nullable'], ['body_set', 'json_nullable'],
  ['quota_reset_hour', 'int_nullable'], ['quota_reset_tz', 'nullable'],
  ['alert_min_active_pct', 'int'], ['alert_min_active', 'int_nullable'],
  ['pace_by_headers', 'bool'],
];
const DEFAULTS = {
  auth_header: 'Authorization', auth_template: 'Bearer {key}', auth_query_param: null,
  strategy: 'round_robin', timeout_ms: 30000, connect_timeout_ms: 5000, max_retries: 2,
  retry_backoff_ms: 100, enabled: true, public: false, probe_method: null, probe_path: null,
  probe_body: null, probe_content_type: null, recheck_banned_s: null,
  auto_disable_max_pct: 50, max_concurrent: null, usage_format: 'none', usage_paths: null,
  script: null, queue_wait_ms: 0, affinity: 'none', affinity_path: null, proxy_mode: 'none',
  endpoint_fail_threshold: 5, endpoint_window_s: 30, endpoint_cooldown_s: 30,
  strip_forwarding_headers: false, model_map: null, body_set: null,
  quota_reset_hour: null, quota_reset_tz: null, alert_min_active_pct: 20, alert_min_active: null,
  pace_by_headers: false,
};

// model_allow (patterns, or null for every model) is edited as patterns
// separated by commas; an empty text is null.
function readModelAllow(form, creating) {
  const list = form.elements.namedItem('model_allow').value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (list.length) return list;
  return creating ? undefined : null;
}

// fallback_upstreams (ids, in order) is edited as names separated by
// commas; a name that is no upstream is shown at the field.  The id of an
// upstream deleted since is left out, so saving drops it.
function fallbackNames(ids, all) {
  return (ids || []).map((id) => (all.find((u) => u.id === id) || {}).name).filter(Boolean).join(', ');
}

function readFallbacks(form, all) {
  const names = form.elements.namedItem('fallback_names').value.split(',').map((s) => s.trim()).filter(Boolean);
  const ids = [];
  for (const n of names) {
    const u = all.find((x) => x.name === n);
    if (!u) return {error: t('fallback_upstreams: no upstream is named {name}', {name: n})};
    ids.push(u.id);
  }
  return {ids};
}

// proxies (a list of URLs or null) is edited as a textarea, one URL a
// line.  The API shows each password as ***; a line sent back unchanged
// keeps the stored password, so editing never needs to see it.
function setProxies(form, list) {
  form.elements.namedItem('proxies').value = (list || []).join('\n');
}

function readProxies(form, creating) {
  const lines = form.elements.namedItem('proxies').value.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length === 0) return creating ? undefined : null;
  return lines;
}

// stream_peek ({bytes, ms} or null) is edited as two number inputs; both
// empty means null (off), one empty counts as 0 (that limit not used).
const PEEK_INPUTS = [['bytes', 'stream_peek_bytes'], ['ms', 'stream_peek_ms']];

function setPeek(form, peek) {
  for (const [member, name] of PEEK_INPUTS) {
    form.elements.namedItem(name).value = peek ? String(peek[member]) : '';
  }
}

// The stream_peek member of a body: undefined (left out, on create) or
// null when both inputs are empty; text that is not an integer is sent as
// it is, for the API to name.
function readPeek(form, creating) {
  const raw = PEEK_INPUTS.map(([, name]) => form.elements.namedItem(name).value.trim());
  if (raw.every((v) => v === '')) return creating ? undefined : null;
  const peek = {};
  PEEK_INPUTS.forEach(([member], i) => {
    peek[member] = raw[i] === '' ? 0 : (/^-?\d+$/.test(raw[i]) ? Number(raw[i]) : raw[i]);
  });
  return peek;
}

// Where the API's message about stream_peek or one of its members goes.
function peekField(name) {
  if (name === 'fallback_upstreams') return 'fallback_names';
  if (name === 'stream_peek.ms') return 'stream_peek_ms';
  if (name === 'stream_peek' || name.startsWith('stream_peek.')) return 'stream_peek_bytes';
  return null;
}

// endpoints are edited as lines "URL [weight] [off]".  The one-endpoint
// form (base_url alone, weight 1, enabled) shows as an empty text.
function endpointsText(u) {
  const eps = (u && u.endpoints) || [];
  if (eps.length === 1 && eps[0].url === u.base_url && eps[0].weight === 1 && eps[0].enabled) return '';
  return eps.map((e) => [e.url, e.weight, e.enabled ? '' : 'off'].join(' ').trim()).join('\n');
}

// The endpoints of the text, or null when it is empty.  A word that is
// neither a number nor "off" goes as the weight, for the API to name.
function readEndpoints(text) {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (!lines.length) return null;
  return lines.map((line) => {
    const [url, ...words] = line.split(/\s+/);
    const e = {url};
    for (const w of words) {
      if (/^(off|disabled)$/i.test(w)) e.enabled = false;
      else e.weight = /^\d+$/.test(w) ? Number(w) : w;
    }
    return e;
  });
}

// header_rules are edited as lines "op Name value": set X-Team alpha,
// remove X-Debug, append X-Tags {upstream}.  The value is the rest of the
// line, spaces and all.
function headerRulesText(rules) {
  return (rules || []).map((r) => [r.op, r.name, r.value].filter((w) => w !== undefined).join(' ')).join('\n');
}

// The rules of the text; a line the API would refuse (an unknown op, a
// value after remove) goes as it is, for the API to name.
function readHeaderRules(text) {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '').map((line) => {
    const m = /^(\S+)\s+(\S+)(?:\s+(.*))?$/.exec(line) || [line, line, ''];
    const rule = {op: m[1].toLowerCase(), name: m[2]};
    if (m[3] !== undefined && m[3] !== '') rule.value = m[3];
    return rule;
  });
}

// The shaping fields as the form has them, saved or not, for the preview.
function readShaping(form) {
  const el = (n) => form.elements.namedItem(n);
  return {
    header_rules: readHeaderRules(el('header_rules').value),
    strip_forwarding_headers: el('strip_forwarding_headers').checked,
    model_allow: readModelAllow(form, false),
    model_map: readValue(el('model_map'), 'json_nullable', false),
    body_set: readValue(el('body_set'), 'json_nullable', false),
  };
}

// Where the API's message about a member goes: stream_peek's inputs, the
// endpoints text for endpoints[i].*, the rules text for header_rules[i].*.
function fieldOf(name) {
  if (name.startsWith('header_rules')) return 'header_rules';
  return peekField(name) || (name.startsWith('endpoints[') ? 'endpoints' : null);
}

// This process's view of each endpoint's breaker (GET /upstreams/{id}).
function breakerTable(u) {
  return table([
    {title: t('Endpoint'), class: 'mono wrap', cell: (e) => e.url},
    {title: t('Weight'), class: 'num', cell: (e) => String(e.weight)},
    {title: t('Enabled'), cell: (e) => boolBadge(e.enabled)},
    {title: t('Breaker'), cell: (e) => h('span', {class: e.breaker.state === 'closed' ? 'badge badge-ok' : 'badge badge-warn'}, e.breaker.state.replace('_', '-'))},
    {title: t('Failures'), class: 'num', cell: (e) => String(e.breaker.failures)},
    {title: t('Open until'), class: 'nowrap', cell: (e) => (e.breaker.open_until ? fmtTime(e.breaker.open_until) : '—')},
  ], u.endpoints || [], {rowAttrs: (e) => ({dataset: {url: e.url}})});
}

export async function render(view, ctx) {
  const isAdmin = ctx.can('admin');
  const listBox = h('div', {id: 'upstreams-list'}, h('p', {class: 'muted'}, t('Loading…')));
  const newBtn = isAdmin ? h('button', {type: 'button', class: 'btn btn-primary', id: 'upstream-new'}, t('New upstream')) : null;
  view.append(pageHead(t('Upstreams'), newBtn),
    h('p', {class: 'muted intro'}, t('Each upstream is a provider the gateway forwards to; its keys form its pool. Clients call it with a client token at'), ' ', h('code', null, '/proxy/NAME/…')),
    listBox);

  let all = [];
  let counts = new Map();

  async function load() {
    const items = await api.listAll('/upstreams');
    all = items;
    counts = new Map(await Promise.all(items.map(async (u) =>
      [u.id, (await api.get('/keys', {upstream_id: u.id, limit: 1})).total])));
    if (!ctx.isCurrent()) return;
    replace(listBox, table([
      {title: t('Name'), cell: (u) => h('button', {type: 'button', class: 'link', on: {click: () => edit(u)}}, u.name)},
      {title: t('Base URL'), class: 'mono wrap', cell: (u) => ((u.endpoints || []).length > 1
        ? [u.base_url, ' ', h('span', {class: 'muted small', title: t('endpoints')}, `+${u.endpoints.length - 1}`)] : u.base_url)},
      {title: t('Client base URL'), class: 'mono small wrap', cell: (u) => [clientBaseUrl(u.name), ' ',
        h('button', {type: 'button', class: 'btn btn-small', dataset: {snippets: u.name}, on: {click: () => openSnippets(u)}}, t('How to call'))]},
      {title: t('Strategy'), class: 'nowrap', cell: (u) => t(u.strategy.replace('_', ' '))},
      {title: t('Key injection'), class: 'mono small', cell: (u) => (u.auth_query_param ? `?${u.auth_query_param}=…` : `${u.auth_header}: ${u.auth_template}`)},
      {title: t('Timeout'), class: 'num nowrap', cell: (u) => fmtMs(u.timeout_ms)},
      {title: t('Retries'), class: 'num', cell: (u) => String(u.max_retries)},
      {title: t('Concurrent'), class: 'num', cell: (u) => (u.max_concurrent ? String(u.max_concurrent) : '—')},
      {title: t('Enabled'), cell: (u) => boolBadge(u.enabled, t('yes'), t('no'))},
      {title: t('Public'), cell: (u) => (u.public ? h('span', {class: 'badge badge-warn'}, t('public')) : h('span', {class: 'muted'}, t('token')))},
      {title: t('Keys'), class: 'num', cell: (u) => h('a', {href: `#/keys?upstream_id=${u.id}`}, String(counts.get(u.id)))},
      {title: '', class: 'actions-cell', cell: (u) => [
        h('button', {type: 'button', class: 'btn btn-small', on: {click: () => edit(u)}}, isAdmin ? t('Edit') : t('View')),
        isAdmin ? h('button', {type: 'button', class: 'btn btn-small btn-danger-ghost', on: {click: () => remove(u)}}, t('Delete')) : null,
      ]},
    ], items, {empty: isAdmin ? t('No upstreams yet: create the first one.') : t('No upstreams yet.'),
      rowAttrs: (u) => ({dataset: {name: u.name, id: u.id}})}));
  }

  // The form opens on the upstream as saved now, not as the list (which
  // may be still reloading after a save) had it.
  async function edit(u) {
    const fresh = await ctx.guard(() => api.get(`/upstreams/${u.id}`));
    if (fresh && ctx.isCurrent()) openForm(fresh);
  }

  function openSnippets(u) {
    const close = h('button', {type: 'button', class: 'btn'}, t('Close'));
    const m = modal(t('Call {name} through the gateway', {name: u.name}), [snippetsPanel(u), h('div', {class: 'actions'}, close)], {wide: true});
    close.addEventListener('click', m.close);
  }

  // An upstream with keys asks for its name to be typed.
  async function remove(u) {
    const keys = counts.get(u.id) || 0;
    const ok = keys > 0 ? await confirmDeleteWithKeys(u.name, keys) : await confirmDialog(t('Delete upstream'),
      t('Delete upstream {name}? Its keys and rules are deleted too; its request logs are kept.', {name: u.name}), t('Delete'));
    if (!ok) return;
    await ctx.guard(async () => {
      await api.del(`/upstreams/${u.id}`);
      toast(t('Upstream {name} deleted', {name: u.name}));
      await load();
    });
  }

  function openForm(u, preset) {
    const creating = !u;
    const readOnly = !isAdmin;
    const f = (name, attrs) => input(name, {disabled: readOnly, ...attrs});
    const num = (name) => f(name, {type: 'number', inputmode: 'numeric'});
    const ed = scriptEditor({readOnly});
    const form = h('form', {class: 'form form-grid', id: 'upstream-form', novalidate: true},
      field(t('Name'), f('name', {placeholder: 'openai', autocapitalize: 'none', spellcheck: 'false'}), t('Lower-case letters, digits, _ and -; used in /proxy/NAME/…')),
      field(t('Base URL'), f('base_url', {placeholder: 'https://api.openai.com/v1', spellcheck: 'false'}), t('http:// or https://, no query. With endpoints, the first enabled one.')),
      field(t('Endpoints'), h('textarea', {name: 'endpoints', rows: '3', class: 'mono', spellcheck: 'false', disabled: readOnly,
        placeholder: 'https://eu.example.com/v1 3\nhttps://us.example.com/v1 1'}), t('Several base URLs, one per line: URL, weight (1 to 1000), "off" to disable. Each attempt picks one by weight; a failing one rests. Empty = the base URL alone.')),
      field(t('Endpoint fail threshold'), num('endpoint_fail_threshold'), t('Transport errors or 5xx answers of an endpoint within the window that open its breaker.')),
      field(t('Endpoint window (s)'), num('endpoint_window_s')),
      field(t('Endpoint cooldown (s)'), num('endpoint_cooldown_s'), t('How long an open breaker keeps its endpoint out before one trial request.')),
      field(t('Auth header'), f('auth_header')),
      field(t('Auth template'), f('auth_template'), t('Must contain {key}.')),
      field(t('Auth query parameter'), f('auth_query_param', {placeholder: t('none')}), t('Set it (e.g. key) to send the key as a query parameter instead.')),
      field(t('Strategy'), select('strategy', [['round_robin', t('round robin')], ['random', t('random')], ['weighted', t('weighted')]], null, {disabled: readOnly})),
      field(t('Timeout (ms)'), num('timeout_ms')),
      field(t('Connect timeout (ms)'), num('connect_timeout_ms')),
      field(t('Max retries'), num('max_retries')),
      field(t('Retry back-off (ms)'), num('retry_backoff_ms')),
      field(t('Probe method'), select('probe_method', [['', t('none')], ['GET', 'GET'], ['HEAD', 'HEAD'], ['POST', 'POST'], ['PUT', 'PUT'], ['PATCH', 'PATCH'], ['DELETE', 'DELETE'], ['OPTIONS', 'OPTIONS']], null, {disabled: readOnly})),
      field(t('Probe path'), f('probe_path', {placeholder: '/models'}), t('A cheap request that tells whether a key works.')),
      field(t('Probe body'), h('textarea', {name: 'probe_body', rows: '2', class: 'mono', spellcheck: 'false', disabled: readOnly,
        placeholder: '{"model": "gpt-4o-mini", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]}'}),
      t('For APIs with no free GET: the probe sends this body (a one-token request). Empty = no body.')),
      h('p', {class: 'notice', id: 'probe-body-warning', hidden: true},
        t('A probe with a body may cost money: it is sent at every key test, every recovery probe, for every key of a validation job and at every re-check of a banned key.')),
      field(t('Probe content type'), f('probe_content_type', {placeholder: 'application/json', spellcheck: 'false', autocapitalize: 'none'}), t('The Content-Type of the probe body; empty = application/json.')),
      field(t('Re-check banned keys (s)'), f('recheck_banned_s', {type: 'number', inputmode: 'numeric', placeholder: t('off')}), t('Probe each banned key this often (at least 60 s); one that passes becomes active again. Empty = off; needs a probe.')),
      field(t('Auto-disable max %'), num('auto_disable_max_pct'), t('Rules never take more than this share of keys out within one window.')),
      field(t('Max concurrent'), f('max_concurrent', {type: 'number', inputmode: 'numeric', placeholder: t('none')}), t('Requests in flight at once, in each gateway process; empty = no limit.')),
      field(t('Usage format'), select('usage_format', [['none', t('none')], ['openai', 'OpenAI'], ['anthropic', 'Anthropic'], ['gemini', 'Gemini'], ['custom', t('custom (paths)')]], null, {disabled: readOnly}), t('How answers report tokens; none = not read.')),
      field(t('Usage paths'), f('usage_paths', {placeholder: '{"prompt": "$.usage.in", "completion": "$.usage.out"}', spellcheck: 'false', class: 'mono'}), t('For the custom format: JSON paths of prompt, completion, cached, total and model.')),
      field(t('Stream peek: bytes'), f('stream_peek_bytes', {type: 'number', inputmode: 'numeric', placeholder: t('off')}), t('Hold a 2xx event stream until its first event (or this many bytes, 0 to 65536) so that rules can still retry it; both empty = off.')),
      field(t('Egress proxies'), h('textarea', {name: 'proxies', rows: '3', class: 'mono', spellcheck: 'false', disabled: readOnly, placeholder: 'socks5://user:pass@10.0.0.5:1080'}), t('One http://, https://, socks5:// or socks5h:// URL a line. Passwords show as ***; leave such a line as it is to keep its password.')),
      field(t('Proxy mode'), select('proxy_mode', [['none', t('none (direct)')], ['round_robin', t('round robin')], ['per_key', t('per key (each key keeps its proxy)')]], null, {disabled: readOnly}), t('How a request picks its proxy; a key\'s own proxy overrides.')),
      field(t('Stream peek: ms'), f('stream_peek_ms', {type: 'number', inputmode: 'numeric', placeholder: t('off')}), t('Or until this many ms after the headers (0 to 10000); 0 = no time limit.')),
      field(t('Queue wait (ms)'), num('queue_wait_ms'), t('When no key is usable, hold the request up to this long for one (0 to 30000); 0 = answer 503 at once.')),
      field(t('Quota reset hour'), f('quota_reset_hour', {type: 'number', inputmode: 'numeric', placeholder: t('global')}), t('The hour (0 to 23) at which the provider starts a new day for its keys: daily quotas, exhausted keys and day limits follow it. Empty = the global quota_reset_hour.')),
      field(t('Quota reset time zone'), f('quota_reset_tz', {placeholder: t('global'), spellcheck: 'false', autocapitalize: 'none'}), t('The IANA time zone of that hour, such as America/Los_Angeles (Gemini resets at midnight Pacific). Empty = the global quota_reset_tz.')),
      field(t('Alert below % usable'), num('alert_min_active_pct'), t('A capacity alert fires once when the active keys fall below this share of all keys (0 to 100); 0 = off.')),
      field(t('Alert below usable keys'), f('alert_min_active', {type: 'number', inputmode: 'numeric', placeholder: t('off')}), t('A capacity alert fires once when fewer keys than this are active; empty = off.')),
      field(t('Fallback upstreams'), f('fallback_names', {placeholder: t('none'), spellcheck: 'false', autocapitalize: 'none'}), t('Names, in order, separated by commas: where a request goes when no key here is usable or every attempt failed before any byte went out.')),
      field(t('Key affinity'), select('affinity', [['none', t('none')], ['header', t('header (X-Gateway-Affinity)')], ['token', t('client token')], ['body', t('body (JSON path)')]], null, {disabled: readOnly}), t('Sends requests with the same affinity id to the same key (sticky keys, for providers\' prompt caches); none = the strategy picks.')),
      field(t('Allowed models'), f('model_allow', {placeholder: t('all models'), spellcheck: 'false', autocapitalize: 'none', class: 'mono'}), t('Patterns separated by commas, * for any run of characters (gpt-4o*, claude-*). A request naming another model gets 403 model_not_allowed; empty = every model.')),
      field(t('Model map'), h('textarea', {name: 'model_map', rows: '2', class: 'mono', spellcheck: 'false', disabled: readOnly, placeholder: '{"fast": "gpt-4o-mini"}'}), t('JSON {"alias": "model"}: the alias a request names in $.model or /models/{alias}: is sent as the model. Allowed models are checked against the alias.')),
      field(t('Body overrides'), h('textarea', {name: 'body_set', rows: '2', class: 'mono', spellcheck: 'false', disabled: readOnly, placeholder: '{"$.stream_options.include_usage": true}'}), t('JSON {"$.path": value}: set in every application/json request body (objects on the way are made).')),
      field(t('Affinity path'), f('affinity_path', {placeholder: '$.metadata.conversation_id', spellcheck: 'false', class: 'mono'}), t('For body affinity: the JSON path of the id in the request body.')),
      field(t('Header rules'), h('textarea', {name: 'header_rules', rows: '3', class: 'mono', spellcheck: 'false', disabled: readOnly,
        placeholder: 'set X-Team alpha\nremove X-Debug\nappend X-Tags {upstream}'}), t('One rule a line, applied in order to what goes upstream: set, remove or append, a header name, and for set and append a value, which may use {request_id}, {token} and {upstream}. The auth header, Host and hop-by-hop headers cannot be changed.')),
      h('div', {class: 'field-row'},
        checkField(t('Strip forwarding headers (X-Forwarded-*, Forwarded, X-Real-IP, Via, …)'), f('strip_forwarding_headers', {type: 'checkbox'}))),
      // Beside the shaping fields; an upstream not yet saved has nothing to preview.
      u && ctx.can('operator') ? shapePreviewPanel(u.id, () => readShaping(form)) : null,
      h('div', {class: 'field-row'},
        checkField(t('Enabled'), f('enabled', {type: 'checkbox'})),
        checkField(t('Public (no client token needed)'), f('public', {type: 'checkbox'}))),
      h('div', {class: 'field-row'},
        checkField(t('Pace keys by the provider\'s rate-limit headers (a key with nothing left rests until it refills; weighted weighs by what is left)'), f('pace_by_headers', {type: 'checkbox'}))),
      ed.root,
      formError());
    setForm(form, FIELDS, creating ? DEFAULTS : u);
    if (creating && preset) applyPreset(form, preset);
    const probeBody = form.elements.namedItem('probe_body');
    const probeWarn = () => { form.querySelector('#probe-body-warning').hidden = probeBody.value.trim() === ''; };
    probeBody.addEventListener('input', probeWarn);
    probeWarn();
    setPeek(form, creating ? null : u.stream_peek);
    form.elements.namedItem('fallback_names').value = creating ? '' : fallbackNames(u.fallback_upstreams, all);
    setProxies(form, creating ? null : u.proxies);
    form.elements.namedItem('endpoints').value = endpointsText(u);
    form.elements.namedItem('header_rules').value = creating ? '' : headerRulesText(u.header_rules);
    form.elements.namedItem('model_allow').value = creating || !u.model_allow ? '' : u.model_allow.join(', ');
    ed.renumber();
    const readAuth = () => {
      const v = (n) => form.elements.namedItem(n).value.trim();
      const auth = {};
      if (v('auth_query_param') !== '') auth.auth_query_param = v('auth_query_param');
      if (v('auth_header') !== '') auth.auth_header = v('auth_header');
      if (v('auth_template') !== '') auth.auth_template = v('auth_template');
      if (/^[a-z0-9_-]{1,64}$/.test(v('name'))) auth.upstream = v('name');
      return auth;
    };
    const testPanel = ctx.can('operator') ? scriptTestPanel(ed, readAuth) : null;
    const save = h('button', {type: 'submit', class: 'btn btn-primary', form: 'upstream-form'}, creating ? t('Create upstream') : t('Save'));
    const cancel = h('button', {type: 'button', class: 'btn'}, readOnly ? t('Close') : t('Cancel'));
    const breakers = u ? h('div', {id: 'upstream-breakers'}, h('p', {class: 'muted'}, t('Loading…'))) : null;
    if (u) {
      api.get(`/upstreams/${u.id}`).then((full) => replace(breakers, breakerTable(full)),
        () => replace(breakers, h('p', {class: 'muted'}, t('The breaker states could not be read.'))));
    }
    const content = [
      u ? kv([[t('Id'), String(u.id)], [t('Created'), fmtTime(u.created_at)], [t('Updated'), fmtTime(u.updated_at)]]) : null,
      u ? h('details', {class: 'snippets-box'}, h('summary', null, t('How to call it')), snippetsPanel(u)) : null,
      breakers,
      readOnly ? null : presetBar(form),
      form,
      testPanel,
      h('div', {class: 'actions'}, cancel, readOnly ? null : save),
    ];
    const m = modal(creating ? t('New upstream') : t('Upstream {name}', {name: u.name}), content, {wide: true});
    cancel.addEventListener('click', m.close);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (readOnly) return;
      clearErrors(form);
      const body = readForm(form, FIELDS, creating);
      const peek = readPeek(form, creating);
      if (peek !== undefined) body.stream_peek = peek;
      const fb = readFallbacks(form, all);
      if (fb.error) {
        showFormError(form, {status: 400, field: 'fallback_upstreams', message: fb.error}, peekField);
        return;
      }
      body.fallback_upstreams = fb.ids;
      const allow = readModelAllow(form, creating);
      if (allow !== undefined) body.model_allow = allow;
      const proxies = readProxies(form, creating);
      if (proxies !== undefined) body.proxies = proxies;
      body.header_rules = readHeaderRules(form.elements.namedItem('header_rules').value);
      // With endpoints the API sets base_url itself (their first enabled URL).
      const eps = readEndpoints(form.elements.namedItem('endpoints').value);
      if (eps) {
        body.endpoints = eps;
        delete body.base_url;
      } else if (!creating && endpointsText(u) !== '') {
        body.endpoints = null;
      }
      // Making an upstream public lets anyone use its keys: ask first.
      if (body.public && (creating || !u.public) && !await confirmPublic(body.name || u.name)) return;
      save.disabled = true;
      try {
        const saved = creating ? await api.post('/upstreams', body) : await api.patch(`/upstreams/${u.id}`, body);
        m.close();
        toast(creating ? t('Upstream {name} created', {name: saved.name}) : t('Upstream {name} saved', {name: saved.name}));
        await load();
      } catch (e) {
        if (e.status === 401) { m.close(); return; }
        if (e.status === 403) { m.close(); return; }
        const at = showFormError(form, e, fieldOf);
        if (at && at.dataset.field === 'script') ed.showError(e.message);
      } finally {
        save.disabled = false;
      }
    });
    if (!readOnly) form.elements.namedItem('name').focus();
  }

  if (newBtn) newBtn.addEventListener('click', () => openForm(null));
  await load();
  // From the dashboard's first-run steps: the form, filled from a preset.
  if (isAdmin && ctx.params.get('new')) {
    openForm(null, presetById(ctx.params.get('new')));
    ctx.setParams({});
  }
}
