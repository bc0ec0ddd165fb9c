#include "core/db_result.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

#define DB_RESULT_CAP (256u << 20)

/* Copies the statement's error into msg; returns its code (never 0). */
static unsigned stmt_error(MYSQL_STMT *st, char *msg, size_t msglen)
{
    unsigned code = mysql_stmt_errno(st);

    snprintf(msg, msglen, "%s", mysql_stmt_error(st));
    return code != 0 ? code : DB_RESULT_NOMEM;
}

struct col {
    char *data;
    unsigned long cap, len;
    my_bool is_null, error;
};

/* Appends one value to the arena and records its offset (or a NULL). */
static int store_value(struct buf *arena, struct buf *offs, MYSQL_STMT *st, MYSQL_BIND *b,
                       struct col *c, unsigned idx)
{
    size_t off = (size_t)-1;

    if (!c->is_null) {
        if (c->len > c->cap) {
            char *bigger = realloc(c->data, c->len + 1);
            if (bigger == NULL)
                return -1;
            c->data = bigger;
            c->cap = c->len;
            b->buffer = bigger;
            b->buffer_length = c->cap;
            if (mysql_stmt_fetch_column(st, b, idx, 0) != 0)
                return -1;
        }
        off = arena->len;
        if (buf_append(arena, c->data, c->len) != 0 || buf_append(arena, "", 1) != 0)
            return -1;
    }
    if (buf_append(offs, &off, sizeof(off)) != 0 || buf_append(offs, &c->len, sizeof(c->len)))
        return -1;
    return 0;
}

/* Turns offsets into pointers once the arena has stopped moving. */
static int finish_result(struct db_res *res, struct buf *arena, struct buf *offs)
{
    size_t n = (size_t)res->nrows * res->ncols, i;
    const char *o = offs->data;

    res->arena = buf_steal(arena);
    res->vals = calloc(n ? n : 1, sizeof(char *));
    res->lens = calloc(n ? n : 1, sizeof(unsigned long));
    if (res->arena == NULL || res->vals == NULL || res->lens == NULL)
        return -1;
    for (i = 0; i < n; i++) {
        size_t off;
        unsigned long len;
        memcpy(&off, o + i * (sizeof(off) + sizeof(len)), sizeof(off));
        memcpy(&len, o + i * (sizeof(off) + sizeof(len)) + sizeof(off), sizeof(len));
        res->vals[i] = off == (size_t)-1 ? NULL : res->arena + off;
        res->lens[i] = len;
    }
    return 0;
}

unsigned db_result_fetch(MYSQL_STMT *st, MYSQL_RES *meta, struct db_res *res, char *msg,
                         size_t msglen)
{
    MYSQL_FIELD *fields;
    MYSQL_BIND *b = NULL;
    struct col *cols = NULL;
    struct buf arena, offs;
    unsigned i;
    unsigned rc = DB_RESULT_NOMEM;
    int f;

    buf_init(&arena, DB_RESULT_CAP);
    buf_init(&offs, DB_RESULT_CAP);
    if (mysql_stmt_store_result(st) != 0) {
        rc = stmt_error(st, msg, msglen);
        goto out;
    }
    res->ncols = mysql_num_fields(meta);
    fields = mysql_fetch_fields(meta);
    b = calloc(res->ncols, sizeof(*b));
    cols = calloc(res->ncols, sizeof(*cols));
    if (b == NULL || cols == NULL)
        goto out;
    for (i = 0; i < res->ncols; i++) {
        cols[i].cap = fields[i].max_length > 64 ? fields[i].max_length : 64;
        if (cols[i].cap > (1u << 24))
            cols[i].cap = 1u << 24;
        if ((cols[i].data = malloc(cols[i].cap + 1)) == NULL)
            goto out;
        b[i].buffer_type = MYSQL_TYPE_STRING;
        b[i].buffer = cols[i].data;
        b[i].buffer_length = cols[i].cap;
        b[i].length = &cols[i].len;
        b[i].is_null = &cols[i].is_null;
        b[i].error = &cols[i].error;
    }
    if (res->ncols > 0 && mysql_stmt_bind_result(st, b) != 0) {
        rc = stmt_error(st, msg, msglen);
        goto out;
    }
    while ((f = mysql_stmt_fetch(st)) == 0 || f == MYSQL_DATA_TRUNCATED) {
        for (i = 0; i < res->ncols; i++) {
            if (store_value(&arena, &offs, st, &b[i], &cols[i], i) != 0)
                goto out;
            /* fetch_column may have moved the buffer; bind again for the next row. */
        }
        if (f == MYSQL_DATA_TRUNCATED && mysql_stmt_bind_result(st, b) != 0)
            goto out;
        res->nrows++;
    }
    if (f != MYSQL_NO_DATA) {
        rc = stmt_error(st, msg, msglen);
        goto out;
    }
    rc = finish_result(res, &arena, &offs) == 0 ? 0 : DB_RESULT_NOMEM;
out:
    mysql_stmt_free_result(st);
    if (cols != NULL)
        for (i = 0; i < res->ncols; i++)
            free(cols[i].data);
    free(cols);
    free(b);
    buf_free(&arena);
    buf_free(&offs);
    return rc;
}

void db_res_free(struct db_res *res)
{
    if (res == NULL)
        return;
    free(res->vals);
    free(res->lens);
    free(res->arena);
    memset(res, 0, sizeof(*res));
}

const char *db_val(const struct db_res *res, unsigned row, unsigned col)
{
    if (row >= res->nrows || col >= res->ncols)
        return NULL;
    return res->vals[(size_t)row * res->ncols + col];
}

long long db_int(const struct db_res *res, unsigned row, unsigned col)
{
    const char *v = db_val(res, row, col);

    return v != NULL ? strtoll(v, NULL, 10) : 0;
}

unsigned long db_len(const struct db_res *res, unsigned row, unsigned col)
{
    if (row >= res->nrows || col >= res->ncols)
        return 0;
    return res->lens[(size_t)row * res->ncols + col];
}
