// Finding a key by pasting its value: the value goes in a POST body (never
// the address, so it stays out of history and access logs), the server
// compares its hash with the stored ones, and the field is emptied as soon
// as it is sent.  Every upstream is searched, whatever the list's filter:
// the question is "is this key anywhere in the pool?".  onFound(items)
// shows the keys found.
import * as api from './api.js';
import {h} from './dom.js';
import {t} from './i18n.js';

export function findForm(ctx, onFound) {
  const value = h('input', {type: 'password', name: 'find_value', autocomplete: 'off', spellcheck: 'false',
    class: 'mono', placeholder: t('Paste a key to find it'), 'aria-label': t('Key value to find')});
  const go = h('button', {type: 'submit', class: 'btn'}, t('Find key'));
  const form = h('form', {class: 'keys-find', id: 'keys-find', role: 'search'}, value, go);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = value.value;
    value.value = '';
    if (!v.trim()) return;
    go.disabled = true;
    try {
      const r = await api.post('/keys/find', {value: v});
      onFound(r.items);
    } catch (e) {
      if (e.status !== 401) ctx.showError(e);
    } finally {
      go.disabled = false;
    }
  });
  return form;
}
