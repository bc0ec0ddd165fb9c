#include "job.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/db.h"
#include "core/log.h"

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
    if (j->db == NULL || db_connect(j->db) != DB_OK)
        job_fail(j, "cannot reach the database: %s", j->db ? db_error(j->db) : "out of memory");
    log_set_level(log_level_from_name(j->cfg.log_level));
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
        job_end(j);
        exit(0); /* another copy is running: leave quietly */
    }
    db_res_free(&res);
}

void job_fail(struct job *j, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", j->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    job_end(j);
    exit(1);
}

void job_end(struct job *j)
{
    db_free(j->db);
    j->db = NULL;
    config_free(&j->cfg);
    free(j->db_name);
    j->db_name = NULL;
    curl_global_cleanup();
    db_library_end();
}
