// The keys page's selection and batch actions: keys ticked on the page, or
// "all N matching" the list's filter across pages (sent as the filter with
// the count the operator saw, so that the server refuses when the set has
// changed), and "delete all banned".  `page`: {ctx, filter(), total(),
// items(), reload(), jobsRefresh()}.
import * as api from './api.js';
import {confirmDialog, h, select, toast} from './dom.js';
import {fmtNumber, t} from './i18n.js';

function actionName(action) {
  const names = {enable: t('Enable'), disable: t('Disable'), ban: t('Ban'), reset_usage: t('Reset usage'),
    delete: t('Delete'), test: t('Test')};
  return names[action] || action;
}

export function batchBar(page) {
  const selected = new Set();
  let all = null; // {total}: every key matching the filter is selected
  const count = h('span', {class: 'sel-count', id: 'keys-selected'});
  const widen = h('button', {type: 'button', class: 'btn btn-small btn-ghost', id: 'keys-select-matching', hidden: true,
    on: {click: () => { all = {total: page.total()}; draw(); }}});
  const duration = select('duration_s', [['0', t('until enabled')], ['600', t('for 10 minutes')], ['3600', t('for 1 hour')],
    ['86400', t('for 1 day')]], '0', {'aria-label': t('Disable for')});
  const btn = (action, cls) => h('button', {type: 'button', class: ['btn', 'btn-small', cls], dataset: {action},
    on: {click: () => run(action)}}, actionName(action));
  const root = h('div', {class: 'batch-bar', id: 'keys-batch', hidden: true},
    h('span', {class: 'batch-count'}, count, widen),
    h('span', {class: 'batch-actions'},
      btn('enable'),
      h('span', {class: 'batch-group'}, btn('disable'), duration),
      btn('ban', 'btn-danger-ghost'),
      btn('reset_usage'),
      btn('test'),
      btn('delete', 'btn-danger-ghost'),
      h('button', {type: 'button', class: 'btn btn-small btn-ghost', dataset: {action: 'clear'},
        on: {click: () => { clear(); }}}, t('Clear'))));

  function size() {
    return all ? all.total : selected.size;
  }

  function clear() {
    selected.clear();
    all = null;
    draw();
  }

  // Ticks the page's boxes from the selection and redraws the bar.
  function draw() {
    const items = page.items();
    for (const c of document.querySelectorAll('#keys-list input.row-check')) {
      c.checked = all !== null || selected.has(Number(c.dataset.id));
      c.disabled = all !== null;
    }
    const box = document.getElementById('keys-select-all');
    const onPage = items.filter((k) => selected.has(k.id)).length;
    if (box) {
      box.checked = all !== null || (onPage > 0 && onPage === items.length);
      box.indeterminate = all === null && onPage > 0 && onPage < items.length;
    }
    count.textContent = all ? t('All {n} matching keys selected', {n: fmtNumber(all.total)})
      : t('{n} selected', {n: fmtNumber(selected.size)});
    const more = page.total() > items.length;
    widen.hidden = all !== null || !more || onPage !== items.length || onPage === 0;
    widen.textContent = t('Select all {n} matching', {n: fmtNumber(page.total())});
    root.hidden = size() === 0;
  }

  function target() {
    if (!all) return {ids: [...selected]};
    return {filter: page.filter(), expect_total: all.total};
  }

  async function confirmed(action, n) {
    if (action === 'delete') {
      return confirmDialog(t('Delete keys'), t('Delete {n} key(s) and their history? This cannot be undone.', {n: fmtNumber(n)}), t('Delete'));
    }
    if (action === 'ban') {
      return confirmDialog(t('Ban keys'), t('Ban {n} key(s)? They stay out of rotation until enabled by hand.', {n: fmtNumber(n)}), t('Ban'));
    }
    if (action === 'test' && n > 1) {
      return confirmDialog(t('Test keys'), t('Send the upstream\'s probe with each of {n} key(s), in the background? Nothing is changed; a probe with a body may cost money.',
        {n: fmtNumber(n)}), t('Test'), false);
    }
    if (all) return confirmDialog(t('Change keys'), t('{action}: {n} key(s)?', {action: actionName(action), n: fmtNumber(n)}), actionName(action), false);
    return true;
  }

  async function run(action) {
    const n = size();
    if (!n || !await confirmed(action, n)) return;
    const body = {...target(), action};
    if (action === 'disable' && Number(duration.value) > 0) body.duration_s = Number(duration.value);
    await send(body);
  }

  async function send(body) {
    try {
      const r = await api.post('/keys/batch', body);
      if (body.action === 'test') {
        toast(t('Testing {n} key(s) in the background ({jobs} job(s)); results in Validation jobs.', {n: fmtNumber(r.affected), jobs: r.job_ids.length})
          + (r.skipped ? ' ' + t('{n} key(s) skipped: their upstream has no probe.', {n: fmtNumber(r.skipped)}) : ''));
        page.jobsRefresh();
      } else {
        toast(t('{action}: {n} key(s) affected', {action: actionName(body.action), n: fmtNumber(r.affected)}));
      }
      clear();
      await page.reload();
    } catch (e) {
      if (e.status === 401) return;
      toast(e.message, 'bad');
      if (e.status === 409) { clear(); await page.reload(); }
    }
  }

  // Every banned key of the list's upstream (or of all), after a
  // confirmation that names how many.
  async function deleteAllBanned() {
    const f = page.filter();
    const scope = {upstream_id: f.upstream_id, status: 'banned'};
    let n;
    try {
      n = (await api.get('/keys', {...scope, limit: 1})).total;
    } catch (e) {
      if (e.status !== 401) toast(e.message, 'bad');
      return;
    }
    if (!n) { toast(t('No banned keys.')); return; }
    const where = f.upstream_id ? t('of upstream {name}', {name: page.upName(f.upstream_id)}) : t('of every upstream');
    if (!await confirmDialog(t('Delete all banned'), t('Delete all {n} banned key(s) {where} and their history? This cannot be undone.',
      {n: fmtNumber(n), where}), t('Delete {n} keys', {n: fmtNumber(n)}))) return;
    await send({filter: scope, expect_total: n, action: 'delete'});
  }

  return {root, selected, clear, draw, deleteAllBanned, isAll: () => all !== null,
    toggle(id, on) { if (on) selected.add(id); else selected.delete(id); draw(); },
    togglePage(on) { for (const k of page.items()) { if (on) selected.add(k.id); else selected.delete(k.id); } if (!on) all = null; draw(); },
  };
}
