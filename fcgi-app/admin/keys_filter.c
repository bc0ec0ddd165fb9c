#include "admin/keys_filter.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "admin/resource.h"
#include "core/store.h"
#include "http.h"

#define STATUS_MSG "must be active, disabled, banned or exhausted"

/* Makes q a LIKE pattern that matches it as plain text anywhere. */
static void like_pattern(struct key_filter *f)
{
    size_t o = 0;
    const char *q;

    f->pattern[o++] = '%';
    for (q = f->q; *q != '\0'; q++) {
        if (*q == '%' || *q == '_' || *q == '\\')
            f->pattern[o++] = '\\';
        f->pattern[o++] = *q;
    }
    f->pattern[o++] = '%';
    f->pattern[o] = '\0';
}

bool key_filter_query(struct req *r, struct key_filter *f)
{
    char q[KEY_FILTER_Q_MAX + 64] = "";

    memset(f, 0, sizeof(*f));
    if (!rs_query_id(r, "upstream_id", &f->upstream_id) ||
        !rs_query_text(r, "status", f->status, sizeof(f->status), &f->has_status) ||
        !rs_query_text(r, "q", q, sizeof(q), &f->has_q))
        return false;
    if (f->has_status && key_status_parse(f->status) < 0) {
        reply_error(r, ERR_INVALID_FIELD, "status: " STATUS_MSG);
        return false;
    }
    if (strlen(q) > KEY_FILTER_Q_MAX) {
        reply_error(r, ERR_INVALID_FIELD, "q: at most %d bytes", KEY_FILTER_Q_MAX);
        return false;
    }
    memcpy(f->q, q, strlen(q) + 1);
    like_pattern(f);
    return true;
}

/* A member that is absent or null reads as not given. */
static struct json_object *member(struct json_object *o, const char *name)
{
    struct json_object *v = NULL;

    return json_object_object_get_ex(o, name, &v) ? v : NULL;
}

bool key_filter_json(struct req *r, struct json_object *o, struct key_filter *f)
{
    struct json_object *up = member(o, "upstream_id"), *st = member(o, "status"),
                       *q = member(o, "q");

    memset(f, 0, sizeof(*f));
    if (!json_object_is_type(o, json_type_object)) {
        reply_error(r, ERR_INVALID_FIELD, "filter: must be an object");
        return false;
    }
    if (up != NULL && (!json_object_is_type(up, json_type_int) || json_object_get_int64(up) < 0)) {
        reply_error(r, ERR_INVALID_FIELD, "filter.upstream_id: must be a positive integer");
        return false;
    }
    f->upstream_id = up != NULL ? json_object_get_int64(up) : 0;
    /* An empty status is no filter, as in the query string. */
    if (st != NULL && (!json_object_is_type(st, json_type_string) ||
                       (json_object_get_string_len(st) > 0 &&
                        key_status_parse(json_object_get_string(st)) < 0))) {
        reply_error(r, ERR_INVALID_FIELD, "filter.status: " STATUS_MSG);
        return false;
    }
    if (q != NULL && (!json_object_is_type(q, json_type_string) ||
                      json_object_get_string_len(q) > KEY_FILTER_Q_MAX)) {
        reply_error(r, ERR_INVALID_FIELD, "filter.q: a text of at most %d bytes", KEY_FILTER_Q_MAX);
        return false;
    }
    if (st != NULL)
        snprintf(f->status, sizeof(f->status), "%s", json_object_get_string(st));
    if (q != NULL)
        snprintf(f->q, sizeof(f->q), "%s", json_object_get_string(q));
    f->has_status = f->status[0] != '\0';
    f->has_q = f->q[0] != '\0';
    like_pattern(f);
    return true;
}

void key_filter_params(const struct key_filter *f, struct db_param *p)
{
    const char *status = f->has_status ? f->status : NULL, *pat = f->has_q ? f->pattern : NULL;

    p[0] = DB_INT(f->upstream_id);
    p[1] = DB_INT(f->upstream_id);
    p[2] = DB_STR(status);
    p[3] = DB_STR(status);
    p[4] = DB_STR(pat);
    p[5] = DB_STR(pat);
    p[6] = DB_STR(pat);
}
