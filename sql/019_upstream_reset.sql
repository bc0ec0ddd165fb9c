-- Each upstream's own daily reset (issue 20, docs/API.md "Daily reset per
-- upstream"): the hour (0-23) and the IANA time zone at which its keys'
-- days start, as the provider counts them (Gemini: midnight Pacific).
-- NULL: the global quota_reset_hour / quota_reset_tz of the configuration.
ALTER TABLE upstreams ADD COLUMN IF NOT EXISTS quota_reset_hour TINYINT NULL;
ALTER TABLE upstreams ADD COLUMN IF NOT EXISTS quota_reset_tz VARCHAR(64) NULL;
