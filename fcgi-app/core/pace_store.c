/* The key_pace table (pace_store.h): the budgets learned here written in
 * batches, those learned elsewhere read back, newest first everywhere. */
#include "core/pace_store.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/db.h"
#include "core/log.h"
#include "core/pool.h"

#define PACE_COLS 6

/* A read starts this long before the newest row the last read saw: a
 * write's stored_at is its statement's clock, and it commits a moment
 * later, so a read in between would otherwise miss it for good.  Rows
 * read twice change nothing (the newest learned_at wins). */
#define PACE_OVERLAP_MS 2000

/* Whatever order the processes write in, a row keeps the newest budget:
 * learned_at is compared before it is replaced (MariaDB assigns in
 * order). INSERT IGNORE: a key deleted meanwhile drops its row, not the
 * batch. */
static struct db_multirow write_sql = DB_MULTIROW_INIT_TAIL(
    "INSERT IGNORE INTO key_pace (key_id, remaining_requests, remaining_tokens,"
    " requests_reset_at, tokens_reset_at, learned_at, stored_at) VALUES ",
    "(?, ?, ?, FROM_UNIXTIME(? / 1000), FROM_UNIXTIME(? / 1000), FROM_UNIXTIME(? / 1000),"
    " UTC_TIMESTAMP(3))",
    " ON DUPLICATE KEY UPDATE remaining_requests = IF(VALUES(learned_at) > learned_at,"
    " VALUES(remaining_requests), remaining_requests), remaining_tokens ="
    " IF(VALUES(learned_at) > learned_at, VALUES(remaining_tokens), remaining_tokens),"
    " requests_reset_at = IF(VALUES(learned_at) > learned_at, VALUES(requests_reset_at),"
    " requests_reset_at), tokens_reset_at = IF(VALUES(learned_at) > learned_at,"
    " VALUES(tokens_reset_at), tokens_reset_at), stored_at = IF(VALUES(learned_at) > learned_at,"
    " VALUES(stored_at), stored_at), learned_at = GREATEST(learned_at, VALUES(learned_at))");

/* Where the refresher's next read starts (the database's clock, ms). */
static long long read_from_ms;

static int cmp_id(const void *a, const void *b)
{
    long long x = (*(struct pool_key *const *)a)->id, y = (*(struct pool_key *const *)b)->id;

    return x < y ? -1 : x > y;
}

/* The paced keys of p, sorted by id; *n of them.  NULL with *n 0 when
 * there are none (or no memory: then pacing is not shared this turn). */
static struct pool_key **paced_keys(struct pool *p, size_t *n)
{
    struct pool_key **keys;
    size_t i, k, count = 0;

    *n = 0;
    for (i = 0; p != NULL && i < p->nups; i++)
        if (p->ups[i].pace_by_headers)
            count += p->ups[i].nkeys;
    if (count == 0 || (keys = malloc(count * sizeof(*keys))) == NULL)
        return NULL;
    for (i = 0; i < p->nups; i++)
        for (k = 0; p->ups[i].pace_by_headers && k < p->ups[i].nkeys; k++)
            keys[(*n)++] = &p->ups[i].keys[k];
    qsort(keys, *n, sizeof(*keys), cmp_id);
    return keys;
}

/* A count as a parameter (NULL when not known), and its reset on the wall
 * clock (NULL with the count). */
static void put_count(struct db_param *at, const atomic_llong *left, const atomic_llong *reset,
                      int64_t mono, long long wall)
{
    long long n = atomic_load(left);

    at[0] = n >= 0 ? DB_INT(n) : DB_NULL;
    at[2] = n >= 0 ? DB_INT(wall + (atomic_load(reset) - mono)) : DB_NULL;
}

/* Writes the budgets of keys learned since their last write. */
static int flush(struct db *db, struct pool_key **keys, size_t n)
{
    struct db_param *params = n > 0 ? malloc(n * PACE_COLS * sizeof(*params)) : NULL;
    struct pool_key **written = n > 0 ? malloc(n * sizeof(*written)) : NULL;
    int64_t mono = clock_mono_ms();
    long long wall = clock_wall_ms();
    size_t i, rows = 0;
    int rc = DB_OK;

    for (i = 0; params != NULL && written != NULL && i < n; i++) {
        struct pace_state *s = &keys[i]->pace;
        struct db_param *row = &params[rows * PACE_COLS];
        if (!atomic_exchange(&s->dirty, false))
            continue;
        row[0] = DB_INT(keys[i]->id);
        put_count(&row[1], &s->req_left, &s->req_reset_ms, mono, wall);
        put_count(&row[2], &s->tok_left, &s->tok_reset_ms, mono, wall);
        row[5] = DB_INT(atomic_load(&s->learned_ms));
        written[rows++] = keys[i];
    }
    if (rows > 0)
        rc = db_insert_rows(db, &write_sql, params, PACE_COLS, (unsigned)rows, NULL);
    /* Not written: the next turn tries again. */
    for (i = 0; rc != DB_OK && i < rows; i++)
        atomic_store(&written[i]->pace.dirty, true);
    free(params);
    free(written);
    return rc;
}

static struct pool_key *find(struct pool_key **keys, size_t n, long long id)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (keys[mid]->id == id)
            return keys[mid];
        if (keys[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The rows stored from a time (the database's clock, ms) on: counts -1
 * when not known, resets in µs from now. */
static const char read_sql[] =
    "SELECT key_id, COALESCE(remaining_requests, -1), COALESCE(remaining_tokens, -1),"
    " COALESCE(TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(3), requests_reset_at), -1),"
    " COALESCE(TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(3), tokens_reset_at), -1),"
    " ROUND(UNIX_TIMESTAMP(learned_at) * 1000), ROUND(UNIX_TIMESTAMP(stored_at) * 1000)"
    " FROM key_pace WHERE stored_at >= FROM_UNIXTIME(? / 1000)";

/* Reads the rows stored from from_ms (the database's clock) on, onto the
 * keys; *newest_ms gets the latest stored_at read (unchanged when none). */
static int read_rows(struct db *db, struct pool_key **keys, size_t n, long long from_ms,
                     long long *newest_ms)
{
    struct db_res res;
    int64_t mono = clock_mono_ms();
    unsigned i;
    int rc;

    rc = db_query(db, read_sql, DB_ARGS(DB_INT(from_ms)), &res);
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        struct pool_key *k = find(keys, n, db_int(&res, i, 0));
        struct pace_reading r;
        if (db_int(&res, i, 6) > *newest_ms)
            *newest_ms = db_int(&res, i, 6);
        if (k == NULL)
            continue;
        r.req_left = db_int(&res, i, 1);
        r.tok_left = db_int(&res, i, 2);
        r.req_reset_ms = db_int(&res, i, 3) / 1000;
        r.tok_reset_ms = db_int(&res, i, 4) / 1000;
        pace_adopt(&k->pace, &r, mono, db_int(&res, i, 5));
    }
    db_res_free(&res);
    return rc;
}

void pace_store_load(struct db *db, struct pool *p, struct pool *prev)
{
    size_t n, nprev;
    struct pool_key **keys, **old = paced_keys(prev, &nprev);
    long long newest = 0;
    int rc = DB_OK;

    if (old != NULL)
        rc = flush(db, old, nprev);
    free(old);
    keys = paced_keys(p, &n);
    if (rc == DB_OK && keys != NULL)
        rc = read_rows(db, keys, n, 0, &newest);
    free(keys);
    if (rc != DB_OK)
        log_warn("pacing: the learned budgets could not be shared with the key_pace table (%d)",
                 rc);
}

int pace_store_sync(struct db *db, struct pool *p)
{
    size_t n;
    struct pool_key **keys = paced_keys(p, &n);
    long long newest = read_from_ms + PACE_OVERLAP_MS;
    int rc;

    if (keys == NULL)
        return DB_OK;
    rc = flush(db, keys, n);
    if (rc == DB_OK)
        rc = read_rows(db, keys, n, read_from_ms, &newest);
    if (rc == DB_OK)
        read_from_ms = newest - PACE_OVERLAP_MS;
    free(keys);
    return rc;
}
