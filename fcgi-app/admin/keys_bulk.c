/* POST /api/admin/keys/import: many keys at once, in one transaction and a
 * handful of statements (the batch actions are admin/keys_batch.c). */
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/clock.h"
#include "core/store.h"
#include "admin/handlers.h"
#include "admin/doc_tables.h"
#include "admin/keys_paste.h"
#include "core/buf.h"
#include "http.h"
#include "admin/limits_admin.h"
#include "admin/resource.h"
#include "core/nelem.h"
#include "core/valjob.h"

#define IMPORT_COLS 9

static const struct vfield import_fields[] = {
    {.name = "upstream_id", .type = VT_INT, .flags = VF_REQUIRED, .min = 1, .max = INT64_MAX},
    {.name = "keys", .type = VT_ARRAY},
    {.name = "text", .type = VT_STRING, .min = 0, .max = 1LL << 30},
    {.name = "weight", .type = VT_INT, .min = 1, .max = 1000000},
    {.name = "priority", .type = VT_INT, .min = -1000000, .max = 1000000},
    {.name = "daily_quota", .type = VT_INT, .min = 0, .max = 1000000000000LL},
    {.name = "rpm_limit", .type = VT_INT, .min = 0, .max = 1000000},
    /* Limit windows of every imported key (admin/limits_admin.h). */
    {.name = "limits", .type = VT_ARRAY, .flags = VF_NULLABLE},
    /* Start a validation job for the keys the import makes (core/valjob.h). */
    {.name = "validate", .type = VT_BOOL},
    {.name = "on_invalid", .type = VT_STRING, .min = 1, .max = 8, .check = valjob_check_on_invalid},
};

/* An open-addressing set of the sealed keys' hashes. */
struct hash_set {
    struct key_sealed **slot;
    size_t cap;
};

static int hash_set_init(struct hash_set *set, size_t n)
{
    set->cap = 16;
    while (set->cap < 2 * n)
        set->cap *= 2;
    set->slot = calloc(set->cap, sizeof(*set->slot));
    return set->slot == NULL ? -1 : 0;
}

/* The slot that holds hash, or the empty slot where it would go. */
static struct key_sealed **hash_set_find(const struct hash_set *set, const unsigned char *hash)
{
    size_t h;

    memcpy(&h, hash, sizeof(h));
    h &= set->cap - 1;
    while (set->slot[h] != NULL && memcmp(set->slot[h]->hash, hash, SHA256_LEN) != 0)
        h = (h + 1) & (set->cap - 1);
    return &set->slot[h];
}

/* Marks repeats within the upload (keep[i] false, reason duplicate) and
 * fills the set with the first of each.  Returns the number of repeats. */
static size_t drop_repeats(struct hash_set *set, struct key_sealed *ks, size_t n, bool *keep,
                           struct candidate *c)
{
    size_t i, repeats = 0;

    for (i = 0; i < n; i++) {
        struct key_sealed **s = hash_set_find(set, ks[i].hash);
        keep[i] = *s == NULL;
        if (keep[i]) {
            *s = &ks[i];
        } else {
            c[i].reason = PASTE_DUPLICATE;
            repeats++;
        }
    }
    return repeats;
}

static struct db_multirow import_sql = DB_MULTIROW_INIT(
    "INSERT IGNORE INTO api_keys (upstream_id, key_enc, key_hash, key_masked, status, weight,"
    " priority, daily_quota, rpm_limit, limits, status_reason, created_at, updated_at) VALUES ",
    "(?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, 'imported', UTC_TIMESTAMP(), UTC_TIMESTAMP())");

struct import_tx {
    long long upstream_id;
    const struct db_param *params;
    size_t rows;
    const char *hashes; /* the kept keys' hashes, a JSON array of hex strings */
    struct db_res in_pool;
    unsigned long long created;
    struct valjob_spec *job; /* NULL: no validation job */
    long long job_id, job_total;
};

/* The highest key id before the import: the keys it makes lie above. */
static int highest_key_id(struct db *db, long long *id)
{
    struct db_res res;
    int rc = db_query(db, "SELECT COALESCE(MAX(id), 0) FROM api_keys", DB_NOARGS, &res);

    *id = rc == DB_OK ? db_int(&res, 0, 0) : 0;
    db_res_free(&res);
    return rc;
}

/* Inserts the kept keys; duplicates already in the pool are ignored by the
 * unique (upstream_id, key_hash) index, and found first (in_pool) so that
 * the caller can name their lines.  The upstream's row is locked first, so
 * that imports into one pool take turns instead of deadlocking on each
 * other's index entries. */
static int import_body(struct db *db, void *arg)
{
    struct import_tx *t = arg;
    struct db_res res;
    int rc;

    rc = db_query(db, "SELECT id FROM upstreams WHERE id = ? FOR UPDATE",
                  DB_ARGS(DB_INT(t->upstream_id)), &res);
    db_res_free(&res);
    t->created = 0;
    db_res_free(&t->in_pool);
    if (rc == DB_OK && t->rows > 0)
        rc = db_query(db,
                      "SELECT k.key_hash FROM JSON_TABLE(?, '$[*]' COLUMNS (h CHAR(64) PATH"
                      " '$')) j JOIN api_keys k ON k.upstream_id = ? AND k.key_hash = UNHEX(j.h)",
                      DB_ARGS(DB_STR(t->hashes), DB_INT(t->upstream_id)), &t->in_pool);
    if (rc == DB_OK && t->job != NULL)
        rc = highest_key_id(db, &t->job->min_id);
    if (rc == DB_OK)
        rc =
            db_insert_rows(db, &import_sql, t->params, IMPORT_COLS, (unsigned)t->rows, &t->created);
    if (rc == DB_OK && t->job != NULL) {
        t->job->hashes = t->hashes;
        rc = valjob_create(db, t->job, &t->job_id, &t->job_total);
    }
    if (rc == DB_OK)
        rc = store_bump_version(db);
    return rc;
}

/* The kept keys' hashes as a JSON array of hex strings, or NULL. */
static char *hash_list(const struct key_sealed *ks, const bool *keep, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    struct buf b;
    char h[SHA256_LEN * 2 + 4];
    size_t i, j, k = 0;

    buf_init(&b, (size_t)IMPORT_MAX * sizeof(h) + 16);
    buf_puts(&b, "[");
    for (i = 0; i < n; i++) {
        if (!keep[i])
            continue;
        h[0] = k++ ? ',' : ' ';
        h[1] = '"';
        for (j = 0; j < SHA256_LEN; j++) {
            h[2 + 2 * j] = hex[ks[i].hash[j] >> 4];
            h[3 + 2 * j] = hex[ks[i].hash[j] & 15];
        }
        h[2 + 2 * SHA256_LEN] = '"';
        /* A list cut short would let a value already in the pool pass
         * the check: no list at all fails the import instead. */
        if (buf_append(&b, h, 3 + 2 * SHA256_LEN) != 0)
            break;
    }
    if (i < n || buf_puts(&b, "]") != 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}
static int insert_keys(struct req *r, struct json_object *o, struct key_sealed *ks, bool *keep,
                       size_t n, unsigned long long *created, size_t *rows, struct db_res *in_pool,
                       struct valjob_spec *job, long long *job_id)
{
    struct db_param *p = calloc(n * IMPORT_COLS + 1, sizeof(*p));
    struct import_tx t = {0};
    struct json_object *lim = NULL;
    const char *limits = NULL;
    size_t i, k = 0;
    int rc = DB_EFAIL;

    /* As the key API stores it: the JSON text, NULL for none. */
    if (json_object_object_get_ex(o, "limits", &lim) && lim != NULL &&
        json_object_array_length(lim) > 0)
        limits = json_object_to_json_string_ext(lim, JSON_C_TO_STRING_PLAIN);

    t.hashes = hash_list(ks, keep, n);
    if (p == NULL || t.hashes == NULL)
        goto out;
    t.upstream_id = rs_jint(o, "upstream_id", 0);
    for (i = 0; i < n; i++) {
        if (!keep[i])
            continue;
        p[k++] = DB_INT(t.upstream_id);
        p[k++] = DB_BLOB(ks[i].sealed, ks[i].sealed_len);
        p[k++] = DB_BLOB(ks[i].hash, SHA256_LEN);
        p[k++] = DB_STR(ks[i].masked);
        p[k++] = DB_INT(rs_jint(o, "weight", 1));
        p[k++] = DB_INT(rs_jint(o, "priority", 0));
        p[k++] = DB_INT(rs_jint(o, "daily_quota", 0));
        p[k++] = DB_INT(rs_jint(o, "rpm_limit", 0));
        p[k++] = DB_STR(limits);
    }
    t.params = p;
    t.rows = *rows = k / IMPORT_COLS;
    t.job = job;
    rc = db_transaction(r->w->db, import_body, &t);
    *created = t.created;
    *job_id = t.job_id;
    *in_pool = t.in_pool;
out:
    free((char *)t.hashes);
    free(p);
    return rc;
}

/* Marks the candidates whose hash the pool already held. */
static void mark_in_pool(const struct hash_set *set, const struct db_res *in_pool,
                         const struct key_sealed *ks, struct candidate *c)
{
    unsigned row;

    for (row = 0; row < in_pool->nrows; row++) {
        const char *h = db_val(in_pool, row, 0);
        struct key_sealed **s;
        if (h == NULL || db_len(in_pool, row, 0) != SHA256_LEN)
            continue;
        s = hash_set_find(set, (const unsigned char *)h);
        if (*s != NULL)
            c[*s - ks].reason = PASTE_IN_POOL;
    }
}

static void reply_import(struct req *r, unsigned long long created, long long duplicates,
                         const struct import *im, long long job_id)
{
    struct json_object *out = json_object_new_object();

    /* With validate: the job that probes the new keys (GET /jobs/{id}). */
    if (job_id > 0)
        json_object_object_add(out, "job_id", json_object_new_int64(job_id));

    json_object_object_add(out, "created", json_object_new_int64((long long)created));
    json_object_object_add(out, "duplicates", json_object_new_int64(duplicates));
    json_object_object_add(out, "invalid", json_object_new_int64(im->invalid));
    json_object_object_add(out, "rejected", import_rejected(im));
    reply_json(r, 200, out);
}

/* Checks the request beyond the field table; replies and returns false
 * when it cannot go on. */
static bool import_request_ok(struct req *r, struct json_object *o)
{
    struct json_object *list = NULL;
    char msg[160];
    bool found;
    int rc;

    if (json_object_object_get_ex(o, "keys", &list) &&
        !json_object_is_type(list, json_type_array)) {
        reply_error(r, ERR_INVALID_FIELD, "keys: must be an array of strings");
        return false;
    }
    if (list == NULL && rs_jstr(o, "text") == NULL) {
        reply_error(r, ERR_INVALID_FIELD, "keys: required (or text, one key per line)");
        return false;
    }
    if (limits_admin_check(o, msg, sizeof(msg)) != ERR_OK) {
        reply_error(r, ERR_INVALID_FIELD, "%s", msg);
        return false;
    }
    if (rs_jstr(o, "on_invalid") != NULL && !rs_jbool(o, "validate", false)) {
        reply_error(r, ERR_INVALID_FIELD, "on_invalid: needs validate: true");
        return false;
    }
    if (rs_jbool(o, "validate", false))
        return jobs_upstream_ok(r, rs_jint(o, "upstream_id", 0));
    rc = store_upstream_exists(r->w->db, rs_jint(o, "upstream_id", 0), &found);
    if (rc != DB_OK)
        rs_reply_db_error(r, err_from_db(rc), "");
    else if (!found)
        reply_error(r, ERR_INVALID_FIELD, "upstream_id: upstream %lld does not exist",
                    rs_jint(o, "upstream_id", 0));
    return rc == DB_OK && found;
}

/* Seals the candidates; false (after replying) when one cannot be. */
static bool seal_all(struct req *r, const struct import *im, struct key_sealed *ks)
{
    size_t i;

    for (i = 0; i < im->n; i++) {
        if (key_seal(r->cfg->enc_key, im->c[i].p, im->c[i].n, &ks[i]) != 0) {
            reply_error(r, ERR_INTERNAL, "a key could not be encrypted");
            return false;
        }
    }
    return true;
}

void h_keys_import(struct req *r, const struct route_args *a)
{
    struct json_object *o = rs_body_valid(r, import_fields, NELEM(import_fields), true);
    struct import *im = calloc(1, sizeof(*im));
    struct key_sealed *ks = NULL;
    struct hash_set set = {NULL, 0};
    struct db_res in_pool = {0};
    bool *keep = NULL;
    unsigned long long created = 0;
    size_t repeats, rows = 0;
    struct valjob_spec job = {0};
    long long job_id = 0;
    int rc;

    (void)a;
    if (o == NULL || !import_request_ok(r, o))
        goto out;
    if (im == NULL) {
        reply_error(r, ERR_INTERNAL, "out of memory");
        goto out;
    }
    im->min_len = (size_t)r->cfg->key_min_length;
    import_collect(o, im);
    if (im->too_many) {
        reply_error(r, ERR_INVALID_FIELD, "keys: at most %d keys per import", IMPORT_MAX);
        goto out;
    }
    ks = calloc(im->n + 1, sizeof(*ks));
    keep = calloc(im->n + 1, sizeof(*keep));
    if (ks == NULL || keep == NULL || hash_set_init(&set, im->n) != 0) {
        reply_error(r, ERR_INTERNAL, "out of memory");
        goto out;
    }
    if (!seal_all(r, im, ks))
        goto out;
    repeats = drop_repeats(&set, ks, im->n, keep, im->c);
    if (rs_jbool(o, "validate", false)) {
        job.upstream_id = rs_jint(o, "upstream_id", 0);
        job.on_invalid = rs_jstr(o, "on_invalid") != NULL ? rs_jstr(o, "on_invalid") : "none";
        job.concurrency = 4;
        job.actor = r->actor;
    }
    rc = insert_keys(r, o, ks, keep, im->n, &created, &rows, &in_pool,
                     job.upstream_id > 0 ? &job : NULL, &job_id);
    if (rc != DB_OK) {
        rs_reply_db_error(r, err_from_db(rc), "");
        goto out;
    }
    mark_in_pool(&set, &in_pool, ks, im->c);
    reply_import(r, created, (long long)(repeats + rows - created), im, job_id);
out:
    if (ks != NULL)
        memset(ks, 0, (im->n + 1) * sizeof(*ks));
    db_res_free(&in_pool);
    free(set.slot);
    free(ks);
    free(keep);
    if (im != NULL)
        free(im->c);
    free(im);
    json_object_put(o);
}

/* For the OpenAPI document (admin/doc_tables.h). */
const struct vtable vt_keys_import = {import_fields, NELEM(import_fields)};
