-- Quota leases: each gateway process reserves a block of a limited key's
-- or client token's budget in one statement and spends it in memory.
-- leased: units reserved by processes and not yet spent (used_today counts
-- only spent units); quota_epoch: moved by apigw-quota-reset (which zeroes
-- leased), so that a block leased before a reset never lowers the new
-- day's counters.  See docs/API.md (reservation) and docs/OPERATIONS.md.
ALTER TABLE api_keys ADD COLUMN leased BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN quota_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE client_tokens ADD COLUMN leased BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN quota_epoch BIGINT NOT NULL DEFAULT 0;
