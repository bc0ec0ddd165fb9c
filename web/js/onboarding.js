// The dashboard's first-run steps, shown until the gateway can serve: 1
// an upstream (from a provider preset), 2 its keys, 3 a client token, 4 a
// test call to copy.  Each step says whether it is done; the panel goes
// away once the first three are.
import * as api from './api.js';
import {h, replace} from './dom.js';
import {t} from './i18n.js';
import {PRESETS} from './upstream_presets.js';
import {snippetsPanel} from './snippets.js';

function step(n, title, done, ...body) {
  return h('li', {class: ['onboard-step', done ? 'done' : null], dataset: {step: n, done: done ? 'yes' : 'no'}},
    h('h3', null, h('span', {class: 'onboard-num', 'aria-hidden': 'true'}, done ? '✓' : String(n)), ' ', title,
      done ? h('span', {class: 'visually-hidden'}, ' ' + t('(done)')) : null),
    body);
}

// Returns {root, refresh(upstreams)}; root is hidden when nothing is left.
export function onboardingPanel(ctx) {
  const root = h('section', {class: 'card onboarding', id: 'onboarding', hidden: true});

  async function refresh(upstreams) {
    const keys = upstreams.length ? (await api.get('/keys', {limit: 1})).total : 0;
    const tokens = ctx.can('admin') ? (await api.get('/tokens', {limit: 1})).total : null;
    const first = upstreams[0];
    const done = [upstreams.length > 0, keys > 0, tokens === null || tokens > 0];
    root.hidden = done.every(Boolean);
    if (root.hidden) return;
    const admin = ctx.can('admin');
    replace(root,
      h('h2', null, t('Get started')),
      h('p', {class: 'muted'}, t('Four steps from an empty gateway to a first request through it.')),
      h('ol', {class: 'onboard-steps'},
        step(1, t('Create an upstream'), done[0],
          h('p', null, t('The provider the gateway forwards to. Pick a preset: it fills the base URL, how the key is sent, the probe and the usage format.')),
          admin ? h('div', {class: 'preset-bar'}, PRESETS.map((p) =>
            h('a', {class: 'btn btn-small', href: `#/upstreams?new=${p.id}`, dataset: {preset: p.id}},
              p.id === 'generic' ? t('Generic') : p.label))) : h('p', {class: 'muted small'}, t('An admin creates upstreams.'))),
        step(2, t('Import keys'), done[1],
          h('p', null, t('Paste the provider keys of the upstream; the gateway spreads requests over them.')),
          first ? h('a', {class: 'btn btn-small', href: `#/keys?upstream_id=${first.id}`}, t('Keys of {name}', {name: first.name})) : null),
        step(3, t('Create a client token'), done[2],
          h('p', null, t('Your applications present it instead of a provider key.')),
          admin ? h('a', {class: 'btn btn-small', href: '#/tokens?new=1'}, t('New client token')) : null),
        step(4, t('Make a test call'), false,
          first ? snippetsPanel(first) : h('p', {class: 'muted'}, t('Once an upstream exists, its test call shows here.')))));
  }

  return {root, refresh};
}
