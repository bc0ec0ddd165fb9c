/*
 * The re-check of banned keys (docs/API.md "Validation jobs"): apigw-jobs
 * probes the banned keys of every upstream with recheck_banned_s (and a
 * probe) once that many seconds have passed since the key was banned or
 * last probed.  A valid probe (core/probe_verdict.h) makes the key active,
 * with a history row by actor "job"; any other answer leaves it banned and
 * only moves its banned_checked_at on.
 */
#ifndef APIGW_RECHECK_H
#define APIGW_RECHECK_H

struct db;

/* At most this many keys are probed per run; the rest wait for the next. */
#define RECHECK_MAX      500
#define RECHECK_PARALLEL 4

/* Probes the due banned keys.  Returns DB_OK with *probed and *restored
 * counted, or the database error. */
int recheck_banned(struct db *db, const unsigned char enc_key[32], long long *probed,
                   long long *restored);

#endif
