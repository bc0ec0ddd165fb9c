-- Header shaping (docs/API.md, "Header rules"): an upstream's ordered
-- set/remove/append rules as a JSON array of {op, name, value}, and
-- whether the client's forwarding headers (X-Forwarded-*, Forwarded,
-- X-Real-IP, Via, CF-Connecting-IP, True-Client-IP) are left out.
ALTER TABLE upstreams
    ADD COLUMN IF NOT EXISTS header_rules TEXT NOT NULL DEFAULT '[]',
    ADD COLUMN IF NOT EXISTS strip_forwarding_headers BOOLEAN NOT NULL DEFAULT FALSE;
