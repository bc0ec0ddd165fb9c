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

-- Per minute, upstream and model (requests that named one): the stats'
-- by_model block, and their cost by currency ('' when no price matched).
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
    currency          CHAR(3) CHARACTER SET ascii NOT NULL,
    cost_nanos        BIGINT NOT NULL,
    PRIMARY KEY (minute, upstream_id, model, currency)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Per minute, upstream and client token (requests with one): the stats'
-- by_token block, with their cost by currency ('' when no price matched).
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
    currency          CHAR(3) CHARACTER SET ascii NOT NULL,
    cost_nanos        BIGINT NOT NULL,
    PRIMARY KEY (minute, upstream_id, token_id, currency)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Requests per model since the start, for /metrics: only the models listed
-- in metrics_models get rows (from when they are listed), so that model
-- names from clients cannot grow it; never cleaned up.
CREATE TABLE IF NOT EXISTS stats_model_total (
    upstream_id BIGINT UNSIGNED NOT NULL,
    model       VARCHAR(128) NOT NULL,
    requests    BIGINT NOT NULL,
    PRIMARY KEY (upstream_id, model)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Prices per million tokens by model (docs/USAGE.md): `model` is a model
-- name, or a prefix ending in `*`.  cached NULL: cached tokens cost the
-- prompt price.  A request's cost is computed when its row is written and
-- stored with it (in billionths of the currency), so a price change never
-- rewrites history.
CREATE TABLE IF NOT EXISTS prices (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    model       VARCHAR(128) NOT NULL,
    prompt      DECIMAL(20,9) NOT NULL,
    completion  DECIMAL(20,9) NOT NULL,
    cached      DECIMAL(20,9) NULL,
    currency    CHAR(3) CHARACTER SET ascii NOT NULL DEFAULT 'USD',
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL,
    UNIQUE KEY uq_prices_model (model)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

ALTER TABLE request_logs
    ADD COLUMN IF NOT EXISTS cost_nanos BIGINT NULL,
    ADD COLUMN IF NOT EXISTS currency CHAR(3) CHARACTER SET ascii NULL;

