-- The default rules: a cookbook for OpenAI-, Gemini- and Anthropic-style
-- APIs that tells a dead key from an exhausted one and from a busy provider
-- (docs/RULES.md explains each).  They apply to every upstream
-- (upstream_id NULL), can be edited or deleted, and are not recreated once
-- deleted.  Lower priority runs first; each stops the ones after it.

INSERT INTO rules (upstream_id, name, enabled, priority, cond_json, actions_json, threshold,
                   window_s, cooldown_s, stop, created_at, updated_at)
VALUES
(NULL, 'quota-exhausted', 1, 10,
 '{"all":[{"type":"status","op":"in","value":[400,402,403,429]},{"any":[{"type":"json_path","path":"$.error.code","op":"eq","value":"insufficient_quota"},{"type":"json_path","path":"$.error.type","op":"eq","value":"insufficient_quota"},{"type":"body_contains","value":"billing_hard_limit_reached"},{"type":"body_contains","value":"credit balance is too low","case_insensitive":true}]}]}',
 '[{"type":"disable_key","until":"quota_reset"},{"type":"retry"}]',
 1, 60, 0, 1, UTC_TIMESTAMP(), UTC_TIMESTAMP()),
(NULL, 'rate-limited', 1, 20,
 '{"type":"status","op":"eq","value":429}',
 '[{"type":"disable_key","until":"retry_after","duration_s":60},{"type":"retry"}]',
 1, 60, 0, 1, UTC_TIMESTAMP(), UTC_TIMESTAMP()),
(NULL, 'invalid-key', 1, 30,
 '{"any":[{"type":"status","op":"in","value":[401,403]},{"all":[{"type":"status","op":"eq","value":400},{"any":[{"type":"body_contains","value":"API_KEY_INVALID"},{"type":"body_contains","value":"API key not valid","case_insensitive":true}]}]}]}',
 '[{"type":"ban_key"},{"type":"retry"}]',
 1, 60, 0, 1, UTC_TIMESTAMP(), UTC_TIMESTAMP()),
(NULL, 'upstream-trouble', 1, 40,
 '{"any":[{"type":"status","op":"range","value":[500,599]},{"type":"transport_error","value":"any"}]}',
 '[{"type":"retry"}]',
 1, 60, 0, 0, UTC_TIMESTAMP(), UTC_TIMESTAMP());

UPDATE pool_version SET version = version + 1 WHERE id = 1;
