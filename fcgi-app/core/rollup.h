/*
 * The rollups of a batch of request-log rows: per minute, upstream, key
 * and status class; the latency histogram per minute and upstream; and the
 * totals since the start that /metrics reads.  Built in memory by the log
 * writer, then written with upserts in the same transaction as the rows.
 */
#ifndef APIGW_ROLLUP_H
#define APIGW_ROLLUP_H

#include <stdbool.h>

struct db;
struct reqlog_entry;
struct rollup;

struct rollup *rollup_new(void);
void rollup_free(struct rollup *r);

/* Counts one request.  metrics_models: the comma-separated models whose
 * requests /metrics counts (only those get a row in stats_model_total, so
 * that model names from clients cannot grow it without end). */
void rollup_add(struct rollup *r, const struct reqlog_entry *e, const char *metrics_models);

/* Whether name is one of the comma-separated names of list (blanks around
 * each ignored). */
bool rollup_model_listed(const char *list, const char *name);

/* Adds what was counted to the database (inside the caller's transaction;
 * rows go in primary-key order so that writers on several hosts lock in
 * the same order), and empties the rollup. */
int rollup_write(struct rollup *r, struct db *db);

/* Empties the rollup without writing it. */
void rollup_reset(struct rollup *r);

#endif
