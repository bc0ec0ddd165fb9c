// The statuses of a key, shown the same way in the list, the dialogs and
// the legend: a coloured badge with the status in the page's language
// (the API's value stays in data-status), and what each one means.
import {h} from './dom.js';
import {t} from './i18n.js';

export const STATUSES = ['active', 'disabled', 'exhausted', 'banned'];

const KIND = {active: 'ok', disabled: 'warn', exhausted: 'info', banned: 'bad'};

// The status names through t(): listed here so that the catalogue holds them.
const NAMES = () => ({active: t('active'), disabled: t('disabled'), exhausted: t('exhausted'), banned: t('banned')});

export function statusName(s) {
  return NAMES()[s] || s;
}

export function statusBadge(s) {
  return h('span', {class: ['badge', 'badge-' + (KIND[s] || 'neutral')], dataset: {status: s}}, statusName(s));
}

// [[value, label]] for a select of statuses.
export function statusOptions() {
  return STATUSES.map((s) => [s, statusName(s)]);
}

// What each status means for the pool (core/pool_pick.c), and the marks
// shown beside a status.
function legendRows() {
  return [
    [statusBadge('active'), t('Served by the pool.')],
    [statusBadge('disabled'), t('Out of rotation: by hand, or rested by a rule for a while ("until" shows when it returns).')],
    [statusBadge('exhausted'), t('Its daily quota is used up; it returns at the next quota reset.')],
    [statusBadge('banned'), t('Out of rotation until enabled by hand (e.g. the upstream answered 401).')],
    [h('span', {class: ['badge', 'badge-warn']}, t('rests for 1 model')), t('Active, but skipped for the models named until the rest ends.')],
    [h('span', {class: 'small rest-due'}, t('due')), t('A rest whose time has passed: the key serves again at its next use, or after the next probe.')],
  ];
}

export function statusLegend() {
  return h('details', {class: 'keys-legend', id: 'keys-legend'},
    h('summary', null, t('What the statuses mean')),
    h('dl', {class: 'legend-list'}, legendRows().map(([term, text]) => [h('dt', null, term), h('dd', null, text)])));
}
