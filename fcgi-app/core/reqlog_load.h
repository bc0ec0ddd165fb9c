/*
 * The request log's rows by LOAD DATA LOCAL INFILE, streamed from memory
 * (core/db.h: db_load): about 0.83 x the server's CPU per row of the
 * prepared multi-row INSERT (docs/PERFORMANCE.md, "Request logging cost").
 * The rows are the INSERT's own parameters (reqlog.c), written as
 * tab-separated, escaped text: same columns, same values, NULLs as NULL.
 * Where the server refuses LOAD DATA LOCAL, the writer falls back to the
 * prepared INSERT for the rest of the process's life.
 */
#ifndef APIGW_REQLOG_LOAD_H
#define APIGW_REQLOG_LOAD_H

#include <stdbool.h>

#include "core/db.h"

/* The columns of a request log row, in the order of reqlog.c's INSERT. */
#define REQLOG_LOAD_COLS 31

/* What reqlog_load_rows did with a batch. */
enum reqlog_load_outcome {
    REQLOG_LOAD_DONE,     /* the rows are in (or were there already) */
    REQLOG_LOAD_UNUSED,   /* nothing sent: LOAD DATA is off; use the INSERT */
    REQLOG_LOAD_ROLL_BACK /* sent, but the server read or kept the rows other than the
                             INSERT would: roll back and use the INSERT for this batch */
};

struct reqlog_load;

/* The writer's loader for db, its handle of its own, before it connects
 * (this enables LOAD DATA LOCAL on its connections).  NULL when memory
 * runs out; the caller frees it with reqlog_load_free. */
struct reqlog_load *reqlog_load_new(struct db *db);

void reqlog_load_free(struct reqlog_load *l);

/* Loads nrows rows of REQLOG_LOAD_COLS parameters each (p, row after row;
 * parameter 1 the time in ms) into request_logs, ignoring rows whose
 * (ts, request_id) is there already.  Returns DB_OK with *outcome set, or
 * the database's error (inside the caller's transaction).  A refusal of
 * the server switches the loader off for good and logs one warning. */
int reqlog_load_rows(struct reqlog_load *l, struct db *db, const struct db_param *p, unsigned nrows,
                     enum reqlog_load_outcome *outcome);

#endif
