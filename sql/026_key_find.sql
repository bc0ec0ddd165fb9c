-- Finding a key by pasting its value (issue 22, POST /api/admin/keys/find):
-- the value's hash is looked up across every upstream, which the unique
-- (upstream_id, key_hash) index cannot serve without an upstream.
CREATE INDEX IF NOT EXISTS ix_keys_hash ON api_keys (key_hash);
