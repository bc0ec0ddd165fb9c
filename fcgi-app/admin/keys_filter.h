/* Which keys a keys list shows, and which a filter-wide batch acts on: one
 * filter (upstream, status, text) read from the query string or from a
 * batch body, and one WHERE clause for both, so that "select all N
 * matching" acts on exactly the keys the list counted. */
#ifndef APIGW_KEYS_FILTER_H
#define APIGW_KEYS_FILTER_H

#include <stdbool.h>

#include "core/db.h"

struct req;
struct json_object;

#define KEY_FILTER_Q_MAX 256 /* the longest text searched for, in bytes */

struct key_filter {
    long long upstream_id; /* 0: every upstream */
    char status[32];       /* "": any status */
    char q[KEY_FILTER_Q_MAX + 1];
    char pattern[2 * KEY_FILTER_Q_MAX + 3]; /* q as a LIKE pattern */
    bool has_status, has_q;
};

/* The WHERE clause of the filter over api_keys (unqualified columns):
 * KEY_FILTER_PARAMS parameters, filled by key_filter_params.  The text
 * matches the name or the masked value (a fragment of the key as the page
 * shows it), never the key itself. */
#define KEY_FILTER_SQL                                                                             \
    " WHERE (? = 0 OR upstream_id = ?) AND (? IS NULL OR status = ?)"                              \
    " AND (? IS NULL OR name LIKE ? OR key_masked LIKE ?)"
#define KEY_FILTER_PARAMS 7

/* Reads upstream_id, status and q from the query string.  Answers 400 and
 * returns false when one is malformed. */
bool key_filter_query(struct req *r, struct key_filter *f);

/* Reads the same members from a JSON object (a batch's `filter`).  Answers
 * 400 naming filter.<member> and returns false when one is malformed. */
bool key_filter_json(struct req *r, struct json_object *o, struct key_filter *f);

/* Fills p[0 .. KEY_FILTER_PARAMS-1]; the strings point into f. */
void key_filter_params(const struct key_filter *f, struct db_param *p);

#endif
