-- Pacing by the provider's headers (issue 21, docs/API.md "Pacing by the
-- provider's headers"): an upstream that learns each key's remaining budget
-- from its answers, and the latest budget of each key, written in batches
-- by every process's refresher thread and read by the others (newest
-- learned_at wins).  stored_at is the database's clock at the write, so
-- that a process reads only the rows written since its last read.
ALTER TABLE upstreams ADD COLUMN IF NOT EXISTS pace_by_headers TINYINT(1) NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS key_pace (
    key_id             BIGINT UNSIGNED NOT NULL,
    remaining_requests BIGINT NULL,
    remaining_tokens   BIGINT NULL,
    requests_reset_at  DATETIME(3) NULL,
    tokens_reset_at    DATETIME(3) NULL,
    learned_at         DATETIME(3) NOT NULL,
    stored_at          DATETIME(3) NOT NULL,
    PRIMARY KEY (key_id),
    KEY ix_key_pace_stored (stored_at),
    CONSTRAINT fk_key_pace_key FOREIGN KEY (key_id) REFERENCES api_keys (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
