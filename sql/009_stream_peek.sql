-- stream_peek (issue 18, docs/RULES.md "Judging the first event of a
-- stream"): {"bytes": 0-65536, "ms": 0-10000} as JSON text, NULL for off.
-- The admin API checks it; the pool reads its members with JSON_VALUE.
ALTER TABLE upstreams ADD COLUMN stream_peek VARCHAR(64) NULL;
