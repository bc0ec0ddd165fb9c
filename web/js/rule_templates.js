// Starting points for the rule editor: the default rules that the database
// is seeded with (sql/002_default_rules.sql) and the recipes of
// docs/RULES.md.  Each says what it does and when to use it, and comes
// with a sample answer for the dry run.
import {t} from './i18n.js';

// The groups' names, shown in the template menu.
export function templateGroup(g) {
  return t(g);
}

export const TEMPLATES = [
  {
    id: 'quota-exhausted', group: 'Default rules',
    about: () => t("Takes a key whose account is out of quota (OpenAI's insufficient_quota, Anthropic's low credit balance) out until the daily quota reset, and retries with another key. Use it on every upstream that bills per account: it runs before rate-limited because OpenAI answers an exhausted account with 429 too."),
    rule: {
      name: 'quota-exhausted', upstream_id: null, enabled: true, priority: 10,
      condition: {all: [
        {type: 'status', op: 'in', value: [400, 402, 403, 429]},
        {any: [
          {type: 'json_path', path: '$.error.code', op: 'eq', value: 'insufficient_quota'},
          {type: 'json_path', path: '$.error.type', op: 'eq', value: 'insufficient_quota'},
          {type: 'body_contains', value: 'billing_hard_limit_reached'},
          {type: 'body_contains', value: 'credit balance is too low', case_insensitive: true},
        ]},
      ]},
      actions: [{type: 'disable_key', until: 'quota_reset'}, {type: 'retry'}],
      threshold: 1, window_s: 60, cooldown_s: 0, stop: true,
    },
    sample: {status: 429, headers: 'Content-Type: application/json', body: '{"error":{"code":"insufficient_quota","message":"You exceeded your current quota"}}'},
  },
  {
    id: 'rate-limited', group: 'Default rules',
    about: () => t('Rests a key for as long as a 429 answer asks (Retry-After, else 60 s) and retries with another key. Use it wherever the provider limits the rate per key.'),
    rule: {
      name: 'rate-limited', upstream_id: null, enabled: true, priority: 20,
      condition: {type: 'status', op: 'eq', value: 429},
      actions: [{type: 'disable_key', until: 'retry_after', duration_s: 60}, {type: 'retry'}],
      threshold: 1, window_s: 60, cooldown_s: 0, stop: true,
    },
    sample: {status: 429, headers: 'Retry-After: 20', body: '{"error":{"message":"Rate limit reached"}}'},
  },
  {
    id: 'invalid-key', group: 'Default rules',
    about: () => t("Bans a key the provider refuses (401, 403, or Gemini's API_KEY_INVALID) and retries with another key. Use it to take dead or revoked keys out for good."),
    rule: {
      name: 'invalid-key', upstream_id: null, enabled: true, priority: 30,
      condition: {any: [
        {type: 'status', op: 'in', value: [401, 403]},
        {all: [
          {type: 'status', op: 'eq', value: 400},
          {any: [
            {type: 'body_contains', value: 'API_KEY_INVALID'},
            {type: 'body_contains', value: 'API key not valid', case_insensitive: true},
          ]},
        ]},
      ]},
      actions: [{type: 'ban_key'}, {type: 'retry'}],
      threshold: 1, window_s: 60, cooldown_s: 0, stop: true,
    },
    sample: {status: 400, headers: 'Content-Type: application/json', body: '{"error":{"status":"INVALID_ARGUMENT","message":"API key not valid. Please pass a valid API key.","details":[{"reason":"API_KEY_INVALID"}]}}'},
  },
  {
    id: 'upstream-trouble', group: 'Default rules',
    about: () => t("Retries 5xx answers and failed connections with another key without punishing the key. Use it so that a provider's own trouble never takes keys out."),
    rule: {
      name: 'upstream-trouble', upstream_id: null, enabled: true, priority: 40,
      condition: {any: [
        {type: 'status', op: 'range', value: [500, 599]},
        {type: 'transport_error', value: 'any'},
      ]},
      actions: [{type: 'retry'}],
      threshold: 1, window_s: 60, cooldown_s: 0, stop: false,
    },
    sample: {status: 503, headers: '', body: 'Service Unavailable'},
  },
  {
    id: 'flaky-key', group: 'Recipes',
    about: () => t('Rests a key for 10 minutes after three 5xx answers within a minute. Use it when single keys fail now and then while the others work.'),
    rule: {
      name: 'flaky-key', priority: 35, threshold: 3, window_s: 60,
      condition: {type: 'status', op: 'range', value: [500, 599]},
      actions: [{type: 'disable_key', duration_s: 600}],
    },
    sample: {status: 502, headers: '', body: ''},
  },
  {
    id: 'ok-but-overloaded', group: 'Recipes',
    about: () => t('Retries a 200 answer that carries an X-Overloaded header, before the client sees it. Use it for APIs that say "busy" with a success status.'),
    rule: {
      name: 'ok-but-overloaded', priority: 5,
      condition: {all: [
        {type: 'status', op: 'eq', value: 200},
        {type: 'header', name: 'x-overloaded', op: 'exists'},
      ]},
      actions: [{type: 'retry'}],
    },
    sample: {status: 200, headers: 'X-Overloaded: 1', body: '{}'},
  },
  {
    id: 'slow', group: 'Recipes',
    about: () => t('Raises an alert when 20 answers within a minute took more than 10 s (at most one alert per 10 minutes). Use it to hear about a slow provider.'),
    rule: {
      name: 'slow', threshold: 20, window_s: 60, cooldown_s: 600,
      condition: {type: 'latency', op: 'gt', value_ms: 10000},
      actions: [{type: 'alert', message: 'answers take more than 10 s'}],
    },
    sample: {status: 200, headers: '', body: '{}', latency_ms: 12000},
  },
  {
    id: 'expired-key', group: 'Recipes',
    about: () => t('Bans a key that a Gemini-style API calls expired (API_KEY_EXPIRED in the JSON body) and retries. Use it next to invalid-key for providers whose keys expire.'),
    rule: {
      name: 'expired-key', priority: 25,
      condition: {all: [
        {type: 'status', op: 'eq', value: 400},
        {type: 'json_path', path: '$.error.details[0].reason', op: 'eq', value: 'API_KEY_EXPIRED'},
      ]},
      actions: [{type: 'ban_key'}, {type: 'retry'}],
    },
    sample: {status: 400, headers: 'Content-Type: application/json', body: '{"error":{"details":[{"reason":"API_KEY_EXPIRED"}]}}'},
  },
  {
    id: 'blank', group: 'Start from',
    about: () => t('A rule that only writes a log message on a 429. Start here to build your own.'),
    rule: {
      name: 'my-rule', upstream_id: null, enabled: true, priority: 100,
      condition: {type: 'status', op: 'eq', value: 429},
      actions: [{type: 'log', message: 'saw a 429'}],
      threshold: 1, window_s: 60, cooldown_s: 0, stop: false,
    },
    sample: {status: 429, headers: '', body: ''},
  },
];
