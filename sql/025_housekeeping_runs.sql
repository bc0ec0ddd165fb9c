-- Housekeeping status (issue 22, docs/OPERATIONS.md "Housekeeping status"):
-- one row per run of a cron job (cron-jobs/job.c), with what it did in a
-- short summary, so that the admin page can say when each job last ran.
-- Each job keeps only its newest runs (it prunes its own older rows), so
-- the table stays small; (job, id) serves both the latest run and the prune.
CREATE TABLE IF NOT EXISTS housekeeping_runs (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    job         VARCHAR(32) NOT NULL,
    started_at  DATETIME(3) NOT NULL,
    finished_at DATETIME(3) NOT NULL,
    ok          TINYINT(1) NOT NULL,
    summary     VARCHAR(255) NOT NULL DEFAULT '',
    PRIMARY KEY (id),
    KEY ix_housekeeping_runs_job (job, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
