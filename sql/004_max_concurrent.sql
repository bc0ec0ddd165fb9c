-- max_concurrent: how many requests of a client token, or to an upstream,
-- may be in flight at once in each gateway process (NULL = unlimited).
-- The counts live in each process's memory, not here: see docs/API.md.
ALTER TABLE upstreams ADD COLUMN max_concurrent INT NULL;
ALTER TABLE client_tokens ADD COLUMN max_concurrent INT NULL;
