/*
 * Validation jobs as rows (docs/API.md "Validation jobs"): the admin API
 * makes a job and its pending results in one transaction, and cancels it;
 * apigw-jobs does the probing.  The application never probes for a job, so
 * a job never holds a request worker and survives any restart: its cursor
 * is the results still pending, in the database.
 */
#ifndef APIGW_VALJOB_H
#define APIGW_VALJOB_H

#include <stdbool.h>

struct db;

#define VALJOB_CONCURRENCY_MAX 32
#define VALJOB_RPS_MAX         1000
#define VALJOB_IDS_MAX         100000

/* What a job is asked to do, and which keys of the upstream it covers. */
struct valjob_spec {
    long long upstream_id;
    const char *on_invalid; /* "none", "disable", "ban" or "delete" */
    long long concurrency;  /* 1 to VALJOB_CONCURRENCY_MAX */
    long long rps;          /* 0: no cap */
    const char *actor;      /* who asked (NULL: unknown) */
    /* The keys, one of: ids (a JSON array of key ids); hashes (a JSON
     * array of hex SHA-256 key hashes) with min_id (keys made by an import
     * have ids above it); status (keys in that status); none of them: every
     * key of the upstream. */
    const char *ids, *hashes, *status;
    long long min_id;
};

/* A field check (core/valid.h) of on_invalid: NULL when s is one of its
 * values, else why not. */
const char *valjob_check_on_invalid(const char *s);

/* Inserts the job and a pending result per key, inside the caller's
 * transaction.  A job with no key is done at once.  Returns DB_OK with
 * *job_id and *total set, or the database error. */
int valjob_create(struct db *db, const struct valjob_spec *s, long long *job_id, long long *total);

/* Cancels a queued or running job: apigw-jobs stops it before its next
 * batch.  *changed is false when the job had already ended. */
int valjob_cancel(struct db *db, long long job_id, bool *changed);

#endif
