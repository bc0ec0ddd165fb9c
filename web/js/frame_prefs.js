// The top bar's language and theme switches, and the words of index.html
// itself (navigation, Log out, aria-labels), which are written there in
// English for the first paint and put in the page's language here.
import {locale, setLocale, t} from './i18n.js';
import {onThemeChange, setTheme, THEMES, themeChoice} from './theme.js';

const THEME_NAMES = {system: 'System', light: 'Light', dark: 'Dark'};
const THEME_ICONS = {system: '◐', light: '☀', dark: '☾'};

// Elements with data-i18n="English" get its translation as their text;
// data-i18n-aria-label="English" does the same for aria-label.
export function translateStatic(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-aria-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  }
  showLanguage();
  showTheme();
}

// The language button names the other language, in that language: 中文
// while the page is English, English while it is Chinese.
function showLanguage() {
  const b = document.getElementById('lang-switch');
  const other = locale() === 'en' ? 'zh-CN' : 'en';
  b.textContent = other === 'en' ? 'English' : '中文';
  b.lang = other;
  b.dataset.switchTo = other;
  b.title = t('Language: English or Chinese');
  b.setAttribute('aria-label', other === 'en' ? 'Switch to English' : '切换到中文');
}

function showTheme() {
  const b = document.getElementById('theme-switch');
  const c = themeChoice();
  const next = THEMES[(THEMES.indexOf(c) + 1) % THEMES.length];
  b.textContent = THEME_ICONS[c];
  b.dataset.choice = c;
  const label = t('Theme: {now} (click for {next})', {now: t(THEME_NAMES[c]), next: t(THEME_NAMES[next])});
  b.title = label;
  b.setAttribute('aria-label', label);
}

export function setupPrefs() {
  document.getElementById('lang-switch').addEventListener('click', (ev) => {
    setLocale(ev.currentTarget.dataset.switchTo);
  });
  document.getElementById('theme-switch').addEventListener('click', () => {
    const c = themeChoice();
    setTheme(THEMES[(THEMES.indexOf(c) + 1) % THEMES.length]);
  });
  onThemeChange(showTheme);
}
