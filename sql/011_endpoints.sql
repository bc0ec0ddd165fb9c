-- Several base URLs per upstream, each with a breaker (issue 19, docs/API.md
-- "Endpoints"): endpoints is a JSON array [{url, weight, enabled}] as text,
-- NULL for the one-endpoint form (base_url alone); when set, base_url holds
-- its first enabled URL, so that whatever reads base_url (apigw-recover's
-- probe) reaches a configured endpoint.  The admin API checks it.  The
-- request log names the endpoint (the origin of its URL) of the last
-- attempt.
ALTER TABLE upstreams
    ADD COLUMN IF NOT EXISTS endpoints TEXT NULL,
    ADD COLUMN IF NOT EXISTS endpoint_fail_threshold INT NOT NULL DEFAULT 5,
    ADD COLUMN IF NOT EXISTS endpoint_window_s INT NOT NULL DEFAULT 30,
    ADD COLUMN IF NOT EXISTS endpoint_cooldown_s INT NOT NULL DEFAULT 30;

ALTER TABLE request_logs ADD COLUMN IF NOT EXISTS endpoint VARCHAR(128) NULL;
