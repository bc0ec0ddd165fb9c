-- Key priority tiers (docs/API.md, "Key choice"): a pick takes the highest
-- tier with a usable key, then the upstream's strategy inside it.
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS priority INT NOT NULL DEFAULT 0;
