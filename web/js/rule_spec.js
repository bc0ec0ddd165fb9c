// What a rule may hold, as the engine compiles it (fcgi-app/core/rule/
// rule_cond.c and rule.c, docs/RULES.md): every leaf with its fields and
// ops, every action with its fields.  The form builder (rule_form.js) and
// the reference beside it (rule_reference.js) both read these tables, so
// the form offers exactly what the reference describes.
import {t} from './i18n.js';

// Field kinds: 'status' (an int, a list or a range by op), 'text', 'int',
// 'bool', 'jsonval' (a JSON string, number, boolean or null), 'select',
// 'code' (a script's source).
export const LEAVES = [
  {type: 'status', ops: ['eq', 'ne', 'gte', 'lte', 'in', 'range'],
    fields: [{name: 'value', kind: 'status'}],
    blank: () => ({type: 'status', op: 'eq', value: 429}),
    about: () => t('The answer\'s status compares so; never true when no answer came. "in" takes a list (401, 403), "range" two numbers (500, 599).')},
  {type: 'body_contains', fields: [{name: 'value', kind: 'text'}, {name: 'case_insensitive', kind: 'bool', optional: true}],
    blank: () => ({type: 'body_contains', value: ''}),
    about: () => t('The body (its first rule_body_limit bytes) contains the text.')},
  {type: 'body_regex', fields: [{name: 'pattern', kind: 'text'}],
    blank: () => ({type: 'body_regex', pattern: ''}),
    about: () => t('The PCRE2 pattern matches somewhere in the body.')},
  {type: 'json_path', ops: ['eq', 'ne', 'contains', 'gt', 'lt', 'regex', 'exists'],
    fields: [{name: 'path', kind: 'text'}, {name: 'value', kind: 'jsonval', unless: 'exists'}],
    blank: () => ({type: 'json_path', path: '$.error.code', op: 'eq', value: ''}),
    about: () => t('The body parsed as JSON has this value at the path ($.error.code, $.choices[0].finish_reason). A missing path or a body that is not JSON makes it false.')},
  {type: 'header', ops: ['eq', 'contains', 'exists', 'regex'],
    fields: [{name: 'name', kind: 'text'}, {name: 'value', kind: 'text', unless: 'exists'}],
    blank: () => ({type: 'header', name: 'retry-after', op: 'exists'}),
    about: () => t('Some header of that name (any case) compares so.')},
  {type: 'latency', ops: ['gt', 'lt'], fields: [{name: 'value_ms', kind: 'int'}],
    blank: () => ({type: 'latency', op: 'gt', value_ms: 10000}),
    about: () => t('The time from sending the request to the answer\'s headers, in milliseconds.')},
  {type: 'transport_error', fields: [{name: 'value', kind: 'select', options: ['timeout', 'connect', 'proxy', 'any']}],
    blank: () => ({type: 'transport_error', value: 'any'}),
    about: () => t('No answer came, for that reason; "proxy": the egress proxy failed (such an attempt never counts against the key, so do not ban or disable on it).')},
  {type: 'script', fields: [{name: 'source', kind: 'code'}],
    blank: () => ({type: 'script', source: 'return res.status === 429;'}),
    about: () => t('A script (see the upstream\'s script editor) that returns true or false; it sees the answer as res.')},
];

export const GROUPS = [
  {key: 'all', about: () => t('all: every condition inside holds.')},
  {key: 'any', about: () => t('any: at least one condition inside holds.')},
  {key: 'not', about: () => t('not: the one condition inside does not hold.')},
];

export const ACTIONS = [
  {type: 'retry', fields: [], blank: () => ({type: 'retry'}),
    about: () => t('The attempt failed: try again with another key, before any byte reached the client.')},
  {type: 'disable_key', fields: [
    {name: 'until', kind: 'select', options: ['', 'retry_after', 'quota_reset'], optional: true},
    {name: 'duration_s', kind: 'int', optional: true},
    {name: 'scope', kind: 'select', options: ['key', 'model'], optional: true}],
  blank: () => ({type: 'disable_key', duration_s: 600}),
  about: () => t('Rest the key: for duration_s seconds (0: until enabled by hand); until "retry_after": as long as the answer says (Retry-After, x-ratelimit-reset…); until "quota_reset": exhausted until the daily quota reset. scope "model" rests it for the request\'s model only.')},
  {type: 'ban_key', fields: [], blank: () => ({type: 'ban_key'}),
    about: () => t('The key is banned until enabled by hand.')},
  {type: 'alert', fields: [{name: 'message', kind: 'text', optional: true}, {name: 'webhook', kind: 'text', optional: true}],
    blank: () => ({type: 'alert', message: ''}),
    about: () => t('Records an alert and posts it to the webhook (and to webhook_url), off the request path.')},
  {type: 'log', fields: [{name: 'message', kind: 'text'}], blank: () => ({type: 'log', message: ''}),
    about: () => t('The message goes into the request\'s log entry.')},
];

// The rule's own fields besides condition and actions.
export const RULE_FIELDS = [
  {name: 'name', kind: 'text', about: () => t('A name to know the rule by; key events and the log show it.')},
  {name: 'upstream_id', kind: 'upstream', about: () => t('The upstream it watches; empty: every upstream.')},
  {name: 'enabled', kind: 'bool', def: true, about: () => t('A disabled rule is kept but never runs.')},
  {name: 'priority', kind: 'int', def: 100, about: () => t('Lower runs first; equal priorities run by id.')},
  {name: 'threshold', kind: 'int', def: 1, about: () => t('How many matches for the same key within window_s make it fire.')},
  {name: 'window_s', kind: 'int', def: 60, about: () => t('The window of the threshold, in seconds.')},
  {name: 'cooldown_s', kind: 'int', def: 0, about: () => t('After firing for a key, it does not fire again for it for this many seconds.')},
  {name: 'stop', kind: 'bool', def: false, about: () => t('When it fires, the rules after it do not run for this answer.')},
];

export const leafSpec = (type) => LEAVES.find((l) => l.type === type);
export const actionSpec = (type) => ACTIONS.find((a) => a.type === type);

const isInt = (v) => Number.isInteger(v);
const KIND_OK = {
  text: (v) => typeof v === 'string',
  code: (v) => typeof v === 'string',
  int: isInt,
  bool: (v) => typeof v === 'boolean',
  jsonval: (v) => v === null || ['string', 'number', 'boolean'].includes(typeof v),
  status: (v) => isInt(v) || (Array.isArray(v) && v.length > 0 && v.every(isInt)),
};

function fieldOk(f, v) {
  if (f.kind === 'select') return f.options.includes(v);
  return KIND_OK[f.kind](v);
}

// Why the form cannot show this condition node, or null when it can.
export function conditionProblem(c, at) {
  if (!c || typeof c !== 'object' || Array.isArray(c)) return at;
  const keys = Object.keys(c);
  if ('type' in c) {
    const spec = leafSpec(c.type);
    if (!spec) return `${at}.type`;
    for (const k of keys) {
      if (k === 'type') continue;
      if (k === 'op') {
        if (!spec.ops || !spec.ops.includes(c.op)) return `${at}.op`;
        continue;
      }
      const f = spec.fields.find((x) => x.name === k);
      if (!f || !fieldOk(f, c[k])) return `${at}.${k}`;
    }
    return null;
  }
  if (keys.length !== 1) return at;
  const g = keys[0];
  if (g === 'not') return conditionProblem(c.not, `${at}.not`);
  if ((g !== 'all' && g !== 'any') || !Array.isArray(c[g])) return at;
  for (let i = 0; i < c[g].length; i++) {
    const p = conditionProblem(c[g][i], `${at}.${g}[${i}]`);
    if (p) return p;
  }
  return null;
}

// Why the form cannot show this rule (the place), or null when it can.
export function ruleProblem(rule) {
  if (!rule || typeof rule !== 'object' || Array.isArray(rule)) return 'rule';
  for (const [k, v] of Object.entries(rule)) {
    if (k === 'condition' || k === 'actions') continue;
    const f = RULE_FIELDS.find((x) => x.name === k);
    if (!f) return k;
    if (f.kind === 'upstream' ? !(v === null || isInt(v)) : !KIND_OK[f.kind](v)) return k;
  }
  const p = conditionProblem(rule.condition, 'condition');
  if (p) return p;
  if (!Array.isArray(rule.actions)) return 'actions';
  for (let i = 0; i < rule.actions.length; i++) {
    const a = rule.actions[i];
    const spec = a && typeof a === 'object' ? actionSpec(a.type) : null;
    if (!spec) return `actions[${i}]`;
    for (const [k, v] of Object.entries(a)) {
      if (k === 'type') continue;
      const f = spec.fields.find((x) => x.name === k);
      if (!f || !fieldOk(f, v)) return `actions[${i}].${k}`;
    }
  }
  return null;
}
