/*
 * What every command-line job shares: its options, the configuration, one
 * database connection, the cross-host lock and the one-line outcome.
 */
#ifndef APIGW_JOB_H
#define APIGW_JOB_H

#include <stdbool.h>

#include "core/config.h"

struct db;

struct job {
    const char *name;  /* the binary's name, for messages */
    bool dry_run;      /* --dry-run: report, change nothing */
    bool force;        /* --force: act now whatever the schedule says */
    const char *extra; /* the value of the job's own option, if given */
    char *db_name;     /* with no_database: the configured db_name, owned */
    struct config cfg;
    struct db *db;
    /* The housekeeping record (sql/025_housekeeping_runs.sql): whether this
     * run is to leave a row, when it began, and what it said. */
    bool record;
    long long started_ms;
    char summary[256];
};

/* What a job says about itself in --help. */
struct job_info {
    const char *name;
    const char *summary;
    const char *extra_opt; /* e.g. "--sql-dir DIR", or NULL */
    bool has_force;
    bool multi_statements; /* the job runs SQL scripts */
    bool no_database;      /* connect without selecting db_name */
};

/* Parses the options, loads the configuration and connects.  Prints the
 * help and exits 0 for --help; prints one line and exits 2 on a bad option
 * or configuration, 1 when the database cannot be reached. */
void job_start(struct job *j, const struct job_info *info, int argc, char **argv);

/* Takes the named cross-host lock (MariaDB GET_LOCK) for the life of the
 * connection.  When another copy holds it, exits 0 quietly. */
void job_lock(struct job *j, const char *lock_name);

/* Prints one line of the job's outcome on standard output (the newline is
 * added) and keeps it for the run's housekeeping row, joined to the lines
 * said before with "; " and cut to fit. */
void job_say(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "NAME: message" to standard error, records the run as failed with
 * that message and exits 1. */
void job_fail(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* Records a run that said something (job_say) and was no dry run, then
 * closes the connection and frees what job_start made. */
void job_end(struct job *j);

#endif
