/* The shared CRUD layer of the admin API: rows to JSON and back by a field
 * table, the statements built from it, and list, get, create, update and
 * delete of one resource. */
#include "admin/resource.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/sqlfmt.h"
#include "app.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/store.h"
#include "http.h"

struct json_object *rs_row_json(const struct vfield *f, size_t n, const struct db_res *res,
                                unsigned row)
{
    struct json_object *o = json_object_new_object();
    unsigned col = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        const char *v;
        struct json_object *jv = NULL;

        if (f[i].flags & VF_WRITEONLY)
            continue;
        v = db_val(res, row, col++);
        if (v != NULL) {
            switch (f[i].type) {
            case VT_INT:
                jv = json_object_new_int64(strtoll(v, NULL, 10));
                break;
            case VT_NUMBER:
                jv = json_object_new_double(strtod(v, NULL));
                break;
            case VT_BOOL:
                jv = json_object_new_boolean(v[0] == '1');
                break;
            case VT_STRING:
            case VT_TIME:
                jv = json_object_new_string(v);
                break;
            case VT_INT_LIST:
            case VT_ARRAY:
            case VT_OBJECT:
                jv = json_tokener_parse(v);
                break;
            }
        }
        json_object_object_add(o, f[i].name, jv);
    }
    return o;
}

unsigned rs_row_params(const struct vfield *f, size_t n, struct json_object *obj,
                       struct db_param *p, char (*tbuf)[RS_TIME_LEN])
{
    unsigned k = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        struct json_object *v = NULL;

        if (f[i].flags & (VF_READONLY | VF_WRITEONLY))
            continue;
        json_object_object_get_ex(obj, f[i].name, &v);
        if (v == NULL || json_object_is_type(v, json_type_null)) {
            p[k++] = DB_NULL;
            continue;
        }
        switch (f[i].type) {
        case VT_INT:
            p[k++] = DB_INT(json_object_get_int64(v));
            break;
        case VT_NUMBER:
            p[k++] = DB_DOUBLE(json_object_get_double(v));
            break;
        case VT_BOOL:
            p[k++] = DB_INT(json_object_get_boolean(v) ? 1 : 0);
            break;
        case VT_STRING:
            p[k++] = DB_STRN(json_object_get_string(v), json_object_get_string_len(v));
            break;
        case VT_TIME: {
            time_t t = 0;
            struct tm tm;
            clock_parse_time(json_object_get_string(v), &t);
            gmtime_r(&t, &tm);
            strftime(tbuf[i], sizeof(tbuf[i]), "%Y-%m-%d %H:%M:%S", &tm);
            p[k++] = DB_STR(tbuf[i]);
            break;
        }
        case VT_INT_LIST:
        case VT_ARRAY:
        case VT_OBJECT: {
            size_t len;
            const char *text = json_text(v, &len);
            p[k++] = DB_STRN(text, len);
            break;
        }
        }
    }
    return k;
}

void rs_merge_patch(const struct vfield *f, size_t n, struct json_object *obj,
                    struct json_object *patch)
{
    json_object_object_foreach(patch, key, val)
    {
        const struct vfield *fd = valid_find(f, n, key);
        if (fd == NULL || (fd->flags & VF_READONLY))
            continue;
        json_object_object_add(obj, key, json_object_get(val));
    }
}

/* A statement's text as it is built; one failed append fails it all. */
struct text {
    struct buf b;
    bool failed;
};

#define SQL_TEXT_MAX 8192

static void put(struct text *t, const char *s)
{
    if (buf_puts(&t->b, s) != 0)
        t->failed = true;
}

/* Hands the text over (NULL when it failed) and frees the buffer. */
static char *text_done(struct text *t)
{
    char *s = t->failed ? NULL : buf_steal(&t->b);

    buf_free(&t->b);
    return s;
}

/* The concatenation of the strings up to NULL; NULL when memory ran out. */
static char *join(const char *first, ...)
{
    struct text t = {.failed = false};
    const char *s;
    va_list ap;

    buf_init(&t.b, SQL_TEXT_MAX);
    va_start(ap, first);
    for (s = first; s != NULL; s = va_arg(ap, const char *))
        put(&t, s);
    va_end(ap);
    return text_done(&t);
}

static const char *column_of(const struct vfield *f)
{
    return f->column != NULL ? f->column : f->name;
}

static bool is_writable(const struct vfield *f)
{
    return !(f->flags & (VF_READONLY | VF_WRITEONLY));
}

static unsigned count_params(const char *s)
{
    unsigned n = 0;

    for (; s != NULL && *s != '\0'; s++)
        n += *s == '?';
    return n;
}

/* The SELECT list: every field that is returned, in table order, times as
 * RFC 3339 text. */
static char *select_list(const struct resource *rs)
{
    struct text t = {.failed = false};
    size_t i;

    buf_init(&t.b, SQL_TEXT_MAX);
    for (i = 0; i < rs->nfields; i++) {
        const struct vfield *f = &rs->fields[i];
        if (f->flags & VF_WRITEONLY)
            continue;
        if (t.b.len > 0)
            put(&t, ", ");
        if (f->type == VT_TIME) {
            put(&t, "DATE_FORMAT(");
            put(&t, column_of(f));
            put(&t, ", " SQL_TIME_FORMAT ")");
        } else {
            put(&t, column_of(f));
        }
    }
    return text_done(&t);
}

/* The writable fields' columns, then the extras' columns, each followed by
 * " = value" (update) or alone (insert, with values the placeholders and
 * the extras' values). */
static char *write_list(const struct resource *rs, const struct rs_extra *x, int what)
{
    struct text t = {.failed = false};
    size_t i;

    buf_init(&t.b, SQL_TEXT_MAX);
    for (i = 0; i < rs->nfields; i++) {
        if (!is_writable(&rs->fields[i]))
            continue;
        if (t.b.len > 0)
            put(&t, ", ");
        put(&t, what == 'v' ? "?" : column_of(&rs->fields[i]));
        if (what == '=')
            put(&t, " = ?");
    }
    for (i = 0; i < RS_EXTRA_MAX && x[i].column != NULL; i++) {
        if (t.b.len > 0)
            put(&t, ", ");
        put(&t, what == 'v' ? x[i].value : x[i].column);
        if (what == '=') {
            put(&t, " = ");
            put(&t, x[i].value);
        }
    }
    return text_done(&t);
}

static bool build_writes(struct resource *rs, const char *cols)
{
    char *set = write_list(rs, rs->update_extra, '='),
         *icols = write_list(rs, rs->insert_extra, 'c'),
         *ivals = write_list(rs, rs->insert_extra, 'v');
    struct rs_sql *q = &rs->sql;
    size_t i;

    if (set != NULL && icols != NULL && ivals != NULL) {
        q->get = join("SELECT ", cols, " FROM ", rs->table, " WHERE id = ?", NULL);
        q->lock = join("SELECT ", cols, " FROM ", rs->table, " WHERE id = ? FOR UPDATE", NULL);
        q->update = join("UPDATE ", rs->table, " SET ", set,
                         ", updated_at = UTC_TIMESTAMP() WHERE id = ?", NULL);
        q->insert =
            join("INSERT INTO ", rs->table, " (", icols, ", created_at, updated_at) VALUES (",
                 ivals, ", UTC_TIMESTAMP(), UTC_TIMESTAMP())", NULL);
        q->del = join("DELETE FROM ", rs->table, " WHERE id = ?", NULL);
    }
    for (i = 0; i < RS_EXTRA_MAX; i++) {
        q->update_params += count_params(rs->update_extra[i].value);
        q->insert_params += count_params(rs->insert_extra[i].value);
    }
    free(set);
    free(icols);
    free(ivals);
    return q->get != NULL && q->lock != NULL && q->update != NULL && q->insert != NULL &&
           q->del != NULL;
}

/* Builds every statement; false when memory ran out or the list has more
 * than RS_FILTERS_MAX filter parameters (what was built is then not used,
 * and the next call tries again). */
static bool build(struct resource *rs)
{
    const char *filter = rs->list_filter != NULL ? rs->list_filter : "";
    char *cols = select_list(rs);
    struct rs_sql *q = &rs->sql;
    bool ok;

    memset(q, 0, sizeof(*q));
    if (cols == NULL)
        return false;
    q->page = join("SELECT ", cols, " FROM ", rs->table, filter, " ORDER BY ", rs->list_order,
                   " LIMIT ? OFFSET ?", NULL);
    q->count = join("SELECT COUNT(*) FROM ", rs->table, filter, NULL);
    q->filter_params = count_params(filter);
    ok = q->page != NULL && q->count != NULL && q->filter_params <= RS_FILTERS_MAX &&
         (rs->list_only || build_writes(rs, cols));
    free(cols);
    return ok;
}

bool rs_build(struct resource *rs)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    bool ok = true;

    if (atomic_load(&rs->built))
        return true;
    pthread_mutex_lock(&lock);
    if (!atomic_load(&rs->built)) {
        ok = rs->nfields <= RS_FIELDS_MAX && build(rs);
        if (ok)
            atomic_store(&rs->built, true);
        else
            log_error("admin: the statements of %s could not be built", rs->table);
    }
    pthread_mutex_unlock(&lock);
    return ok;
}

/* Builds the statements if need be; answers 500 and returns false when
 * they cannot be. */
static bool ready(struct req *r, struct resource *rs)
{
    if (rs_build(rs))
        return true;
    reply_error(r, ERR_INTERNAL, "out of memory");
    return false;
}

/* A hook that gave fewer or more parameters than its statement has is a
 * bug of the table; it is logged and answered 500. */
static bool params_agree(struct req *r, const struct resource *rs, unsigned given, unsigned want)
{
    if (given == want)
        return true;
    log_error("admin: %u parameters for the %u placeholders of a %s statement", given, want,
              rs->noun);
    rs_reply_db_error(r, ERR_INTERNAL, "");
    return false;
}

enum db_rc rs_fetch(struct req *r, struct resource *rs, long long id, struct json_object **out)
{
    struct db_res res;
    enum db_rc rc;

    *out = NULL;
    if (!rs_build(rs))
        return DB_EFAIL;
    rc = db_query(r->w->db, rs->sql.get, DB_ARGS(DB_INT(id)), &res);
    if (rc == DB_OK && res.nrows > 0)
        *out = rs_row_json(rs->fields, rs->nfields, &res, 0);
    if (*out != NULL && rs->shown != NULL)
        rs->shown(*out);
    db_res_free(&res);
    return rc;
}

void rs_list(struct req *r, struct resource *rs, const struct db_param *filters, unsigned nfilters)
{
    struct db_param p[RS_FILTERS_MAX + 2];
    struct db_res res, count;
    long long limit, offset;
    unsigned i;
    enum db_rc rc;

    /* rs_build saw to it that filter_params <= RS_FILTERS_MAX. */
    if (!rs_page_params(r, &limit, &offset) || !ready(r, rs) ||
        !params_agree(r, rs, nfilters, rs->sql.filter_params))
        return;
    for (i = 0; i < nfilters; i++)
        p[i] = filters[i];
    p[i++] = DB_INT(limit);
    p[i++] = DB_INT(offset);
    memset(&count, 0, sizeof(count));
    rc = db_query(r->w->db, rs->sql.page, p, i, &res);
    if (rc == DB_OK)
        rc = db_query(r->w->db, rs->sql.count, p, i - 2, &count);
    if (rc != DB_OK) {
        rs_reply_db_error(r, err_from_db(rc), "");
    } else {
        struct json_object *items = json_object_new_array();
        for (i = 0; i < res.nrows; i++) {
            struct json_object *row = rs_row_json(rs->fields, rs->nfields, &res, i);
            if (rs->shown != NULL)
                rs->shown(row);
            json_object_array_add(items, row);
        }
        rs_reply_list(r, items, db_int(&count, 0, 0));
    }
    db_res_free(&res);
    db_res_free(&count);
}

void rs_get(struct req *r, struct resource *rs, long long id)
{
    struct json_object *o;
    enum db_rc rc = rs_fetch(r, rs, id, &o);

    rs_reply_row(r, rs, id, rc, o);
}

void rs_reply_row(struct req *r, struct resource *rs, long long id, enum db_rc rc,
                  struct json_object *o)
{
    if (rc != DB_OK)
        rs_reply_db_error(r, err_from_db(rc), "");
    else if (o == NULL)
        reply_error(r, ERR_NOT_FOUND, "%s %lld does not exist", rs->noun, id);
    else
        reply_json(r, 200, o);
}

/* Inserts w->after with the hook's parameters and answers 201 with the
 * fresh row and the members the hook wants shown once. */
static void insert_row(struct req *r, struct resource *rs, struct rs_write *w)
{
    struct db_param p[RS_PARAMS_MAX];
    char tbuf[RS_FIELDS_MAX][RS_TIME_LEN];
    struct json_object *created = NULL;
    unsigned long long id = 0;
    unsigned n, i;
    enum db_rc rc;

    if (!params_agree(r, rs, w->nextra, rs->sql.insert_params))
        return;
    n = rs_row_params(rs->fields, rs->nfields, w->after, p, tbuf);
    for (i = 0; i < w->nextra; i++)
        p[n++] = w->extra[i];
    rc = db_exec(r->w->db, rs->sql.insert, p, n, NULL, &id);
    if (rc == DB_OK && rs->bumps_pool)
        rc = store_bump_version(r->w->db);
    if (rc == DB_OK)
        rc = rs_fetch(r, rs, (long long)id, &created);
    if (rc != DB_OK || created == NULL) {
        rs_reply_db_error(r, rc == DB_OK ? ERR_INTERNAL : err_from_db(rc), w->conflict);
        return;
    }
    if (w->shown != NULL) {
        json_object_object_foreach(w->shown, name, value)
        {
            json_object_object_add(created, name, json_object_get(value));
        }
    }
    reply_json(r, 201, created);
}

void rs_create(struct req *r, struct resource *rs, rs_hook hook, void *arg)
{
    struct rs_write w;
    char msg[256] = "";
    enum err e = ERR_OK;

    if (!ready(r, rs))
        return;
    memset(&w, 0, sizeof(w));
    w.arg = arg;
    w.patch = rs_body_valid(r, rs->fields, rs->nfields, true);
    if (w.patch == NULL)
        return;
    w.after = w.patch;
    valid_defaults(w.after, rs->fields, rs->nfields);
    if (hook != NULL)
        e = hook(r, &w, msg, sizeof(msg));
    if (e != ERR_OK)
        rs_reply_hook_error(r, e, msg);
    else
        insert_row(r, rs, &w);
    json_object_put(w.patch);
    json_object_put(w.shown);
    free(w.owned);
}

void rs_delete(struct req *r, struct resource *rs, long long id)
{
    unsigned long long n = 0;
    enum db_rc rc;

    if (!ready(r, rs))
        return;
    rc = db_exec(r->w->db, rs->sql.del, DB_ARGS(DB_INT(id)), &n, NULL);
    if (rc == DB_OK && n > 0 && rs->bumps_pool)
        rc = store_bump_version(r->w->db);
    if (rc != DB_OK)
        rs_reply_db_error(r, err_from_db(rc), "");
    else if (n == 0)
        reply_error(r, ERR_NOT_FOUND, "%s %lld does not exist", rs->noun, id);
    else
        reply_empty(r, 204);
}

/* Fields set at creation may be sent again (a GET body sent back), but
 * not changed. */
static enum err check_fixed(const struct resource *rs, struct rs_write *u, char *msg, size_t len)
{
    size_t i;

    for (i = 0; i < rs->nfields; i++) {
        struct json_object *a = NULL, *b = NULL;
        if (!(rs->fields[i].flags & VF_NOUPDATE) ||
            !json_object_object_get_ex(u->patch, rs->fields[i].name, NULL))
            continue;
        json_object_object_get_ex(u->before, rs->fields[i].name, &a);
        json_object_object_get_ex(u->patch, rs->fields[i].name, &b);
        if ((rs->fields[i].flags & VF_WRITEONLY) || !json_object_equal(a, b)) {
            snprintf(msg, len, "%s: cannot be changed after creation", rs->fields[i].name);
            return ERR_INVALID_FIELD;
        }
    }
    return ERR_OK;
}

/* Writes the patched row inside the transaction, commits, and answers the
 * fresh object. */
static void write_update(struct req *r, struct resource *rs, struct rs_write *u)
{
    struct db *db = r->w->db;
    struct db_param p[RS_PARAMS_MAX];
    char tbuf[RS_FIELDS_MAX][RS_TIME_LEN], msg[256];
    unsigned n, i;
    enum db_rc rc;

    if (!params_agree(r, rs, u->nextra, rs->sql.update_params)) {
        db_rollback(db);
        return;
    }
    n = rs_row_params(rs->fields, rs->nfields, u->after, p, tbuf);
    for (i = 0; i < u->nextra; i++)
        p[n++] = u->extra[i];
    p[n++] = DB_INT(u->id);
    rc = db_exec(db, rs->sql.update, p, n, NULL, NULL);
    if (rc == DB_OK && rs->bumps_pool)
        rc = store_bump_version(db);
    if (rc == DB_OK)
        rc = db_commit(db);
    else
        db_rollback(db);
    if (rc != DB_OK) {
        snprintf(msg, sizeof(msg), "name: another %s already has this name", rs->noun);
        rs_reply_db_error(r, err_from_db(rc), msg);
        return;
    }
    rs_get(r, rs, u->id);
}

static void update_locked(struct req *r, struct resource *rs, struct rs_write *u, rs_hook hook)
{
    struct db *db = r->w->db;
    char msg[256] = "";
    struct db_res res;
    enum err e;
    enum db_rc rc;

    if ((rc = db_begin(db)) != DB_OK) {
        rs_reply_db_error(r, err_from_db(rc), "");
        return;
    }
    rc = db_query(db, rs->sql.lock, DB_ARGS(DB_INT(u->id)), &res);
    if (rc != DB_OK || res.nrows == 0) {
        db_res_free(&res);
        db_rollback(db);
        if (rc != DB_OK)
            rs_reply_db_error(r, err_from_db(rc), "");
        else
            reply_error(r, ERR_NOT_FOUND, "%s %lld does not exist", rs->noun, u->id);
        return;
    }
    u->before = rs_row_json(rs->fields, rs->nfields, &res, 0);
    u->after = rs_row_json(rs->fields, rs->nfields, &res, 0);
    db_res_free(&res);
    rs_merge_patch(rs->fields, rs->nfields, u->after, u->patch);
    e = check_fixed(rs, u, msg, sizeof(msg));
    if (e == ERR_OK && hook != NULL)
        e = hook(r, u, msg, sizeof(msg));
    if (e != ERR_OK) {
        db_rollback(db);
        rs_reply_hook_error(r, e, msg);
        return;
    }
    write_update(r, rs, u);
}

void rs_update(struct req *r, struct resource *rs, long long id, rs_hook hook)
{
    struct rs_write u;

    if (!ready(r, rs))
        return;
    memset(&u, 0, sizeof(u));
    u.id = id;
    u.patch = rs_body_valid(r, rs->fields, rs->nfields, false);
    if (u.patch == NULL)
        return;
    update_locked(r, rs, &u, hook);
    json_object_put(u.patch);
    json_object_put(u.before);
    json_object_put(u.after);
    free(u.owned);
}
