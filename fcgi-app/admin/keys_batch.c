/* POST /api/admin/keys/batch: one action on many keys, named by their ids
 * or by the list's filter (admin/keys_filter.h: "select all N matching"),
 * in one transaction. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "admin/handlers.h"
#include "core/idlist.h"
#include "admin/doc_tables.h"
#include "admin/keys_filter.h"
#include "admin/resource.h"
#include "core/buf.h"
#include "core/nelem.h"
#include "core/store.h"
#include "core/valjob.h"
#include "http.h"

/* The most keys one batch acts on, by ids or by a filter: one transaction
 * locks them all, and a validation job takes at most VALJOB_IDS_MAX. */
#define BATCH_MAX 100000
_Static_assert(BATCH_MAX <= VALJOB_IDS_MAX, "a batch test must fit one job per upstream");

static const char *check_action(const char *s)
{
    static const char *const ok[] = {"enable", "disable", "ban", "delete", "reset_usage", "test"};
    size_t i;

    for (i = 0; i < NELEM(ok); i++)
        if (strcmp(s, ok[i]) == 0)
            return NULL;
    return "must be enable, disable, ban, delete, reset_usage or test";
}

static const struct vfield batch_fields[] = {
    {.name = "ids", .type = VT_INT_LIST, .min = 1, .max = BATCH_MAX},
    /* Instead of ids: every key the list shows with this filter. */
    {.name = "filter", .type = VT_OBJECT},
    /* With filter: the count the caller confirmed; a different count
     * refuses the batch (409) instead of acting on keys never shown. */
    {.name = "expect_total", .type = VT_INT, .min = 0, .max = BATCH_MAX},
    {.name = "action",
     .type = VT_STRING,
     .flags = VF_REQUIRED,
     .min = 1,
     .max = 16,
     .check = check_action,
     .oneof = "enable|disable|ban|delete|reset_usage|test"},
    {.name = "duration_s", .type = VT_INT, .min = 0, .max = 315360000},
};

#define JOIN_IDS_ON(col)                                                                           \
    " JOIN JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) j ON " col " = j.id"
#define JOIN_IDS JOIN_IDS_ON("k.id")

/* The ids as a JSON array without repeats (a repeat would count twice). */
static struct json_object *unique_ids(struct json_object *ids)
{
    size_t n = json_object_array_length(ids), i;
    long long *v = calloc(n + 1, sizeof(*v));
    struct json_object *out = json_object_new_array();

    if (v == NULL)
        return out;
    for (i = 0; i < n; i++)
        v[i] = json_object_get_int64(json_object_array_get_idx(ids, i));
    n = idlist_unique(v, n);
    for (i = 0; i < n; i++)
        json_object_array_add(out, json_object_new_int64(v[i]));
    free(v);
    return out;
}

struct batch_tx {
    const char *ids;                 /* a JSON array of key ids */
    const struct key_filter *filter; /* NULL: the ids were given */
    long long expect;                /* with filter: the confirmed count, -1 for none */
    const char *action;
    const char *until;
    const char *actor;
    struct buf idbuf;            /* with filter: the ids it matched */
    long long matched;           /* with filter: how many */
    bool too_many, changed;      /* with filter: why the batch was refused */
    unsigned long long affected; /* keys changed, or queued for a test */
    struct json_object *jobs;    /* test: the jobs made */
    long long skipped;           /* test: keys of upstreams without a probe */
};

/* Locks the keys the filter matches now and lists their ids; refuses
 * (DB_EFAIL with too_many or changed set) more than BATCH_MAX of them, or
 * a count other than the one confirmed. */
static int resolve_filter(struct db *db, struct batch_tx *t)
{
    struct db_param p[KEY_FILTER_PARAMS + 1];
    struct db_res res;
    unsigned row;
    int rc;

    key_filter_params(t->filter, p);
    p[KEY_FILTER_PARAMS] = DB_INT(BATCH_MAX + 1);
    rc = db_query(db, "SELECT id FROM api_keys" KEY_FILTER_SQL " ORDER BY id LIMIT ? FOR UPDATE", p,
                  NELEM(p), &res);
    buf_reset(&t->idbuf);
    if (rc == DB_OK) {
        t->matched = res.nrows;
        t->too_many = res.nrows > BATCH_MAX;
        t->changed = !t->too_many && t->expect >= 0 && t->expect != t->matched;
        buf_puts(&t->idbuf, "[");
        for (row = 0; row < res.nrows && !t->too_many; row++)
            buf_printf(&t->idbuf, "%s%lld", row ? "," : "", db_int(&res, row, 0));
        if (buf_puts(&t->idbuf, "]") != 0)
            rc = DB_EFAIL; /* out of memory: a cut list must not act */
        t->ids = buf_str(&t->idbuf);
    }
    db_res_free(&res);
    return rc == DB_OK && (t->too_many || t->changed) ? DB_EFAIL : rc;
}

/* Locks the keys, records the real changes in their history, then sets the
 * status.  Taking the row locks first (FOR UPDATE) keeps the history's
 * INSERT ... SELECT from holding shared locks that the UPDATE would then
 * have to upgrade, which deadlocked concurrent batches. */
static int set_status(struct db *db, struct batch_tx *t, const char *to)
{
    struct db_res res;
    int rc;

    rc = db_query(db, "SELECT k.id FROM api_keys k" JOIN_IDS " ORDER BY k.id FOR UPDATE",
                  DB_ARGS(DB_STR(t->ids)), &res);
    db_res_free(&res);
    if (rc == DB_OK)
        rc = db_exec(
            db,
            "INSERT INTO key_events (key_id, ts, from_status, to_status, reason, actor)"
            " SELECT k.id, UTC_TIMESTAMP(3), k.status, ?, 'manual', ? FROM api_keys k" JOIN_IDS
            " WHERE k.status <> ?",
            DB_ARGS(DB_STR(to), DB_STR(t->actor), DB_STR(t->ids), DB_STR(to)), NULL, NULL);
    /* Enabling a key also ends its rests for one model. */
    if (rc == DB_OK && strcmp(to, "active") == 0)
        rc = db_exec(db, "DELETE b FROM key_model_blocks b" JOIN_IDS_ON("b.key_id"),
                     DB_ARGS(DB_STR(t->ids)), NULL, NULL);
    if (rc == DB_OK)
        rc = db_exec(db,
                     "UPDATE api_keys k" JOIN_IDS " SET k.status = ?, k.disabled_until = ?,"
                     " k.status_reason = 'manual', k.updated_at = UTC_TIMESTAMP()",
                     DB_ARGS(DB_STR(t->ids), DB_STR(to), DB_STR(t->until)), &t->affected, NULL);
    return rc;
}

/* delete and reset_usage: one statement each. */
static int set_counters(struct db *db, struct batch_tx *t)
{
    if (strcmp(t->action, "delete") == 0)
        return db_exec(db, "DELETE k FROM api_keys k" JOIN_IDS, DB_ARGS(DB_STR(t->ids)),
                       &t->affected, NULL);
    return db_exec(db,
                   "UPDATE api_keys k" JOIN_IDS " SET k.used_today = 0, k.rpm_count = 0,"
                   " k.rpm_window = 0, k.leased = 0, k.quota_epoch = k.quota_epoch + 1,"
                   " k.updated_at = UTC_TIMESTAMP()",
                   DB_ARGS(DB_STR(t->ids)), &t->affected, NULL);
}

/* test: a validation job that only reports (on_invalid none) for the keys
 * of each upstream with a probe; apigw-jobs probes them in the background,
 * so that a test of thousands of keys holds no request.  Keys of an
 * upstream without a probe are counted as skipped. */
static int start_tests(struct db *db, struct batch_tx *t)
{
    struct db_res res;
    unsigned row;
    int rc = db_query(db,
                      "SELECT k.upstream_id, COUNT(*), MAX(u.probe_method IS NOT NULL AND"
                      " u.probe_path IS NOT NULL) FROM api_keys k" JOIN_IDS
                      " JOIN upstreams u ON u.id = k.upstream_id GROUP BY k.upstream_id"
                      " ORDER BY k.upstream_id",
                      DB_ARGS(DB_STR(t->ids)), &res);

    json_object_put(t->jobs);
    t->jobs = json_object_new_array();
    t->skipped = 0;
    for (row = 0; rc == DB_OK && row < res.nrows; row++) {
        struct valjob_spec s = {.upstream_id = db_int(&res, row, 0),
                                .on_invalid = "none",
                                .concurrency = 4,
                                .actor = t->actor,
                                .ids = t->ids};
        long long job_id = 0, total = 0;
        if (db_int(&res, row, 2) == 0) {
            t->skipped += db_int(&res, row, 1);
            continue;
        }
        rc = valjob_create(db, &s, &job_id, &total);
        t->affected += (unsigned long long)total;
        json_object_array_add(t->jobs, json_object_new_int64(job_id));
    }
    db_res_free(&res);
    return rc;
}

static int batch_body(struct db *db, void *arg)
{
    struct batch_tx *t = arg;
    int rc = DB_OK;

    t->affected = 0;
    if (t->filter != NULL)
        rc = resolve_filter(db, t);
    if (rc != DB_OK)
        return rc;
    if (strcmp(t->action, "test") == 0)
        return start_tests(db, t);
    if (strcmp(t->action, "enable") == 0)
        rc = set_status(db, t, "active");
    else if (strcmp(t->action, "disable") == 0)
        rc = set_status(db, t, "disabled");
    else if (strcmp(t->action, "ban") == 0)
        rc = set_status(db, t, "banned");
    else
        rc = set_counters(db, t);
    if (rc == DB_OK)
        rc = store_bump_version(db);
    return rc;
}

/* Checks ids, filter and expect_total together and reads the filter into
 * f; false after answering 400. */
static bool batch_target_ok(struct req *r, struct json_object *o, struct key_filter *f,
                            bool *by_filter)
{
    struct json_object *ids = NULL, *filter = NULL;

    json_object_object_get_ex(o, "ids", &ids);
    json_object_object_get_ex(o, "filter", &filter);
    if ((ids == NULL) == (filter == NULL)) {
        reply_error(r, ERR_INVALID_FIELD, "ids: give ids or filter, one of them");
        return false;
    }
    if (filter == NULL && json_object_object_get_ex(o, "expect_total", NULL)) {
        reply_error(r, ERR_INVALID_FIELD, "expect_total: only with filter");
        return false;
    }
    *by_filter = filter != NULL;
    return filter == NULL || key_filter_json(r, filter, f);
}

static void reply_batch(struct req *r, struct batch_tx *t)
{
    struct json_object *out = json_object_new_object();

    json_object_object_add(out, "affected", json_object_new_int64((long long)t->affected));
    if (t->filter != NULL)
        json_object_object_add(out, "matched", json_object_new_int64(t->matched));
    if (strcmp(t->action, "test") == 0) {
        json_object_object_add(out, "job_ids", json_object_get(t->jobs));
        json_object_object_add(out, "skipped", json_object_new_int64(t->skipped));
    }
    reply_json(r, 200, out);
}

void h_keys_batch(struct req *r, const struct route_args *a)
{
    struct json_object *o = rs_body_valid(r, batch_fields, NELEM(batch_fields), true), *ids = NULL,
                       *uniq = NULL;
    struct batch_tx t = {0};
    struct key_filter f;
    char until[24] = "";
    bool by_filter = false;
    int rc;

    (void)a;
    if (o == NULL)
        return;
    if (!batch_target_ok(r, o, &f, &by_filter))
        goto out;
    if (!by_filter) {
        json_object_object_get_ex(o, "ids", &ids);
        uniq = unique_ids(ids);
        t.ids = json_text(uniq, NULL);
    }
    t.filter = by_filter ? &f : NULL;
    t.expect = rs_jint(o, "expect_total", -1);
    t.action = rs_jstr(o, "action");
    t.actor = r->actor;
    buf_init(&t.idbuf, (size_t)(BATCH_MAX + 2) * 21);
    if (strcmp(t.action, "disable") == 0 && rs_jint(o, "duration_s", 0) > 0) {
        time_t at = time(NULL) + (time_t)rs_jint(o, "duration_s", 0);
        struct tm tm;
        gmtime_r(&at, &tm);
        strftime(until, sizeof(until), "%Y-%m-%d %H:%M:%S", &tm);
        t.until = until;
    }
    rc = db_transaction(r->w->db, batch_body, &t);
    if (t.too_many)
        reply_error(r, ERR_INVALID_FIELD,
                    "filter: more than %d keys match; narrow the filter or act in parts",
                    BATCH_MAX);
    else if (t.changed)
        reply_error(r, ERR_CONFLICT,
                    "expect_total: %lld keys were confirmed but %lld match now; look again",
                    t.expect, t.matched);
    else if (rc != DB_OK)
        rs_reply_db_error(r, err_from_db(rc), "");
    else
        reply_batch(r, &t);
    buf_free(&t.idbuf);
    json_object_put(t.jobs);
out:
    json_object_put(uniq);
    json_object_put(o);
}

/* For the OpenAPI document (admin/doc_tables.h). */
const struct vtable vt_keys_batch = {batch_fields, NELEM(batch_fields)};
