-- Rollups written by the request-log writer in the same transaction as the
-- rows they count, so that they always agree with request_logs.  Stats
-- read them instead of scanning raw logs.

-- Per minute, upstream, key and status class.  upstream_id and key_id are
-- 0 when the request had none.  errors: status 400 and above (or none).
CREATE TABLE IF NOT EXISTS stats_minute (
    minute       DATETIME NOT NULL,
    upstream_id  BIGINT UNSIGNED NOT NULL,
    key_id       BIGINT UNSIGNED NOT NULL,
    status_class TINYINT NOT NULL,
    requests     BIGINT NOT NULL,
    errors       BIGINT NOT NULL,
    retries      BIGINT NOT NULL,
    latency_sum  BIGINT NOT NULL,
    PRIMARY KEY (minute, upstream_id, key_id, status_class),
    KEY ix_stats_upstream (upstream_id, minute)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Latency histogram per minute and upstream: bucket n covers [n, n+1) ms
-- below 100 ms, and 2% wide steps above (see core/latency.c).
CREATE TABLE IF NOT EXISTS stats_latency (
    minute      DATETIME NOT NULL,
    upstream_id BIGINT UNSIGNED NOT NULL,
    bucket      SMALLINT NOT NULL,
    count       BIGINT NOT NULL,
    PRIMARY KEY (minute, upstream_id, bucket),
    KEY ix_latency_upstream (upstream_id, minute)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Counters since the start, for /metrics: never cleaned up, so that they
-- only grow (Prometheus counters), whatever the log retention.
CREATE TABLE IF NOT EXISTS stats_total (
    upstream_id  BIGINT UNSIGNED NOT NULL,
    status_class TINYINT NOT NULL,
    requests     BIGINT NOT NULL,
    retries      BIGINT NOT NULL,
    latency_sum  BIGINT NOT NULL,
    PRIMARY KEY (upstream_id, status_class)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The Prometheus latency histogram per upstream: le is the bucket's upper
-- bound in milliseconds (0 stands for +Inf); counts are not cumulative.
CREATE TABLE IF NOT EXISTS stats_total_latency (
    upstream_id BIGINT UNSIGNED NOT NULL,
    le_ms       INT NOT NULL,
    count       BIGINT NOT NULL,
    PRIMARY KEY (upstream_id, le_ms)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- How often each rule fired, by name (a deleted rule keeps its count).
CREATE TABLE IF NOT EXISTS stats_rules_total (
    rule  VARCHAR(128) NOT NULL PRIMARY KEY,
    fired BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The same histogram per hour, so that a day of stats reads a few thousand
-- rows instead of a few hundred thousand.
CREATE TABLE IF NOT EXISTS stats_latency_hour (
    hour        DATETIME NOT NULL,
    upstream_id BIGINT UNSIGNED NOT NULL,
    bucket      SMALLINT NOT NULL,
    count       BIGINT NOT NULL,
    PRIMARY KEY (hour, upstream_id, bucket),
    KEY ix_latency_hour_upstream (upstream_id, hour)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
