#include "admin/backtest_read.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/backtest_replay.h"
#include "core/clock.h"
#include "core/db.h"
#include "core/idlist.h"
#include "core/reqid.h"
#include "core/rule/rule.h"

/* Rows per page of the log scan: one page's values are held at once. */
#define LOG_PAGE     20000
#define LOG_PAGE_SQL "20000"
/* Key events judged at most (they are far fewer than log rows). */
#define EVENTS_MAX_SQL "20000"

/* Rows whose key and upstream pass both the request's filter and the
 * rule's own upstream (a rule of one upstream never saw the others). */
#define UP_FILTER(col) " AND (? = 0 OR " col " = ?) AND (? = 0 OR " col " = ?)"

int bt_read_upstreams(struct db *db, const struct bt_scan *s, struct bt_upstream **ups, size_t *n)
{
    long long rup = s->rule->upstream_id;
    struct db_res res;
    unsigned i;
    int rc;

    *ups = NULL;
    *n = 0;
    rc = db_query(db,
                  "SELECT u.id, u.auto_disable_max_pct,"
                  " (SELECT COUNT(*) FROM api_keys k WHERE k.upstream_id = u.id)"
                  " FROM upstreams u WHERE 1 = 1" UP_FILTER("u.id") " ORDER BY u.id",
                  DB_ARGS(DB_INT(s->upstream_id), DB_INT(s->upstream_id), DB_INT(rup), DB_INT(rup)),
                  &res);
    if (rc == DB_OK && (*ups = calloc(res.nrows + 1, sizeof(**ups))) == NULL)
        rc = DB_EFAIL;
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        (*ups)[i].id = db_int(&res, i, 0);
        (*ups)[i].max_pct = db_int(&res, i, 1);
        (*ups)[i].keys_total = db_int(&res, i, 2);
    }
    if (rc == DB_OK)
        *n = res.nrows;
    db_res_free(&res);
    return rc;
}

/* The transport cause of a failed request from its log error, which is
 * libcurl's text (or the egress proxy's) when no attempt was answered. */
static enum transport_kind transport_of(const char *error)
{
    if (strcasestr(error, "timed out") != NULL || strcasestr(error, "timeout") != NULL)
        return TRANSPORT_TIMEOUT;
    if (strcasestr(error, "proxy") != NULL)
        return TRANSPORT_PROXY;
    if (strcasestr(error, "connect") != NULL || strcasestr(error, "resolve") != NULL)
        return TRANSPORT_CONNECT;
    return TRANSPORT_OTHER;
}

#define RETRIED "the answer (status "

/* The answer as the rules saw it, from a log row's status, latency and
 * error: a 502 or 504 with an error had no answer (a transport failure),
 * unless a rule retried the answer, whose status the error names.
 * Returns false for a row no rule saw (the client left). */
static bool log_input(struct rule_input *in, long long status, long long latency, const char *error)
{
    memset(in, 0, sizeof(*in));
    in->status = (int)status;
    in->latency_ms = latency;
    if (status == 499)
        return false;
    if (error == NULL)
        return true;
    if (strncmp(error, RETRIED, strlen(RETRIED)) == 0)
        in->status = (int)strtol(error + strlen(RETRIED), NULL, 10);
    else if (status == 502 || status == 504) {
        in->status = 0;
        in->transport = transport_of(error);
    }
    return true;
}

/* Counts a judged record and keeps it when it matched. */
static int judge_one(struct bt_scan *s, struct rule_input *in, unsigned missing,
                     const struct bt_match *m)
{
    unsigned why, b;
    int v = rule_judge(s->rule, in, missing, &why);
    struct bt_match keep = *m;

    rule_input_done(in);
    if (v < 0) {
        s->unjudged++;
        for (b = 0; b < BT_WHY_N; b++)
            if (why & (1u << b))
                s->why[b]++;
        return 0;
    }
    if (v == 0)
        return 0;
    s->matched++;
    keep.status = in->status;
    if (in->status >= 0 && in->status < 1000 && !(missing & RULE_NO_STATUS))
        s->by_status[in->status]++;
    return bt_add(s->bt, &keep);
}

/* A record's id, time, key and upstream, its first four columns. */
static struct bt_match match_of(const struct db_res *res, unsigned i, bool event)
{
    struct bt_match m = {0, db_int(res, i, 2), db_int(res, i, 3), db_int(res, i, 0), 0, event};

    /* The time as text, parsed here: UNIX_TIMESTAMP() in the statement
     * doubles the server's time on a million rows. */
    if (db_val(res, i, 1) == NULL || clock_parse_time_ms(db_val(res, i, 1), &m.ts_ms) != 0)
        m.ts_ms = 0;
    return m;
}

static int add_skip(struct bt_scan *s, long long id)
{
    if (s->nskip == s->skipcap) {
        size_t cap = s->skipcap ? s->skipcap * 2 : 256;
        long long *bigger = realloc(s->skip, cap * sizeof(*bigger));
        if (bigger == NULL)
            return -1;
        s->skip = bigger;
        s->skipcap = cap;
    }
    s->skip[s->nskip++] = id;
    return 0;
}

/* How far a log row's time may be from the time its request id carries:
 * the same clock reading since the id carries it, so only a row replayed
 * from an older format could differ. */
#define ID_SLACK_MS 2000

/* The log row of an event's request, when its last attempt was on the
 * event's key.  An id that carries its time (core/reqid.h) is found
 * through the log's (ts, request_id) key; an older one by key and time
 * (ix_logs_key; request_id alone has no index), the event coming during
 * the request.  Returns false when there is none; else fills in, and
 * *row_id. */
static bool event_row(struct db *db, const struct bt_match *m, const char *request_id,
                      struct rule_input *in, long long *row_id, bool *seen)
{
    char lo[32], hi[32];
    struct db_res res;
    int64_t id_ms;
    bool found;

    *seen = false;
    if (request_id == NULL)
        return false;
    if (reqid_time_ms(request_id, &id_ms)) {
        clock_db_time(id_ms - ID_SLACK_MS, lo, sizeof(lo));
        clock_db_time(id_ms + ID_SLACK_MS, hi, sizeof(hi));
    } else {
        clock_db_time(m->ts_ms - 3600000, lo, sizeof(lo));
        clock_db_time(m->ts_ms + 60000, hi, sizeof(hi));
    }
    found = db_query(db,
                     "SELECT id, status, latency_ms, error FROM request_logs"
                     " WHERE key_id = ? AND ts BETWEEN ? AND ? AND request_id = ? LIMIT 1",
                     DB_ARGS(DB_INT(m->key_id), DB_STR(lo), DB_STR(hi), DB_STR(request_id)),
                     &res) == DB_OK &&
            res.nrows == 1;
    if (found) {
        *row_id = db_int(&res, 0, 0);
        *seen = log_input(in, db_int(&res, 0, 1), db_int(&res, 0, 2), db_val(&res, 0, 3));
    }
    db_res_free(&res);
    return found;
}

int bt_read_events(struct db *db, struct bt_scan *s)
{
    long long rup = s->rule->upstream_id, row_id = 0;
    struct rule_input in;
    struct db_res res;
    bool seen;
    unsigned i;
    int rc;

    rc = db_query(db,
                  "SELECT e.id, e.ts, e.key_id, k.upstream_id, e.excerpt, e.request_id"
                  " FROM key_events e JOIN api_keys k ON k.id = e.key_id"
                  " WHERE e.ts >= ? AND e.ts < ? AND e.excerpt IS NOT NULL" UP_FILTER(
                      "k.upstream_id") " ORDER BY e.id LIMIT " EVENTS_MAX_SQL,
                  DB_ARGS(DB_STR(s->from), DB_STR(s->to), DB_INT(s->upstream_id),
                          DB_INT(s->upstream_id), DB_INT(rup), DB_INT(rup)),
                  &res);
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        struct bt_match m = match_of(&res, i, true);
        unsigned missing = RULE_NO_HEADERS | RULE_NO_SCRIPT;
        const char *excerpt = db_val(&res, i, 4);
        size_t n = db_len(&res, i, 4);
        s->events++;
        /* The log row tells the answer's status; without it the event's
         * answer has none. */
        if (event_row(db, &m, db_val(&res, i, 5), &in, &row_id, &seen)) {
            if (add_skip(s, row_id) != 0)
                rc = DB_EFAIL;
            if (!seen)
                continue;
        } else {
            memset(&in, 0, sizeof(in));
            missing |= RULE_NO_STATUS;
        }
        in.body = excerpt;
        in.body_len = n < (size_t)s->body_limit ? n : (size_t)s->body_limit;
        if (rc == DB_OK && judge_one(s, &in, missing, &m) != 0)
            rc = DB_EFAIL;
    }
    db_res_free(&res);
    idlist_sort(s->skip, s->nskip);
    return rc;
}

static bool skipped(const struct bt_scan *s, long long id)
{
    return idlist_has(s->skip, s->nskip, id);
}

/* The id range of the time range's rows, from the time index alone, so
 * that the pages walk the primary key between them. */
static int id_bounds(struct db *db, const struct bt_scan *s, long long *lo, long long *hi)
{
    struct db_res res;
    int rc = db_query(db, "SELECT MIN(id), MAX(id) FROM request_logs WHERE ts >= ? AND ts < ?",
                      DB_ARGS(DB_STR(s->from), DB_STR(s->to)), &res);

    *lo = rc == DB_OK ? db_int(&res, 0, 0) : 0;
    *hi = rc == DB_OK ? db_int(&res, 0, 1) : 0;
    db_res_free(&res);
    return rc;
}

int bt_read_logs(struct db *db, struct bt_scan *s)
{
    long long rup = s->rule->upstream_id, after, hi;
    struct rule_input in;
    struct db_res res;
    unsigned i;
    int rc = id_bounds(db, s, &after, &hi);

    after--;
    while (rc == DB_OK && after < hi) {
        rc = db_query(db,
                      "SELECT id, ts, key_id, upstream_id, status,"
                      " latency_ms, error FROM request_logs FORCE INDEX (PRIMARY)"
                      " WHERE id > ? AND id <= ? AND ts >= ? AND ts < ? AND key_id IS NOT NULL"
                      " AND (status >= 400 OR error IS NOT NULL)" UP_FILTER(
                          "upstream_id") " ORDER BY id LIMIT " LOG_PAGE_SQL,
                      DB_ARGS(DB_INT(after), DB_INT(hi), DB_STR(s->from), DB_STR(s->to),
                              DB_INT(s->upstream_id), DB_INT(s->upstream_id), DB_INT(rup),
                              DB_INT(rup)),
                      &res);
        for (i = 0; rc == DB_OK && i < res.nrows; i++) {
            struct bt_match m = match_of(&res, i, false);
            s->rows++;
            if (skipped(s, m.row_id) ||
                !log_input(&in, db_int(&res, i, 4), db_int(&res, i, 5), db_val(&res, i, 6)))
                continue;
            if (judge_one(s, &in, RULE_NO_BODY | RULE_NO_HEADERS | RULE_NO_SCRIPT, &m) != 0)
                rc = DB_EFAIL;
        }
        if (rc == DB_OK && res.nrows < LOG_PAGE)
            after = hi;
        else if (rc == DB_OK)
            after = db_int(&res, res.nrows - 1, 0);
        db_res_free(&res);
    }
    return rc;
}

void bt_scan_free(struct bt_scan *s)
{
    free(s->skip);
    s->skip = NULL;
    s->nskip = s->skipcap = 0;
}
