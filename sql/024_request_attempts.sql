-- Trace a failure (issue 22, docs/API.md "Log detail"): the attempts of a
-- request when one of them failed (a request whose only attempt succeeded
-- has none: its log row says it all).  A row belongs to the log row with
-- the same (ts, request_id); both are written in one transaction by the
-- request log's writer, and spooled together when the database is away
-- (docs/ARCHITECTURE.md "Request attempts").  seq orders the attempts of
-- a request (attempt is X-Gateway-Attempts' count: one attempt through two
-- egress proxies is two rows with the same attempt).  error and excerpt
-- are masked: no key value is ever in them.  rules holds the JSON array of
-- the names of the rules that fired during the attempt.  ix_attempts_key
-- lets the logs' key filter find requests where a key was tried in any
-- attempt.  The log cleanup job purges them with the log rows.
CREATE TABLE IF NOT EXISTS request_attempts (
    ts         DATETIME(3) NOT NULL,
    request_id VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    seq        SMALLINT UNSIGNED NOT NULL,
    attempt    SMALLINT UNSIGNED NOT NULL,
    key_id     BIGINT UNSIGNED NULL,
    endpoint   VARCHAR(128) NULL,
    proxy      VARCHAR(520) NULL,
    status     SMALLINT NOT NULL DEFAULT 0,
    error      VARCHAR(512) NULL,
    latency_ms INT NOT NULL DEFAULT 0,
    rules      TEXT NULL,
    excerpt    TEXT NULL,
    PRIMARY KEY (ts, request_id, seq),
    KEY ix_attempts_key (key_id, ts)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The query string of the request, for the log detail, without the `key`
-- parameter a client token may travel in (proxy/trail.c): the log never
-- holds a credential.  Added last, so that MariaDB adds it instantly.
ALTER TABLE request_logs ADD COLUMN IF NOT EXISTS query VARCHAR(2048) NULL;

-- The request that raised an alert (a rule's alert action names it in its
-- webhook payload already), so that the page links it to the log detail.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS request_id VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL;
