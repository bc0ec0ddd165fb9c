/* POST /api/admin/rules/backtest: what a rule (a draft, or a stored one,
 * changed or not) would have done to the answers the gateway recorded
 * (docs/API.md "Rule backtest").  The records are read and judged by
 * admin/backtest_read.c, the matches replayed through threshold and guard
 * by admin/backtest_replay.c; this file reads the request and writes the
 * answer. */
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/backtest_read.h"
#include "admin/backtest_replay.h"
#include "admin/handlers.h"
#include "admin/resource.h"
#include "app.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/db.h"
#include "core/nelem.h"
#include "core/rule/rule.h"
#include "http.h"

/* Without `from`, the backtest looks this far back from `to`. */
#define DEFAULT_RANGE_MS (7LL * 86400 * 1000)
/* How many keys the answer lists (keys_count tells them all). */
#define KEYS_LISTED 200

static const struct vfield bt_fields[] = {
    {.name = "rule", .type = VT_OBJECT},
    {.name = "rule_id", .type = VT_INT, .min = 1, .max = INT64_MAX},
    {.name = "changes", .type = VT_OBJECT},
    {.name = "from", .type = VT_TIME},
    {.name = "to", .type = VT_TIME},
    {.name = "upstream_id", .type = VT_INT, .min = 1, .max = INT64_MAX},
    {.name = "sample", .type = VT_INT, .min = 0, .max = BT_SAMPLE},
};

static const char *const why_names[BT_WHY_N] = {"status", "body", "headers", "script"};

/* The rule to replay as the JSON POST /rules takes, checked the same way
 * (the field table, then the compiler), its faults named under "rule.".
 * Returns NULL after answering the error. */
static struct json_object *rule_json_of(struct req *r, struct json_object *body)
{
    struct json_object *draft = NULL, *changes = NULL, *j = NULL;
    long long id = rs_jint(body, "rule_id", 0);
    char msg[256];
    enum db_rc rc;

    json_object_object_get_ex(body, "changes", &changes);
    if (json_object_object_get_ex(body, "rule", &draft) && draft != NULL) {
        j = json_object_get(draft);
        if (!json_object_object_get_ex(j, "name", NULL))
            json_object_object_add(j, "name", json_object_new_string("backtest"));
        if (valid_body(j, admin_rules.fields, admin_rules.nfields, true, msg, sizeof(msg)) !=
            ERR_OK)
            goto bad;
        return j;
    }
    if (id == 0) {
        reply_error(r, ERR_INVALID_FIELD, "rule: required (or rule_id)");
        return NULL;
    }
    if ((rc = rs_fetch(r, &admin_rules, id, &j)) != DB_OK || j == NULL) {
        if (rc != DB_OK)
            rs_reply_db_error(r, err_from_db(rc), "");
        else
            reply_error(r, ERR_NOT_FOUND, "rule %lld does not exist", id);
        json_object_put(j);
        return NULL;
    }
    if (changes != NULL) {
        if (valid_body(changes, admin_rules.fields, admin_rules.nfields, false, msg, sizeof(msg)) !=
            ERR_OK) {
            json_object_put(j);
            reply_error(r, ERR_INVALID_FIELD, "changes.%s", msg);
            return NULL;
        }
        rs_merge_patch(admin_rules.fields, admin_rules.nfields, j, changes);
    }
    return j;
bad:
    json_object_put(j);
    reply_error(r, ERR_INVALID_FIELD, "rule.%s", msg);
    return NULL;
}

static struct json_object *time_json(long long ms)
{
    char when[32];

    return ms < 0 ? NULL : json_object_new_string(clock_rfc3339(ms / 1000, when, sizeof(when)));
}

/* A column of one row by id (a key's name, an event's excerpt, a log
 * row's error), or NULL. */
static struct json_object *one_text(struct db *db, const char *sql, long long id)
{
    struct json_object *o = NULL;
    struct db_res res;

    if (db_query(db, sql, DB_ARGS(DB_INT(id)), &res) == DB_OK && res.nrows == 1 &&
        db_val(&res, 0, 0) != NULL)
        o = json_object_new_string_len(db_val(&res, 0, 0), (int)db_len(&res, 0, 0));
    db_res_free(&res);
    return o;
}

#define KEY_NAME "SELECT name FROM api_keys WHERE id = ?"

static struct json_object *keys_json(struct db *db, const struct backtest *bt, const char *would)
{
    struct json_object *a = json_object_new_array();
    size_t i;

    for (i = 0; i < bt->nkeys && json_object_array_length(a) < KEYS_LISTED; i++) {
        const struct bt_key *k = &bt->keys[i];
        struct json_object *o;
        if (k->times == 0 && k->held == 0)
            continue;
        o = json_object_new_object();
        json_object_object_add(o, "key_id", json_object_new_int64(k->key_id));
        json_object_object_add(o, "name", one_text(db, KEY_NAME, k->key_id));
        json_object_object_add(o, "upstream_id", json_object_new_int64(k->upstream_id));
        json_object_object_add(o, "would", would ? json_object_new_string(would) : NULL);
        json_object_object_add(o, "at", time_json(k->at_ms));
        json_object_object_add(o, "times", json_object_new_int64(k->times));
        json_object_object_add(o, "held", json_object_new_int64(k->held));
        json_object_object_add(o, "held_at", time_json(k->held_at_ms));
        json_object_array_add(a, o);
    }
    return a;
}

static struct json_object *sample_json(struct db *db, const struct backtest *bt, size_t n)
{
    struct json_object *a = json_object_new_array();
    size_t i;

    for (i = 0; i < bt->nsample && i < n; i++) {
        const struct bt_match *m = &bt->sample[i];
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "time", time_json(m->ts_ms));
        json_object_object_add(o, "source", json_object_new_string(m->event ? "event" : "log"));
        json_object_object_add(o, "id", json_object_new_int64(m->row_id));
        json_object_object_add(o, "key_id", json_object_new_int64(m->key_id));
        json_object_object_add(o, "key_name", one_text(db, KEY_NAME, m->key_id));
        json_object_object_add(o, "upstream_id", json_object_new_int64(m->upstream_id));
        json_object_object_add(o, "status", json_object_new_int(m->status));
        /* Both were masked when they were recorded (no key value). */
        json_object_object_add(o, m->event ? "excerpt" : "error",
                               one_text(db,
                                        m->event ? "SELECT excerpt FROM key_events WHERE id = ?"
                                                 : "SELECT error FROM request_logs WHERE id = ?",
                                        m->row_id));
        json_object_array_add(a, o);
    }
    return a;
}

static void reply_backtest(struct req *r, const struct bt_scan *s, const struct backtest *bt,
                           size_t nsample, long long t0, long long from_ms, long long to_ms)
{
    struct json_object *out = json_object_new_object(), *scanned = json_object_new_object(),
                       *by_status = json_object_new_object(), *unj = json_object_new_object();
    const char *would = bt_would(s->rule);
    long long nkeys = 0;
    char code[8];
    size_t i;

    json_object_object_add(scanned, "events", json_object_new_int64(s->events));
    json_object_object_add(scanned, "log_rows", json_object_new_int64(s->rows));
    json_object_object_add(out, "scanned", scanned);
    json_object_object_add(out, "from", time_json(from_ms));
    json_object_object_add(out, "to", time_json(to_ms));
    json_object_object_add(out, "matched", json_object_new_int64(s->matched));
    for (i = 0; i < 1000; i++) {
        if (s->by_status[i] == 0)
            continue;
        snprintf(code, sizeof(code), "%zu", i);
        json_object_object_add(by_status, code, json_object_new_int64(s->by_status[i]));
    }
    json_object_object_add(out, "by_status", by_status);
    json_object_object_add(unj, "rows", json_object_new_int64(s->unjudged));
    for (i = 0; i < BT_WHY_N; i++)
        json_object_object_add(unj, why_names[i], json_object_new_int64(s->why[i]));
    json_object_object_add(out, "unjudged", unj);
    json_object_object_add(out, "fired", json_object_new_int64(bt->fired));
    for (i = 0; i < bt->nkeys; i++)
        nkeys += bt->keys[i].times > 0 || bt->keys[i].held > 0;
    json_object_object_add(out, "keys", keys_json(r->w->db, bt, would));
    json_object_object_add(out, "keys_count", json_object_new_int64(nkeys));
    json_object_object_add(out, "guard", bt_guard_json(bt));
    json_object_object_add(out, "sample", sample_json(r->w->db, bt, nsample));
    json_object_object_add(out, "truncated", json_object_new_boolean(bt->truncated));
    json_object_object_add(out, "elapsed_ms", json_object_new_int64(clock_mono_ms() - t0));
    reply_json(r, 200, out);
}

/* One backtest at a time per process: each may hold up to BT_MATCHES_MAX
 * matches (about 160 MB), so a second one waits for the first rather than
 * doubling the process's memory. */
static pthread_mutex_t one_at_a_time = PTHREAD_MUTEX_INITIALIZER;

void h_rules_backtest(struct req *r, const struct route_args *a)
{
    struct json_object *o = rs_body_valid(r, bt_fields, NELEM(bt_fields), true), *rj = NULL;
    long long t0 = clock_mono_ms(), from_ms, to_ms;
    struct rule *compiled = NULL;
    struct bt_upstream *ups = NULL;
    static struct bt_scan zero;
    struct bt_scan *s = NULL;
    struct backtest bt;
    char msg[256];
    size_t nups = 0;
    int rc;

    (void)a;
    memset(&bt, 0, sizeof(bt));
    if (o == NULL || (rj = rule_json_of(r, o)) == NULL)
        goto out;
    if ((compiled = rule_compile(rj, msg, sizeof(msg))) == NULL) {
        reply_error(r, ERR_INVALID_FIELD, "rule.%s", msg);
        goto out;
    }
    to_ms = rs_jstr(o, "to") != NULL && clock_parse_time_ms(rs_jstr(o, "to"), &to_ms) == 0
                ? to_ms
                : clock_wall_ms();
    from_ms = rs_jstr(o, "from") != NULL && clock_parse_time_ms(rs_jstr(o, "from"), &from_ms) == 0
                  ? from_ms
                  : to_ms - DEFAULT_RANGE_MS;
    /* Nothing was recorded before 1970 (and the time format needs ms >= 0). */
    from_ms = from_ms < 0 ? 0 : from_ms;
    if (from_ms >= to_ms) {
        reply_error(r, ERR_INVALID_FIELD, "from: must be before to");
        goto out;
    }
    /* The scan's counters (by_status among them) are too big for a stack. */
    if ((s = malloc(sizeof(*s))) == NULL) {
        reply_error(r, ERR_INTERNAL, "out of memory");
        goto out;
    }
    *s = zero;
    s->rule = compiled;
    s->bt = &bt;
    s->upstream_id = rs_jint(o, "upstream_id", 0);
    s->body_limit = r->cfg->rule_body_limit;
    clock_db_time(from_ms, s->from, sizeof(s->from));
    clock_db_time(to_ms, s->to, sizeof(s->to));
    pthread_mutex_lock(&one_at_a_time);
    rc = bt_read_upstreams(r->w->db, s, &ups, &nups);
    bt_init(&bt, compiled, ups, nups);
    if (rc == DB_OK)
        rc = bt_read_events(r->w->db, s);
    if (rc == DB_OK)
        rc = bt_read_logs(r->w->db, s);
    if (rc == DB_OK && bt_replay(&bt) != 0)
        rc = DB_EFAIL;
    pthread_mutex_unlock(&one_at_a_time);
    if (rc != DB_OK)
        rs_reply_db_error(r, err_from_db(rc), "");
    else
        reply_backtest(r, s, &bt, (size_t)rs_jint(o, "sample", BT_SAMPLE), t0, from_ms, to_ms);
out:
    if (s != NULL)
        bt_scan_free(s);
    free(s);
    bt_free(&bt);
    if (compiled != NULL)
        rule_free(compiled);
    json_object_put(rj);
    json_object_put(o);
}
