-- When no key is usable (issue 19, docs/API.md "When no key is usable" and
-- "Fallback upstreams"): how long a request may wait for a key, the
-- upstreams tried next (a JSON array of ids, in order), and the upstream a
-- request named when a fallback served it.
ALTER TABLE upstreams ADD COLUMN IF NOT EXISTS queue_wait_ms INT NOT NULL DEFAULT 0;
ALTER TABLE upstreams ADD COLUMN IF NOT EXISTS fallback_upstreams VARCHAR(512) NULL;
ALTER TABLE request_logs ADD COLUMN IF NOT EXISTS fallback_from VARCHAR(64) NULL;
