#include "core/price.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/db.h"

const struct price *price_match(const struct price *list, size_t n, const char *model)
{
    const struct price *prefix = NULL;
    size_t i, prefix_len = 0;

    if (model == NULL || model[0] == '\0')
        return NULL;
    for (i = 0; i < n; i++) {
        const char *m = list[i].model;
        size_t len = strlen(m);
        if (len == 0 || m[len - 1] != '*') {
            if (strcmp(model, m) == 0)
                return &list[i]; /* an exact name beats every pattern */
            continue;
        }
        len--;
        if (strncmp(model, m, len) == 0 && (prefix == NULL || len > prefix_len)) {
            prefix = &list[i];
            prefix_len = len;
        }
    }
    return prefix;
}

long long price_cost_nanos(const struct price *p, const struct usage_counts *u)
{
    double prompt, cached, completion, cost;

    if (p == NULL || u->source == USAGE_SOURCE_NONE ||
        (u->prompt < 0 && u->completion < 0 && u->cached < 0))
        return -1;
    prompt = u->prompt > 0 ? (double)u->prompt : 0;
    cached = u->cached > 0 ? (double)u->cached : 0;
    completion = u->completion > 0 ? (double)u->completion : 0;
    if (cached > prompt)
        cached = prompt;
    /* Per million tokens, in billionths: tokens * price * 1e9 / 1e6. */
    cost = ((prompt - cached) * p->prompt + cached * p->cached + completion * p->completion) * 1e3;
    return cost < 9.2e18 ? llround(cost) : -1;
}

const char *price_check_model(const char *s)
{
    size_t i, n = strlen(s);

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e)
            return "must be printable ASCII without spaces";
        if (c == '*' && i + 1 != n)
            return "may have '*' only at its end (a prefix pattern)";
    }
    return NULL;
}

int price_load(struct db *db, struct price **out, size_t *n)
{
    struct db_res res;
    unsigned i;
    int rc;

    *out = NULL;
    *n = 0;
    rc = db_query(db,
                  "SELECT model, prompt, completion, COALESCE(cached, prompt), currency"
                  " FROM prices ORDER BY model",
                  DB_NOARGS, &res);
    if (rc == DB_OK && (*out = calloc(res.nrows + 1, sizeof(**out))) == NULL)
        rc = DB_EFAIL;
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        struct price *p = &(*out)[i];
        if ((p->model = strdup(db_val(&res, i, 0))) == NULL) {
            rc = DB_EFAIL;
            break;
        }
        p->prompt = strtod(db_val(&res, i, 1), NULL);
        p->completion = strtod(db_val(&res, i, 2), NULL);
        p->cached = strtod(db_val(&res, i, 3), NULL);
        snprintf(p->currency, sizeof(p->currency), "%s", db_val(&res, i, 4));
        (*n)++;
    }
    db_res_free(&res);
    return rc;
}

void price_free(struct price *list, size_t n)
{
    size_t i;

    for (i = 0; list != NULL && i < n; i++)
        free(list[i].model);
    free(list);
}
