/*
 * apigw-log-cleanup: deletes request logs older than log_retention_days,
 * and what else has outlived its use: per-minute and hourly rollups (the
 * same retention, so that stats of old ranges stay consistent), alerts and key history (the longer
 * of the log retention and 90 days), expired login sessions, limit window counters
 * begun more than two days ago.  It deletes in batches of a few
 * thousand rows with a pause between them, so that the proxy's writes never wait long on a lock.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "core/db.h"
#include "job.h"

#define BATCH             5000
#define PAUSE_US          20000
#define HISTORY_MIN       90
#define LIMIT_WINDOW_DAYS 2 /* limit window counters kept, for the longest window (a day) */

static const struct job_info info = {
    "apigw-log-cleanup",
    "deletes request logs older than log_retention_days (and old rollups, alerts, key history\n"
    "  and expired sessions), in small batches",
    NULL,
    false,
    false,
    false};

/* One kind of old rows: how to count and how to delete a batch of them. */
struct sweep {
    const char *what;
    const char *count_sql;
    const char *delete_sql; /* ... LIMIT 5000 */
    int days;               /* age limit; 0: the statement needs no time */
};

static void cutoff(int days, char *out, size_t len)
{
    time_t t = time(NULL) - (time_t)days * 86400;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static long long run_sweep(struct job *j, const struct sweep *s)
{
    unsigned long long n, total = 0;
    char when[24];
    struct db_res res;

    cutoff(s->days, when, sizeof(when));
    if (j->dry_run) {
        if (db_query(j->db, s->count_sql, DB_ARGS(DB_STR(when)), &res) != DB_OK)
            job_fail(j, "cannot count %s: %s", s->what, db_error(j->db));
        total = (unsigned long long)db_int(&res, 0, 0);
        db_res_free(&res);
        return (long long)total;
    }
    do {
        n = 0;
        if (db_exec(j->db, s->delete_sql, DB_ARGS(DB_STR(when)), &n, NULL) != DB_OK)
            job_fail(j, "cannot delete %s: %s", s->what, db_error(j->db));
        total += n;
        if (n == BATCH)
            usleep(PAUSE_US);
    } while (n == BATCH);
    return (long long)total;
}

int main(int argc, char **argv)
{
    struct job j;
    long long logs, rollups, alerts, events, sessions, windows;
    int keep, history;
    char since[24];

    job_start(&j, &info, argc, argv);
    job_lock(&j, "apigw_log_cleanup");
    keep = (int)j.cfg.log_retention_days;
    history = keep > HISTORY_MIN ? keep : HISTORY_MIN;
    {
        const struct sweep s[] = {
            {"request logs", "SELECT COUNT(*) FROM request_logs WHERE ts < ?",
             "DELETE FROM request_logs WHERE ts < ? ORDER BY ts LIMIT 5000", keep},
            {"minute rollups", "SELECT COUNT(*) FROM stats_minute WHERE minute < ?",
             "DELETE FROM stats_minute WHERE minute < ? ORDER BY minute LIMIT 5000", keep},
            {"minute latency rollups", "SELECT COUNT(*) FROM stats_latency WHERE minute < ?",
             "DELETE FROM stats_latency WHERE minute < ? ORDER BY minute LIMIT 5000", keep},
            {"hourly rollups", "SELECT COUNT(*) FROM stats_latency_hour WHERE hour < ?",
             "DELETE FROM stats_latency_hour WHERE hour < ? ORDER BY hour LIMIT 5000", keep},
            {"model rollups", "SELECT COUNT(*) FROM stats_model_minute WHERE minute < ?",
             "DELETE FROM stats_model_minute WHERE minute < ? ORDER BY minute LIMIT 5000", keep},
            {"client token rollups", "SELECT COUNT(*) FROM stats_token_minute WHERE minute < ?",
             "DELETE FROM stats_token_minute WHERE minute < ? ORDER BY minute LIMIT 5000", keep},
            {"alerts", "SELECT COUNT(*) FROM alerts WHERE ts < ?",
             "DELETE FROM alerts WHERE ts < ? ORDER BY id LIMIT 5000", history},
            {"key history", "SELECT COUNT(*) FROM key_events WHERE ts < ?",
             "DELETE FROM key_events WHERE ts < ? ORDER BY id LIMIT 5000", history},
            {"sessions", "SELECT COUNT(*) FROM sessions WHERE expires_at < ?",
             "DELETE FROM sessions WHERE expires_at < ? ORDER BY id LIMIT 5000", 0},
            /* Limit windows (sql/018_limit_windows.sql) last a day at most:
             * those begun two days ago are over.  window_start is epoch
             * seconds; the cutoff is UTC text. */
            {"limit window counters",
             "SELECT COUNT(*) FROM limit_counters WHERE window_start <"
             " TIMESTAMPDIFF(SECOND, '1970-01-01', ?)",
             "DELETE FROM limit_counters WHERE window_start < TIMESTAMPDIFF(SECOND, '1970-01-01', ?)"
             " ORDER BY window_start LIMIT 5000",
             LIMIT_WINDOW_DAYS},
            /* The attempts of logged requests (sql/024) go with their rows;
             * the summary line, which scripts read, stays as it was. */
            {"request attempts", "SELECT COUNT(*) FROM request_attempts WHERE ts < ?",
             "DELETE FROM request_attempts WHERE ts < ? ORDER BY ts LIMIT 5000", keep},
        };
        logs = run_sweep(&j, &s[0]);
        rollups = run_sweep(&j, &s[1]) + run_sweep(&j, &s[2]) + run_sweep(&j, &s[3]) +
                  run_sweep(&j, &s[4]) + run_sweep(&j, &s[5]);
        alerts = run_sweep(&j, &s[6]);
        events = run_sweep(&j, &s[7]);
        sessions = run_sweep(&j, &s[8]);
        windows = run_sweep(&j, &s[9]);
        run_sweep(&j, &s[10]);
    }
    cutoff(keep, since, sizeof(since));
    job_say(
        &j,
        "%s %lld log rows older than %s UTC, %lld rollup rows, %lld alerts, %lld key events and "
        "%lld expired sessions; %lld ended limit window counters",
        j.dry_run ? "would delete" : "deleted", logs, since, rollups, alerts, events, sessions,
        windows);
    job_end(&j);
    return 0;
}
