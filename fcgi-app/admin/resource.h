/*
 * What the admin handlers share: the JSON body, query parameters, paging,
 * turning database rows into JSON objects by a field table (core/valid.h)
 * and JSON objects into statement parameters, database errors into the
 * contract's errors (admin/resource_io.c), and the resource: a table from
 * which its statements are built, with list, get, create, update and
 * delete (admin/resource.c).
 */
#ifndef APIGW_RESOURCE_H
#define APIGW_RESOURCE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/db.h"
#include "core/valid.h"

struct req;
struct json_object;

/* The named maxima of a resource: fields in its table, parameters a hook
 * adds after the writable fields, and filter parameters of its list.  Each
 * table says _Static_assert(NELEM(fields) <= RS_FIELDS_MAX, ...). */
#define RS_FIELDS_MAX  48
#define RS_EXTRA_MAX   5
#define RS_FILTERS_MAX 8
#define RS_PARAMS_MAX  (RS_FIELDS_MAX + RS_EXTRA_MAX + 1)
#define RS_TIME_LEN    24 /* "YYYY-MM-DD HH:MM:SS" and its NUL */

/* daily_token_quota and tokens_today, the same fields on keys and client
 * tokens (docs/USAGE.md): null = no token quota. */
#define RS_FIELDS_TOKEN_QUOTA                                                                      \
    {.name = "daily_token_quota",                                                                  \
     .type = VT_INT,                                                                               \
     .flags = VF_NULLABLE,                                                                         \
     .min = 1,                                                                                     \
     .max = 1000000000000000LL,                                                                    \
     .def = "null"},                                                                               \
    {                                                                                              \
        .name = "tokens_today", .type = VT_INT, .flags = VF_READONLY                               \
    }

/* max_concurrent, the same field on client tokens and upstreams: requests
 * in flight at once in each process, null for no limit. */
#define RS_FIELD_MAX_CONCURRENT                                                                    \
    {                                                                                              \
        .name = "max_concurrent", .type = VT_INT, .flags = VF_NULLABLE, .min = 1, .max = 100000,   \
        .def = "null"                                                                              \
    }

#define RS_PAGE_DEFAULT 50
#define RS_PAGE_MAX     1000

/* Parses the body as a JSON object.  On failure answers 400 invalid_json
 * (or invalid_field when it is not an object) and returns NULL.  The caller
 * owns the result (json_object_put). */
struct json_object *rs_body_json(struct req *r);

/* Parses and validates the body against a field table.  Answers the error
 * and returns NULL on failure. */
struct json_object *rs_body_valid(struct req *r, const struct vfield *f, size_t n, bool create);

/* Reads `limit` and `offset`.  Answers 400 and returns false when bad. */
bool rs_page_params(struct req *r, long long *limit, long long *offset);

/* Reads an optional text query parameter into out.  Returns false (after
 * answering 400) when its percent-escapes are malformed; *present tells
 * whether it was given with a value. */
bool rs_query_text(struct req *r, const char *name, char *out, size_t outlen, bool *present);

/* Reads an optional positive integer query parameter (0 when absent).
 * Answers 400 and returns false when it is present but not one. */
bool rs_query_id(struct req *r, const char *name, long long *out);

/* Reads an optional RFC 3339 time query parameter, in milliseconds since
 * the epoch; *present tells whether it was given.  Answers 400 and returns
 * false when it is present but not a time. */
bool rs_query_time_ms(struct req *r, const char *name, long long *ms, bool *present);

/* Answers the error for a failed database call (e from err_from_db):
 * 503 db_unavailable when the server is unreachable or stayed busy, 409
 * conflict with the message what for a duplicate, else 500. */
void rs_reply_db_error(struct req *r, enum err e, const char *what);

/* Answers the error a hook returned: its message in msg when it wrote one,
 * else (a database failure) the words of rs_reply_db_error. */
void rs_reply_hook_error(struct req *r, enum err e, const char *msg);

/* Answers {"items": items, "total": total}; items is consumed. */
void rs_reply_list(struct req *r, struct json_object *items, long long total);

/* Builds the JSON object of one row whose columns follow the table order
 * (write-only fields have no column). */
struct json_object *rs_row_json(const struct vfield *f, size_t n, const struct db_res *res,
                                unsigned row);

/* Fills p with one parameter per writable field of obj (neither read-only
 * nor write-only), in table order, and returns how many.  Times are
 * formatted into tbuf (one slot per field, RS_FIELDS_MAX of them); strings
 * point into obj. */
unsigned rs_row_params(const struct vfield *f, size_t n, struct json_object *obj,
                       struct db_param *p, char (*tbuf)[RS_TIME_LEN]);

/* Copies every writable field present in patch onto obj. */
void rs_merge_patch(const struct vfield *f, size_t n, struct json_object *obj,
                    struct json_object *patch);

/* A string member, or NULL when absent or null. */
const char *rs_jstr(struct json_object *o, const char *name);

/* An integer member, or def when absent or null. */
long long rs_jint(struct json_object *o, const char *name, long long def);

/* A boolean member, or def when absent or null. */
bool rs_jbool(struct json_object *o, const char *name, bool def);

/* A column written beside the fields: its name and its SQL value, "?" for
 * a parameter that the hook adds or a constant such as "'created'". */
struct rs_extra {
    const char *column;
    const char *value;
};

/* The statements of a resource, built once from its table (rs_build):
 *   get     SELECT <fields> FROM <table> WHERE id = ?, and lock the same FOR UPDATE;
 *   update  UPDATE <table> SET <writable fields>, <update_extra>, updated_at ...;
 *   insert  INSERT INTO <table> (<writable fields>, <insert_extra>, created_at, ...);
 *   del     DELETE FROM <table> WHERE id = ?;
 *   page    SELECT <fields> FROM <table> <list_filter> ORDER BY ... LIMIT ? OFFSET ?;
 *   count   SELECT COUNT(*) FROM <table> <list_filter>.
 * A list-only resource has page and count alone. */
struct rs_sql {
    const char *get, *lock, *update, *insert, *del, *page, *count;
    unsigned update_params, insert_params, filter_params; /* the ? of each */
};

/* A resource of the admin API: its field table, where each field names its
 * column (core/valid.h), and what its statements add to the fields.  The
 * statements are built from it once, on first use, so that the fields, the
 * SELECT list and the UPDATE SET text cannot disagree.  Every writable
 * resource has created_at and updated_at columns that the server sets. */
struct resource {
    const char *noun;  /* "upstream", for messages */
    const char *table; /* "upstreams" */
    const struct vfield *fields;
    size_t nfields;
    const char *list_filter; /* " WHERE ..." with the list's filter parameters, or NULL */
    const char *list_order;  /* "id DESC" */
    bool list_only;          /* no get, update, delete or create */
    bool bumps_pool;         /* writes move the pool version */
    struct rs_extra update_extra[RS_EXTRA_MAX]; /* after the fields; ? from the hook */
    struct rs_extra insert_extra[RS_EXTRA_MAX]; /* after the fields; ? from the hook */
    /* Completes a row as every answer shows it (a member derived from
     * others), or NULL. */
    void (*shown)(struct json_object *row);
    atomic_bool built;
    struct rs_sql sql;
};

/* Builds the statements of rs once (later calls return at once).  Returns
 * false, after logging, when memory ran out or the table passes a maximum.
 * The texts live as long as the process: they name prepared statements. */
bool rs_build(struct resource *rs);

/* What a create or update hook sees and may add to. */
struct rs_write {
    long long id;               /* the row (0 on create) */
    struct json_object *before; /* update: the row as it was; create: NULL */
    struct json_object *after;  /* the row to write: the body with defaults, or the patched row */
    struct json_object *patch;  /* the validated body */
    struct db_param extra[RS_EXTRA_MAX]; /* the ? of update_extra or insert_extra, in order */
    unsigned nextra;
    char *owned;               /* freed after the write (e.g. a password hash) */
    void *arg;                 /* the handler's own, passed to rs_create */
    struct json_object *shown; /* create: members added to the 201 answer only; consumed */
    char conflict[160];        /* create: the message for a duplicate ("" for none) */
};

/* Runs before the INSERT, or inside the update's transaction before the
 * UPDATE.  Returns ERR_OK or an error with a message for the client in
 * msg; a database failure is returned as err_from_db's error with msg left
 * empty. */
typedef enum err (*rs_hook)(struct req *r, struct rs_write *w, char *msg, size_t msglen);

/* Reads one row as JSON into *out.  Returns DB_OK (with *out NULL when
 * there is no such row) or the database error. */
enum db_rc rs_fetch(struct req *r, struct resource *rs, long long id, struct json_object **out);

/* GET list: runs the page statement with the filter parameters (as many as
 * list_filter has) followed by limit and offset, and the count statement
 * with the filter parameters; answers {"items", "total"}. */
void rs_list(struct req *r, struct resource *rs, const struct db_param *filters, unsigned nfilters);

/* GET one: answers 200 with the object or 404. */
void rs_get(struct req *r, struct resource *rs, long long id);

/* Answers what rs_fetch read (its rc and *out): the database's error, 404
 * for no row, or 200 with o (consumed). */
void rs_reply_row(struct req *r, struct resource *rs, long long id, enum db_rc rc,
                  struct json_object *o);

/* POST: validates the body, adds the defaults, runs the hook, inserts the
 * row (moving the pool version when the resource says so) and answers 201
 * with the fresh object. */
void rs_create(struct req *r, struct resource *rs, rs_hook hook, void *arg);

/* DELETE one: answers 204 or 404. */
void rs_delete(struct req *r, struct resource *rs, long long id);

/* PUT/PATCH one: validates the body, merges it onto the locked row, runs
 * the hook, updates, and answers 200 with the fresh object. */
void rs_update(struct req *r, struct resource *rs, long long id, rs_hook hook);

#endif
