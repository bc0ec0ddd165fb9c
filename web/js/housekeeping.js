// The dashboard's housekeeping panel (GET /housekeeping): when each cron
// job last ran, whether it worked and what it did; a job not seen for
// twice its period is shown as a warning, since keys then stay resting,
// quotas are not reset or logs grow.
import * as api from './api.js';
import {badge, h, replace, table} from './dom.js';
import {fmtTime, t} from './i18n.js';

function every(seconds) {
  if (seconds % 86400 === 0) return seconds === 86400 ? t('daily') : t('every {n} days', {n: seconds / 86400});
  if (seconds % 3600 === 0) return seconds === 3600 ? t('hourly') : t('every {n} hours', {n: seconds / 3600});
  return seconds === 60 ? t('every minute') : t('every {n} minutes', {n: Math.round(seconds / 60)});
}

function ago(seconds) {
  if (seconds < 120) return t('{n} s ago', {n: seconds});
  if (seconds < 7200) return t('{n} min ago', {n: Math.round(seconds / 60)});
  if (seconds < 172800) return t('{n} h ago', {n: Math.round(seconds / 3600)});
  return t('{n} days ago', {n: Math.round(seconds / 86400)});
}

export function housekeepingPanel() {
  const box = h('div', {id: 'dash-housekeeping'});
  const root = h('section', {class: 'card'}, h('h2', null, t('Housekeeping')), box);

  async function refresh() {
    const body = await api.get('/housekeeping');
    const late = body.jobs.filter((j) => j.late);
    replace(box,
      late.length ? h('div', {class: 'notice notice-warn', role: 'status', id: 'housekeeping-late'},
        late.map((j) => h('p', null, j.last_run
          ? t('{job} has not run for {ago} (expected {every}). Check its cron entry or timer.', {job: j.job, ago: ago(j.age_s), every: every(j.period_s)})
          : t('{job} has never run (expected {every}). Install its cron entry (see the operations guide).', {job: j.job, every: every(j.period_s)})))) : null,
      table([
        {title: t('Job'), class: 'mono nowrap', cell: (j) => j.job},
        {title: t('Schedule'), class: 'nowrap', cell: (j) => every(j.period_s)},
        {title: t('Last run'), class: 'nowrap', cell: (j) => (j.last_run
          ? h('span', {title: fmtTime(j.last_run.started_at)}, fmtTime(j.last_run.finished_at)) : t('never'))},
        {title: t('Result'), cell: (j) => {
          if (j.late) return badge(t('late'), 'warn');
          return j.last_run.ok ? badge(t('ok'), 'ok') : badge(t('failed'), 'bad');
        }},
        {title: t('What it did'), class: 'small wrap data', cell: (j) => (j.last_run ? j.last_run.summary : '—')},
      ], body.jobs, {class: 'dash-housekeeping', rowAttrs: (j) => ({dataset: {job: j.job, late: j.late ? 'yes' : 'no'}})}));
  }

  return {root, refresh};
}
