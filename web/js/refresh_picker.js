// The dashboard's refresh interval: a choice of periods and "paused",
// remembered in this browser (localStorage), so that an operator who
// paused it to read finds it paused after a reload.
import {h} from './dom.js';
import {t} from './i18n.js';

const STORE = 'apigw.dashRefresh';
const CHOICES = [['5', 5, '{n} s'], ['15', 15, '{n} s'], ['30', 30, '{n} s'], ['60', 1, '{n} min'], ['300', 5, '{n} min'], ['0', 0, '']];
const DEFAULT = '15';

function saved() {
  let v = null;
  try { v = localStorage.getItem(STORE); } catch { /* storage may be off */ }
  return CHOICES.some(([c]) => c === v) ? v : DEFAULT;
}

// tick() runs at each period while the page is visible; returns
// {root, stop}.
export function refreshPicker(tick) {
  const sel = h('select', {name: 'refresh', id: 'dash-refresh', 'aria-label': t('Refresh interval')},
    CHOICES.map(([v, n, unit]) => h('option', {value: v}, v === '0' ? t('Paused') : t('Every {period}', {period: t(unit, {n})}))));
  sel.value = saved();
  let timer = null;

  function start() {
    clearInterval(timer);
    timer = null;
    const s = Number(sel.value);
    if (s > 0) timer = setInterval(() => { if (document.visibilityState === 'visible') tick(); }, s * 1000);
    sel.dataset.paused = s > 0 ? 'no' : 'yes';
  }

  sel.addEventListener('change', () => {
    try { localStorage.setItem(STORE, sel.value); } catch { /* storage may be off */ }
    start();
  });
  start();
  return {root: sel, paused: () => sel.value === '0', stop: () => { clearInterval(timer); timer = null; }};
}
