#include "core/lease.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/db.h"

struct lease {
    long long id; /* 0: free slot */
    enum quota_kind kind;
    bool rpm;      /* units are good only until end_ms */
    bool granting; /* a thread is asking the database for a block */
    long long avail, epoch, window;
    int64_t end_ms, last_ms;
    long long bucket_n, rate; /* takes in this second, in the last one */
    int64_t bucket_ms;
    int64_t refused_ms;          /* when the database last refused a block */
    struct quota_settlement due; /* what the next settlement carries */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t granted_cond = PTHREAD_COND_INITIALIZER;
static struct lease **slots; /* each lease lives as long as the process */
static size_t cap, used;

#define LEASE_MIN_CAP 64

long long lease_want(long long rate_per_s)
{
    long long want;

    if (rate_per_s <= 0)
        return 1;
    if (rate_per_s > LEASE_MAX_BLOCK * 1000LL / LEASE_HORIZON_MS)
        return LEASE_MAX_BLOCK;
    want = (rate_per_s * LEASE_HORIZON_MS + 999) / 1000;
    return want < 1 ? 1 : want;
}

long long lease_block_size(long long want, long long remaining)
{
    long long quarter = remaining / 4;

    if (remaining <= 0)
        return 0;
    if (quarter < 1)
        quarter = 1;
    return want < quarter ? (want < 1 ? 1 : want) : quarter;
}

static struct lease **slot_for(struct lease **s, size_t n, enum quota_kind kind, long long id)
{
    size_t i = ((size_t)id * 2654435761u + (size_t)kind) & (n - 1);

    while (s[i] != NULL && (s[i]->id != id || s[i]->kind != kind))
        i = (i + 1) & (n - 1);
    return &s[i];
}

/* Doubles the table.  Returns 0 or -1 (unchanged). */
static int grow(void)
{
    size_t ncap = cap ? cap * 2 : LEASE_MIN_CAP, i;
    struct lease **n = calloc(ncap, sizeof(*n));

    if (n == NULL)
        return -1;
    for (i = 0; i < cap; i++)
        if (slots[i] != NULL)
            *slot_for(n, ncap, slots[i]->kind, slots[i]->id) = slots[i];
    free(slots);
    slots = n;
    cap = ncap;
    return 0;
}

/* The lease of kind and id, added when new; NULL when memory ran out.
 * The pointer stays valid for the life of the process.  Lock held. */
static struct lease *find(enum quota_kind kind, long long id)
{
    struct lease **p;

    if (used * 2 >= cap && grow() != 0 && used >= cap)
        return NULL;
    p = slot_for(slots, cap, kind, id);
    if (*p == NULL) {
        *p = calloc(1, sizeof(**p));
        if (*p == NULL)
            return NULL;
        (*p)->id = id;
        (*p)->kind = kind;
        (*p)->due.id = id;
        used++;
    }
    return *p;
}

/* Counts one take in the per-second buckets of the rate. */
static void note_rate(struct lease *e, int64_t now)
{
    if (now - e->bucket_ms >= 1000) {
        e->rate = now - e->bucket_ms < 2000 ? e->bucket_n : 0;
        e->bucket_ms = now;
        e->bucket_n = 0;
    }
    e->bucket_n++;
}

/* Moves the unused units of e to its next settlement; back_rpm: they go
 * back to the rpm window too (it has not ended). */
static void give_back(struct lease *e, bool back_rpm)
{
    if (e->avail <= 0)
        return;
    e->due.unused += e->avail;
    if (back_rpm && e->rpm) {
        e->due.rpm_back += e->avail;
        e->due.window = e->window;
    }
    e->avail = 0;
}

/* Adds a granted block to e and spends its first unit. */
static void add_block(struct lease *e, const struct quota_block *b, int64_t asked_ms)
{
    int64_t end = asked_ms + b->left_ms;

    if (b->epoch != e->epoch) {
        /* A reset zeroed leased: the old block and its returns are void. */
        e->due.stale += e->due.spent;
        e->due.spent = e->due.unused = e->due.rpm_back = 0;
        e->avail = 0;
        e->epoch = b->epoch;
    }
    e->due.epoch = e->epoch;
    if (e->avail > 0 && e->window != b->window)
        give_back(e, false);
    if (e->avail == 0 || end < e->end_ms)
        e->end_ms = end;
    e->window = b->window;
    e->avail += b->units - 1;
    e->due.spent++;
}

/* Spends one unit of e when it has one still good.  Lock held. */
static bool spend(struct lease *e, int64_t now)
{
    if (e->avail > 0 && e->rpm && now >= e->end_ms)
        give_back(e, false);
    if (e->avail <= 0)
        return false;
    e->avail--;
    e->due.spent++;
    e->last_ms = now;
    return true;
}

/* Waits while another thread asks the database for e's block, spending
 * from it when one came.  Returns 1 when a unit was spent, -1 when the
 * database refused a block after this request arrived, 0 when this
 * thread must ask.  Lock held. */
static int spend_or_wait(struct lease *e, int64_t arrived)
{
    for (;;) {
        if (spend(e, clock_mono_ms()))
            return 1;
        if (e->refused_ms >= arrived)
            return -1;
        if (!e->granting)
            return 0;
        pthread_cond_wait(&granted_cond, &lock);
    }
}

/* Asks the database for a block of want units: in one statement when the
 * whole of want can be had (no rpm limit, epoch unchanged, budget enough),
 * else by quota_grant's UPDATE and read back.  Returns what quota_grant
 * returns; b->units is 0 unless DB_OK. */
static int grant(struct db *db, const struct lease *last, long long want, bool rpm,
                 struct quota_block *b)
{
    bool whole = false;
    int rc;

    if (!rpm) {
        rc = quota_grant_whole(db, last->kind, last->id, want, last->epoch, &whole);
        if (rc != DB_OK || whole) {
            /* The statement reads nothing back, so the block's minute is
             * not known: window 0 matches no row's rpm_window, and unused
             * units of this block are never taken off rpm_count (which no
             * limit reads: the key has none).  left_ms 0: should the key
             * gain an rpm limit, what is left goes back at the next spend
             * instead of being spent in a minute it was not counted in. */
            b->units = whole ? want : 0;
            b->epoch = last->epoch;
            b->window = 0;
            b->left_ms = 0;
            return rc;
        }
    }
    return quota_grant(db, last->kind, last->id, want, b);
}

int lease_take(struct db *db, enum quota_kind kind, long long id, bool rpm_limited, bool *granted)
{
    struct quota_block b;
    struct lease *e, last;
    int64_t now = clock_mono_ms();
    long long want;
    int rc, got, tries;

    *granted = false;
    pthread_mutex_lock(&lock);
    e = find(kind, id);
    if (e == NULL) {
        pthread_mutex_unlock(&lock);
        return DB_EFAIL;
    }
    e->rpm = rpm_limited;
    note_rate(e, now);
    got = spend_or_wait(e, now);
    if (got != 0) {
        pthread_mutex_unlock(&lock);
        *granted = got > 0;
        return DB_OK;
    }
    e->granting = true;
    want = lease_want(e->rate > e->bucket_n ? e->rate : e->bucket_n);
    last = *e; /* its epoch and window change only under granting */
    pthread_mutex_unlock(&lock);

    /* A grant that keeps losing races with other writers of the row (a
     * deadlock, or a Galera certification conflict) after the database
     * layer's own tries is asked for again: the budget is not short, and
     * refusing would skip the key as if it were. */
    for (tries = 0; tries <= LEASE_GRANT_CONFLICTS; tries++)
        if ((rc = grant(db, &last, want, rpm_limited, &b)) != DB_ERETRY)
            break;

    pthread_mutex_lock(&lock);
    e->granting = false;
    now = clock_mono_ms();
    if (rc == DB_OK && b.units > 0) {
        add_block(e, &b, now);
        e->last_ms = now;
        *granted = true;
    } else {
        e->refused_ms = now;
    }
    pthread_cond_broadcast(&granted_cond);
    pthread_mutex_unlock(&lock);
    return rc;
}

/* Takes e's settlement when it has one to carry; force, or e idle for
 * LEASE_IDLE_MS: its unused units too.  Lock held. */
static bool take_due(struct lease *e, int64_t now, bool force, struct quota_settlement *s)
{
    if (e->avail > 0 && e->rpm && now >= e->end_ms)
        give_back(e, false);
    else if (e->avail > 0 && !e->granting && (force || now - e->last_ms >= LEASE_IDLE_MS))
        give_back(e, true);
    if (e->due.spent + e->due.stale + e->due.unused == 0)
        return false;
    *s = e->due;
    s->kind = e->kind;
    e->due.spent = e->due.stale = e->due.unused = e->due.rpm_back = 0;
    return true;
}

/* Puts a settlement that could not be written back into e's next one
 * (its rpm part is dropped: the window may be over). */
static void put_back(struct lease *e, const struct quota_settlement *s)
{
    if (s->epoch == e->epoch) {
        e->due.spent += s->spent;
        e->due.unused += s->unused;
        e->due.stale += s->stale;
    } else {
        e->due.stale += s->spent + s->stale;
    }
}

static int settle(struct db *db, bool force)
{
    struct quota_settlement *due;
    size_t n = 0, i;
    int64_t now = clock_mono_ms();
    int rc = DB_OK;

    pthread_mutex_lock(&lock);
    due = used > 0 ? calloc(used, sizeof(*due)) : NULL;
    for (i = 0; due != NULL && i < cap; i++)
        if (slots[i] != NULL && take_due(slots[i], now, force, &due[n]))
            n++;
    pthread_mutex_unlock(&lock);
    for (i = 0; i < n; i++) {
        int r = quota_settle(db, due[i].kind, &due[i]);

        if (r == DB_OK)
            continue;
        if (rc == DB_OK)
            rc = r;
        pthread_mutex_lock(&lock);
        put_back(find(due[i].kind, due[i].id), &due[i]);
        pthread_mutex_unlock(&lock);
    }
    free(due);
    return rc;
}

int lease_tick(struct db *db)
{
    return settle(db, false);
}

int lease_return_all(struct db *db)
{
    return settle(db, true);
}

bool lease_idle(void)
{
    bool idle = true;
    size_t i;

    pthread_mutex_lock(&lock);
    for (i = 0; idle && i < cap; i++)
        if (slots[i] != NULL)
            idle = slots[i]->avail + slots[i]->due.spent + slots[i]->due.stale +
                       slots[i]->due.unused ==
                   0;
    pthread_mutex_unlock(&lock);
    return idle;
}
