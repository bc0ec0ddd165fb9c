/* Limit window counters in the database (limit_store.h). */
#include "core/limit_store.h"

#include <pthread.h>
#include <string.h>

#include "core/db.h"
#include "core/log.h"

#define PAIR "(?, ?)"
/* The rows of up to LIMITS_MAX (slot, window_start) pairs of one owner and
 * version; unused pairs are (-1, -1), so that the text is one statement. */
#define SELECT_COUNTERS                                                                            \
    "SELECT slot, window_start, requests, tokens FROM limit_counters"                              \
    " WHERE owner_kind = ? AND owner_id = ? AND version = ? AND (slot, window_start) IN"           \
    " (" PAIR ", " PAIR ", " PAIR ", " PAIR ", " PAIR ", " PAIR ", " PAIR ", " PAIR ")"
_Static_assert(LIMITS_MAX == 8, "SELECT_COUNTERS lists LIMITS_MAX pairs");

/* A reservation's work inside its transaction: the claims, and the start
 * of each of their windows that applies (-1: the limit does not). */
struct reserve {
    struct limit_claim *c;
    size_t n;
    const char *model;
    long long start[LIMIT_CLAIMS_MAX][LIMITS_MAX];
    bool refused;
};

/* The database's clock, in epoch seconds. */
static int db_now(struct db *db, long long *now)
{
    struct db_res res;
    int rc = db_query(db, "SELECT UNIX_TIMESTAMP()", DB_NOARGS, &res);

    if (rc == DB_OK && res.nrows != 1)
        rc = DB_EFAIL;
    if (rc == DB_OK)
        *now = db_int(&res, 0, 0);
    db_res_free(&res);
    return rc;
}

/* Reads the counters of the windows in start[] (-1: none) into req[] and
 * tok[] (0 when the row does not exist). */
static int read_counters(struct db *db, enum limit_owner kind, long long id, long long version,
                         const long long *start, long long *req, long long *tok, bool lock)
{
    struct db_param p[3 + 2 * LIMITS_MAX];
    struct db_res res;
    unsigned i, n = 0;
    int rc;

    p[n++] = DB_INT(kind);
    p[n++] = DB_INT(id);
    p[n++] = DB_INT(version);
    for (i = 0; i < LIMITS_MAX; i++) {
        p[n++] = DB_INT(start[i] >= 0 ? (long long)i : -1);
        p[n++] = DB_INT(start[i]);
        req[i] = tok[i] = 0;
    }
    rc = db_query(db, lock ? SELECT_COUNTERS " FOR UPDATE" : SELECT_COUNTERS, p, n, &res);
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        long long slot = db_int(&res, i, 0);
        if (slot >= 0 && slot < LIMITS_MAX && start[slot] == db_int(&res, i, 1)) {
            req[slot] = db_int(&res, i, 2);
            tok[slot] = db_int(&res, i, 3);
        }
    }
    db_res_free(&res);
    return rc;
}

static long long pending_tokens(enum limit_owner kind, long long id, long long version, int slot,
                                long long window_start);

/* Counts the request in every window of c that applies. */
static int count_claim(struct db *db, const struct limit_claim *c, const char *model, long long now,
                       long long *start)
{
    size_t i;
    int rc;

    for (i = 0; i < LIMITS_MAX; i++)
        start[i] = -1;
    for (i = 0; i < c->s->n; i++) {
        const struct limit *l = &c->s->v[i];
        if (!limit_applies(l, model))
            continue;
        start[i] = limit_window_start(l->window, &c->day, now);
        rc = db_exec(db,
                     "INSERT INTO limit_counters (owner_kind, owner_id, version, slot,"
                     " window_start, requests, tokens) VALUES (?, ?, ?, ?, ?, 1, 0)"
                     " ON DUPLICATE KEY UPDATE requests = requests + 1",
                     DB_ARGS(DB_INT(c->kind), DB_INT(c->owner_id), DB_INT(c->s->version),
                             DB_INT((long long)i), DB_INT(start[i])),
                     NULL, NULL);
        if (rc != DB_OK)
            return rc;
    }
    return DB_OK;
}

/* Checks the windows of c after counting: a request limit admits up to its
 * number, a token limit while the tokens counted are under its number.
 * Sets c->refused and c->ref. */
static int check_claim(struct db *db, struct limit_claim *c, long long now, const long long *start)
{
    long long req[LIMITS_MAX], tok[LIMITS_MAX];
    size_t i;
    int rc = read_counters(db, c->kind, c->owner_id, c->s->version, start, req, tok, true);

    for (i = 0; rc == DB_OK && i < c->s->n; i++) {
        const struct limit *l = &c->s->v[i];
        long long wait;
        /* Tokens this process noted and has not written yet count too. */
        if (start[i] >= 0 && l->tokens > 0)
            tok[i] += pending_tokens(c->kind, c->owner_id, c->s->version, (int)i, start[i]);
        if (start[i] < 0 ||
            ((l->requests == 0 || req[i] <= l->requests) && (l->tokens == 0 || tok[i] < l->tokens)))
            continue;
        wait = limit_window_end(l->window, &c->day, start[i]) - now;
        /* Every full window must end before the request fits. */
        if (!c->refused || wait > c->ref.retry_s) {
            c->ref.slot = i;
            c->ref.by_tokens = l->requests == 0 || req[i] <= l->requests;
            c->ref.retry_s = wait;
        }
        c->refused = true;
    }
    return rc;
}

/* Counts the request in every window of every claim, then checks them
 * all; any full window rolls the whole back. */
static int reserve_body(struct db *db, void *arg)
{
    struct reserve *a = arg;
    long long now = 0;
    size_t k;
    int rc;

    a->refused = false;
    for (k = 0; k < a->n; k++)
        a->c[k].refused = false;
    if ((rc = db_now(db, &now)) != DB_OK)
        return rc;
    for (k = 0; k < a->n && rc == DB_OK; k++)
        rc = count_claim(db, &a->c[k], a->model, now, a->start[k]);
    for (k = 0; k < a->n && rc == DB_OK; k++) {
        rc = check_claim(db, &a->c[k], now, a->start[k]);
        a->refused = a->refused || a->c[k].refused;
    }
    if (rc != DB_OK)
        return rc;
    return a->refused ? DB_EFAIL : DB_OK;
}

/* Keeps in h the counters of c the request was counted in: all of them,
 * or only those whose limits count tokens. */
static void hold(struct limit_held *h, const struct limit_claim *c, const long long *start,
                 bool tokens_only)
{
    size_t i;

    h->n = 0;
    for (i = 0; i < c->s->n; i++) {
        if (start[i] < 0 || (tokens_only && c->s->v[i].tokens == 0))
            continue;
        h->c[h->n].kind = c->kind;
        h->c[h->n].owner_id = c->owner_id;
        h->c[h->n].version = c->s->version;
        h->c[h->n].slot = (int)i;
        h->c[h->n].window_start = start[i];
        h->n++;
    }
}

/* How many more times a reservation that kept meeting deadlocks (after
 * db_transaction's own tries) runs again: the first requests of a window
 * all insert the same new rows at once. */
#define RESERVE_TRIES 4

int limit_reserve(struct db *db, struct limit_claim *c, size_t n, const char *model, bool *granted)
{
    struct reserve a;
    int rc = DB_ERETRY, tries;
    size_t k;

    memset(&a, 0, sizeof(a));
    a.c = c;
    a.n = n < LIMIT_CLAIMS_MAX ? n : LIMIT_CLAIMS_MAX;
    a.model = model;
    *granted = false;
    for (k = 0; k < a.n; k++)
        a.c[k].held->n = 0;
    for (tries = 0; tries < RESERVE_TRIES && rc == DB_ERETRY; tries++)
        rc = db_transaction(db, reserve_body, &a);
    if (a.refused)
        return DB_OK;
    if (rc == DB_OK) {
        *granted = true;
        for (k = 0; k < a.n; k++) {
            hold(a.c[k].held, &a.c[k], a.start[k], true);
            if (a.c[k].counted != NULL)
                hold(a.c[k].counted, &a.c[k], a.start[k], false);
        }
    }
    return rc;
}

int limit_release(struct db *db, struct limit_held *h)
{
    size_t i;
    int rc = DB_OK, one;

    for (i = 0; i < h->n; i++) {
        one =
            db_exec(db,
                    "UPDATE limit_counters SET requests = GREATEST(requests - 1, 0)"
                    " WHERE owner_kind = ? AND owner_id = ? AND version = ? AND slot = ?"
                    " AND window_start = ?",
                    DB_ARGS(DB_INT(h->c[i].kind), DB_INT(h->c[i].owner_id), DB_INT(h->c[i].version),
                            DB_INT(h->c[i].slot), DB_INT(h->c[i].window_start)),
                    NULL, NULL);
        if (rc == DB_OK)
            rc = one;
    }
    h->n = 0;
    return rc;
}

int limit_usage_read(struct db *db, enum limit_owner kind, long long owner_id,
                     const struct limit_day *day, const struct limit_set *s,
                     struct limit_usage *use)
{
    long long now = 0, start[LIMITS_MAX], req[LIMITS_MAX], tok[LIMITS_MAX];
    size_t i;
    int rc;

    if ((rc = db_now(db, &now)) != DB_OK)
        return rc;
    for (i = 0; i < LIMITS_MAX; i++)
        start[i] = i < s->n ? limit_window_start(s->v[i].window, day, now) : -1;
    rc = read_counters(db, kind, owner_id, s->version, start, req, tok, false);
    for (i = 0; rc == DB_OK && i < s->n; i++) {
        use[i].requests_used = req[i];
        use[i].tokens_used = tok[i];
        use[i].resets_at = limit_window_end(s->v[i].window, day, start[i]);
    }
    return rc;
}

/* Tokens noted and not yet written, merged by counter. */
#define PENDING_MAX 1024

static struct {
    struct limit_counter c;
    long long tokens;
} pending[PENDING_MAX];
static size_t npending;
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;

static bool same_counter(const struct limit_counter *a, const struct limit_counter *b)
{
    return a->kind == b->kind && a->owner_id == b->owner_id && a->version == b->version &&
           a->slot == b->slot && a->window_start == b->window_start;
}

/* Adds n tokens for c; the caller holds pending_lock.  Returns false when
 * the table is full. */
static bool add_pending(const struct limit_counter *c, long long n)
{
    size_t i;

    for (i = 0; i < npending; i++) {
        if (same_counter(&pending[i].c, c)) {
            pending[i].tokens += n;
            return true;
        }
    }
    if (npending == PENDING_MAX)
        return false;
    pending[npending].c = *c;
    pending[npending].tokens = n;
    npending++;
    return true;
}

static long long pending_tokens(enum limit_owner kind, long long id, long long version, int slot,
                                long long window_start)
{
    struct limit_counter c = {kind, id, version, slot, window_start};
    long long n = 0;
    size_t i;

    pthread_mutex_lock(&pending_lock);
    for (i = 0; i < npending; i++)
        if (same_counter(&pending[i].c, &c))
            n += pending[i].tokens;
    pthread_mutex_unlock(&pending_lock);
    return n;
}

void limit_tokens_note(const struct limit_held *h, long long n)
{
    size_t i;
    bool lost = false;

    if (h->n == 0 || n <= 0)
        return;
    pthread_mutex_lock(&pending_lock);
    for (i = 0; i < h->n; i++)
        lost = !add_pending(&h->c[i], n) || lost;
    pthread_mutex_unlock(&pending_lock);
    if (lost)
        log_warn("limit windows: %d counters wait to be written; tokens of an answer were not "
                 "counted",
                 PENDING_MAX);
}

bool limit_tokens_idle(void)
{
    size_t n;

    pthread_mutex_lock(&pending_lock);
    n = npending;
    pthread_mutex_unlock(&pending_lock);
    return n == 0;
}

/* Takes n tokens of c, about to be written, out of the table; the caller
 * holds pending_lock. */
static void take_written(const struct limit_counter *c, long long n)
{
    size_t i;

    for (i = 0; i < npending; i++) {
        if (!same_counter(&pending[i].c, c))
            continue;
        pending[i].tokens -= n;
        if (pending[i].tokens <= 0)
            pending[i] = pending[--npending];
        return;
    }
}

int limit_tokens_flush(struct db *db)
{
    /* Only the refresher thread flushes, and the stop once it has ended
     * (service.c).  The tokens of a counter leave the table just before
     * its UPDATE (and come back should it fail): an admission in between
     * may count them neither here nor in the row, never in both, so that
     * it can let one request too many in but never refuse one too many. */
    static struct limit_counter c[PENDING_MAX];
    static long long n[PENDING_MAX];
    size_t i, count;
    int rc = DB_OK;

    pthread_mutex_lock(&pending_lock);
    count = npending;
    for (i = 0; i < count; i++) {
        c[i] = pending[i].c;
        n[i] = pending[i].tokens;
    }
    pthread_mutex_unlock(&pending_lock);
    /* What cannot be written stays for the next call. */
    for (i = 0; i < count && rc == DB_OK; i++) {
        pthread_mutex_lock(&pending_lock);
        take_written(&c[i], n[i]);
        pthread_mutex_unlock(&pending_lock);
        rc = db_exec(db,
                     "UPDATE limit_counters SET tokens = tokens + ? WHERE owner_kind = ?"
                     " AND owner_id = ? AND version = ? AND slot = ? AND window_start = ?",
                     DB_ARGS(DB_INT(n[i]), DB_INT(c[i].kind), DB_INT(c[i].owner_id),
                             DB_INT(c[i].version), DB_INT(c[i].slot), DB_INT(c[i].window_start)),
                     NULL, NULL);
        if (rc != DB_OK) {
            pthread_mutex_lock(&pending_lock);
            if (!add_pending(&c[i], n[i]))
                log_warn("limit windows: %lld tokens of an answer were not counted", n[i]);
            pthread_mutex_unlock(&pending_lock);
        }
    }
    return rc;
}
