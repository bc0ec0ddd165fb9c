// The reference beside the rule editor: every group, leaf, action and
// field of a rule with what it means, from the same tables the form uses
// (rule_spec.js), so that nobody has to look up a file to write a rule.
import {h} from './dom.js';
import {t} from './i18n.js';
import {ACTIONS, GROUPS, LEAVES, RULE_FIELDS} from './rule_spec.js';

function fieldsOf(spec) {
  const names = [...(spec.ops ? ['op'] : []), ...spec.fields.map((f) => f.name)];
  return names.length ? h('span', {class: 'mono small'}, names.join(', ')) : h('span', {class: 'muted small'}, t('no fields'));
}

function entries(list, keyOf) {
  return h('dl', {class: 'rule-ref-list'}, list.map((x) => [
    h('dt', null, h('code', null, keyOf(x)), ' ', x.fields ? fieldsOf(x) : null),
    h('dd', null, x.about(), x.ops ? h('div', {class: 'mono small muted'}, 'op: ' + x.ops.join(' | ')) : null),
  ]));
}

export function ruleReference() {
  return h('details', {class: 'rule-reference', id: 'rule-reference', open: true},
    h('summary', null, t('Reference: conditions and actions')),
    h('p', {class: 'small muted'}, t('A rule matches when its condition holds; it fires when it matched threshold times within window_s for the same key; then its actions run, in order.')),
    h('h4', null, t('Groups')), entries(GROUPS, (g) => g.key),
    h('h4', null, t('Conditions')), entries(LEAVES, (l) => l.type),
    h('h4', null, t('Actions')), entries(ACTIONS, (a) => a.type),
    h('h4', null, t('Rule fields')), entries(RULE_FIELDS, (f) => f.name));
}
