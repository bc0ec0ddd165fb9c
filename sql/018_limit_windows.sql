-- Limit windows of keys and client tokens (issue 20, docs/API.md "Limit
-- windows"): the limits as JSON text as saved (checked by the admin API),
-- and their counters.  A counter row is one window of one limit: the
-- owner (1 a key, 2 a client token), the version of the owner's limit list
-- (a hash: an edited list counts afresh), the limit's index in the list,
-- and the window's start in epoch seconds (minutes and hours by the
-- database's clock, days by the reset schedule).  apigw-log-cleanup deletes
-- windows that ended more than two days ago.
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS limits TEXT NULL;
ALTER TABLE client_tokens ADD COLUMN IF NOT EXISTS limits TEXT NULL;
CREATE TABLE IF NOT EXISTS limit_counters (
    owner_kind TINYINT NOT NULL,
    owner_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    slot TINYINT NOT NULL,
    window_start BIGINT NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    tokens BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (owner_kind, owner_id, version, slot, window_start),
    KEY limit_counters_window (window_start)
) ENGINE=InnoDB;
