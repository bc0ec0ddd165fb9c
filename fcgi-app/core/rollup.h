/*
 * The rollups of a batch of request-log rows: per minute, upstream, key
 * and status class; the latency histogram per minute and upstream; and the
 * totals since the start that /metrics reads.  Built in memory by the log
 * writer, then written with upserts in the same transaction as the rows.
 */
#ifndef APIGW_ROLLUP_H
#define APIGW_ROLLUP_H

struct db;
struct reqlog_entry;
struct rollup;

struct rollup *rollup_new(void);
void rollup_free(struct rollup *r);

/* Counts one request. */
void rollup_add(struct rollup *r, const struct reqlog_entry *e);

/* Adds what was counted to the database (inside the caller's transaction;
 * rows go in primary-key order so that writers on several hosts lock in
 * the same order), and empties the rollup. */
int rollup_write(struct rollup *r, struct db *db);

/* Empties the rollup without writing it. */
void rollup_reset(struct rollup *r);

#endif
