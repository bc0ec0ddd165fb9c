// The upstream page's confirmations: before making an upstream public (its
// keys then serve anyone who reaches the gateway), and before deleting one
// that has keys, a dialog that asks for the upstream's name to be typed.
import {confirmDialog, h, modal} from './dom.js';
import {t} from './i18n.js';

export function confirmPublic(name) {
  return confirmDialog(t('Make upstream public'),
    t('Make {name} public? Anyone who can reach the gateway can then call it at /proxy/{name}/… without a client token, on your keys.', {name}),
    t('Make public'));
}

// Resolves true once the name was typed and Delete pressed; false on
// Cancel, Escape or a close (navigation closes every dialog).
export function confirmDeleteWithKeys(name, keys) {
  return new Promise((resolve) => {
    let answered = false;
    const typed = h('input', {type: 'text', name: 'confirm_name', id: 'confirm-name', autocomplete: 'off',
      spellcheck: 'false', autocapitalize: 'none', 'aria-label': t('Name of the upstream')});
    const ok = h('button', {type: 'button', class: 'btn btn-danger', id: 'confirm-delete', disabled: true}, t('Delete'));
    const cancel = h('button', {type: 'button', class: 'btn'}, t('Cancel'));
    typed.addEventListener('input', () => { ok.disabled = typed.value !== name; });
    const m = modal(t('Delete upstream'), [
      h('p', null, t('Upstream {name} has {n} keys. Deleting it deletes its keys and rules too; its request logs are kept.', {name, n: keys})),
      h('p', null, t('Type {name} to confirm.', {name})),
      typed,
      h('div', {class: 'actions'}, cancel, ok),
    ], {onClose: () => { if (!answered) resolve(false); }});
    ok.addEventListener('click', () => { answered = true; resolve(typed.value === name); m.close(); });
    cancel.addEventListener('click', () => { answered = true; resolve(false); m.close(); });
    typed.focus();
  });
}
