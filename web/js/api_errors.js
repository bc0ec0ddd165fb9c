// What an API error means, in the page's language.  The API's error codes
// stay English (clients match on them); the page shows a sentence for the
// code, then the server's own message as the detail, so that nothing the
// server said is lost in translation.  The codes are docs/API.md's table.
import {t} from './i18n.js';

const SENTENCES = {
  invalid_json: 'The request was not valid JSON',
  invalid_field: 'A value is not valid',
  invalid_request: 'The request was refused',
  invalid_path: 'The path was refused',
  unauthorized: 'Not logged in, or the session has ended',
  forbidden: 'Not allowed',
  model_not_allowed: 'This model is not allowed',
  not_found: 'Not found',
  method_not_allowed: 'This action is not supported',
  conflict: 'Already exists',
  body_too_large: 'The request is too large',
  rate_limited: 'Too many requests',
  login_rate_limited: 'Too many failed logins',
  concurrency_limited: 'Too many requests in flight',
  quota_exceeded: 'The quota is used up',
  overloaded: 'The gateway is busy',
  internal_error: 'The gateway failed',
  db_unavailable: 'The database cannot be reached',
  upstream_error: 'The upstream failed',
  upstream_timeout: 'The upstream timed out',
  upstream_disabled: 'The upstream is disabled',
  unknown_upstream: 'No upstream has this name',
  no_available_key: 'No key is usable',
  bad_gateway: 'The upstream answered badly',
  script_error: 'The script failed',
};

// The sentence for an error's code (in the page's language), or null when
// the code is not one the page knows.
export function codeSentence(code) {
  return SENTENCES[code] ? t(SENTENCES[code]) : null;
}

// "Sentence: the server's message", for the banner and form lines.  Errors
// the page made itself (no answer, or one that is not JSON) are already in
// the page's language.
export function errorText(err) {
  if (!err) return '';
  const message = err.message || String(err);
  if (err.local || !err.code) return message;
  let sentence = codeSentence(err.code);
  if (!sentence) sentence = err.status >= 500 ? t('The gateway failed') : t('The request failed');
  return t('{what}: {detail}', {what: sentence, detail: message});
}
