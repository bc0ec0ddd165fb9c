#include "core/reqlog_load.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"

/* Past this size a batch's text goes by the INSERT instead (each row is
 * capped, so only a batch of thousands of rows at their caps comes near). */
#define LOAD_TEXT_MAX (64u << 20)

/* The one statement of the writer that is not prepared: its text is
 * constant and holds no data (every value reaches the server through the
 * local-infile handler, as the prepared INSERT's do through bound
 * parameters), so the rule "no data in SQL text" holds.  The file name is
 * never opened (core/db_load.c).  The columns and values are those of
 * reqlog.c's INSERT IGNORE; the time goes through an integer division like
 * FROM_UNIXTIME(? / 1000) there, so that ts, part of the unique key,
 * comes out the same to the millisecond. */
static const char load_sql[] =
    "LOAD DATA LOCAL INFILE 'apigw-request-logs' IGNORE INTO TABLE request_logs"
    " CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\'"
    " LINES TERMINATED BY '\\n' (request_id, @ts, method, upstream_id, upstream, path, key_id,"
    " token_id, status, status_class, latency_ms, attempts, req_bytes, resp_bytes, error,"
    " rules, messages, model, prompt_tokens, completion_tokens, cached_tokens, total_tokens,"
    " usage_source, cost_nanos, currency, fallback_from, affinity, proxy, endpoint,"
    " model_requested, query)"
    " SET ts = FROM_UNIXTIME(CAST(@ts AS SIGNED) / 1000)";

struct reqlog_load {
    struct buf text; /* kept between batches: no allocation per batch */
    atomic_bool off; /* the server refused LOAD DATA LOCAL: INSERT from now on */
    bool told;       /* a batch went by the INSERT after warnings: said once */
};

struct reqlog_load *reqlog_load_new(struct db *db)
{
    struct reqlog_load *l = calloc(1, sizeof(*l));

    if (l == NULL)
        return NULL;
    buf_init(&l->text, LOAD_TEXT_MAX);
    db_allow_local_infile(db);
    return l;
}

void reqlog_load_free(struct reqlog_load *l)
{
    if (l == NULL)
        return;
    buf_free(&l->text);
    free(l);
}

/* Appends n bytes of text escaped for ESCAPED BY '\\': the field and line
 * separators, the escape itself, NUL and CR as two-byte sequences. */
static int put_escaped(struct buf *b, const char *s, size_t n)
{
    size_t i, run = 0;
    char esc[2] = {'\\', 0};

    for (i = 0; i < n; i++) {
        switch (s[i]) {
        case '\\':
            esc[1] = '\\';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\0':
            esc[1] = '0';
            break;
        default:
            continue;
        }
        if (buf_append(b, s + run, i - run) != 0 || buf_append(b, esc, 2) != 0)
            return -1;
        run = i + 1;
    }
    return buf_append(b, s + run, n - run);
}

/* Appends one value as a field: \N for NULL, an integer in decimal, text
 * escaped. */
static int put_field(struct buf *b, const struct db_param *p)
{
    switch (p->type) {
    case DBP_T_NULL:
        return buf_append(b, "\\N", 2);
    case DBP_T_INT:
        return buf_put_int(b, p->i);
    case DBP_T_DOUBLE:
        return buf_printf(b, "%.17g", p->d);
    case DBP_T_STR:
    case DBP_T_BLOB:
        break;
    }
    return put_escaped(b, p->p, p->n);
}

/* Writes the rows as LOAD DATA's text into l->text.  Returns 0, or -1 when
 * it would pass LOAD_TEXT_MAX or memory ran out. */
static int encode(struct reqlog_load *l, const struct db_param *p, unsigned nrows)
{
    unsigned r, c;

    buf_reset(&l->text);
    for (r = 0; r < nrows; r++, p += REQLOG_LOAD_COLS) {
        for (c = 0; c < REQLOG_LOAD_COLS; c++)
            if ((c > 0 && buf_append(&l->text, "\t", 1) != 0) || put_field(&l->text, &p[c]) != 0)
                return -1;
        if (buf_append(&l->text, "\n", 1) != 0)
            return -1;
    }
    return 0;
}

/* Whether the server read every row and kept each as the INSERT would:
 * rows it did not insert are duplicates of the unique key, which IGNORE
 * skips with one warning each; any other warning means a value was cut or
 * converted. */
static bool as_insert(const struct db_load_result *res, unsigned nrows)
{
    return res->records == nrows && res->inserted + res->skipped == nrows &&
           res->warnings == res->skipped;
}

int reqlog_load_rows(struct reqlog_load *l, struct db *db, const struct db_param *p, unsigned nrows,
                     enum reqlog_load_outcome *outcome)
{
    struct db_load_result res;
    int rc;

    *outcome = REQLOG_LOAD_UNUSED;
    if (atomic_load(&l->off) || encode(l, p, nrows) != 0)
        return DB_OK;
    rc = db_load(db, load_sql, l->text.data, l->text.len, &res);
    if (res.refused) {
        atomic_store(&l->off, true);
        log_warn("request log: the database refuses LOAD DATA LOCAL (%s); rows are written by"
                 " INSERT from now on (set local_infile=ON on the server for cheaper logging)",
                 db_error(db));
        return DB_OK;
    }
    if (rc != DB_OK)
        return rc;
    *outcome = as_insert(&res, nrows) ? REQLOG_LOAD_DONE : REQLOG_LOAD_ROLL_BACK;
    if (*outcome == REQLOG_LOAD_ROLL_BACK && !l->told) {
        l->told = true;
        log_info("request log: LOAD DATA read %llu of %u rows with %u warnings (%llu skipped);"
                 " that batch, and any other such, is written by INSERT",
                 res.records, nrows, res.warnings, res.skipped);
    }
    return DB_OK;
}
