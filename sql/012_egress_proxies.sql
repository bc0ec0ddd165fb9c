-- Egress proxies (docs/API.md, "Egress proxies"): an upstream's requests
-- may leave through HTTP(S) or SOCKS5 proxies.  The proxy URLs may hold
-- credentials, so they are stored like key values: sealed (AES-256-GCM)
-- in the *_enc columns, and only their masked forms (password as ***) in
-- the columns the admin API shows.  request_logs.proxy is the masked URL
-- of the proxy the final attempt went through.
ALTER TABLE upstreams
    ADD COLUMN IF NOT EXISTS proxies TEXT NULL,
    ADD COLUMN IF NOT EXISTS proxies_enc BLOB NULL,
    ADD COLUMN IF NOT EXISTS proxy_mode VARCHAR(16) CHARACTER SET ascii NOT NULL DEFAULT 'none';

ALTER TABLE api_keys
    ADD COLUMN IF NOT EXISTS proxy VARCHAR(600) NULL,
    ADD COLUMN IF NOT EXISTS proxy_enc BLOB NULL;

ALTER TABLE request_logs
    ADD COLUMN IF NOT EXISTS proxy VARCHAR(600) NULL;
