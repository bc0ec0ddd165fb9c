// The rule as a form: condition rows in nested all / any / not groups,
// action chips with their fields, and the rule's own fields.  The form
// edits the rule object itself and only the fields the user touches, so
// form -> JSON -> form gives back the same rule; a rule the form cannot
// show (ruleProblem in rule_spec.js) stays in the JSON editor.
import {h, replace} from './dom.js';
import {t} from './i18n.js';
import {ACTIONS, LEAVES, RULE_FIELDS, actionSpec, leafSpec} from './rule_spec.js';

const TYPE_LABEL = {
  status: 'Status', body_contains: 'Body contains', body_regex: 'Body matches regex',
  json_path: 'JSON path', header: 'Header', latency: 'Latency', transport_error: 'Transport error',
  script: 'Script',
};
const ACTION_LABEL = {
  retry: 'Retry with another key', disable_key: 'Disable key', ban_key: 'Ban key', alert: 'Alert', log: 'Log',
};
const OP_LABEL = {
  eq: '=', ne: '≠', gte: '≥', lte: '≤', gt: '>', lt: '<', in: 'is one of', range: 'is between',
  contains: 'contains', regex: 'matches regex', exists: 'exists',
};
const FIELD_LABEL = {
  value: 'Value', case_insensitive: 'Ignore case', pattern: 'Pattern', path: 'Path', name: 'Name',
  value_ms: 'Milliseconds', source: 'Source', until: 'Until', duration_s: 'Seconds', scope: 'Scope',
  message: 'Message', webhook: 'Webhook URL', upstream_id: 'Upstream', enabled: 'Enabled',
  priority: 'Priority', threshold: 'Threshold', window_s: 'Window (s)', cooldown_s: 'Cooldown (s)',
  stop: 'Stop after it fires',
};
const OPTION_LABEL = {
  '': 'for the seconds below', retry_after: 'as the answer says (Retry-After)', quota_reset: 'the quota reset',
  key: 'the whole key', model: 'the request\'s model only', timeout: 'timeout', connect: 'connect',
  proxy: 'egress proxy', any: 'any',
};
const JSON_KIND = [['string', 'text'], ['number', 'number'], ['true', 'true'], ['false', 'false'], ['null', 'null']];

// A number the user typed, or the text itself so that the API names the fault.
function num(text) {
  const s = String(text).trim();
  return s !== '' && Number.isFinite(Number(s)) ? Number(s) : s;
}

function opts(list, labels, value) {
  const s = h('select', null, list.map((v) => h('option', {value: v}, labels[v] ? t(labels[v]) : v)));
  s.value = value ?? '';
  return s;
}

// A field of a leaf or an action, editing obj[f.name] in place.
function fieldInput(obj, f, onChange, ro) {
  const v = obj[f.name];
  const set = (x) => {
    if (x === undefined || (f.optional && (x === '' || x === false))) delete obj[f.name];
    else obj[f.name] = x;
    onChange();
  };
  let el;
  if (f.kind === 'bool') {
    el = h('input', {type: 'checkbox', checked: v === true, on: {change: () => set(el.checked)}});
  } else if (f.kind === 'select') {
    el = opts(f.options, OPTION_LABEL, v ?? (f.options.includes('') ? '' : f.options[0]));
    el.addEventListener('change', () => set(el.value));
  } else if (f.kind === 'code') {
    el = h('textarea', {class: 'mono', rows: '3', spellcheck: 'false', value: v ?? '', on: {input: () => set(el.value)}});
  } else if (f.kind === 'status') {
    el = h('input', {type: 'text', class: 'rule-status', value: Array.isArray(v) ? v.join(', ') : String(v ?? ''),
      on: {input: () => {
        const parts = el.value.split(/[,\s]+/).filter(Boolean).map(num);
        set(['in', 'range'].includes(obj.op) ? parts : num(el.value));
      }}});
  } else if (f.kind === 'int') {
    el = h('input', {type: 'number', value: v ?? '', on: {input: () => set(el.value === '' ? undefined : num(el.value))}});
  } else if (f.kind === 'jsonval') {
    return jsonValue(obj, f, set, ro);
  } else {
    el = h('input', {type: 'text', value: v ?? '', on: {input: () => set(el.value)}});
  }
  el.disabled = ro;
  el.setAttribute('aria-label', t(FIELD_LABEL[f.name] || f.name));
  return h('label', {class: 'rule-field', dataset: {name: f.name}},
    h('span', {class: 'rule-field-name'}, t(FIELD_LABEL[f.name] || f.name)), el);
}

// A json_path value: the text and what it is (text, number, true, ...).
function jsonValue(obj, f, set, ro) {
  const v = obj[f.name];
  const kind = v === null ? 'null' : typeof v === 'boolean' ? String(v) : typeof v === 'number' ? 'number' : 'string';
  const text = h('input', {type: 'text', value: typeof v === 'string' || typeof v === 'number' ? String(v) : '',
    'aria-label': t('Value'), disabled: ro || !['string', 'number'].includes(kind)});
  const sel = opts(JSON_KIND.map(([k]) => k), Object.fromEntries(JSON_KIND), kind);
  sel.setAttribute('aria-label', t('Value type'));
  sel.disabled = ro;
  const apply = () => {
    const k = sel.value;
    text.disabled = ro || !['string', 'number'].includes(k);
    set(k === 'null' ? null : k === 'true' ? true : k === 'false' ? false : k === 'number' ? num(text.value) : text.value);
  };
  text.addEventListener('input', apply);
  sel.addEventListener('change', apply);
  return h('label', {class: 'rule-field', dataset: {name: f.name}},
    h('span', {class: 'rule-field-name'}, t('Value')), h('span', {class: 'rule-jsonval'}, text, sel));
}

// What a leaf becomes when its op changes: the value follows the op.
function changeOp(c, op) {
  const old = c.op;
  c.op = op;
  if (c.type === 'status') {
    const first = Array.isArray(c.value) ? c.value[0] : c.value;
    c.value = op === 'in' ? [first] : op === 'range' ? [first, Array.isArray(c.value) && c.value[1] !== undefined ? c.value[1] : first] : first;
  } else if (op === 'exists') {
    delete c.value;
  } else if (old === 'exists') {
    c.value = '';
  }
}

export function ruleForm({upstreams, readOnly}) {
  const ro = Boolean(readOnly);
  const root = h('div', {class: 'rule-builder', id: 'rule-builder'});
  let rule = null;

  const rerender = () => render();
  const nop = () => {};

  function removeBtn(label, fn) {
    return ro ? null : h('button', {type: 'button', class: 'btn btn-small btn-ghost rule-remove', 'aria-label': label, title: label, on: {click: fn}}, '×');
  }

  function leafRow(c, at, setSelf, removeSelf) {
    const spec = leafSpec(c.type);
    const typeSel = opts(LEAVES.map((l) => l.type), TYPE_LABEL, c.type);
    typeSel.classList.add('rule-leaf-type');
    typeSel.setAttribute('aria-label', t('Condition type'));
    typeSel.disabled = ro;
    typeSel.addEventListener('change', () => setSelf(leafSpec(typeSel.value).blank()));
    let opSel = null;
    if (spec.ops) {
      opSel = opts(spec.ops, OP_LABEL, c.op);
      opSel.classList.add('rule-op');
      opSel.setAttribute('aria-label', t('Comparison'));
      opSel.disabled = ro;
      opSel.addEventListener('change', () => { changeOp(c, opSel.value); rerender(); });
    }
    const fields = spec.fields.filter((f) => !(f.unless && c.op === f.unless)).map((f) => fieldInput(c, f, nop, ro));
    return h('div', {class: 'rule-leaf', dataset: {at}}, typeSel, opSel, fields,
      ro ? null : h('button', {type: 'button', class: 'btn btn-small btn-ghost rule-negate', title: t('Negate'),
        on: {click: () => setSelf({not: c})}}, t('not')),
      removeSelf ? removeBtn(t('Remove condition'), removeSelf) : null);
  }

  function groupBox(c, at, setSelf, removeSelf) {
    const g = 'all' in c ? 'all' : 'any';
    const kind = opts(['all', 'any'], {all: 'all of', any: 'any of'}, g);
    kind.classList.add('rule-group-kind');
    kind.setAttribute('aria-label', t('Group'));
    kind.disabled = ro;
    kind.addEventListener('change', () => setSelf({[kind.value]: c[g]}));
    const items = c[g].map((child, i) => node(child, `${at}.${g}[${i}]`,
      (x) => { c[g][i] = x; rerender(); }, () => { c[g].splice(i, 1); rerender(); }));
    return h('div', {class: 'rule-group', dataset: {at, kind: g}},
      h('div', {class: 'rule-group-head'}, kind, h('span', {class: 'muted small'}, t('these conditions hold:')),
        removeSelf ? removeBtn(t('Remove group'), removeSelf) : null),
      h('div', {class: 'rule-group-items'}, items.length ? items : h('p', {class: 'muted small'}, t('No condition yet.'))),
      ro ? null : h('div', {class: 'rule-group-add'},
        h('button', {type: 'button', class: 'btn btn-small rule-add-leaf', on: {click: () => { c[g].push(leafSpec('status').blank()); rerender(); }}}, t('+ Condition')),
        h('button', {type: 'button', class: 'btn btn-small rule-add-group', on: {click: () => { c[g].push({any: [leafSpec('status').blank()]}); rerender(); }}}, t('+ Group'))));
  }

  function node(c, at, setSelf, removeSelf) {
    if ('not' in c) {
      return h('div', {class: 'rule-not', dataset: {at}},
        h('div', {class: 'rule-group-head'}, h('strong', null, t('not')), h('span', {class: 'muted small'}, t('this does not hold:')),
          ro ? null : h('button', {type: 'button', class: 'btn btn-small btn-ghost', on: {click: () => setSelf(c.not)}}, t('Drop "not"')),
          removeSelf ? removeBtn(t('Remove condition'), removeSelf) : null),
        node(c.not, `${at}.not`, (x) => { c.not = x; rerender(); }, null));
    }
    if ('all' in c || 'any' in c) return groupBox(c, at, setSelf, removeSelf);
    return leafRow(c, at, setSelf, removeSelf);
  }

  function actionChip(a, i) {
    const spec = actionSpec(a.type);
    return h('div', {class: 'rule-action', dataset: {at: `actions[${i}]`, type: a.type}},
      h('strong', {class: 'rule-action-name'}, t(ACTION_LABEL[a.type])),
      spec.fields.filter((f) => !(a.type === 'disable_key' && f.name === 'duration_s' && a.until === 'quota_reset'))
        .map((f) => fieldInput(a, f, f.name === 'until' ? rerender : nop, ro)),
      removeBtn(t('Remove action'), () => { rule.actions.splice(i, 1); rerender(); }));
  }

  function ruleField(f) {
    const has = f.name in rule;
    const shown = {...f, optional: false};
    const holder = {[f.name]: has ? rule[f.name] : f.def};
    const write = () => {
      if (holder[f.name] === undefined) delete rule[f.name];
      else rule[f.name] = holder[f.name];
    };
    if (f.kind === 'upstream') {
      const sel = h('select', {'aria-label': t('Upstream'), disabled: ro},
        h('option', {value: ''}, t('every upstream')),
        upstreams().map((u) => h('option', {value: String(u.id)}, u.name)));
      sel.value = rule.upstream_id ? String(rule.upstream_id) : '';
      sel.addEventListener('change', () => { rule.upstream_id = sel.value ? Number(sel.value) : null; });
      return h('label', {class: 'rule-field', dataset: {name: f.name}, title: f.about()},
        h('span', {class: 'rule-field-name'}, t('Upstream')), sel);
    }
    const el = fieldInput(holder, shown, write, ro);
    el.title = f.about();
    return el;
  }

  function render() {
    if (!rule) return replace(root);
    const addAction = opts(['', ...ACTIONS.map((a) => a.type)], {'': '+ Action', ...ACTION_LABEL}, '');
    addAction.id = 'rule-add-action';
    addAction.setAttribute('aria-label', t('Add an action'));
    addAction.addEventListener('change', () => {
      if (!addAction.value) return;
      rule.actions.push(actionSpec(addAction.value).blank());
      rerender();
    });
    replace(root,
      h('div', {class: 'rule-fields'}, RULE_FIELDS.map(ruleField)),
      h('h3', {class: 'rule-part'}, t('When')),
      node(rule.condition, 'condition', (x) => { rule.condition = x; rerender(); }, null),
      ro || 'all' in rule.condition || 'any' in rule.condition ? null
        : h('button', {type: 'button', class: 'btn btn-small rule-add-leaf', id: 'rule-root-add',
          on: {click: () => { rule.condition = {all: [rule.condition, leafSpec('status').blank()]}; rerender(); }}}, t('+ Condition')),
      h('h3', {class: 'rule-part'}, t('Then')),
      h('div', {class: 'rule-actions'}, rule.actions.map(actionChip), ro ? null : addAction));
  }

  return {
    el: root,
    // Shows a rule the form can show (checked by the caller); the form
    // edits its own copy.
    set(r) { rule = structuredClone(r); render(); },
    get() { return structuredClone(rule); },
    // Marks the row or chip at the place an API error names.
    mark(place) {
      for (const e of root.querySelectorAll('.has-error')) e.classList.remove('has-error');
      let best = null;
      for (const e of root.querySelectorAll('[data-at]')) {
        const at = e.dataset.at;
        if ((place === at || place.startsWith(at + '.') || place.startsWith(at + '[')) && (!best || at.length > best.dataset.at.length)) best = e;
      }
      if (best) best.classList.add('has-error');
    },
  };
}
