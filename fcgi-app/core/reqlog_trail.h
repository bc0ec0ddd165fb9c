/*
 * The attempts of logged requests (request_attempts, sql/024), written by
 * the request log's writer in the same transaction as their rows: an
 * entry carries its attempts (reqlog_entry.trail, filled by
 * proxy/trail.c), so they go to the database, the spool and back exactly
 * when the row does, and a stalled database loses neither without the
 * other.  One statement per batch, and only for a batch where some request
 * had a failed attempt.
 */
#ifndef APIGW_REQLOG_TRAIL_H
#define APIGW_REQLOG_TRAIL_H

#include "core/db.h"
#include "core/reqlog_entry.h"

/* Inserts the attempts of the entries of list (linked by next) that are
 * not stored already; a replayed attempt the table has is skipped.
 * Returns DB_OK (also when none has attempts) or the error. */
int reqlog_trail_write(struct db *db, const struct reqlog_entry *list);

#endif
