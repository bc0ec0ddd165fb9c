#include "core/reqlog_trail.h"

#include <stdbool.h>
#include <string.h>

#include "core/buf.h"
#include "core/reqlog_entry.h"

/* The attempts of a whole batch in one JSON parameter: each entry as
 * {"i": request id, "t": ts in ms, "a": its attempts}.  The attempts were
 * made by json-c (proxy/trail.c) and request ids are hex, so the text is
 * JSON as it is put together. */
#define TRAIL_CHUNK (1u << 20)
/* One entry's text at most (REQLOG_TRAIL_MAX plus its id and time), so a
 * chunk holds at least one entry whatever its size. */
#define TRAIL_BUF_MAX (TRAIL_CHUNK + REQLOG_TRAIL_MAX + 256)

/* ts goes through the same integer division as the log row's, so that
 * (ts, request_id) finds the row to the millisecond. */
static const char insert_sql[] =
    "INSERT IGNORE INTO request_attempts (ts, request_id, seq, attempt, key_id, endpoint, proxy,"
    " status, error, latency_ms, rules, excerpt)"
    " SELECT FROM_UNIXTIME(j.t / 1000), j.rid, j.q, j.n, NULLIF(j.k, 0), j.ep, j.px, j.s, j.e,"
    " j.ms, j.r, j.x FROM JSON_TABLE(?, '$[*]' COLUMNS (rid VARCHAR(32) CHARACTER SET ascii"
    " PATH '$.i', t BIGINT PATH '$.t', NESTED PATH '$.a[*]' COLUMNS (q INT PATH '$.q',"
    " n INT PATH '$.n', k BIGINT PATH '$.k', ep VARCHAR(128) PATH '$.ep',"
    " px VARCHAR(520) PATH '$.px', s INT PATH '$.s', e VARCHAR(512) PATH '$.e',"
    " ms BIGINT PATH '$.ms', r TEXT PATH '$.r', x TEXT PATH '$.x'))) j"
    " WHERE j.q IS NOT NULL";

/* Sends the chunk in b (entries, without the closing bracket). */
static int flush_chunk(struct db *db, struct buf *b)
{
    int rc = DB_OK;

    if (b->len == 0)
        return DB_OK;
    if (buf_append(b, "]", 1) != 0)
        rc = DB_EFAIL;
    else
        rc = db_exec(db, insert_sql, DB_ARGS(DB_STRN(b->data, b->len)), NULL, NULL);
    buf_reset(b);
    return rc;
}

/* The attempts go in statements of about TRAIL_CHUNK bytes each: one
 * statement for a whole batch of attempts could pass the server's
 * max_allowed_packet (16 MiB by default), and every entry is written, none
 * dropped, so that a row and its attempts are stored together. */
int reqlog_trail_write(struct db *db, const struct reqlog_entry *list)
{
    const struct reqlog_entry *e;
    struct buf b;
    int rc = DB_OK;

    buf_init(&b, TRAIL_BUF_MAX);
    for (e = list; e != NULL && rc == DB_OK; e = e->next) {
        if (e->stored || e->trail == NULL)
            continue;
        if (buf_append(&b, b.len > 0 ? "," : "[", 1) != 0 ||
            buf_printf(&b, "{\"i\":\"%s\",\"t\":%lld,\"a\":", e->request_id, (long long)e->ts_ms) !=
                0 ||
            buf_append(&b, e->trail, strlen(e->trail)) != 0 || buf_append(&b, "}", 1) != 0)
            rc = DB_EFAIL; /* cannot happen: an entry is capped far below the buffer */
        else if (b.len >= TRAIL_CHUNK)
            rc = flush_chunk(db, &b);
    }
    if (rc == DB_OK)
        rc = flush_chunk(db, &b);
    buf_free(&b);
    return rc;
}
