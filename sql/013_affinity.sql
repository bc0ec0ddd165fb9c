-- Sticky keys (docs/API.md, "Key affinity"): how an upstream finds a
-- request's affinity id, and the JSON path of a body id.
ALTER TABLE upstreams
    ADD COLUMN IF NOT EXISTS affinity VARCHAR(8) CHARACTER SET ascii NOT NULL DEFAULT 'none',
    ADD COLUMN IF NOT EXISTS affinity_path VARCHAR(256) NULL;

-- NULL: the request had no affinity id; 1: its preferred key served it;
-- 0: another key did (the preferred one was out or failed).
ALTER TABLE request_logs ADD COLUMN IF NOT EXISTS affinity TINYINT NULL;
