// A copy button: copies a value to the clipboard and says whether it
// worked (a page without clipboard permission asks to copy by hand).
import {h} from './dom.js';
import {t} from './i18n.js';

export async function copyText(value, button) {
  let ok = false;
  try {
    await navigator.clipboard.writeText(value);
    ok = true;
  } catch {
    ok = false;
  }
  button.textContent = ok ? t('Copied') : t('Select and copy it by hand');
  button.dataset.copied = ok ? 'yes' : 'no';
  setTimeout(() => { button.textContent = t('Copy'); }, 2500);
}

// A button that copies what value() gives at the time of the click.
export function copyButton(value, attrs = {}) {
  const b = h('button', {type: 'button', class: 'btn btn-small', ...attrs}, t('Copy'));
  b.addEventListener('click', () => copyText(typeof value === 'function' ? value() : value, b));
  return b;
}
