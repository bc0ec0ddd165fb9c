// Provider presets for the upstream form: each fills the base URL, how the
// key is injected, the probe and the usage format (docs/API.md, upstream
// fields).  The generic preset sets the gateway's defaults and no probe.
import {h} from './dom.js';
import {t} from './i18n.js';

const ANTHROPIC_VERSION = 'set anthropic-version 2023-06-01';

export const PRESETS = [
  {id: 'openai', label: 'OpenAI', name: 'openai', fields: {
    base_url: 'https://api.openai.com/v1', auth_header: 'Authorization', auth_template: 'Bearer {key}',
    auth_query_param: '', probe_method: 'GET', probe_path: '/models', usage_format: 'openai'}},
  {id: 'anthropic', label: 'Anthropic', name: 'anthropic', fields: {
    base_url: 'https://api.anthropic.com/v1', auth_header: 'x-api-key', auth_template: '{key}',
    auth_query_param: '', probe_method: 'GET', probe_path: '/models', usage_format: 'anthropic',
    // Anthropic refuses a request without its version header, the probe too.
    header_rules: ANTHROPIC_VERSION}},
  {id: 'gemini', label: 'Gemini', name: 'gemini', fields: {
    base_url: 'https://generativelanguage.googleapis.com/v1beta', auth_header: 'x-goog-api-key',
    auth_template: '{key}', auth_query_param: '', probe_method: 'GET', probe_path: '/models',
    usage_format: 'gemini', quota_reset_hour: '0', quota_reset_tz: 'America/Los_Angeles'}},
  {id: 'azure', label: 'Azure OpenAI', name: 'azure', fields: {
    base_url: 'https://RESOURCE.openai.azure.com/openai', auth_header: 'api-key', auth_template: '{key}',
    auth_query_param: '', probe_method: 'GET', probe_path: '/models?api-version=2024-10-21',
    usage_format: 'openai'}},
  {id: 'generic', label: 'Generic', name: '', fields: {
    base_url: '', auth_header: 'Authorization', auth_template: 'Bearer {key}', auth_query_param: '',
    probe_method: '', probe_path: '', usage_format: 'none'}},
];

export function presetById(id) {
  return PRESETS.find((p) => p.id === id) || null;
}

// What every preset sets unless it says otherwise, so that one preset
// after another leaves nothing of the first (Gemini's reset time).
const BASE = {probe_body: '', probe_content_type: '', quota_reset_hour: '', quota_reset_tz: ''};

// Fills the form's inputs from a preset; the name only when it is empty.
export function applyPreset(form, preset) {
  // The header rule one preset added goes with another preset; rules of
  // one's own stay.
  const rules = form.elements.namedItem('header_rules');
  if (rules && rules.value.trim() === ANTHROPIC_VERSION) rules.value = '';
  for (const [name, value] of Object.entries({...BASE, ...preset.fields})) {
    const el = form.elements.namedItem(name);
    if (el) el.value = value;
  }
  const name = form.elements.namedItem('name');
  if (name && name.value.trim() === '' && preset.name) name.value = preset.name;
  for (const el of form.querySelectorAll('input, select, textarea')) el.dispatchEvent(new Event('input'));
}

// A row of preset buttons for the top of the upstream form.
export function presetBar(form) {
  return h('div', {class: 'preset-bar', id: 'upstream-presets', role: 'group', 'aria-label': t('Provider presets')},
    h('span', {class: 'muted small'}, t('Fill from a preset:')),
    PRESETS.map((p) => h('button', {type: 'button', class: 'btn btn-small', dataset: {preset: p.id},
      on: {click: () => applyPreset(form, p)}}, p.id === 'generic' ? t('Generic') : p.label)),
    h('span', {class: 'muted small'}, t('Azure: put your resource name in the base URL.')));
}
