#include "job.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/clock.h"
#include "core/db.h"
#include "core/log.h"

/* Runs kept per job in housekeeping_runs: enough to see the last hour of
 * the every-minute jobs, few enough that the table stays small. */
#define RUNS_KEPT 50

static void help(const struct job_info *info, FILE *f)
{
    fprintf(f, "usage: %s [-c CONFIG] [--dry-run]%s%s%s%s\n  %s\n", info->name,
            info->has_force ? " [--force]" : "", info->extra_opt ? " [" : "",
            info->extra_opt ? info->extra_opt : "", info->extra_opt ? "]" : "", info->summary);
    fputs("  -c CONFIG   configuration file (default $APIGW_CONFIG or var/apigw.conf)\n"
          "  --dry-run   report what would be done, change nothing\n",
          f);
    if (info->has_force)
        fputs("  --force     act now, whatever the schedule says\n", f);
}

void job_start(struct job *j, const struct job_info *info, int argc, char **argv)
{
    const char *cfg_path = NULL;
    char err[512];
    size_t optlen = 0;
    int i;

    memset(j, 0, sizeof(*j));
    j->name = info->name;
    if (info->extra_opt != NULL)
        optlen = strcspn(info->extra_opt, " ");
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            cfg_path = argv[++i];
        } else if (optlen > 0 && strncmp(argv[i], info->extra_opt, optlen) == 0 &&
                   argv[i][optlen] == '\0' && i + 1 < argc) {
            j->extra = argv[++i];
        } else if (strcmp(argv[i], "-c") == 0 ||
                   (optlen > 0 && strncmp(argv[i], info->extra_opt, optlen) == 0 &&
                    argv[i][optlen] == '\0')) {
            fprintf(stderr, "%s: option %s needs a value (see --help)\n", info->name, argv[i]);
            exit(2);
        } else if (strcmp(argv[i], "--dry-run") == 0) {
            j->dry_run = true;
        } else if (info->has_force && strcmp(argv[i], "--force") == 0) {
            j->force = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            help(info, stdout);
            exit(0);
        } else {
            fprintf(stderr, "%s: unknown option %s (see --help)\n", info->name, argv[i]);
            exit(2);
        }
    }
    if (config_load(&j->cfg, cfg_path, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        exit(2);
    }
    db_library_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (info->no_database) {
        j->db_name = j->cfg.db_name;
        j->cfg.db_name = strdup("");
    }
    /* Jobs do bulk work (deletes, migrations): every connection a job
     * makes may wait far longer than the gateway's (db_job_rw_timeout_s). */
    j->cfg.db_rw_timeout_s = j->cfg.db_job_rw_timeout_s;
    j->db = db_new(&j->cfg, info->multi_statements);
    /* A job that cannot reach the database says so in one line of its own
     * (below), not also in a warning from the connection code. */
    log_set_level(LOG_ERROR);
    j->started_ms = clock_mono_ms();
    if (j->db == NULL || db_connect(j->db) != DB_OK)
        job_fail(j, "cannot reach the database: %s", j->db ? db_error(j->db) : "out of memory");
    log_set_level(log_level_from_name(j->cfg.log_level));
    /* apigw-migrate (no_database) may run before the table exists: it
     * creates the schema and is no housekeeping job. */
    j->record = !info->no_database;
}

void job_lock(struct job *j, const char *lock_name)
{
    struct db_res res;
    int rc;

    rc = db_query(j->db, "SELECT GET_LOCK(?, 0)", DB_ARGS(DB_STR(lock_name)), &res);
    if (rc != DB_OK) {
        db_res_free(&res);
        job_fail(j, "cannot take the lock %s: %s", lock_name, db_error(j->db));
    }
    if (db_int(&res, 0, 0) != 1) {
        db_res_free(&res);
        j->record = false; /* a copy that did nothing leaves no row */
        job_end(j);
        exit(0); /* another copy is running: leave quietly */
    }
    db_res_free(&res);
}

/* Cuts s to at most max bytes without splitting a UTF-8 character (an
 * upstream's name may be in any script). */
static void cut_utf8(char *s, size_t max)
{
    size_t n = strlen(s);

    if (n <= max)
        return;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    s[max] = '\0';
}

/* Writes this run's row and drops the job's rows older than its newest
 * RUNS_KEPT.  A failure to record is said on stderr but does not fail a
 * job whose work is done. */
static void record_run(struct job *j, bool ok, const char *summary)
{
    long long took_us = (clock_mono_ms() - j->started_ms) * 1000;
    struct db_res res;
    enum db_rc rc;

    j->record = false;
    if (j->dry_run || j->db == NULL)
        return;
    rc =
        db_exec(j->db,
                "INSERT INTO housekeeping_runs (job, started_at, finished_at, ok, summary)"
                " VALUES (?, UTC_TIMESTAMP(3) - INTERVAL ? MICROSECOND, UTC_TIMESTAMP(3), ?, ?)",
                DB_ARGS(DB_STR(j->name), DB_INT(took_us), DB_INT(ok), DB_STR(summary)), NULL, NULL);
    if (rc == DB_OK) {
        rc = db_query(j->db,
                      "SELECT id FROM housekeeping_runs WHERE job = ? ORDER BY id DESC"
                      " LIMIT 1 OFFSET ?",
                      DB_ARGS(DB_STR(j->name), DB_INT(RUNS_KEPT - 1)), &res);
        if (rc == DB_OK && res.nrows > 0)
            rc = db_exec(j->db, "DELETE FROM housekeeping_runs WHERE job = ? AND id < ?",
                         DB_ARGS(DB_STR(j->name), DB_INT(db_int(&res, 0, 0))), NULL, NULL);
        db_res_free(&res);
    }
    if (rc != DB_OK)
        fprintf(stderr, "%s: cannot record this run: %s\n", j->name, db_error(j->db));
}

void job_say(struct job *j, const char *fmt, ...)
{
    size_t used = strlen(j->summary);
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    puts(line);
    if (used > 0 && used + 2 < sizeof(j->summary)) {
        memcpy(j->summary + used, "; ", 2);
        used += 2;
    }
    cut_utf8(line, sizeof(j->summary) - 1 - used);
    memcpy(j->summary + used, line, strlen(line) + 1);
}

void job_fail(struct job *j, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", j->name, msg);
    if (j->record) {
        cut_utf8(msg, sizeof(j->summary) - 1);
        record_run(j, false, msg);
    }
    job_end(j);
    exit(1);
}

void job_end(struct job *j)
{
    if (j->record && j->summary[0] != '\0')
        record_run(j, true, j->summary);
    db_free(j->db);
    j->db = NULL;
    config_free(&j->cfg);
    free(j->db_name);
    j->db_name = NULL;
    curl_global_cleanup();
    db_library_end();
}
