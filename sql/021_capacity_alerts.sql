-- Capacity alerts (issue 21, docs/API.md "Capacity alerts"): the share and
-- the number of usable keys under which an upstream counts as low (0 and
-- NULL: that test is off), the kind of every alert (rule alerts are 'rule'),
-- and the state each alert last saw, so that apigw-recover raises an alert
-- once per change of state on whichever host runs it.
ALTER TABLE upstreams ADD COLUMN IF NOT EXISTS alert_min_active_pct INT NOT NULL DEFAULT 20;
ALTER TABLE upstreams ADD COLUMN IF NOT EXISTS alert_min_active INT NULL;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS kind VARCHAR(32) NOT NULL DEFAULT 'rule';

-- One row per upstream (key_id 0: state ok, low or dry, with the counts the
-- last check saw) and one per key whose probe has failed for over a day
-- (state probe_failing).  since: when the row's state began.
CREATE TABLE IF NOT EXISTS capacity_state (
    upstream_id BIGINT UNSIGNED NOT NULL,
    key_id      BIGINT UNSIGNED NOT NULL DEFAULT 0,
    state       VARCHAR(16) NOT NULL,
    usable      INT NOT NULL DEFAULT 0,
    total       INT NOT NULL DEFAULT 0,
    since       DATETIME NOT NULL,
    checked_at  DATETIME NULL,
    PRIMARY KEY (upstream_id, key_id),
    CONSTRAINT fk_capacity_upstream FOREIGN KEY (upstream_id) REFERENCES upstreams (id)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
