#include "core/usage.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/db.h"
#include "core/log.h"
#include "core/resetzone.h"
#include "core/store.h"

struct tally {
    long long id; /* 0: free slot */
    long long requests, failures;
    long long last_used; /* Unix seconds */
    long long tokens;    /* of usage, for tokens_today */
    bool token_quota;    /* a key with a daily_token_quota: checked after the batch */
};

/* An open-addressing table of tallies by id. */
struct table {
    struct tally *slots;
    size_t cap, used;
};

struct usage {
    pthread_mutex_t lock;
    struct table keys, tokens;
};

#define USAGE_MIN_CAP 256

/* Gives t a fresh empty table.  Returns 0 or -1 (t unchanged). */
static int table_init(struct table *t)
{
    struct tally *slots = calloc(USAGE_MIN_CAP, sizeof(*slots));

    if (slots == NULL)
        return -1;
    t->slots = slots;
    t->cap = USAGE_MIN_CAP;
    t->used = 0;
    return 0;
}

struct usage *usage_new(void)
{
    struct usage *u = calloc(1, sizeof(*u));

    if (u == NULL)
        return NULL;
    if (table_init(&u->keys) != 0 || table_init(&u->tokens) != 0) {
        free(u->keys.slots);
        free(u);
        return NULL;
    }
    pthread_mutex_init(&u->lock, NULL);
    return u;
}

void usage_free(struct usage *u)
{
    if (u == NULL)
        return;
    if (u->keys.used + u->tokens.used > 0)
        log_warn("usage of %zu keys and %zu client tokens was not written before exit",
                 u->keys.used, u->tokens.used);
    pthread_mutex_destroy(&u->lock);
    free(u->keys.slots);
    free(u->tokens.slots);
    free(u);
}

static struct tally *slot_for(struct tally *slots, size_t cap, long long id)
{
    size_t i = (size_t)id * 2654435761u & (cap - 1);

    while (slots[i].id != 0 && slots[i].id != id)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* Doubles the table when it is more than half full. */
static void grow(struct table *t)
{
    size_t cap = t->cap * 2, i;
    struct tally *slots = calloc(cap, sizeof(*slots));

    if (slots == NULL)
        return;
    for (i = 0; i < t->cap; i++)
        if (t->slots[i].id != 0)
            *slot_for(slots, cap, t->slots[i].id) = t->slots[i];
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
}

static void add(struct table *t, const struct tally *n)
{
    struct tally *s;

    if (t->used * 2 >= t->cap)
        grow(t);
    s = slot_for(t->slots, t->cap, n->id);
    if (s->id == 0) {
        s->id = n->id;
        t->used++;
    }
    s->requests += n->requests;
    s->failures += n->failures;
    s->tokens += n->tokens;
    s->token_quota |= n->token_quota;
    if (n->last_used > s->last_used)
        s->last_used = n->last_used;
}

void usage_note(struct usage *u, long long key_id, bool counted, bool failed)
{
    struct tally n = {
        key_id, counted ? 0 : 1, failed ? 1 : 0, counted ? 0 : (long long)time(NULL), 0, false};

    pthread_mutex_lock(&u->lock);
    add(&u->keys, &n);
    pthread_mutex_unlock(&u->lock);
}

void usage_note_token(struct usage *u, long long token_id)
{
    struct tally n = {token_id, 1, 0, (long long)time(NULL), 0, false};

    pthread_mutex_lock(&u->lock);
    add(&u->tokens, &n);
    pthread_mutex_unlock(&u->lock);
}

void usage_note_tokens(struct usage *u, long long key_id, bool key_quota, long long token_id,
                       long long n)
{
    struct tally k = {key_id, 0, 0, 0, n, key_quota}, t = {token_id, 0, 0, 0, n, false};

    if (n <= 0)
        return;
    pthread_mutex_lock(&u->lock);
    if (key_id > 0)
        add(&u->keys, &k);
    if (token_id > 0)
        add(&u->tokens, &t);
    pthread_mutex_unlock(&u->lock);
}

long long usage_pending_tokens(struct usage *u, long long token_id)
{
    long long n;

    pthread_mutex_lock(&u->lock);
    n = slot_for(u->tokens.slots, u->tokens.cap, token_id)->tokens;
    pthread_mutex_unlock(&u->lock);
    return n;
}

/* The statements that add one tally: keys also count totals and failures. */
static int write_tally(struct db *db, const struct tally *t, bool token)
{
    if (token)
        return db_exec(db,
                       "UPDATE client_tokens SET used_today = used_today + ?,"
                       " tokens_today = tokens_today + ?, last_used_at = IF(? = 0, last_used_at,"
                       " GREATEST(COALESCE(last_used_at, FROM_UNIXTIME(0)), FROM_UNIXTIME(?)))"
                       " WHERE id = ?",
                       DB_ARGS(DB_INT(t->requests), DB_INT(t->tokens), DB_INT(t->last_used),
                               DB_INT(t->last_used), DB_INT(t->id)),
                       NULL, NULL);
    return db_exec(
        db,
        "UPDATE api_keys SET used_today = used_today + ?, tokens_today = tokens_today + ?,"
        " total_requests = total_requests + ?, total_failures = total_failures + ?,"
        " last_used_at = IF(? = 0, last_used_at,"
        " GREATEST(COALESCE(last_used_at, FROM_UNIXTIME(0)), FROM_UNIXTIME(?)))"
        " WHERE id = ?",
        DB_ARGS(DB_INT(t->requests), DB_INT(t->tokens), DB_INT(t->requests), DB_INT(t->failures),
                DB_INT(t->last_used), DB_INT(t->last_used), DB_INT(t->id)),
        NULL, NULL);
}

static int write_table(struct db *db, const struct table *t, bool token)
{
    size_t i;
    int rc = DB_OK;

    for (i = 0; rc == DB_OK && i < t->cap; i++)
        if (t->slots[i].id != 0)
            rc = write_tally(db, &t->slots[i], token);
    return rc;
}

/* Adds the tallies of a table that could not be written back for the
 * next try, and frees its slots. */
static void put_back(struct table *into, struct table *taken)
{
    size_t i;

    for (i = 0; i < taken->cap; i++)
        if (taken->slots[i].id != 0)
            add(into, &taken->slots[i]);
}

/* Makes exhausted the keys of the batch with a daily_token_quota that
 * have reached it; they come back with their upstream's quota reset (its
 * disabled_until), like keys a rule exhausted.  One query finds them, only
 * when the batch has such keys. */
static void exhaust_over_token_quota(struct db *db, const struct table *keys)
{
    struct key_change c = {.to = KEY_EXHAUSTED,
                           .reason = "daily token quota reached",
                           .actor = "quota",
                           .only_from = "active"};
    struct db_res res;
    struct buf ids;
    size_t i;
    unsigned r;

    buf_init(&ids, 1u << 20); /* 20 bytes an id: 50,000 keys a batch */
    buf_puts(&ids, "[");
    for (i = 0; i < keys->cap; i++)
        if (keys->slots[i].id != 0 && keys->slots[i].token_quota)
            buf_printf(&ids, "%s%lld", ids.len > 1 ? "," : "", keys->slots[i].id);
    buf_puts(&ids, "]");
    if (ids.len > 2 &&
        db_query(db,
                 "SELECT k.id, COALESCE(u.quota_reset_hour, -1), COALESCE(u.quota_reset_tz, '')"
                 " FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT PATH '$')) j"
                 " JOIN api_keys k ON k.id = j.id JOIN upstreams u ON u.id = k.upstream_id"
                 " WHERE k.status = 'active'"
                 " AND k.daily_token_quota IS NOT NULL AND k.tokens_today >= k.daily_token_quota",
                 DB_ARGS(DB_STRN(ids.data, ids.len)), &res) == DB_OK) {
        for (r = 0; r < res.nrows; r++) {
            c.key_id = db_int(&res, r, 0);
            c.until = reset_next_for(db_val(&res, r, 2), (int)db_int(&res, r, 1), time(NULL));
            if (key_change_status(db, &c, NULL) != DB_OK)
                log_warn("usage: key %lld reached its daily token quota but could not be made"
                         " exhausted: %s",
                         c.key_id, db_error(db));
        }
        db_res_free(&res);
    }
    buf_free(&ids);
}

int usage_flush(struct usage *u, struct db *db)
{
    struct table keys, tokens, fresh_keys, fresh_tokens;
    bool idle;
    int rc;

    /* The writer calls this every turn: with nothing noted it costs a lock
     * and no allocation.  The counts noted meanwhile stay for the next. */
    pthread_mutex_lock(&u->lock);
    idle = u->keys.used + u->tokens.used == 0;
    pthread_mutex_unlock(&u->lock);
    if (idle)
        return DB_OK;
    if (table_init(&fresh_keys) != 0)
        return DB_EFAIL;
    if (table_init(&fresh_tokens) != 0) {
        free(fresh_keys.slots);
        return DB_EFAIL;
    }
    pthread_mutex_lock(&u->lock);
    keys = u->keys;
    tokens = u->tokens;
    u->keys = fresh_keys;
    u->tokens = fresh_tokens;
    pthread_mutex_unlock(&u->lock);

    rc = db_begin(db);
    if (rc == DB_OK)
        rc = write_table(db, &keys, false);
    if (rc == DB_OK)
        rc = write_table(db, &tokens, true);
    if (rc == DB_OK)
        rc = db_commit(db);
    else
        db_rollback(db);
    if (rc == DB_OK)
        exhaust_over_token_quota(db, &keys);
    if (rc != DB_OK) {
        /* Keep the counts for the next try. */
        pthread_mutex_lock(&u->lock);
        put_back(&u->keys, &keys);
        put_back(&u->tokens, &tokens);
        pthread_mutex_unlock(&u->lock);
    }
    free(keys.slots);
    free(tokens.slots);
    return rc;
}
