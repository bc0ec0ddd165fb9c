-- API Gateway Pro: the initial schema.
-- Runs on MariaDB 10.3+ and MySQL 8.  Every time is UTC.  Applied by
-- apigw-migrate, which records it in schema_migrations.

-- Bumped by every change to upstreams, keys, rules or client tokens, so that
-- every gateway process reloads its pool cache within a second.
CREATE TABLE IF NOT EXISTS pool_version (
    id      TINYINT UNSIGNED NOT NULL PRIMARY KEY,
    version BIGINT UNSIGNED NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT IGNORE INTO pool_version (id, version) VALUES (1, 1);

CREATE TABLE IF NOT EXISTS upstreams (
    id                   BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name                 VARCHAR(64) NOT NULL,
    base_url             VARCHAR(2048) NOT NULL,
    auth_header          VARCHAR(128) NOT NULL DEFAULT 'Authorization',
    auth_template        VARCHAR(512) NOT NULL DEFAULT 'Bearer {key}',
    auth_query_param     VARCHAR(128) NULL,
    strategy             VARCHAR(16) NOT NULL DEFAULT 'round_robin',
    timeout_ms           INT NOT NULL DEFAULT 30000,
    connect_timeout_ms   INT NOT NULL DEFAULT 5000,
    max_retries          INT NOT NULL DEFAULT 2,
    retry_backoff_ms     INT NOT NULL DEFAULT 100,
    enabled              TINYINT NOT NULL DEFAULT 1,
    is_public            TINYINT NOT NULL DEFAULT 0,
    probe_method         VARCHAR(16) NULL,
    probe_path           VARCHAR(1024) NULL,
    auto_disable_max_pct INT NOT NULL DEFAULT 50,
    created_at           DATETIME NOT NULL,
    updated_at           DATETIME NOT NULL,
    UNIQUE KEY uq_upstreams_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- A key's value is stored AES-256-GCM encrypted (nonce | ciphertext | tag);
-- key_hash (SHA-256 of the value) makes it unique within its upstream.
-- rpm_window is the minute (Unix time / 60) that rpm_count counts.
CREATE TABLE IF NOT EXISTS api_keys (
    id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    upstream_id    BIGINT UNSIGNED NOT NULL,
    name           VARCHAR(255) NULL,
    key_enc        VARBINARY(1024) NOT NULL,
    key_hash       BINARY(32) NOT NULL,
    key_masked     VARCHAR(16) NOT NULL,
    status         VARCHAR(16) NOT NULL DEFAULT 'active',
    weight         INT NOT NULL DEFAULT 1,
    daily_quota    BIGINT NOT NULL DEFAULT 0,
    rpm_limit      INT NOT NULL DEFAULT 0,
    used_today     BIGINT NOT NULL DEFAULT 0,
    rpm_window     BIGINT NOT NULL DEFAULT 0,
    rpm_count      INT NOT NULL DEFAULT 0,
    total_requests BIGINT NOT NULL DEFAULT 0,
    total_failures BIGINT NOT NULL DEFAULT 0,
    disabled_until DATETIME NULL,
    status_reason  VARCHAR(255) NULL,
    probe_failures INT NOT NULL DEFAULT 0,
    last_used_at   DATETIME NULL,
    created_at     DATETIME NOT NULL,
    updated_at     DATETIME NOT NULL,
    UNIQUE KEY uq_keys_value (upstream_id, key_hash),
    KEY ix_keys_status (status, disabled_until),
    CONSTRAINT fk_keys_upstream FOREIGN KEY (upstream_id) REFERENCES upstreams (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- A key's status history.  excerpt holds the first bytes of the response
-- that made a rule fire, with key values masked.
CREATE TABLE IF NOT EXISTS key_events (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    key_id      BIGINT UNSIGNED NOT NULL,
    ts          DATETIME(3) NOT NULL,
    from_status VARCHAR(16) NOT NULL,
    to_status   VARCHAR(16) NOT NULL,
    reason      VARCHAR(255) NOT NULL,
    actor       VARCHAR(128) NULL,
    rule_id     BIGINT UNSIGNED NULL,
    request_id  VARCHAR(32) NULL,
    excerpt     TEXT NULL,
    KEY ix_events_key (key_id, id),
    KEY ix_events_ts (ts),
    CONSTRAINT fk_events_key FOREIGN KEY (key_id) REFERENCES api_keys (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS rules (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    upstream_id  BIGINT UNSIGNED NULL,
    name         VARCHAR(128) NOT NULL,
    enabled      TINYINT NOT NULL DEFAULT 1,
    priority     INT NOT NULL DEFAULT 100,
    cond_json    MEDIUMTEXT NOT NULL,
    actions_json MEDIUMTEXT NOT NULL,
    threshold    INT NOT NULL DEFAULT 1,
    window_s     INT NOT NULL DEFAULT 60,
    cooldown_s   INT NOT NULL DEFAULT 0,
    stop         TINYINT NOT NULL DEFAULT 0,
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL,
    KEY ix_rules_upstream (upstream_id, priority),
    CONSTRAINT fk_rules_upstream FOREIGN KEY (upstream_id) REFERENCES upstreams (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Threshold windows and cool-downs per (rule, key), shared by every
-- process and host.  Times are Unix seconds.
CREATE TABLE IF NOT EXISTS rule_hits (
    rule_id      BIGINT UNSIGNED NOT NULL,
    key_id       BIGINT UNSIGNED NOT NULL,
    window_start BIGINT NOT NULL,
    hits         INT NOT NULL,
    last_fired   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (rule_id, key_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The upstream-wide failure guard: automatic actions per upstream window.
CREATE TABLE IF NOT EXISTS upstream_guard (
    upstream_id  BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    window_start BIGINT NOT NULL,
    actions      INT NOT NULL,
    alerted      TINYINT NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Client tokens are stored as SHA-256 hashes; the value is shown once.
-- upstreams is a JSON array of upstream ids ([] = all).
CREATE TABLE IF NOT EXISTS client_tokens (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name         VARCHAR(128) NOT NULL,
    token_hash   BINARY(32) NOT NULL,
    token_masked VARCHAR(32) NOT NULL,
    upstreams    TEXT NOT NULL,
    rpm_limit    INT NOT NULL DEFAULT 0,
    daily_quota  BIGINT NOT NULL DEFAULT 0,
    used_today   BIGINT NOT NULL DEFAULT 0,
    rpm_window   BIGINT NOT NULL DEFAULT 0,
    rpm_count    INT NOT NULL DEFAULT 0,
    expires_at   DATETIME NULL,
    enabled      TINYINT NOT NULL DEFAULT 1,
    last_used_at DATETIME NULL,
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL,
    UNIQUE KEY uq_tokens_hash (token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS users (
    id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    username      VARCHAR(64) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    role          VARCHAR(16) NOT NULL,
    enabled       TINYINT NOT NULL DEFAULT 1,
    last_login_at DATETIME NULL,
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL,
    UNIQUE KEY uq_users_name (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Login sessions, stored as SHA-256 hashes of the session token.
CREATE TABLE IF NOT EXISTS sessions (
    id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    token_hash BINARY(32) NOT NULL,
    user_id    BIGINT UNSIGNED NOT NULL,
    expires_at DATETIME NOT NULL,
    created_at DATETIME NOT NULL,
    UNIQUE KEY uq_sessions_hash (token_hash),
    KEY ix_sessions_expiry (expires_at),
    CONSTRAINT fk_sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One row per client request.  request_id is unique so that a batch
-- replayed from the spool after a database outage is inserted only once.
-- status_class is status DIV 100 (0 when no answer was given at all); an
-- exact status filter runs on the class index.
CREATE TABLE IF NOT EXISTS request_logs (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    request_id  VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    ts          DATETIME(3) NOT NULL,
    method      VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    upstream_id BIGINT UNSIGNED NULL,
    upstream    VARCHAR(64) NULL,
    path        VARCHAR(2048) NOT NULL,
    key_id      BIGINT UNSIGNED NULL,
    token_id    BIGINT UNSIGNED NULL,
    status      SMALLINT NOT NULL,
    status_class TINYINT NOT NULL DEFAULT 0,
    latency_ms  INT NOT NULL,
    attempts    SMALLINT NOT NULL DEFAULT 0,
    req_bytes   BIGINT NOT NULL DEFAULT 0,
    resp_bytes  BIGINT NOT NULL DEFAULT 0,
    error       VARCHAR(512) NULL,
    rules       TEXT NULL,
    messages    TEXT NULL,
    UNIQUE KEY uq_logs_request (request_id),
    KEY ix_logs_ts (ts),
    KEY ix_logs_upstream (upstream_id, ts),
    KEY ix_logs_key (key_id, ts),
    KEY ix_logs_token (token_id, ts),
    KEY ix_logs_class (status_class, ts)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS alerts (
    id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    ts             DATETIME(3) NOT NULL,
    rule_id        BIGINT UNSIGNED NULL,
    key_id         BIGINT UNSIGNED NULL,
    upstream_id    BIGINT UNSIGNED NULL,
    message        VARCHAR(1024) NOT NULL,
    webhook        VARCHAR(2048) NULL,
    delivered      TINYINT NULL,
    delivery_error VARCHAR(255) NULL,
    KEY ix_alerts_ts (ts)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- What the cron jobs remember between runs (the last quota reset day).
CREATE TABLE IF NOT EXISTS job_state (
    name       VARCHAR(64) NOT NULL PRIMARY KEY,
    value      VARCHAR(255) NOT NULL,
    updated_at DATETIME NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
