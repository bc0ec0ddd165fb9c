/* GET /api/admin/keys (filtered, sorted, paged) and POST
 * /api/admin/keys/find (the keys whose value is the one pasted). */
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "admin/handlers.h"
#include "admin/doc_tables.h"
#include "admin/keys_filter.h"
#include "admin/resource.h"
#include "core/crypto.h"
#include "core/nelem.h"
#include "core/store.h"
#include "http.h"

/* The columns a list may be sorted by: the API's name and its SQL.  Only
 * these texts ever reach ORDER BY (a parameter cannot name a column), and
 * id breaks every tie, so that paging never shows a key twice or skips one. */
static const char *const sort_cols[][2] = {
    {"id", "id"},
    {"key", "key_masked"},
    {"name", "name"},
    {"status", "status"},
    {"upstream_id", "upstream_id"},
    {"weight", "weight"},
    {"priority", "priority"},
    {"used_today", "used_today"},
    {"total_requests", "total_requests"},
    {"total_failures", "total_failures"},
    {"last_used_at", "last_used_at"},
    {"created_at", "created_at"},
};
#define NSORT NELEM(sort_cols)

/* One resource per column and direction (ascending first): the same
 * fields and filter as admin_keys, each with its ORDER BY built once. */
static struct resource sorted[NSORT * 2];

/* The keys of one value: at most one per upstream (the unique index on
 * upstream_id and key_hash). */
static struct resource by_hash = {
    .noun = "key",
    .table = "api_keys",
    .list_filter = " WHERE key_hash = ? AND (? = 0 OR upstream_id = ?)",
    .list_order = "id",
    .list_only = true,
};
static char orders[NSORT * 2][64];
static pthread_once_t sorted_once = PTHREAD_ONCE_INIT;

static void sorted_init(void)
{
    size_t i, d;

    for (i = 0; i < NSORT; i++) {
        for (d = 0; d < 2; d++) {
            struct resource *rs = &sorted[i * 2 + d];
            const char *dir = d ? "DESC" : "ASC";
            if (i == 0)
                snprintf(orders[i * 2 + d], sizeof(orders[0]), "id %s", dir);
            else
                snprintf(orders[i * 2 + d], sizeof(orders[0]), "%s %s, id %s", sort_cols[i][1], dir,
                         dir);
            rs->noun = admin_keys.noun;
            rs->table = admin_keys.table;
            rs->fields = admin_keys.fields;
            rs->nfields = admin_keys.nfields;
            rs->list_filter = admin_keys.list_filter;
            rs->list_order = orders[i * 2 + d];
            rs->list_only = true;
        }
    }
    by_hash.fields = admin_keys.fields;
    by_hash.nfields = admin_keys.nfields;
}

/* The resource for ?sort=&order=, or NULL after answering 400. */
static struct resource *sorted_by(struct req *r)
{
    char sort[32] = "", order[8] = "";
    bool has_sort, has_order, desc;
    size_t i;

    if (!rs_query_text(r, "sort", sort, sizeof(sort), &has_sort) ||
        !rs_query_text(r, "order", order, sizeof(order), &has_order))
        return NULL;
    if (has_order && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0) {
        reply_error(r, ERR_INVALID_FIELD, "order: must be asc or desc");
        return NULL;
    }
    desc = has_order && strcmp(order, "desc") == 0;
    pthread_once(&sorted_once, sorted_init);
    for (i = 0; i < NSORT; i++)
        if (!has_sort || strcmp(sort, sort_cols[i][0]) == 0)
            return &sorted[i * 2 + desc];
    reply_error(r, ERR_INVALID_FIELD,
                "sort: must be id, key, name, status, upstream_id, weight, priority, used_today,"
                " total_requests, total_failures, last_used_at or created_at");
    return NULL;
}

void h_keys_list(struct req *r, const struct route_args *a)
{
    struct db_param p[KEY_FILTER_PARAMS];
    struct key_filter f;
    struct resource *rs;

    (void)a;
    if (!key_filter_query(r, &f) || (rs = sorted_by(r)) == NULL)
        return;
    key_filter_params(&f, p);
    rs_list(r, rs, p, KEY_FILTER_PARAMS);
}

static const struct vfield find_fields[] = {
    /* Room for the spaces, quotes and line end of a paste around the key. */
    {.name = "value", .type = VT_STRING, .flags = VF_REQUIRED, .min = 1, .max = KEY_VALUE_MAX + 64},
    {.name = "upstream_id", .type = VT_INT, .flags = VF_NULLABLE, .min = 1, .max = INT64_MAX},
};

static bool is_trimmed(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' || c == '\'' || c == '`';
}

/* The value is hashed as import hashes it (core/store.h key_seal), so that
 * it is compared with the stored hash alone; it is not stored, logged or
 * sent to the database, and its copies (the body as received, and as
 * parsed) are wiped once hashed. */
void h_keys_find(struct req *r, const struct route_args *a)
{
    struct json_object *o = rs_body_valid(r, find_fields, NELEM(find_fields), true), *v = NULL;
    unsigned char hash[SHA256_LEN];
    long long up;
    char *p;
    size_t n;

    (void)a;
    if (o == NULL) {
        /* A refused body may still hold a key: wipe it all the same. */
        crypto_wipe(r->body.data, r->body.len);
        return;
    }
    json_object_object_get_ex(o, "value", &v);
    p = (char *)json_object_get_string(v);
    n = (size_t)json_object_get_string_len(v);
    while (n > 0 && is_trimmed(p[n - 1]))
        n--;
    while (n > 0 && is_trimmed(*p)) {
        p++;
        n--;
    }
    crypto_sha256(p, n, hash);
    crypto_wipe((char *)json_object_get_string(v), (size_t)json_object_get_string_len(v));
    crypto_wipe(r->body.data, r->body.len);
    up = rs_jint(o, "upstream_id", 0);
    if (n == 0) {
        reply_error(r, ERR_INVALID_FIELD, "value: paste a key");
    } else {
        pthread_once(&sorted_once, sorted_init);
        rs_list(r, &by_hash, DB_ARGS(DB_BLOB(hash, sizeof(hash)), DB_INT(up), DB_INT(up)));
    }
    crypto_wipe(hash, sizeof(hash));
    json_object_put(o);
}

/* For the OpenAPI document (admin/doc_tables.h). */
const struct vtable vt_keys_find = {find_fields, NELEM(find_fields)};
