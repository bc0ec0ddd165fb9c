-- Token usage (docs/USAGE.md): how an upstream's answers report it, what
-- each logged request used, and the rollups that stats and /metrics read.

ALTER TABLE upstreams
    ADD COLUMN IF NOT EXISTS usage_format VARCHAR(16) CHARACTER SET ascii NOT NULL DEFAULT 'none',
    ADD COLUMN IF NOT EXISTS usage_paths TEXT NULL;

-- NULL counts: the answer reported none (usage_source says why), or the
-- row predates usage.  The model is the one the answer named, else the
-- one the request named.
ALTER TABLE request_logs
    ADD COLUMN IF NOT EXISTS model VARCHAR(128) NULL,
    ADD COLUMN IF NOT EXISTS prompt_tokens BIGINT NULL,
    ADD COLUMN IF NOT EXISTS completion_tokens BIGINT NULL,
    ADD COLUMN IF NOT EXISTS cached_tokens BIGINT NULL,
    ADD COLUMN IF NOT EXISTS total_tokens BIGINT NULL,
    ADD COLUMN IF NOT EXISTS usage_source VARCHAR(16) CHARACTER SET ascii NULL,
    ADD KEY IF NOT EXISTS ix_logs_model (model, ts);

ALTER TABLE stats_minute
    ADD COLUMN IF NOT EXISTS prompt_tokens BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS completion_tokens BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS cached_tokens BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS total_tokens BIGINT NOT NULL DEFAULT 0;

ALTER TABLE stats_total
    ADD COLUMN IF NOT EXISTS prompt_tokens BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS completion_tokens BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS cached_tokens BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS total_tokens BIGINT NOT NULL DEFAULT 0;

-- Token quotas (docs/USAGE.md): tokens_today counts the tokens the answers
-- reported since the last quota reset (apigw-quota-reset); NULL quota = none.
ALTER TABLE api_keys
    ADD COLUMN IF NOT EXISTS daily_token_quota BIGINT NULL,
    ADD COLUMN IF NOT EXISTS tokens_today BIGINT NOT NULL DEFAULT 0;
ALTER TABLE client_tokens
    ADD COLUMN IF NOT EXISTS daily_token_quota BIGINT NULL,
    ADD COLUMN IF NOT EXISTS tokens_today BIGINT NOT NULL DEFAULT 0;

-- Per minute, upstream and model ('' when neither request nor answer named
-- one): the stats' by_model block.
CREATE TABLE IF NOT EXISTS stats_model_minute (
    minute            DATETIME NOT NULL,
    upstream_id       BIGINT UNSIGNED NOT NULL,
    model             VARCHAR(128) NOT NULL,
    requests          BIGINT NOT NULL,
    errors            BIGINT NOT NULL,
    prompt_tokens     BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    cached_tokens     BIGINT NOT NULL,
    total_tokens      BIGINT NOT NULL,
    PRIMARY KEY (minute, upstream_id, model)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Per minute and client token (0 for none): the stats' by_token block.
CREATE TABLE IF NOT EXISTS stats_token_minute (
    minute            DATETIME NOT NULL,
    upstream_id       BIGINT UNSIGNED NOT NULL,
    token_id          BIGINT UNSIGNED NOT NULL,
    requests          BIGINT NOT NULL,
    errors            BIGINT NOT NULL,
    prompt_tokens     BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    cached_tokens     BIGINT NOT NULL,
    total_tokens      BIGINT NOT NULL,
    PRIMARY KEY (minute, upstream_id, token_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Requests per model since the start, for /metrics (which shows only the
-- models listed in metrics_models); never cleaned up.
CREATE TABLE IF NOT EXISTS stats_model_total (
    upstream_id BIGINT UNSIGNED NOT NULL,
    model       VARCHAR(128) NOT NULL,
    requests    BIGINT NOT NULL,
    PRIMARY KEY (upstream_id, model)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
