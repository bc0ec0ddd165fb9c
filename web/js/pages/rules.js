// Rules: the list in the order they run with their hits of the last 24 h,
// an editor that is a form (rule_form.js) or JSON, with the reference of
// every condition and action beside it, templates with what they are for,
// the sample panel (dry run, which rules fire in order, a logged request;
// rule_dryrun.js) and the backtest panel (rule_backtest.js).
import * as api from '../api.js';
import {
  boolBadge, clearErrors, confirmDialog, field, formError, h, pageHead, replace, showFormError, table, toast,
} from '../dom.js';
import {fmtNumber, t} from '../i18n.js';
import {backtestCard} from '../rule_backtest.js';
import {samplePanel} from '../rule_dryrun.js';
import {leafAt} from '../rule_order.js';
import {ruleForm} from '../rule_form.js';
import {ruleReference} from '../rule_reference.js';
import {ruleProblem} from '../rule_spec.js';
import {TEMPLATES, templateGroup} from '../rule_templates.js';

const READ_ONLY = ['id', 'created_at', 'updated_at'];

function summarize(c, depth = 0) {
  if (!c || typeof c !== 'object') return '?';
  if (depth > 2) return '…';
  if (c.all) return c.all.map((x) => summarize(x, depth + 1)).join(' ' + t('and') + ' ');
  if (c.any) return '(' + c.any.map((x) => summarize(x, depth + 1)).join(' ' + t('or') + ' ') + ')';
  if (c.not) return t('not') + ' ' + summarize(c.not, depth + 1);
  const val = c.op === 'exists' ? '' : ' ' + JSON.stringify(c.value);
  switch (c.type) {
    case 'status': return t('status') + ` ${c.op} ${JSON.stringify(c.value)}`;
    case 'body_contains': return t('body contains "{v}"', {v: c.value});
    case 'body_regex': return t('body') + ` ~ /${c.pattern}/`;
    case 'json_path': return `${c.path} ${c.op}${val}`;
    case 'header': return t('header') + ` ${c.name} ${c.op}${val}`;
    case 'latency': return t('latency') + ` ${c.op} ${c.value_ms} ms`;
    case 'transport_error': return t('transport error ({v})', {v: c.value});
    default: return String(c.type);
  }
}

function actionText(a) {
  if (a.type === 'disable_key') {
    // scope model: the key rests for the request's model only.
    const m = a.scope === 'model';
    if (a.until === 'quota_reset') return m ? t('exhaust key for the model until quota reset') : t('exhaust key until quota reset');
    if (a.until === 'retry_after') return m ? t('disable key for the model per Retry-After') : t('disable key per Retry-After');
    if (a.duration_s) return m ? t('disable key for the model {s} s', {s: a.duration_s}) : t('disable key {s} s', {s: a.duration_s});
    return m ? t('disable key for the model') : t('disable key');
  }
  const names = {retry: 'retry', ban_key: 'ban key', alert: 'alert', log: 'log'};
  return names[a.type] ? t(names[a.type]) : a.type;
}

// Retry and log leave no record a hit could be counted from.
const leavesRecord = (r) => Array.isArray(r.actions) && r.actions.some((a) => ['disable_key', 'ban_key', 'alert'].includes(a.type));

function hitsCell(r, hits) {
  if (!leavesRecord(r)) return h('span', {class: 'muted', title: t('Retry and log actions leave no record to count; the request log lists the rules that fired.')}, '—');
  const x = hits.get(r.id) || {key_events: 0, alerts: 0};
  return h('span', {class: 'rule-hits', title: t('{e} key events, {a} alerts', {e: x.key_events, a: x.alerts})},
    fmtNumber(x.key_events + x.alerts));
}

export async function render(view, ctx) {
  const canWrite = ctx.can('operator');
  let upstreams = [];
  let rules = [];
  let editing = null; // the stored rule being edited, or null for a new one
  let mode = 'form'; // what the editor shows: the form or the JSON
  let preferred = 'form'; // what the user asked for last, kept across rules

  const newBtn = canWrite ? h('button', {type: 'button', class: 'btn btn-primary', id: 'rule-new'}, t('New rule')) : null;
  const listBox = h('div', {id: 'rules-list'}, h('p', {class: 'muted'}, t('Loading…')));

  // ---- editor ----
  const tplSel = h('select', {name: 'template', 'aria-label': t('Template'), id: 'rule-template'},
    h('option', {value: ''}, t('Start from a template…')),
    [...new Set(TEMPLATES.map((x) => x.group))].map((g) => h('optgroup', {label: templateGroup(g)},
      TEMPLATES.filter((x) => x.group === g).map((x) => h('option', {value: x.id, title: x.about()}, x.id)))));
  const tplAbout = h('p', {class: 'small muted', id: 'rule-template-about', hidden: true});
  const editor = h('textarea', {name: 'rule', id: 'rule-json', class: 'mono code', rows: '16', spellcheck: 'false',
    'aria-label': t('Rule as JSON'), readOnly: !canWrite});
  const form = ruleForm({upstreams: () => upstreams, readOnly: !canWrite});
  const formBox = h('div', {class: 'field', dataset: {field: 'rule-form'}}, form.el,
    h('div', {class: 'field-error', role: 'alert', hidden: true}));
  const jsonBox = field(t('Rule (JSON)'), editor, t('name, upstream_id (null = every upstream), enabled, priority, condition, actions, threshold, window_s, cooldown_s, stop: see the reference.'));
  const jsonNote = h('p', {class: 'small warn', id: 'rule-json-note', hidden: true});
  const modeBtn = (m, label) => h('button', {type: 'button', class: 'btn btn-small', id: `rule-mode-${m}`,
    on: {click: () => setMode(m)}}, label);
  const modeForm = modeBtn('form', t('Form'));
  const modeJson = modeBtn('json', t('JSON'));
  const editorTitle = h('h2', {id: 'rule-editor-title'}, t('New rule'));
  const saveBtn = canWrite ? h('button', {type: 'submit', class: 'btn btn-primary', id: 'rule-save'}, t('Save rule')) : null;
  const fmtBtn = h('button', {type: 'button', class: 'btn', on: {click: () => {
    try { editor.value = JSON.stringify(JSON.parse(editor.value), null, 2); clearErrors(editorForm); } catch (e) { showJsonError(e); }
  }}}, t('Format'));
  const closeBtn = h('button', {type: 'button', class: 'btn btn-ghost', on: {click: () => { editorCard.hidden = true; sample.editorOpen(false); }}}, t('Close'));
  const editorForm = h('form', {class: 'form', id: 'rule-form', novalidate: true},
    canWrite ? tplSel : null, tplAbout,
    h('div', {class: 'rule-mode', role: 'group', 'aria-label': t('Edit as')}, modeForm, modeJson),
    jsonNote, formBox, jsonBox,
    formError(),
    h('div', {class: 'actions'}, closeBtn, fmtBtn, saveBtn));
  const editorCard = h('section', {class: 'card', id: 'rule-editor', hidden: true}, editorTitle,
    h('div', {class: 'rule-editor-grid'}, editorForm, ruleReference()));

  function showMode() {
    formBox.hidden = mode !== 'form';
    jsonBox.hidden = mode !== 'json';
    fmtBtn.hidden = mode !== 'json';
    modeForm.setAttribute('aria-pressed', String(mode === 'form'));
    modeJson.setAttribute('aria-pressed', String(mode === 'json'));
  }

  // Shows obj in the mode asked for; a rule the form cannot show stays
  // in the JSON editor, with a note saying which part.
  function showRule(obj, want) {
    editor.value = JSON.stringify(obj, null, 2);
    const problem = ruleProblem(obj);
    jsonNote.hidden = !(want === 'form' && problem);
    if (want === 'form' && problem) {
      jsonNote.textContent = t('The form cannot show {place}: edit this rule as JSON.', {place: problem});
      mode = 'json';
    } else {
      mode = want;
      if (mode === 'form') form.set(obj);
    }
    showMode();
  }

  function setMode(m) {
    clearErrors(editorForm);
    preferred = m;
    if (m === mode) return;
    if (m === 'json') {
      showRule(form.get(), 'json');
      return;
    }
    const obj = editorRule();
    if (obj) showRule(obj, 'form');
  }

  // ---- the sample panel and the backtest ----
  const sample = samplePanel({
    editorRule: () => { clearErrors(editorForm); return editorRule(); },
    editorError: (e) => showRuleError(e),
    upstreams: () => upstreams,
    describe: (id, at) => {
      const leaf = leafAt(rules.find((r) => r.id === id), at);
      return leaf ? summarize(leaf) : null;
    },
  });
  const backCard = canWrite ? backtestCard({
    editorRule: () => { clearErrors(editorForm); return editorRule(); },
    editorError: (e) => showRuleError(e),
    upstreams: () => upstreams,
  }) : null;
  sample.editorOpen(false);

  view.append(pageHead(t('Rules'), newBtn),
    h('p', {class: 'muted intro'}, t('Rules run on every answer, lowest priority first, and decide what it means for the key: retry with another key, rest the key, ban it, alert, or log.')),
    h('section', {class: 'card card-flush'}, listBox),
    editorCard,
    canWrite ? sample.card : null, backCard);

  function upName(id) {
    if (id === null || id === undefined) return t('all upstreams');
    return (upstreams.find((u) => u.id === id) || {}).name || `#${id}`;
  }

  async function load() {
    const [rl, ul, hits] = await Promise.all([api.listAll('/rules'), api.listAll('/upstreams'),
      api.get('/rules/hits').catch(() => ({items: []}))]);
    rules = rl;
    upstreams = ul;
    if (!ctx.isCurrent()) return;
    sample.fillUpstreams();
    const byRule = new Map(hits.items.map((x) => [x.rule_id, x]));
    replace(listBox, table([
      {title: t('Priority'), class: 'num', cell: (r) => String(r.priority)},
      {title: t('Name'), cell: (r) => h('button', {type: 'button', class: 'link', on: {click: () => openEditor(r)}}, r.name)},
      {title: t('Upstream'), cell: (r) => upName(r.upstream_id)},
      {title: t('Enabled'), cell: (r) => boolBadge(r.enabled, t('yes'), t('no'))},
      {title: t('When'), class: 'mono small wrap', cell: (r) => summarize(r.condition)},
      {title: t('Does'), class: 'small', cell: (r) => (Array.isArray(r.actions) ? r.actions.map(actionText).join(', ') : '?') + (r.stop ? t('; stop') : '')},
      {title: t('Threshold'), class: 'small nowrap', cell: (r) => (r.threshold > 1 ? t('{n} in {s} s', {n: r.threshold, s: r.window_s}) : t('every match')) + (r.cooldown_s ? t(', cooldown {s} s', {s: r.cooldown_s}) : '')},
      {title: t('Hits (24 h)'), class: 'num', cell: (r) => hitsCell(r, byRule)},
      {title: '', class: 'actions-cell', cell: (r) => [
        h('button', {type: 'button', class: 'btn btn-small', on: {click: () => openEditor(r)}}, canWrite ? t('Edit') : t('View')),
        canWrite ? h('button', {type: 'button', class: 'btn btn-small', on: {click: () => toggle(r)}}, r.enabled ? t('Disable') : t('Enable')) : null,
        canWrite ? h('button', {type: 'button', class: 'btn btn-small btn-danger-ghost', on: {click: () => remove(r)}}, t('Delete')) : null,
      ]},
    ], rules, {empty: t('No rules. Start from a template: the default rules tell dead keys from exhausted ones.'),
      rowAttrs: (r) => ({dataset: {id: r.id, name: r.name}})}));
  }

  function clean(rule) {
    const r = {...rule};
    for (const k of READ_ONLY) delete r[k];
    return r;
  }

  function openEditor(rule, template) {
    editing = rule || null;
    editorTitle.textContent = rule ? (canWrite ? t('Edit rule {name}', {name: rule.name}) : t('Rule {name}', {name: rule.name})) : t('New rule');
    const obj = rule ? clean(rule) : structuredClone(template || TEMPLATES.find((x) => x.id === 'blank').rule);
    clearErrors(editorForm);
    showRule(obj, preferred);
    tplSel.value = '';
    tplAbout.hidden = true;
    editorCard.hidden = false;
    sample.editorOpen(canWrite);
    if (backCard) backCard.hidden = false;
    editorCard.scrollIntoView({block: 'nearest'});
    if (canWrite && mode === 'json') editor.focus();
  }

  tplSel.addEventListener('change', () => {
    const tpl = TEMPLATES.find((x) => x.id === tplSel.value);
    if (!tpl) return;
    openEditor(null, tpl.rule); // a template always makes a new rule
    editorTitle.textContent = t('New rule from {id}', {id: tpl.id});
    tplAbout.textContent = tpl.about();
    tplAbout.hidden = false;
    sample.fill(tpl.sample);
  });

  function showJsonError(e) {
    const m = /position (\d+)/.exec(e.message);
    showFormError(editorForm, {message: t('rule: not valid JSON: {why}', {why: e.message})});
    if (m) {
      const pos = Number(m[1]);
      editor.focus();
      editor.setSelectionRange(pos, Math.min(pos + 1, editor.value.length));
    }
  }

  // The editor's rule (the form's, or the JSON's) without the stored
  // rule's read-only fields, or null after showing why it cannot be read.
  function editorRule() {
    if (mode === 'form') return clean(form.get());
    let obj;
    try {
      obj = JSON.parse(editor.value);
    } catch (e) {
      showJsonError(e);
      return null;
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
      showFormError(editorForm, {message: t('rule: must be a JSON object')});
      return null;
    }
    return clean(obj);
  }

  // The API names the place of a fault ("condition.all[1].pattern: ...",
  // "rule.condition..." from the dry run); it goes to the editor, and in
  // the form to the row or chip at that place.
  function showRuleError(e) {
    showFormError(editorForm, e, () => (mode === 'form' ? 'rule-form' : 'rule'));
    const m = /^(?:rule\.)?([\w.[\]]+):/.exec(e.message || '');
    if (mode === 'form' && m) form.mark(m[1]);
  }

  editorForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!canWrite) return;
    clearErrors(editorForm);
    const rule = editorRule();
    if (!rule) return;
    saveBtn.disabled = true;
    try {
      const saved = editing ? await api.request('PUT', `/rules/${editing.id}`, {body: rule}) : await api.post('/rules', rule);
      toast(t('Rule {name} saved', {name: saved.name}));
      editing = saved;
      editorTitle.textContent = t('Edit rule {name}', {name: saved.name});
      showRule(clean(saved), mode);
      await load();
    } catch (e) {
      if (e.status === 401 || e.status === 403) return;
      showRuleError(e);
    } finally {
      saveBtn.disabled = false;
    }
  });

  async function toggle(r) {
    await ctx.guard(async () => {
      await api.patch(`/rules/${r.id}`, {enabled: !r.enabled});
      toast(r.enabled ? t('Rule {name} disabled', {name: r.name}) : t('Rule {name} enabled', {name: r.name}));
      await load();
    });
  }

  async function remove(r) {
    if (!await confirmDialog(t('Delete rule'), t('Delete rule {name}? Default rules are not created again.', {name: r.name}), t('Delete'))) return;
    await ctx.guard(async () => {
      await api.del(`/rules/${r.id}`);
      toast(t('Rule {name} deleted', {name: r.name}));
      if (editing && editing.id === r.id) editorCard.hidden = true;
      await load();
    });
  }

  if (newBtn) newBtn.addEventListener('click', () => {
    openEditor(null);
    sample.fill(TEMPLATES.find((x) => x.id === 'blank').sample);
  });

  showMode();
  // A rule opened before the upstreams are read would offer none of them.
  if (newBtn) newBtn.disabled = true;
  try {
    await load();
  } finally {
    if (newBtn) newBtn.disabled = false;
  }
}
