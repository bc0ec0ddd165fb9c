-- Key validation jobs (issue 21, docs/API.md "Validation jobs"): a job
-- probes a set of keys of one upstream and keeps its cursor and counts here,
-- so that apigw-jobs (run every minute) picks it up again after a restart.
-- job_results holds one row per key of the job, written when the job is
-- made (verdict NULL: not probed yet); it never holds a key value.
CREATE TABLE IF NOT EXISTS jobs (
    id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind               VARCHAR(16) NOT NULL DEFAULT 'validate',
    upstream_id        BIGINT UNSIGNED NOT NULL,
    state              VARCHAR(16) NOT NULL DEFAULT 'queued',
    on_invalid         VARCHAR(8) NOT NULL DEFAULT 'none',
    concurrency        INT NOT NULL DEFAULT 4,
    rps                INT NULL,
    total              INT NOT NULL DEFAULT 0,
    processed          INT NOT NULL DEFAULT 0,
    valid_count        INT NOT NULL DEFAULT 0,
    invalid_count      INT NOT NULL DEFAULT 0,
    inconclusive_count INT NOT NULL DEFAULT 0,
    cursor_key_id      BIGINT UNSIGNED NOT NULL DEFAULT 0,
    run_ms             BIGINT NOT NULL DEFAULT 0,
    actor              VARCHAR(128) NULL,
    error              VARCHAR(255) NULL,
    created_at         DATETIME NOT NULL,
    started_at         DATETIME NULL,
    finished_at        DATETIME NULL,
    updated_at         DATETIME NOT NULL,
    KEY ix_jobs_state (state, id),
    CONSTRAINT fk_jobs_upstream FOREIGN KEY (upstream_id) REFERENCES upstreams (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS job_results (
    job_id     BIGINT UNSIGNED NOT NULL,
    key_id     BIGINT UNSIGNED NOT NULL,
    key_masked VARCHAR(16) NOT NULL,
    verdict    VARCHAR(16) NULL,
    status     INT NULL,
    latency_ms INT NULL,
    rule_name  VARCHAR(128) NULL,
    action     VARCHAR(16) NULL,
    error      VARCHAR(255) NULL,
    checked_at DATETIME NULL,
    PRIMARY KEY (job_id, key_id),
    CONSTRAINT fk_job_results_job FOREIGN KEY (job_id) REFERENCES jobs (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Probes with a body (for APIs with no free GET), and the re-check of
-- banned keys: NULL is off, else every that many seconds (at least 60).
ALTER TABLE upstreams ADD COLUMN IF NOT EXISTS probe_body MEDIUMTEXT NULL;
ALTER TABLE upstreams ADD COLUMN IF NOT EXISTS probe_content_type VARCHAR(128) NULL;
ALTER TABLE upstreams ADD COLUMN IF NOT EXISTS recheck_banned_s INT NULL;
-- When apigw-jobs last probed a banned key (its re-check).
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS banned_checked_at DATETIME NULL;
