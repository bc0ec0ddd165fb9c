-- Model allow-list, model map and body overrides (issue 20, docs/API.md
-- "Model allow-list, model map and body overrides"): JSON text as saved
-- (checked by the admin API), and the model a request asked for before the
-- map (request_logs.model keeps the answer's model, or the one sent).
ALTER TABLE upstreams ADD COLUMN IF NOT EXISTS model_allow TEXT NULL;
ALTER TABLE upstreams ADD COLUMN IF NOT EXISTS model_map TEXT NULL;
ALTER TABLE upstreams ADD COLUMN IF NOT EXISTS body_set MEDIUMTEXT NULL;
ALTER TABLE request_logs ADD COLUMN IF NOT EXISTS model_requested VARCHAR(128) NULL;
