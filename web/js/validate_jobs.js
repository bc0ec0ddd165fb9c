// Validation jobs on the keys page: the "Validate" dialog (POST
// /keys/validate) and the jobs panel, which lists recent jobs with their
// progress and counts, and polls while one is queued or running.  The
// probing itself is done by apigw-jobs, within a minute of the start.
import * as api from './api.js';
import {
  clearErrors, confirmDialog, field, fmtNum, fmtTime, formError, h, input, modal, replace, select,
  showFormError, table, toast,
} from './dom.js';
import {readForm} from './forms.js';

export const ON_INVALID = [['none', 'do nothing (report only)'], ['disable', 'disable the key'],
  ['ban', 'ban the key'], ['delete', 'delete the key']];
const STATUSES = [['', 'every key'], ['active', 'active keys'], ['disabled', 'disabled keys'],
  ['banned', 'banned keys'], ['exhausted', 'exhausted keys']];
const POLL_MS = 3000;

// Opens the dialog; onStarted(job_id) runs once the job is queued.
export function openValidate(upstreams, upstreamId, onStarted) {
  const form = h('form', {class: 'form', id: 'validate-form', novalidate: true},
    field('Upstream', select('upstream_id', upstreams.map((u) => [u.id, u.name]), upstreamId || (upstreams[0] && upstreams[0].id))),
    field('Keys', select('status', STATUSES, '')),
    field('When a key is invalid', select('on_invalid', ON_INVALID, 'none'),
      'Invalid: the upstream\'s rules would ban the key for this answer (e.g. 401). 429, 5xx and timeouts are only inconclusive.'),
    h('div', {class: 'field-row'},
      field('Concurrency', input('concurrency', {type: 'number', inputmode: 'numeric', value: '4', min: '1', max: '32'}), '1 to 32 probes at once.'),
      field('Probes per second', input('rps', {type: 'number', inputmode: 'numeric', placeholder: 'no cap'}))),
    h('p', {class: 'muted small'}, 'Each key gets the upstream\'s probe. A probe with a body may cost money.'),
    formError());
  const go = h('button', {type: 'submit', class: 'btn btn-primary', form: 'validate-form'}, 'Start validation');
  const close = h('button', {type: 'button', class: 'btn'}, 'Cancel');
  const m = modal('Validate keys', [form, h('div', {class: 'actions'}, close, go)]);
  close.addEventListener('click', m.close);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const body = readForm(form, [['upstream_id', 'int'], ['on_invalid', 'string'], ['concurrency', 'int'], ['rps', 'int']], true);
    const status = form.elements.namedItem('status').value;
    if (status) body.status = status;
    go.disabled = true;
    try {
      const r = await api.post('/keys/validate', body);
      toast(`Validation job ${r.job_id} queued: ${fmtNum(r.total)} key(s)`);
      m.close();
      onStarted(r.job_id);
    } catch (e) {
      if (e.status === 401 || e.status === 403) { m.close(); return; }
      showFormError(form, e);
    } finally {
      go.disabled = false;
    }
  });
}

function progressCell(j) {
  const pct = Math.round((j.progress || 0) * 100);
  return h('div', {class: 'job-progress'},
    h('progress', {max: '100', value: String(pct), 'aria-label': `job ${j.id} progress`}),
    h('span', {class: 'small'}, ` ${fmtNum(j.processed)} / ${fmtNum(j.total)}`));
}

function countsCell(j) {
  const c = j.counts;
  return h('span', {class: 'small'}, `${fmtNum(c.valid)} valid, ${fmtNum(c.invalid)} invalid, ${fmtNum(c.inconclusive)} inconclusive`);
}

// The panel: {root, refresh}.  canCancel: the viewer is an operator.
export function jobsPanel(canCancel, names) {
  const list = h('div', {id: 'jobs-list'});
  const root = h('section', {class: 'jobs-panel', id: 'jobs-panel'}, h('h2', null, 'Validation jobs'), list);
  let timer = null;

  async function cancel(j) {
    if (!await confirmDialog('Cancel job', `Cancel validation job ${j.id}? Keys already judged keep their results.`, 'Cancel job')) return;
    try {
      await api.del(`/jobs/${j.id}`);
    } catch (e) {
      toast(e.message, 'bad');
    }
    refresh();
  }

  async function refresh() {
    clearTimeout(timer);
    if (!root.isConnected && timer !== null) return; // the page was left
    let r;
    try {
      r = await api.get('/jobs', {limit: 10});
    } catch (e) {
      return;
    }
    replace(list, r.items.length ? table([
      {title: 'Job', cell: (j) => `#${j.id}`},
      {title: 'Upstream', cell: (j) => names(j.upstream_id)},
      {title: 'State', cell: (j) => h('span', {class: 'badge', dataset: {state: j.state}}, j.state)},
      {title: 'Progress', cell: progressCell},
      {title: 'Results', cell: countsCell},
      {title: 'On invalid', cell: (j) => j.on_invalid},
      {title: 'ETA', class: 'num', cell: (j) => (j.eta_s === null ? '—' : `${fmtNum(j.eta_s)} s`)},
      {title: 'Started', cell: (j) => fmtTime(j.created_at)},
      {title: '', class: 'actions-cell', cell: (j) => (canCancel && (j.state === 'queued' || j.state === 'running')
        ? h('button', {type: 'button', class: 'btn btn-small btn-danger-ghost', on: {click: () => cancel(j)}}, 'Cancel') : null)},
    ], r.items, {rowAttrs: (j) => ({dataset: {job: j.id}})}) : h('p', {class: 'muted'}, 'No validation jobs yet.'));
    const open = r.items.some((j) => j.state === 'queued' || j.state === 'running');
    timer = open ? setTimeout(refresh, POLL_MS) : 0;
  }

  return {root, refresh};
}
