// Keys: filters, paging, import by paste or file, batch actions on the
// selected keys, a key's history, the probe test, edits.
import * as api from '../api.js';
import {
  badge, clearErrors, confirmDialog, field, fmtNum, fmtTime, fmtTimeShort, formError, h, input, kv, modal,
  pageHead, replace, select, showFormError, table, toast,
} from '../dom.js';
import {readForm, setForm} from '../forms.js';
import {limitsField, limitsText, readLimits, usageTable} from '../limits.js';
import {ON_INVALID, jobsPanel, openValidate} from '../validate_jobs.js';

const STATUSES = ['active', 'disabled', 'exhausted', 'banned'];
const PAGE_SIZES = [['25', '25 a page'], ['50', '50 a page'], ['100', '100 a page'], ['250', '250 a page']];

export async function render(view, ctx) {
  const canWrite = ctx.can('operator');
  const p = ctx.params;
  const state = {
    upstream_id: p.get('upstream_id') || '', status: p.get('status') || '', q: p.get('q') || '',
    limit: Number(p.get('limit')) || 50, offset: Number(p.get('offset')) || 0,
  };
  let upstreams = [];
  const selected = new Set();
  let pageItems = [];

  const upSel = select('upstream_id', [['', 'All upstreams']], '', {'aria-label': 'Upstream'});
  const stSel = select('status', [['', 'Any status'], ...STATUSES.map((s) => [s, s])], state.status, {'aria-label': 'Status'});
  const qIn = input('q', {type: 'search', placeholder: 'Name contains…', value: state.q, 'aria-label': 'Name contains'});
  const sizeSel = select('limit', PAGE_SIZES, String(state.limit), {'aria-label': 'Page size'});
  const importBtn = canWrite ? h('button', {type: 'button', class: 'btn btn-primary', id: 'keys-import'}, 'Import keys') : null;
  const validateBtn = canWrite ? h('button', {type: 'button', class: 'btn', id: 'keys-validate'}, 'Validate') : null;
  const jobs = jobsPanel(canWrite, (id) => (upstreams.find((u) => u.id === id) || {name: `#${id}`}).name);

  const selCount = h('span', {class: 'sel-count', id: 'keys-selected'}, '0 selected');
  const duration = select('duration_s', [['0', 'until enabled'], ['600', 'for 10 minutes'], ['3600', 'for 1 hour'], ['86400', 'for 1 day']], '0', {'aria-label': 'Disable for'});
  const batchBtn = (action, label, cls) => h('button', {type: 'button', class: ['btn', 'btn-small', cls], dataset: {action},
    on: {click: () => batch(action)}}, label);
  const batchBar = canWrite ? h('div', {class: 'batch-bar', id: 'keys-batch', hidden: true},
    selCount,
    batchBtn('enable', 'Enable'),
    h('span', {class: 'batch-group'}, batchBtn('disable', 'Disable'), duration),
    batchBtn('ban', 'Ban', 'btn-danger-ghost'),
    batchBtn('reset_usage', 'Reset usage'),
    batchBtn('delete', 'Delete', 'btn-danger-ghost'),
    h('button', {type: 'button', class: 'btn btn-small btn-ghost', on: {click: () => { selected.clear(); drawSelection(); }}}, 'Clear')) : null;

  const listBox = h('div', {id: 'keys-list'}, h('p', {class: 'muted'}, 'Loading…'));
  const pager = h('div', {class: 'pager', id: 'keys-pager'});

  view.append(pageHead('Keys', validateBtn, importBtn),
    h('form', {class: 'filters', role: 'search', on: {submit: (ev) => { ev.preventDefault(); applyFilters(); }}},
      upSel, stSel, qIn, sizeSel, h('button', {type: 'submit', class: 'btn'}, 'Filter')),
    batchBar, listBox, pager, jobs.root);

  upSel.addEventListener('change', applyFilters);
  stSel.addEventListener('change', applyFilters);
  sizeSel.addEventListener('change', applyFilters);
  if (importBtn) importBtn.addEventListener('click', openImport);
  if (validateBtn) validateBtn.addEventListener('click', () => openValidate(upstreams, state.upstream_id, jobs.refresh));

  function applyFilters() {
    state.upstream_id = upSel.value;
    state.status = stSel.value;
    state.q = qIn.value.trim();
    state.limit = Number(sizeSel.value);
    state.offset = 0;
    load();
  }

  const upName = (id) => (upstreams.find((u) => u.id === id) || {}).name || `#${id}`;
  // A resting key whose time has passed: without a probe the pool serves it
  // again at once (and marks it active at its next use); with a probe it
  // waits for the next apigw-recover run.  Say which, so that a stale
  // "until" does not read as a stuck key.
  const restDue = (k) => k.disabled_until && k.status !== 'active' && Date.parse(k.disabled_until) <= Date.now();
  const restHint = (k) => {
    if (!k.disabled_until || k.status === 'active') return null;
    if (!restDue(k)) return h('div', {class: 'small muted'}, 'until ' + fmtTime(k.disabled_until));
    const up = upstreams.find((u) => u.id === k.upstream_id) || {};
    return h('div', {class: 'small rest-due', title: 'disabled_until ' + fmtTime(k.disabled_until)},
      up.probe_path ? 'due: the next recover run probes it' : 'due: serves again at its next use');
  };

  async function load() {
    ctx.setParams({upstream_id: state.upstream_id, status: state.status, q: state.q,
      limit: state.limit === 50 ? '' : state.limit, offset: state.offset || ''});
    try {
      const page = await api.get('/keys', {upstream_id: state.upstream_id, status: state.status,
        q: state.q, limit: state.limit, offset: state.offset});
      if (!ctx.isCurrent()) return;
      if (page.items.length === 0 && state.offset > 0 && page.total > 0) {
        state.offset = Math.max(0, Math.floor((page.total - 1) / state.limit) * state.limit);
        return load();
      }
      pageItems = page.items;
      selected.clear();
      drawTable();
      drawPager(page.total);
      drawSelection();
    } catch (e) {
      if (e.status !== 401) ctx.showError(e);
    }
  }

  function drawTable() {
    const cols = [];
    if (canWrite) {
      const all = h('input', {type: 'checkbox', 'aria-label': 'Select all on this page', id: 'keys-select-all',
        on: {change: (ev) => {
          for (const k of pageItems) ev.target.checked ? selected.add(k.id) : selected.delete(k.id);
          drawSelection();
        }}});
      cols.push({title: all, class: 'check', cell: (k) => h('input', {type: 'checkbox', class: 'row-check',
        'aria-label': `Select key ${k.id}`, dataset: {id: k.id},
        on: {change: (ev) => { ev.target.checked ? selected.add(k.id) : selected.delete(k.id); drawSelection(); }}})});
    }
    cols.push(
      {title: 'Id', class: 'num', cell: (k) => String(k.id)},
      {title: 'Key', class: 'mono nowrap', cell: (k) => k.key_masked},
      {title: 'Status', class: 'nowrap', cell: (k) => [badge(k.status), modelBlocksBadge(k),
        h('div', {class: 'small muted', title: 'Why the status last changed'}, k.status_reason || ''),
        restHint(k), paceHint(k)]},
      {title: 'Upstream', cell: (k) => upName(k.upstream_id)},
      {title: 'Name', class: 'clip', cell: (k) => k.name || h('span', {class: 'muted'}, '—')},
      {title: 'Weight', class: 'num', cell: (k) => String(k.weight)},
      {title: 'Tier', class: 'num', cell: (k) => String(k.priority)},
      {title: 'Used today', class: 'num nowrap', cell: (k) => fmtNum(k.used_today) + (k.daily_quota ? ' / ' + fmtNum(k.daily_quota) : '') + (k.leased_today > 0 ? ' +' + fmtNum(k.leased_today) + ' leased' : '')},
      {title: 'Requests', class: 'num nowrap', cell: (k) => [fmtNum(k.total_requests),
        h('div', {class: ['small', k.total_failures ? 'error-text' : 'muted']}, `${fmtNum(k.total_failures)} failed`)]},
      {title: 'Last used', class: 'small nowrap', cell: (k) => (k.last_used_at ? h('span', {title: k.last_used_at}, fmtTimeShort(k.last_used_at)) : '—')},
      {title: '', class: 'actions-cell', cell: (k) => [
        h('button', {type: 'button', class: 'btn btn-small', dataset: {act: 'history'}, on: {click: () => openHistory(k)}}, 'History'),
        canWrite ? h('button', {type: 'button', class: 'btn btn-small', dataset: {act: 'test'}, on: {click: () => testKey(k)}}, 'Test') : null,
        canWrite ? h('button', {type: 'button', class: 'btn btn-small', dataset: {act: 'edit'}, on: {click: () => openEdit(k)}}, 'Edit') : null,
      ]});
    replace(listBox, table(cols, pageItems, {
      empty: state.upstream_id || state.status || state.q ? 'No key matches these filters.' : 'No keys yet.',
      rowAttrs: (k) => ({dataset: {id: k.id, status: k.status}}),
    }));
  }

  function drawPager(total) {
    const from = total ? state.offset + 1 : 0;
    const to = Math.min(state.offset + state.limit, total);
    const prev = h('button', {type: 'button', class: 'btn btn-small', disabled: state.offset === 0,
      on: {click: () => { state.offset = Math.max(0, state.offset - state.limit); load(); }}}, '‹ Previous');
    const next = h('button', {type: 'button', class: 'btn btn-small', disabled: to >= total,
      on: {click: () => { state.offset += state.limit; load(); }}}, 'Next ›');
    replace(pager, h('span', {class: 'muted', id: 'keys-range'}, `${fmtNum(from)}–${fmtNum(to)} of ${fmtNum(total)}`), prev, next);
  }

  function drawSelection() {
    if (!canWrite) return;
    for (const c of listBox.querySelectorAll('input.row-check')) c.checked = selected.has(Number(c.dataset.id));
    const all = listBox.querySelector('#keys-select-all');
    if (all) {
      const n = pageItems.filter((k) => selected.has(k.id)).length;
      all.checked = n > 0 && n === pageItems.length;
      all.indeterminate = n > 0 && n < pageItems.length;
    }
    selCount.textContent = `${selected.size} selected`;
    batchBar.hidden = selected.size === 0;
  }

  async function batch(action) {
    const ids = [...selected];
    if (!ids.length) return;
    if (action === 'delete' || action === 'ban') {
      const ok = await confirmDialog(action === 'delete' ? 'Delete keys' : 'Ban keys',
        action === 'delete' ? `Delete ${ids.length} key(s) and their history? This cannot be undone.`
          : `Ban ${ids.length} key(s)? They stay out of rotation until enabled by hand.`,
        action === 'delete' ? 'Delete' : 'Ban');
      if (!ok) return;
    }
    const body = {ids, action};
    if (action === 'disable' && Number(duration.value) > 0) body.duration_s = Number(duration.value);
    await ctx.guard(async () => {
      const r = await api.post('/keys/batch', body);
      toast(`${action.replace('_', ' ')}: ${r.affected} key(s) affected`);
      await load();
    });
  }

  // The budget the provider's headers last reported (docs/API.md "Pacing by
  // the provider's headers"), while it has not refilled.
  function paceText(k) {
    const p = k.pace;
    if (!p || !p.resets_at || Date.parse(p.resets_at) <= Date.now()) return null;
    const parts = [];
    if (p.remaining_requests !== null) parts.push(`${fmtNum(p.remaining_requests)} requests`);
    if (p.remaining_tokens !== null) parts.push(`${fmtNum(p.remaining_tokens)} tokens`);
    return parts.length ? `${parts.join(', ')} left until ${fmtTime(p.resets_at)}` : null;
  }

  function paceHint(k) {
    const text = paceText(k);
    return text ? h('div', {class: 'small muted', dataset: {role: 'pace'}, title: 'Learned from the provider\'s rate-limit headers'}, text) : null;
  }

  // Rests of the key for one model (docs/API.md "Model-scoped key state"):
  // the key stays active for every other model.
  function modelBlocksBadge(k) {
    const n = (k.model_blocks || []).length;
    if (!n) return null;
    return [' ', h('span', {class: ['badge', 'badge-warn'], dataset: {role: 'model-blocks'},
      title: (k.model_blocks || []).map((b) => b.model).join(', ')},
    n === 1 ? 'rests for 1 model' : `rests for ${n} models`)];
  }

  function modelBlocksList(k) {
    const blocks = k.model_blocks || [];
    if (!blocks.length) return null;
    return h('div', {id: 'key-model-blocks'}, h('h3', null, 'Rests for one model'),
      h('p', {class: 'muted small'}, 'Requests for these models skip this key until the rest ends; enable the key to end them now.'),
      table([
        {title: 'Model', class: 'mono', cell: (b) => b.model},
        {title: 'Kind', class: 'nowrap', cell: (b) => badge(b.kind)},
        {title: 'Until', class: 'nowrap', cell: (b) => (b.until ? fmtTime(b.until) : 'enabled by hand')},
        {title: 'Reason', cell: (b) => b.reason},
      ], blocks, {empty: ''}),
      canWrite ? h('p', null, h('button', {type: 'button', class: 'btn btn-small', dataset: {act: 'end-model-blocks'},
        on: {click: (ev) => ctx.guard(async () => {
          await api.patch(`/keys/${k.id}`, {status: 'active'});
          ev.target.closest('#key-model-blocks').remove();
          toast(`Key ${k.id} enabled for every model`);
          await load();
        })}}, 'Enable (ends these rests)')) : null);
  }

  async function openHistory(k) {
    const box = h('div', {id: 'key-history'}, h('p', {class: 'muted'}, 'Loading…'));
    modal(`Key ${k.id} history`, [
      kv([['Key', h('span', {class: 'mono'}, k.key_masked)], ['Name', k.name], ['Upstream', upName(k.upstream_id)],
        ['Status', badge(k.status)], ['Reason', k.status_reason], ['Disabled until', k.disabled_until ? fmtTime(k.disabled_until) : null],
        ['Egress proxy', k.proxy ? h('span', {class: 'mono'}, k.proxy) : null],
        ['Provider budget', paceText(k) || (k.pace ? `learned ${fmtTime(k.pace.learned_at)}, refilled since` : null)],
        ['Requests', fmtNum(k.total_requests)], ['Failures', fmtNum(k.total_failures)], ['Created', fmtTime(k.created_at)]]),
      h('p', null, h('a', {href: `#/logs?key_id=${k.id}`}, 'Requests sent with this key →')),
      modelBlocksList(k),
      h('h3', null, 'Status changes'), box], {wide: true});
    try {
      const ev = await api.get(`/keys/${k.id}/events`, {limit: 100});
      replace(box, table([
        {title: 'Time', class: 'nowrap', cell: (e) => fmtTime(e.ts)},
        {title: 'Change', class: 'nowrap', cell: (e) => [badge(e.from), ' → ', badge(e.to),
          e.model ? h('div', {class: 'small muted'}, `for model ${e.model} only`) : null]},
        {title: 'Reason', cell: (e) => e.reason},
        {title: 'By', cell: (e) => e.actor || '—'},
        {title: 'Request', class: 'mono small', cell: (e) => (e.request_id ? h('a', {href: `#/logs?request_id=${encodeURIComponent(e.request_id)}`, class: 'request-link'}, e.request_id) : '—')},
        {title: 'Answer excerpt', cell: (e) => (e.excerpt ? h('pre', {class: 'excerpt'}, e.excerpt) : '—')},
      ], ev.items, {empty: 'No status changes yet.'}),
      ev.total > ev.items.length ? h('p', {class: 'muted small'}, `Showing the latest ${ev.items.length} of ${ev.total}.`) : null);
    } catch (e) {
      replace(box, h('p', {class: 'error-text'}, e.message));
    }
  }

  async function testKey(k) {
    const box = h('div', {id: 'key-test-result', 'aria-live': 'polite'}, h('p', {class: 'muted'}, 'Sending the upstream\'s probe with this key…'));
    modal(`Test key ${k.id}`, [h('p', {class: 'muted small'}, 'Sends the upstream\'s probe request with this key. Nothing is changed.'), box]);
    try {
      const r = await api.post(`/keys/${k.id}/test`);
      replace(box, h('p', {class: 'test-verdict'}, badge(r.ok ? 'works' : 'failed', r.ok ? 'ok' : 'bad')),
        kv([['Key', h('span', {class: 'mono'}, r.key_masked || k.key_masked)], ['Status', r.status ? String(r.status) : 'no answer'],
          ['Latency', `${r.latency_ms} ms`], ['Error', r.error]]));
    } catch (e) {
      replace(box, h('p', {class: 'error-text', role: 'alert'}, e.message));
    }
  }

  const EDIT_FIELDS = [['name', 'nullable'], ['weight', 'int'], ['priority', 'int'], ['daily_quota', 'int'], ['rpm_limit', 'int'], ['status', 'string'], ['proxy', 'nullable']];

  function openEdit(k) {
    const form = h('form', {class: 'form', id: 'key-form', novalidate: true},
      field('Name', input('name')),
      field('Status', select('status', STATUSES.map((s) => [s, s]))),
      field('Weight', input('weight', {type: 'number'})),
      field('Priority (tier)', input('priority', {type: 'number'}), 'Higher tiers are tried first; the strategy applies inside a tier.'),
      field('Daily quota', input('daily_quota', {type: 'number'}), '0 = unlimited'),
      field('Requests per minute', input('rpm_limit', {type: 'number'}), '0 = no limit'),
      field('Egress proxy', input('proxy', {class: 'mono', spellcheck: 'false', placeholder: 'the upstream\'s'}), 'This key\'s own http://, https://, socks5:// or socks5h:// proxy; empty = the upstream\'s. The password shows as ***; left as it is, it is kept.'),
      limitsField(false),
      formError());
    setForm(form, EDIT_FIELDS, k);
    form.elements.namedItem('limits').value = limitsText(k.limits);
    const usage = h('div', {id: 'key-limits-usage', class: 'small'});
    if (k.limits && k.limits.length) {
      api.get(`/keys/${k.id}`).then((full) => replace(usage, h('h3', null, 'Current windows'),
        usageTable(full.limits, full.limits_usage))).catch(() => replace(usage));
    }
    const save = h('button', {type: 'submit', class: 'btn btn-primary', form: 'key-form'}, 'Save');
    const cancel = h('button', {type: 'button', class: 'btn'}, 'Cancel');
    const m = modal(`Edit key ${k.id}`, [h('p', {class: 'mono'}, k.key_masked), form, usage, h('div', {class: 'actions'}, cancel, save)]);
    cancel.addEventListener('click', m.close);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      const body = readForm(form, EDIT_FIELDS, false);
      if (body.status === k.status) delete body.status;
      body.limits = readLimits(form.elements.namedItem('limits').value);
      try {
        await api.patch(`/keys/${k.id}`, body);
        m.close();
        toast(`Key ${k.id} saved`);
        await load();
      } catch (e) {
        if (e.status === 401 || e.status === 403) { m.close(); return; }
        showFormError(form, e);
      }
    });
  }

  // The rejected lines of a paste (the preview's or the server's, at most
  // REJECTED_SHOWN) as a list with the given id, and how many more there are.
  function rejectedList(id, rejected, total) {
    if (!rejected.length) return [];
    const more = total - rejected.length;
    return h('ul', {class: 'import-rejected small', id},
      rejected.map((e) => h('li', null, `line ${e.line}: ${e.reason}`)),
      more > 0 ? h('li', {class: 'muted'}, `and ${fmtNum(more)} more`) : []);
  }

  async function openImport() {
    // Upstreams made since the page was drawn count too.
    try {
      upstreams = await api.listAll('/upstreams');
    } catch (e) {
      if (e.status !== 401) ctx.showError(e);
      return;
    }
    const up = select('upstream_id', upstreams.map((u) => [u.id, u.name]), state.upstream_id || (upstreams[0] && upstreams[0].id));
    const text = h('textarea', {name: 'text', rows: '8', spellcheck: 'false', class: 'mono',
      placeholder: 'One key per line, or separated by commas, semicolons or spaces'});
    const file = h('input', {type: 'file', name: 'file', accept: '.txt,.csv,text/plain'});
    const result = h('div', {class: 'import-result', id: 'import-result', 'aria-live': 'polite'});
    file.addEventListener('change', async () => {
      const f = file.files && file.files[0];
      if (!f) return;
      const t = await f.text();
      text.value = t.endsWith('\n') || !text.value ? text.value + t : text.value + '\n' + t;
      countLines();
    });
    const lines = h('span', {class: 'muted small'});
    const preview = h('div', {class: 'import-preview small', id: 'import-preview', 'aria-live': 'polite'});
    const countLines = () => {
      const p = parsePaste(text.value);
      lines.textContent = `${fmtNum(p.keys)} key(s)`;
      replace(preview, text.value.trim() ? [
        h('div', {id: 'import-preview-counts'},
          `${fmtNum(p.keys)} key(s) to import, ${fmtNum(p.duplicates)} duplicate(s) in the paste, ${fmtNum(p.invalid)} rejected`),
        rejectedList('import-preview-rejected', p.rejected, p.duplicates + p.invalid)] : []);
    };
    text.addEventListener('input', countLines);
    const form = h('form', {class: 'form', id: 'import-form', novalidate: true},
      field('Upstream', up),
      field('Keys (paste: one per line, or separated by commas, semicolons or spaces)', text),
      h('div', {class: 'field'}, h('label', null, 'Or read a file'), file, lines),
      preview,
      h('div', {class: 'field-row'},
        field('Weight', input('weight', {type: 'number', placeholder: '1'})),
        field('Priority (tier)', input('priority', {type: 'number', placeholder: '0'})),
        field('Daily quota', input('daily_quota', {type: 'number', placeholder: '0 = unlimited'})),
        field('Requests per minute', input('rpm_limit', {type: 'number', placeholder: '0 = none'}))),
      h('div', {class: 'field-row'},
        h('div', {class: 'field field-check'}, h('label', null, input('validate', {type: 'checkbox'}), ' Validate the new keys (a probe each, in the background)')),
        field('When a key is invalid', select('on_invalid', ON_INVALID, 'none'))),
      formError(), result);
    if (!upstreams.length) {
      result.append(h('p', {class: 'error-text'}, 'Create an upstream first.'));
    }
    const go = h('button', {type: 'submit', class: 'btn btn-primary', form: 'import-form'}, 'Import');
    const close = h('button', {type: 'button', class: 'btn'}, 'Close');
    const m = modal('Import keys', [form, h('div', {class: 'actions'}, close, go)], {wide: true});
    close.addEventListener('click', m.close);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      replace(result);
      const body = readForm(form, [['upstream_id', 'int'], ['weight', 'int'], ['priority', 'int'], ['daily_quota', 'int'], ['rpm_limit', 'int']], true);
      body.text = text.value;
      if (form.elements.namedItem('validate').checked) {
        body.validate = true;
        body.on_invalid = form.elements.namedItem('on_invalid').value;
      }
      go.disabled = true;
      try {
        const r = await api.post('/keys/import', body);
        replace(result, h('div', {class: 'counts'},
          h('div', {class: 'count count-ok', id: 'import-created'}, h('strong', null, fmtNum(r.created)), ' created'),
          h('div', {class: 'count count-warn', id: 'import-duplicates'}, h('strong', null, fmtNum(r.duplicates)), ' duplicate(s)'),
          h('div', {class: 'count count-bad', id: 'import-invalid'}, h('strong', null, fmtNum(r.invalid)), ' invalid')),
          rejectedList('import-rejected', r.rejected || [], r.duplicates + r.invalid),
          r.job_id ? h('p', {id: 'import-job'}, `Validation job ${r.job_id} queued for the new keys.`) : null);
        if (r.job_id) jobs.refresh();
        text.value = '';
        file.value = '';
        countLines();
        state.upstream_id = String(body.upstream_id);
        upSel.value = state.upstream_id;
        state.offset = 0;
        await load();
      } catch (e) {
        if (e.status === 401 || e.status === 403) { m.close(); return; }
        showFormError(form, e, (name) => (name === 'keys' ? 'text' : null));
      } finally {
        go.disabled = false;
      }
    });
    text.focus();
  }

  try {
    upstreams = await api.listAll('/upstreams');
  } catch (e) {
    if (e.status !== 401) ctx.showError(e);
    return;
  }
  replace(upSel, h('option', {value: ''}, 'All upstreams'), upstreams.map((u) => h('option', {value: String(u.id)}, u.name)));
  upSel.value = state.upstream_id;
  await load();
  jobs.refresh();
}

// The paste rules of POST /keys/import (admin/keys_paste.c), for the
// preview: split on line ends, commas, semicolons and whitespace; strip
// quotes around a value; refuse values outside printable ASCII, over 512
// bytes or under KEY_MIN_LENGTH (the server's default key_min_length).
// The server stays the authority: a gateway configured otherwise, or keys
// already in the pool, show up in its answer.
const KEY_MIN_LENGTH = 8;
const KEY_MAX_LENGTH = 512;
const REJECTED_SHOWN = 100;

export function parsePaste(text) {
  const seen = new Set();
  const out = {keys: 0, duplicates: 0, invalid: 0, rejected: []};
  const reject = (line, reason) => {
    if (out.rejected.length < REJECTED_SHOWN) out.rejected.push({line, reason});
  };
  text.split('\n').forEach((row, i) => {
    for (const piece of row.split(/[\r,; \t\v\f]+/)) {
      const v = piece.replace(/^["'`]+/, '').replace(/["'`]+$/, '');
      if (!v) continue;
      let reason = null;
      if (!/^[\x21-\x7e]*$/.test(v)) reason = 'bad character';
      else if (v.length > KEY_MAX_LENGTH) reason = 'too long';
      else if (v.length < KEY_MIN_LENGTH) reason = 'too short';
      if (reason) {
        out.invalid++;
        reject(i + 1, reason);
      } else if (seen.has(v)) {
        out.duplicates++;
        reject(i + 1, 'duplicate');
      } else {
        seen.add(v);
        out.keys++;
      }
    }
  });
  return out;
}
