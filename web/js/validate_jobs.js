// Validation jobs on the keys page: the "Validate" dialog (POST
// /keys/validate) and the jobs panel, which lists recent jobs with their
// progress and counts, and polls while one is queued or running.  The
// probing itself is done by apigw-jobs, within a minute of the start.
import * as api from './api.js';
import {
  clearErrors, confirmDialog, field, formError, h, input, modal, replace, select,
  showFormError, table, toast,
} from './dom.js';
import {readForm} from './forms.js';
import {fmtNumber as fmtNum, fmtTime, t} from './i18n.js';

// What a job does with a key it finds invalid, for a select.
export function onInvalidOptions() {
  return [['none', t('do nothing (report only)')], ['disable', t('disable the key')],
    ['ban', t('ban the key')], ['delete', t('delete the key')]];
}

function statusOptions() {
  return [['', t('every key')], ['active', t('active keys')], ['disabled', t('disabled keys')],
    ['banned', t('banned keys')], ['exhausted', t('exhausted keys')]];
}

// A job's state (the API's value) in the page's language.
function stateName(s) {
  const names = {queued: t('queued'), running: t('running'), done: t('done'), cancelled: t('cancelled'), failed: t('failed')};
  return names[s] || s;
}
const POLL_MS = 3000;

// Opens the dialog; onStarted(job_id) runs once the job is queued.
export function openValidate(upstreams, upstreamId, onStarted) {
  const form = h('form', {class: 'form', id: 'validate-form', novalidate: true},
    field(t('Upstream'), select('upstream_id', upstreams.map((u) => [u.id, u.name]), upstreamId || (upstreams[0] && upstreams[0].id))),
    field(t('Keys'), select('status', statusOptions(), '')),
    field(t('When a key is invalid'), select('on_invalid', onInvalidOptions(), 'none'),
      t('Invalid: the upstream\'s rules would ban the key for this answer (e.g. 401). 429, 5xx and timeouts are only inconclusive.')),
    h('div', {class: 'field-row'},
      field(t('Concurrency'), input('concurrency', {type: 'number', inputmode: 'numeric', value: '4', min: '1', max: '32'}), t('1 to 32 probes at once.')),
      field(t('Probes per second'), input('rps', {type: 'number', inputmode: 'numeric', placeholder: t('no cap')}))),
    h('p', {class: 'muted small'}, t('Each key gets the upstream\'s probe. A probe with a body may cost money.')),
    formError());
  const go = h('button', {type: 'submit', class: 'btn btn-primary', form: 'validate-form'}, t('Start validation'));
  const close = h('button', {type: 'button', class: 'btn'}, t('Cancel'));
  const m = modal(t('Validate keys'), [form, h('div', {class: 'actions'}, close, go)]);
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
      toast(t('Validation job {id} queued: {n} key(s)', {id: r.job_id, n: fmtNum(r.total)}));
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
    h('progress', {max: '100', value: String(pct), 'aria-label': t('job {id} progress', {id: j.id})}),
    h('span', {class: 'small'}, ` ${fmtNum(j.processed)} / ${fmtNum(j.total)}`));
}

function countsCell(j) {
  const c = j.counts;
  return h('span', {class: 'small'}, t('{valid} valid, {invalid} invalid, {inconclusive} inconclusive',
    {valid: fmtNum(c.valid), invalid: fmtNum(c.invalid), inconclusive: fmtNum(c.inconclusive)}));
}

// The panel: {root, refresh}.  canCancel: the viewer is an operator.
export function jobsPanel(canCancel, names) {
  const list = h('div', {id: 'jobs-list'});
  const root = h('section', {class: 'jobs-panel', id: 'jobs-panel'}, h('h2', null, t('Validation jobs')), list);
  let timer = null;

  async function cancel(j) {
    if (!await confirmDialog(t('Cancel job'), t('Cancel validation job {id}? Keys already judged keep their results.', {id: j.id}), t('Cancel job'))) return;
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
      {title: t('Job'), cell: (j) => `#${j.id}`},
      {title: t('Upstream'), cell: (j) => names(j.upstream_id)},
      {title: t('State'), cell: (j) => h('span', {class: 'badge', dataset: {state: j.state}}, stateName(j.state))},
      {title: t('Progress'), cell: progressCell},
      {title: t('Results'), cell: countsCell},
      {title: t('On invalid'), cell: (j) => (onInvalidOptions().find(([v]) => v === j.on_invalid) || [0, j.on_invalid])[1]},
      {title: t('ETA'), class: 'num', cell: (j) => (j.eta_s === null ? '—' : t('{n} s', {n: fmtNum(j.eta_s)}))},
      {title: t('Started'), cell: (j) => fmtTime(j.created_at)},
      {title: '', class: 'actions-cell', cell: (j) => (canCancel && (j.state === 'queued' || j.state === 'running')
        ? h('button', {type: 'button', class: 'btn btn-small btn-danger-ghost', on: {click: () => cancel(j)}}, t('Cancel')) : null)},
    ], r.items, {class: 'keys-table', rowAttrs: (j) => ({dataset: {job: j.id}})}) : h('p', {class: 'muted'}, t('No validation jobs yet.')));
    const open = r.items.some((j) => j.state === 'queued' || j.state === 'running');
    timer = open ? setTimeout(refresh, POLL_MS) : 0;
  }

  return {root, refresh};
}
