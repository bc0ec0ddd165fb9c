// The page's colours, chosen before the first paint.  A classic script
// (not a module) loaded by <head>, so it runs before the body is drawn and
// the page never flashes light before turning dark.  The choice is
// 'system' (follow prefers-color-scheme), 'light' or 'dark', kept in
// localStorage 'apigw.theme'; <html data-theme> holds the colours in use,
// which app.css reads.  theme.js (a module) switches it later through
// window.__apigwTheme.
(function () {
  'use strict';
  var STORE = 'apigw.theme';
  var CHOICES = ['system', 'light', 'dark'];
  var media = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
  var listeners = [];

  function choice() {
    var v = null;
    try { v = localStorage.getItem(STORE); } catch (e) { /* storage may be off */ }
    return CHOICES.indexOf(v) >= 0 ? v : 'system';
  }

  function apply() {
    var c = choice();
    var dark = c === 'dark' || (c === 'system' && !!media && media.matches);
    var root = document.documentElement;
    root.setAttribute('data-theme', dark ? 'dark' : 'light');
    root.setAttribute('data-theme-choice', c);
    var now = listeners.slice();
    for (var i = 0; i < now.length; i++) now[i](dark ? 'dark' : 'light', c);
  }

  function set(c) {
    if (CHOICES.indexOf(c) < 0) return;
    try { localStorage.setItem(STORE, c); } catch (e) { /* the choice lasts this page only */ }
    apply();
  }

  if (media && media.addEventListener) media.addEventListener('change', apply);
  window.__apigwTheme = {
    CHOICES: CHOICES,
    choice: choice,
    set: set,
    current: function () { return document.documentElement.getAttribute('data-theme'); },
    onChange: function (fn) {
      listeners.push(fn);
      return function () {
        var i = listeners.indexOf(fn);
        if (i >= 0) listeners.splice(i, 1);
      };
    },
  };
  apply();
}());
