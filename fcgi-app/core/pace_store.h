/*
 * Pacing shared across processes (core/pace.h): the key_pace table holds
 * the latest budget learned for each key.  The refresher thread writes
 * what this process learned since its last turn and reads what the others
 * wrote since (pace_store_sync); a new snapshot starts from the table
 * (pace_store_load).  The newest learned_at wins everywhere.  Nothing here
 * runs on a request, and nothing at all while no upstream is paced.
 */
#ifndef APIGW_PACE_STORE_H
#define APIGW_PACE_STORE_H

struct db;
struct pool;

/* Writes the budgets learned in prev (NULL: none) that are not stored yet,
 * then loads every stored budget onto the paced keys of p.  Failures are
 * logged: a snapshot without them only paces from its own answers. */
void pace_store_load(struct db *db, struct pool *p, struct pool *prev);

/* The refresher's turn: writes what p's keys learned since the last write,
 * then reads what was stored since the last read.  Returns DB_OK or the
 * error. */
int pace_store_sync(struct db *db, struct pool *p);

#endif
