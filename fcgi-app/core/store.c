#include "core/store.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/db.h"

static const char *const status_names[KEY__MAX] = {"active", "disabled", "banned", "exhausted"};

const char *key_status_name(enum key_status s)
{
    return (unsigned)s < KEY__MAX ? status_names[s] : "active";
}

int key_status_parse(const char *name)
{
    int i;

    for (i = 0; i < KEY__MAX; i++)
        if (name != NULL && strcmp(name, status_names[i]) == 0)
            return i;
    return -1;
}

bool key_chars_ok(const char *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f)
            return false;
    return true;
}

const char *key_value_check(const char *v, size_t n)
{
    if (n == 0)
        return "must not be empty";
    if (n > KEY_VALUE_MAX)
        return "must be at most 512 bytes";
    if (!key_chars_ok(v, n))
        return "must be printable ASCII without whitespace";
    return NULL;
}

int key_seal(const unsigned char enc_key[32], const char *value, size_t n, struct key_sealed *out)
{
    if (n > KEY_VALUE_MAX || crypto_seal(enc_key, value, n, out->sealed) != 0)
        return -1;
    out->sealed_len = n + CRYPTO_OVERHEAD;
    crypto_sha256(value, n, out->hash);
    crypto_mask(value, n, out->masked);
    return 0;
}

static enum db_rc exists(struct db *db, const char *sql, long long id, bool *found)
{
    struct db_res res;
    enum db_rc rc = db_query(db, sql, DB_ARGS(DB_INT(id)), &res);

    *found = rc == DB_OK && res.nrows > 0;
    db_res_free(&res);
    return rc;
}

enum db_rc store_upstream_exists(struct db *db, long long id, bool *found)
{
    return exists(db, "SELECT 1 FROM upstreams WHERE id = ?", id, found);
}

enum db_rc store_key_exists(struct db *db, long long id, bool *found)
{
    return exists(db, "SELECT 1 FROM api_keys WHERE id = ?", id, found);
}

const char *store_sql_time(time_t t, char *out, size_t outlen)
{
    struct tm tm;

    if (t <= 0)
        return NULL;
    gmtime_r(&t, &tm);
    strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm);
    return out;
}

enum db_rc store_bump_version(struct db *db)
{
    return db_exec(db, "UPDATE pool_version SET version = version + 1 WHERE id = 1", DB_NOARGS,
                   NULL, NULL);
}

struct change_tx {
    const struct key_change *c;
    const char *until;
    bool changed;
};

static int change_body(struct db *db, void *arg)
{
    struct change_tx *t = arg;
    const struct key_change *c = t->c;
    const char *to = key_status_name(c->to), *from;
    struct db_res res;
    int rc;

    t->changed = false;
    rc = db_query(db,
                  "SELECT status, disabled_until IS NOT NULL AND disabled_until <= UTC_TIMESTAMP()"
                  " FROM api_keys WHERE id = ? FOR UPDATE",
                  DB_ARGS(DB_INT(c->key_id)), &res);
    if (rc == DB_OK && res.nrows == 0)
        rc = DB_EFAIL;
    if (rc != DB_OK)
        goto out;
    from = db_val(&res, 0, 0);
    /* Someone changed the key meanwhile (a ban by hand during a probe, a
     * rule in another process): that decision stands. */
    if (c->only_from != NULL && strcmp(from, c->only_from) != 0)
        goto out;
    if (c->only_due && db_int(&res, 0, 1) != 1)
        goto out;
    rc = db_exec(db,
                 "UPDATE api_keys SET status = ?, disabled_until = ?, status_reason = ?,"
                 " updated_at = UTC_TIMESTAMP() WHERE id = ?",
                 DB_ARGS(DB_STR(to), DB_STR(t->until), DB_STR(c->reason), DB_INT(c->key_id)), NULL,
                 NULL);
    if (rc == DB_OK && strcmp(from, to) != 0) {
        rc = db_exec(db,
                     "INSERT INTO key_events (key_id, ts, from_status, to_status, reason, actor,"
                     " rule_id, request_id, excerpt) VALUES (?, UTC_TIMESTAMP(3), ?, ?, ?, ?, ?,"
                     " ?, ?)",
                     DB_ARGS(DB_INT(c->key_id), DB_STR(from), DB_STR(to), DB_STR(c->reason),
                             DB_STR(c->actor), c->rule_id > 0 ? DB_INT(c->rule_id) : DB_NULL,
                             DB_STR(c->request_id), DB_STR(c->excerpt)),
                     NULL, NULL);
        t->changed = true;
    }
    if (rc == DB_OK)
        rc = store_bump_version(db);
out:
    db_res_free(&res);
    return rc;
}

enum db_rc key_change_status(struct db *db, const struct key_change *c, bool *changed)
{
    struct change_tx t = {c, NULL, false};
    char until[24] = "";
    int rc;

    t.until = store_sql_time(c->until, until, sizeof(until));
    rc = db_transaction(db, change_body, &t);
    if (changed != NULL)
        *changed = rc == DB_OK && t.changed;
    return rc;
}
