// The light/dark switch for modules (the work is done by theme_boot.js,
// which ran before the first paint): the choice, a way to change it, and
// the colours of the CSS custom properties for what draws on a canvas.

const boot = window.__apigwTheme;

export const THEMES = boot ? boot.CHOICES : ['system'];

// 'system', 'light' or 'dark': what the user chose.
export function themeChoice() {
  return boot ? boot.choice() : 'system';
}

// 'light' or 'dark': what the page shows now.
export function currentTheme() {
  return boot ? boot.current() : 'light';
}

export function setTheme(choice) {
  if (boot) boot.set(choice);
}

// fn(theme) each time the colours change (a switch, or the system's
// setting while the choice is 'system'); returns a function that stops it.
export function onThemeChange(fn) {
  return boot ? boot.onChange(fn) : () => {};
}

// The value of a CSS custom property ('--chart-grid') as the page has it now.
export function cssColor(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
