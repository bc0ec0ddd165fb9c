// Keys: filters, search by name or masked fragment, sorting, paging, a key
// found by pasting its value, the status legend, batch actions on the keys
// ticked or on all matching (keys_batch.js), import (keys_import.js), and
// one key's dialogs (keys_dialogs.js).
import * as api from '../api.js';
import {h, input, pageHead, replace, select} from '../dom.js';
import {fmtNumber, t} from '../i18n.js';
import {batchBar} from '../keys_batch.js';
import {openEdit, openHistory, testKey} from '../keys_dialogs.js';
import {findForm} from '../keys_find.js';
import {openImport} from '../keys_import.js';
import {statusLegend, statusOptions} from '../keys_status.js';
import {keysTable, sortOptions} from '../keys_table.js';
import {jobsPanel, openValidate} from '../validate_jobs.js';

const PAGE_SIZES = () => [['25', t('{n} a page', {n: 25})], ['50', t('{n} a page', {n: 50})],
  ['100', t('{n} a page', {n: 100})], ['250', t('{n} a page', {n: 250})]];

export async function render(view, ctx) {
  const canWrite = ctx.can('operator');
  const p = ctx.params;
  const state = {
    upstream_id: p.get('upstream_id') || '', status: p.get('status') || '', q: p.get('q') || '',
    sort: p.get('sort') || 'id', order: p.get('order') === 'desc' ? 'desc' : 'asc',
    limit: Number(p.get('limit')) || 50, offset: Number(p.get('offset')) || 0,
  };
  let upstreams = [];
  let items = [];
  let total = 0;
  let found = null; // the keys a pasted value found, shown instead of the list

  const upName = (id) => (upstreams.find((u) => u.id === id) || {}).name || `#${id}`;
  const listPage = {
    ctx, canWrite, upName,
    upstreamOf: (id) => upstreams.find((u) => u.id === id),
    filter: () => ({upstream_id: Number(state.upstream_id) || undefined, status: state.status || undefined, q: state.q || undefined}),
    total: () => (found ? found.length : total),
    items: () => items,
    reload: () => load(),
    jobsRefresh: () => jobs.refresh(),
    history: (k) => openHistory(listPage, k),
    test: (k) => testKey(k),
    edit: (k) => openEdit(listPage, k),
    sortBy: (col) => {
      state.order = state.sort === col && state.order === 'asc' ? 'desc' : 'asc';
      state.sort = col;
      sortSel.value = col;
      orderSel.value = state.order;
      state.offset = 0;
      load();
    },
    get sort() { return state.sort; },
    get order() { return state.order; },
  };

  const upSel = select('upstream_id', [['', t('All upstreams')]], '', {'aria-label': t('Upstream')});
  const stSel = select('status', [['', t('Any status')], ...statusOptions()], state.status, {'aria-label': t('Status')});
  const qIn = input('q', {type: 'search', placeholder: t('Name or key fragment…'), value: state.q, 'aria-label': t('Name or key fragment')});
  const sortSel = select('sort', sortOptions(), state.sort, {'aria-label': t('Sort by')});
  const orderSel = select('order', [['asc', t('ascending')], ['desc', t('descending')]], state.order, {'aria-label': t('Order')});
  const sizeSel = select('limit', PAGE_SIZES(), String(state.limit), {'aria-label': t('Page size')});
  const importBtn = canWrite ? h('button', {type: 'button', class: 'btn btn-primary', id: 'keys-import'}, t('Import keys')) : null;
  const validateBtn = canWrite ? h('button', {type: 'button', class: 'btn', id: 'keys-validate'}, t('Validate')) : null;
  const bannedBtn = canWrite ? h('button', {type: 'button', class: 'btn btn-danger-ghost', id: 'keys-delete-banned'}, t('Delete all banned')) : null;
  const jobs = jobsPanel(canWrite, (id) => upName(id));
  const batch = batchBar(listPage);
  listPage.batch = batch;

  const foundNote = h('div', {class: 'found-note', id: 'keys-found', hidden: true});
  const listBox = h('div', {id: 'keys-list'}, h('p', {class: 'muted'}, t('Loading…')));
  const pager = h('div', {class: 'pager', id: 'keys-pager'});

  view.append(pageHead(t('Keys'), bannedBtn, validateBtn, importBtn),
    h('form', {class: 'filters', role: 'search', on: {submit: (ev) => { ev.preventDefault(); applyFilters(); }}},
      upSel, stSel, qIn, sortSel, orderSel, sizeSel, h('button', {type: 'submit', class: 'btn'}, t('Filter'))),
    canWrite ? findForm(ctx, showFound) : null,
    statusLegend(),
    canWrite ? batch.root : null, foundNote, listBox, pager, jobs.root);

  for (const s of [upSel, stSel, sortSel, orderSel, sizeSel]) s.addEventListener('change', applyFilters);
  if (importBtn) {
    importBtn.addEventListener('click', () => openImport({ctx, upstreamId: state.upstream_id, imported: async (upId, jobId) => {
      if (jobId) jobs.refresh();
      upstreams = await api.listAll('/upstreams').catch(() => upstreams);
      fillUpstreams();
      state.upstream_id = upId;
      upSel.value = upId;
      state.offset = 0;
      await load();
    }}));
  }
  if (validateBtn) validateBtn.addEventListener('click', () => openValidate(upstreams, state.upstream_id, jobs.refresh));
  if (bannedBtn) bannedBtn.addEventListener('click', () => batch.deleteAllBanned());

  function applyFilters() {
    state.upstream_id = upSel.value;
    state.status = stSel.value;
    state.q = qIn.value.trim();
    state.sort = sortSel.value;
    state.order = orderSel.value;
    state.limit = Number(sizeSel.value);
    state.offset = 0;
    // "All matching" was the old filter's keys.
    batch.clear();
    load();
  }

  function showFound(keys) {
    found = keys;
    items = keys;
    batch.clear();
    replace(foundNote, h('span', null, keys.length ? t('{n} key(s) with this value.', {n: keys.length}) : t('No key has this value.')), ' ',
      h('button', {type: 'button', class: 'btn btn-small', on: {click: () => load()}}, t('Show all keys')));
    foundNote.hidden = false;
    drawTable();
    replace(pager);
  }

  async function load() {
    found = null;
    foundNote.hidden = true;
    ctx.setParams({upstream_id: state.upstream_id, status: state.status, q: state.q,
      sort: state.sort === 'id' ? '' : state.sort, order: state.order === 'asc' ? '' : state.order,
      limit: state.limit === 50 ? '' : state.limit, offset: state.offset || ''});
    try {
      const page = await api.get('/keys', {upstream_id: state.upstream_id, status: state.status, q: state.q,
        sort: state.sort, order: state.order, limit: state.limit, offset: state.offset});
      if (!ctx.isCurrent()) return;
      if (page.items.length === 0 && state.offset > 0 && page.total > 0) {
        state.offset = Math.max(0, Math.floor((page.total - 1) / state.limit) * state.limit);
        return load();
      }
      items = page.items;
      total = page.total;
      // A selection of all matching stays while the filter does; ticks on
      // one page do not follow to the next.
      if (!batch.isAll()) batch.selected.clear();
      drawTable();
      drawPager();
    } catch (e) {
      if (e.status !== 401) ctx.showError(e);
    }
  }

  function drawTable() {
    const filtered = state.upstream_id || state.status || state.q;
    replace(listBox, keysTable(listPage, items, found ? t('No key has this value.')
      : filtered ? t('No key matches these filters.') : t('No keys yet.')));
    batch.draw();
  }

  function drawPager() {
    const from = total ? state.offset + 1 : 0;
    const to = Math.min(state.offset + state.limit, total);
    const prev = h('button', {type: 'button', class: 'btn btn-small', disabled: state.offset === 0,
      on: {click: () => { state.offset = Math.max(0, state.offset - state.limit); load(); }}}, t('‹ Previous'));
    const next = h('button', {type: 'button', class: 'btn btn-small', disabled: to >= total,
      on: {click: () => { state.offset += state.limit; load(); }}}, t('Next ›'));
    replace(pager, h('span', {class: 'muted', id: 'keys-range'}, t('{from}–{to} of {total}',
      {from: fmtNumber(from), to: fmtNumber(to), total: fmtNumber(total)})), prev, next);
  }

  function fillUpstreams() {
    replace(upSel, h('option', {value: ''}, t('All upstreams')), upstreams.map((u) => h('option', {value: String(u.id)}, u.name)));
    upSel.value = state.upstream_id;
  }

  try {
    upstreams = await api.listAll('/upstreams');
  } catch (e) {
    if (e.status !== 401) ctx.showError(e);
    return;
  }
  fillUpstreams();
  await load();
  jobs.refresh();
}
