/*
 * What the admin handlers share: the JSON body, query parameters, paging,
 * turning database rows into JSON objects by a field table (core/valid.h)
 * and JSON objects into statement parameters, and database errors into the
 * contract's errors.
 */
#ifndef APIGW_RESOURCE_H
#define APIGW_RESOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/db.h"
#include "core/valid.h"

struct req;
struct json_object;

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
 * formatted into tbuf (one slot per field); strings point into obj. */
unsigned rs_row_params(const struct vfield *f, size_t n, struct json_object *obj,
                       struct db_param *p, char (*tbuf)[24]);

/* Copies every writable field present in patch onto obj. */
void rs_merge_patch(const struct vfield *f, size_t n, struct json_object *obj,
                    struct json_object *patch);

/* A string member, or NULL when absent or null. */
const char *rs_jstr(struct json_object *o, const char *name);

/* An integer member, or def when absent or null. */
long long rs_jint(struct json_object *o, const char *name, long long def);

/* A boolean member, or def when absent or null. */
bool rs_jbool(struct json_object *o, const char *name, bool def);

/* A resource of the admin API: its field table and the statements that
 * read, lock, update and delete one row by id. */
struct resource {
    const char *noun; /* "upstream", for messages */
    const struct vfield *fields;
    size_t nfields;
    const char *sql_get;    /* SELECT <fields> ... WHERE id = ? */
    const char *sql_lock;   /* the same with FOR UPDATE */
    const char *sql_update; /* UPDATE ... SET <writable fields>, <extras> WHERE id = ? */
    const char *sql_delete; /* DELETE ... WHERE id = ? */
    bool bumps_pool;        /* writes move the pool version */
};

/* What an update hook sees and may add to. */
struct rs_update_ctx {
    long long id;
    struct json_object *before; /* the row as it was */
    struct json_object *after;  /* the row with the patch applied */
    struct json_object *patch;  /* the validated body */
    struct db_param extra[4];   /* parameters after the writable fields */
    unsigned nextra;
    char *owned; /* freed after the update (e.g. a password hash) */
};

/* Runs inside the update's transaction, before the UPDATE.  Returns ERR_OK
 * or an error with a message for the client in msg; a database failure is
 * returned as err_from_db's error with msg left empty. */
typedef enum err (*rs_update_hook)(struct req *r, struct rs_update_ctx *u, char *msg,
                                   size_t msglen);

/* Reads one row as JSON into *out.  Returns DB_OK (with *out NULL when
 * there is no such row) or the database error. */
int rs_fetch(struct req *r, const struct resource *rs, long long id, struct json_object **out);

/* GET list: runs sql_page with the filter parameters followed by limit and
 * offset, and sql_count with the filter parameters; answers
 * {"items", "total"}. */
void rs_list(struct req *r, const struct resource *rs, const char *sql_page, const char *sql_count,
             const struct db_param *filters, unsigned nfilters);

/* GET one: answers 200 with the object or 404. */
void rs_get(struct req *r, const struct resource *rs, long long id);

/* DELETE one: answers 204 or 404. */
void rs_delete(struct req *r, const struct resource *rs, long long id);

/* PUT/PATCH one: validates the body, merges it onto the locked row, runs
 * the hook, updates, and answers 200 with the fresh object. */
void rs_update(struct req *r, const struct resource *rs, long long id, rs_update_hook hook);

/* Answers 201 with the object of a freshly inserted row. */
void rs_reply_created(struct req *r, const struct resource *rs, long long id);

#endif
