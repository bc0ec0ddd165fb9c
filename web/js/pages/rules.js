// Rules: the list in the order they run, a JSON editor that shows the
// API's validation messages, templates of the default rules and recipes,
// the dry-run panel and the backtest panel (rule_backtest.js).
import * as api from '../api.js';
import {
  badge, boolBadge, clearErrors, confirmDialog, field, formError, h, input, pageHead, replace,
  select, showFormError, table, toast,
} from '../dom.js';
import {backtestCard} from '../rule_backtest.js';
import {TEMPLATES} from '../rule_templates.js';

const READ_ONLY = ['id', 'created_at', 'updated_at'];

function summarize(c, depth = 0) {
  if (!c || typeof c !== 'object') return '?';
  if (depth > 2) return '…';
  if (c.all) return c.all.map((x) => summarize(x, depth + 1)).join(' and ');
  if (c.any) return '(' + c.any.map((x) => summarize(x, depth + 1)).join(' or ') + ')';
  if (c.not) return 'not ' + summarize(c.not, depth + 1);
  switch (c.type) {
    case 'status': return `status ${c.op} ${JSON.stringify(c.value)}`;
    case 'body_contains': return `body contains "${c.value}"`;
    case 'body_regex': return `body ~ /${c.pattern}/`;
    case 'json_path': return `${c.path} ${c.op}${c.op === 'exists' ? '' : ' ' + JSON.stringify(c.value)}`;
    case 'header': return `header ${c.name} ${c.op}${c.op === 'exists' ? '' : ' ' + JSON.stringify(c.value)}`;
    case 'latency': return `latency ${c.op} ${c.value_ms} ms`;
    case 'transport_error': return `transport error (${c.value})`;
    default: return String(c.type);
  }
}

function actionText(a) {
  if (a.type === 'disable_key') {
    // scope model: the key rests for the request's model only.
    const what = a.scope === 'model' ? 'key for the model' : 'key';
    if (a.until === 'quota_reset') return `exhaust ${what} until quota reset`;
    if (a.until === 'retry_after') return `disable ${what} per Retry-After`;
    return a.duration_s ? `disable ${what} ${a.duration_s} s` : `disable ${what}`;
  }
  if (a.type === 'ban_key') return 'ban key';
  if (a.type === 'alert') return 'alert';
  if (a.type === 'log') return 'log';
  return a.type;
}

// "Name: value" lines to a headers object.
function parseHeaders(textValue) {
  const out = {};
  for (const line of textValue.split('\n')) {
    if (!line.trim()) continue;
    const i = line.indexOf(':');
    if (i <= 0) throw new Error(`headers: "${line.trim()}" is not "Name: value"`);
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

export async function render(view, ctx) {
  const canWrite = ctx.can('operator');
  let upstreams = [];
  let rules = [];
  let editing = null; // the stored rule being edited, or null for a new one

  const newBtn = canWrite ? h('button', {type: 'button', class: 'btn btn-primary', id: 'rule-new'}, 'New rule') : null;
  const listBox = h('div', {id: 'rules-list'}, h('p', {class: 'muted'}, 'Loading…'));

  // ---- editor ----
  const tplSel = h('select', {name: 'template', 'aria-label': 'Template', id: 'rule-template'},
    h('option', {value: ''}, 'Start from a template…'),
    [...new Set(TEMPLATES.map((t) => t.group))].map((g) => h('optgroup', {label: g},
      TEMPLATES.filter((t) => t.group === g).map((t) => h('option', {value: t.id}, t.id)))));
  const editor = h('textarea', {name: 'rule', id: 'rule-json', class: 'mono code', rows: '16', spellcheck: 'false',
    'aria-label': 'Rule as JSON', readOnly: !canWrite});
  const editorTitle = h('h2', {id: 'rule-editor-title'}, 'New rule');
  const saveBtn = canWrite ? h('button', {type: 'submit', class: 'btn btn-primary', id: 'rule-save'}, 'Save rule') : null;
  const fmtBtn = h('button', {type: 'button', class: 'btn', on: {click: () => {
    try { editor.value = JSON.stringify(JSON.parse(editor.value), null, 2); clearErrors(editorForm); } catch (e) { showJsonError(e); }
  }}}, 'Format');
  const closeBtn = h('button', {type: 'button', class: 'btn btn-ghost', on: {click: () => { editorCard.hidden = true; }}}, 'Close');
  const editorForm = h('form', {class: 'form', id: 'rule-form', novalidate: true},
    canWrite ? tplSel : null,
    field('Rule (JSON)', editor, 'name, upstream_id (null = every upstream), enabled, priority, condition, actions, threshold, window_s, cooldown_s, stop — see docs/RULES.md.'),
    formError(),
    h('div', {class: 'actions'}, closeBtn, fmtBtn, saveBtn));
  const editorCard = h('section', {class: 'card', id: 'rule-editor', hidden: true}, editorTitle, editorForm);

  // ---- dry run ----
  const dr = {
    status: input('status', {type: 'number', value: '429', 'aria-label': 'Status'}),
    headers: h('textarea', {name: 'headers', rows: '3', class: 'mono', spellcheck: 'false', placeholder: 'Retry-After: 20'}),
    body: h('textarea', {name: 'body', rows: '5', class: 'mono', spellcheck: 'false', placeholder: '{"error": {...}}'}),
    latency: input('latency_ms', {type: 'number', value: '0'}),
    transport: select('transport_error', [['', 'none (an answer came)'], ['timeout', 'timeout'], ['connect', 'connect'], ['proxy', 'proxy'], ['other', 'other']]),
  };
  const drResult = h('div', {class: 'dryrun-result', id: 'dryrun-result', 'aria-live': 'polite'});
  const drForm = h('form', {class: 'form', id: 'dryrun-form', novalidate: true},
    h('div', {class: 'field-row'},
      field('Status', dr.status, '0 = no answer'),
      field('Latency (ms)', dr.latency),
      field('Transport error', dr.transport)),
    field('Headers (one "Name: value" a line)', dr.headers),
    field('Body', dr.body),
    formError(),
    h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'btn btn-primary', id: 'dryrun-run'}, 'Run dry run')),
    drResult);
  const dryCard = canWrite ? h('section', {class: 'card', id: 'dryrun', hidden: true},
    h('h2', null, 'Dry run'),
    h('p', {class: 'muted small'}, 'Tests the rule in the editor against an answer you describe. Nothing is changed and nothing is counted.'),
    drForm) : null;

  // ---- backtest ----
  const backCard = canWrite ? backtestCard({
    editorRule: () => { clearErrors(editorForm); return editorRule(); },
    editorError: (e) => showFormError(editorForm, e, toEditor),
    upstreams: () => upstreams,
  }) : null;

  view.append(pageHead('Rules', newBtn),
    h('p', {class: 'muted intro'}, 'Rules run on every answer, lowest priority first, and decide what it means for the key: retry with another key, rest the key, ban it, alert, or log.'),
    h('section', {class: 'card card-flush'}, listBox),
    h('div', {class: 'grid-2 editor-grid'}, editorCard, dryCard), backCard);

  function upName(id) {
    if (id === null || id === undefined) return 'all upstreams';
    return (upstreams.find((u) => u.id === id) || {}).name || `#${id}`;
  }

  async function load() {
    [rules, upstreams] = await Promise.all([api.listAll('/rules'), api.listAll('/upstreams')]);
    if (!ctx.isCurrent()) return;
    replace(listBox, table([
      {title: 'Priority', class: 'num', cell: (r) => String(r.priority)},
      {title: 'Name', cell: (r) => h('button', {type: 'button', class: 'link', on: {click: () => openEditor(r)}}, r.name)},
      {title: 'Upstream', cell: (r) => upName(r.upstream_id)},
      {title: 'Enabled', cell: (r) => boolBadge(r.enabled)},
      {title: 'When', class: 'mono small wrap', cell: (r) => summarize(r.condition)},
      {title: 'Does', class: 'small', cell: (r) => (Array.isArray(r.actions) ? r.actions.map(actionText).join(', ') : '?') + (r.stop ? '; stop' : '')},
      {title: 'Threshold', class: 'small nowrap', cell: (r) => (r.threshold > 1 ? `${r.threshold} in ${r.window_s} s` : 'every match') + (r.cooldown_s ? `, cooldown ${r.cooldown_s} s` : '')},
      {title: '', class: 'actions-cell', cell: (r) => [
        h('button', {type: 'button', class: 'btn btn-small', on: {click: () => openEditor(r)}}, canWrite ? 'Edit' : 'View'),
        canWrite ? h('button', {type: 'button', class: 'btn btn-small', on: {click: () => toggle(r)}}, r.enabled ? 'Disable' : 'Enable') : null,
        canWrite ? h('button', {type: 'button', class: 'btn btn-small btn-danger-ghost', on: {click: () => remove(r)}}, 'Delete') : null,
      ]},
    ], rules, {empty: 'No rules. Start from a template: the default rules tell dead keys from exhausted ones.',
      rowAttrs: (r) => ({dataset: {id: r.id, name: r.name}})}));
  }

  function clean(rule) {
    const r = {...rule};
    for (const k of READ_ONLY) delete r[k];
    return r;
  }

  function openEditor(rule, template) {
    editing = rule || null;
    editorTitle.textContent = rule ? (canWrite ? `Edit rule ${rule.name}` : `Rule ${rule.name}`) : 'New rule';
    const obj = rule ? clean(rule) : (template || TEMPLATES.find((t) => t.id === 'blank').rule);
    editor.value = JSON.stringify(obj, null, 2);
    tplSel.value = '';
    clearErrors(editorForm);
    editorCard.hidden = false;
    if (dryCard) {
      dryCard.hidden = false;
      replace(drResult);
      clearErrors(drForm);
    }
    if (backCard) backCard.hidden = false;
    editorCard.scrollIntoView({block: 'nearest'});
    if (canWrite) editor.focus();
  }

  function fillSample(sample) {
    dr.status.value = String(sample.status ?? 0);
    dr.headers.value = sample.headers || '';
    dr.body.value = sample.body || '';
    dr.latency.value = String(sample.latency_ms || 0);
    dr.transport.value = sample.transport_error || '';
  }

  tplSel.addEventListener('change', () => {
    const t = TEMPLATES.find((x) => x.id === tplSel.value);
    if (!t) return;
    openEditor(null, t.rule); // a template always makes a new rule
    editorTitle.textContent = `New rule from ${t.id}`;
    fillSample(t.sample);
  });

  function showJsonError(e) {
    const m = /position (\d+)/.exec(e.message);
    showFormError(editorForm, {message: 'rule: not valid JSON: ' + e.message});
    if (m) {
      const pos = Number(m[1]);
      editor.focus();
      editor.setSelectionRange(pos, Math.min(pos + 1, editor.value.length));
    }
  }

  // The editor's rule, or null after showing why it cannot be read.
  function editorRule() {
    let obj;
    try {
      obj = JSON.parse(editor.value);
    } catch (e) {
      showJsonError(e);
      return null;
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
      showFormError(editorForm, {message: 'rule: must be a JSON object'});
      return null;
    }
    return clean(obj);
  }

  // The API names the place of a fault ("condition.all[1].pattern: ...");
  // every such message belongs to the editor.
  const toEditor = () => 'rule';

  editorForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!canWrite) return;
    clearErrors(editorForm);
    const rule = editorRule();
    if (!rule) return;
    saveBtn.disabled = true;
    try {
      const saved = editing ? await api.request('PUT', `/rules/${editing.id}`, {body: rule}) : await api.post('/rules', rule);
      toast(`Rule ${saved.name} saved`);
      editing = saved;
      editorTitle.textContent = `Edit rule ${saved.name}`;
      editor.value = JSON.stringify(clean(saved), null, 2);
      await load();
    } catch (e) {
      if (e.status === 401 || e.status === 403) return;
      showFormError(editorForm, e, toEditor);
    } finally {
      saveBtn.disabled = false;
    }
  });

  drForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(drForm);
    clearErrors(editorForm);
    replace(drResult);
    const rule = editorRule();
    if (!rule) return;
    const response = {};
    try {
      if (dr.status.value.trim() !== '') response.status = Number(dr.status.value);
      const hdrs = parseHeaders(dr.headers.value);
      if (Object.keys(hdrs).length) response.headers = hdrs;
    } catch (e) {
      showFormError(drForm, {message: e.message});
      return;
    }
    if (dr.body.value !== '') response.body = dr.body.value;
    if (dr.latency.value.trim() !== '') response.latency_ms = Number(dr.latency.value);
    if (dr.transport.value) response.transport_error = dr.transport.value;
    try {
      const r = await api.post('/rules/test', {rule, response});
      replace(drResult,
        h('p', {class: 'verdict', id: 'dryrun-verdict', dataset: {matched: String(r.matched)}},
          'Matched: ', badge(r.matched ? 'true' : 'false', r.matched ? 'ok' : 'neutral')),
        r.matched ? h('div', null, h('div', {class: 'small muted'}, 'Actions it would take:'),
          h('pre', {class: 'code'}, JSON.stringify(r.actions, null, 2))) : null,
        h('p', {class: 'small muted'}, r.threshold > 1
          ? `On the proxy it fires after ${r.threshold} matches within ${r.window_s} s for the same key.`
          : 'On the proxy it fires on every match.'));
    } catch (e) {
      if (e.status === 401 || e.status === 403) return;
      // "rule.condition...": the editor's; "response.status": the panel's.
      const msg = e.message || '';
      if (/^rule[.:]/.test(msg)) showFormError(editorForm, e, toEditor);
      else showFormError(drForm, e, (name) => {
        const m = /^response\.(\w+)/.exec(name);
        if (!m) return null;
        return m[1] === 'transport_error' ? 'transport_error' : m[1];
      });
    }
  });

  async function toggle(r) {
    await ctx.guard(async () => {
      await api.patch(`/rules/${r.id}`, {enabled: !r.enabled});
      toast(`Rule ${r.name} ${r.enabled ? 'disabled' : 'enabled'}`);
      await load();
    });
  }

  async function remove(r) {
    if (!await confirmDialog('Delete rule', `Delete rule ${r.name}? Default rules are not created again.`, 'Delete')) return;
    await ctx.guard(async () => {
      await api.del(`/rules/${r.id}`);
      toast(`Rule ${r.name} deleted`);
      if (editing && editing.id === r.id) editorCard.hidden = true;
      await load();
    });
  }

  if (newBtn) newBtn.addEventListener('click', () => {
    openEditor(null);
    fillSample(TEMPLATES.find((t) => t.id === 'blank').sample);
  });

  await load();
}
