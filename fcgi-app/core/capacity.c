#include "core/capacity.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alert.h"
#include "core/clock.h"

/* Recovered keys alerted one by one per upstream and check; more become
 * one summary, so that a daily reset of a thousand exhausted keys sends
 * six alerts, not a thousand. */
#define RECOVERED_EACH_MAX 5
/* Keys of one upstream newly probe_failing that each get an alert. */
#define PROBE_FAILING_EACH_MAX 5
#define PROBE_FAILING_MAX      1000 /* keys read per check */
#define EVENTS_CURSOR          "capacity_events_id"
/* Events newer than this are left for the next check: an event's id is
 * taken when it is written but it is seen only at its commit, so a later
 * id may show first; past this many seconds every writer (a status change
 * and its event, one short transaction) has committed. */
#define EVENTS_SETTLE_S "2"

/* The state of an upstream.  The requests of the last minute that got 503
 * no_available_key are found by the words reply_no_key (proxy/proxy.c)
 * logs: "upstream NAME has no usable key ...". */
static const char UPSTREAM_SQL[] =
    "SELECT u.id, u.name, u.alert_min_active_pct, u.alert_min_active,"
    " (SELECT COUNT(*) FROM api_keys k WHERE k.upstream_id = u.id),"
    " (SELECT COUNT(*) FROM api_keys k WHERE k.upstream_id = u.id AND k.status = 'active'),"
    " (SELECT COUNT(*) FROM request_logs l WHERE l.upstream_id = u.id"
    "   AND l.ts >= UTC_TIMESTAMP(3) - INTERVAL 60 SECOND),"
    " (SELECT COUNT(*) FROM request_logs l WHERE l.upstream_id = u.id"
    "   AND l.ts >= UTC_TIMESTAMP(3) - INTERVAL 60 SECOND AND l.status = 503"
    "   AND l.error LIKE 'upstream % has no usable key%'),"
    " s.state"
    " FROM upstreams u LEFT JOIN capacity_state s ON s.upstream_id = u.id AND s.key_id = 0"
    " WHERE u.enabled = 1 ORDER BY u.id";

static enum db_rc raise_alert(struct db *db, struct alerter *a, struct capacity_run *run,
                              const char *kind, long long upstream_id, const char *upstream,
                              long long key_id, const char *masked, const char *message)
{
    struct alert al;

    memset(&al, 0, sizeof(al));
    al.kind = kind;
    al.upstream_id = upstream_id;
    al.upstream = upstream;
    al.key_id = key_id;
    al.key_masked = masked;
    al.message = message;
    if (alert_raise(a, db, &al) == 0)
        return DB_EFAIL;
    run->alerts++;
    return DB_OK;
}

/* The words of an upstream's alert for its new state. */
static void upstream_message(char *out, size_t len, const char *name, const char *state,
                             const char *was, const struct capacity_counts *c,
                             const char *min_active)
{
    if (strcmp(state, "dry") == 0)
        snprintf(out, len,
                 "upstream %s is dry: all %lld requests of the last minute got 503 "
                 "no_available_key (%lld of %lld keys usable)",
                 name, c->requests, c->usable, c->total);
    else if (strcmp(state, "low") == 0)
        snprintf(out, len,
                 "upstream %s is low on keys: %lld of %lld usable (alert_min_active_pct %lld, "
                 "alert_min_active %s)",
                 name, c->usable, c->total, c->min_active_pct,
                 min_active != NULL ? min_active : "off");
    else
        snprintf(out, len, "upstream %s has capacity again (was %s): %lld of %lld keys usable",
                 name, was, c->usable, c->total);
}

const char *capacity_state_of(const struct capacity_counts *c)
{
    if (c->requests > 0 && c->no_key == c->requests)
        return "dry";
    if (c->was_dry && c->usable == 0)
        return "dry";
    if (c->min_active_pct > 0 && c->total > 0 && c->usable * 100 < c->min_active_pct * c->total)
        return "low";
    if (c->has_min_active && c->usable < c->min_active)
        return "low";
    return "ok";
}

static enum db_rc check_upstreams(struct db *db, struct alerter *a, struct capacity_run *run)
{
    struct db_res res;
    enum db_rc rc;
    unsigned i;

    memset(&res, 0, sizeof(res));
    rc = db_exec(db,
                 "DELETE FROM capacity_state WHERE upstream_id IN"
                 " (SELECT id FROM upstreams WHERE enabled = 0)",
                 DB_NOARGS, NULL, NULL);
    if (rc == DB_OK)
        rc = db_query(db, UPSTREAM_SQL, DB_NOARGS, &res);
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        long long id = db_int(&res, i, 0);
        const char *name = db_val(&res, i, 1), *min_active = db_val(&res, i, 3);
        const char *was = db_val(&res, i, 8) != NULL ? db_val(&res, i, 8) : "ok";
        struct capacity_counts c = {
            db_int(&res, i, 2), db_int(&res, i, 3), min_active != NULL, db_int(&res, i, 5),
            db_int(&res, i, 4), db_int(&res, i, 6), db_int(&res, i, 7), false};
        const char *state;
        char msg[512], kind[24];

        c.was_dry = strcmp(was, "dry") == 0;
        state = capacity_state_of(&c);
        /* The alert first: should the state's write then fail, the next
         * check raises it again rather than never. */
        if (strcmp(state, was) != 0) {
            upstream_message(msg, sizeof(msg), name, state, was, &c, min_active);
            snprintf(kind, sizeof(kind), "capacity_%s", state);
            if ((rc = raise_alert(db, a, run, kind, id, name, 0, NULL, msg)) != DB_OK)
                break;
        }
        /* since moves only when the state changes; the counts always. */
        rc = db_exec(db,
                     "INSERT INTO capacity_state (upstream_id, key_id, state, usable, total,"
                     " since, checked_at) VALUES (?, 0, ?, ?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP())"
                     " ON DUPLICATE KEY UPDATE since = IF(state = VALUES(state), since,"
                     " VALUES(since)), state = VALUES(state), usable = VALUES(usable),"
                     " total = VALUES(total), checked_at = VALUES(checked_at)",
                     DB_ARGS(DB_INT(id), DB_STR(state), DB_INT(c.usable), DB_INT(c.total)), NULL,
                     NULL);
    }
    db_res_free(&res);
    return rc;
}

/* The keys whose probe has failed for more than a day: disabled keys
 * whose failed probes (apigw-recover's back-off events, disabled ->
 * disabled, "probe failed; ...") since their last other event began more
 * than a day ago. */
static const char PROBE_FAILING_SQL[] =
    "SELECT k.id, k.upstream_id, u.name, k.key_masked, k.probe_failures,"
    " UNIX_TIMESTAMP(MIN(e.ts)), s.state"
    " FROM api_keys k JOIN upstreams u ON u.id = k.upstream_id"
    " JOIN key_events e ON e.key_id = k.id AND e.from_status = 'disabled'"
    "  AND e.to_status = 'disabled' AND e.reason LIKE 'probe failed%'"
    "  AND e.id > COALESCE((SELECT MAX(x.id) FROM key_events x WHERE x.key_id = k.id"
    "   AND NOT (x.from_status = 'disabled' AND x.to_status = 'disabled'"
    "   AND x.reason LIKE 'probe failed%')), 0)"
    " LEFT JOIN capacity_state s ON s.upstream_id = k.upstream_id AND s.key_id = k.id"
    " WHERE k.status = 'disabled' AND k.probe_failures > 0 AND u.enabled = 1"
    " GROUP BY k.id, k.upstream_id, u.name, k.key_masked, k.probe_failures, s.state"
    " HAVING MIN(e.ts) <= UTC_TIMESTAMP() - INTERVAL 1 DAY ORDER BY k.upstream_id, k.id LIMIT 1000";

/* The alert for the keys of an upstream past the first few whose probes
 * began failing a day ago, in one check. */
static enum db_rc probe_failing_rest(struct db *db, struct alerter *a, struct capacity_run *run,
                                     long long up, const char *name, long long more)
{
    char msg[512];

    if (more == 0)
        return DB_OK;
    snprintf(msg, sizeof(msg),
             "%lld more keys of upstream %s: their probes have failed for more "
             "than a day",
             more, name);
    return raise_alert(db, a, run, "probe_failing", up, name, 0, NULL, msg);
}

static enum db_rc check_probes(struct db *db, struct alerter *a, struct capacity_run *run)
{
    struct db_res res;
    long long more = 0, raised = 0;
    enum db_rc rc;
    unsigned i;

    memset(&res, 0, sizeof(res));
    /* A key that left the state (recovered, changed by a person, deleted)
     * loses its row without an alert: its recovery has its own. */
    rc = db_exec(db, "UPDATE capacity_state SET checked_at = NULL WHERE key_id > 0", DB_NOARGS,
                 NULL, NULL);
    if (rc == DB_OK)
        rc = db_query(db, PROBE_FAILING_SQL, DB_NOARGS, &res);
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        long long key = db_int(&res, i, 0), up = db_int(&res, i, 1);
        char msg[512], since[32];

        /* A new upstream: the rest of the one before, summed up. */
        if (i > 0 && up != db_int(&res, i - 1, 1)) {
            rc = probe_failing_rest(db, a, run, db_int(&res, i - 1, 1), db_val(&res, i - 1, 2),
                                    more);
            more = raised = 0;
        }
        if (rc == DB_OK)
            rc =
                db_exec(db,
                        "INSERT INTO capacity_state (upstream_id, key_id, state, since,"
                        " checked_at) VALUES (?, ?, 'probe_failing', FROM_UNIXTIME(?),"
                        " UTC_TIMESTAMP()) ON DUPLICATE KEY UPDATE checked_at = VALUES(checked_at)",
                        DB_ARGS(DB_INT(up), DB_INT(key), DB_INT(db_int(&res, i, 5))), NULL, NULL);
        if (rc != DB_OK || db_val(&res, i, 6) != NULL)
            continue;
        /* Many keys failing at once (a provider's outage) make a few alerts
         * and a sum, not one per key. */
        if (raised == PROBE_FAILING_EACH_MAX) {
            more++;
            continue;
        }
        raised++;
        snprintf(msg, sizeof(msg),
                 "key %s of upstream %s: its probe has failed for more than a day (since %s, "
                 "%lld failures)",
                 db_val(&res, i, 3), db_val(&res, i, 2),
                 clock_rfc3339((time_t)db_int(&res, i, 5), since, sizeof(since)),
                 db_int(&res, i, 4));
        rc = raise_alert(db, a, run, "probe_failing", up, db_val(&res, i, 2), key,
                         db_val(&res, i, 3), msg);
    }
    if (rc == DB_OK && res.nrows > 0)
        rc = probe_failing_rest(db, a, run, db_int(&res, res.nrows - 1, 1),
                                db_val(&res, res.nrows - 1, 2), more);
    db_res_free(&res);
    if (rc == DB_OK)
        rc = db_exec(db, "DELETE FROM capacity_state WHERE key_id > 0 AND checked_at IS NULL",
                     DB_NOARGS, NULL, NULL);
    return rc;
}

/* The recoveries among the key events after the cursor, the first few of
 * each upstream with the count of all (n, m). */
static const char RECOVERED_SQL[] =
    "SELECT * FROM (SELECT e.key_id, k.upstream_id, u.name, k.key_masked, e.from_status,"
    " e.reason, ROW_NUMBER() OVER (PARTITION BY k.upstream_id ORDER BY e.id) AS n,"
    " COUNT(*) OVER (PARTITION BY k.upstream_id) AS m"
    " FROM key_events e JOIN api_keys k ON k.id = e.key_id"
    " JOIN upstreams u ON u.id = k.upstream_id"
    " WHERE e.id > ? AND e.id <= ? AND e.to_status = 'active'"
    " AND e.from_status IN ('disabled', 'exhausted', 'banned')"
    /* Routine ends of a timed rest or of a day's quota are not news. */
    " AND e.reason NOT IN ('recovered: disabled_until passed', 'quota reset')) x"
    " WHERE x.n <= ? ORDER BY x.upstream_id, x.n";

static enum db_rc check_recovered(struct db *db, struct alerter *a, struct capacity_run *run)
{
    struct db_res cur, res;
    long long from, to;
    enum db_rc rc;
    unsigned i;
    bool first;

    rc = db_query(db,
                  "SELECT j.value, (SELECT COALESCE(MAX(e.id), 0) FROM key_events e"
                  "  WHERE e.id > COALESCE(CAST(j.value AS SIGNED), 0)"
                  "  AND e.ts <= UTC_TIMESTAMP(3) - INTERVAL " EVENTS_SETTLE_S " SECOND),"
                  " (SELECT COALESCE(MAX(id), 0) FROM key_events)"
                  " FROM (SELECT ? AS name) n LEFT JOIN job_state j ON j.name = n.name",
                  DB_ARGS(DB_STR(EVENTS_CURSOR)), &cur);
    if (rc != DB_OK) {
        db_res_free(&cur);
        return rc;
    }
    /* The first check starts at the present: old history raises nothing. */
    first = db_val(&cur, 0, 0) == NULL;
    from = first ? db_int(&cur, 0, 2) : strtoll(db_val(&cur, 0, 0), NULL, 10);
    to = first ? from : db_int(&cur, 0, 1);
    db_res_free(&cur);
    memset(&res, 0, sizeof(res));
    if (to > from)
        rc = db_query(db, RECOVERED_SQL,
                      DB_ARGS(DB_INT(from), DB_INT(to), DB_INT(RECOVERED_EACH_MAX + 1)), &res);
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        long long n = db_int(&res, i, 6), m = db_int(&res, i, 7);
        const char *name = db_val(&res, i, 2), *masked = db_val(&res, i, 3);
        char msg[512];

        if (m > RECOVERED_EACH_MAX + 1 && n > RECOVERED_EACH_MAX) {
            snprintf(msg, sizeof(msg), "%lld more keys of upstream %s recovered",
                     m - RECOVERED_EACH_MAX, name);
            rc = raise_alert(db, a, run, "key_recovered", db_int(&res, i, 1), name, 0, NULL, msg);
            continue;
        }
        snprintf(msg, sizeof(msg), "key %s of upstream %s recovered: %s -> active (%.200s)", masked,
                 name, db_val(&res, i, 4), db_val(&res, i, 5));
        rc = raise_alert(db, a, run, "key_recovered", db_int(&res, i, 1), name, db_int(&res, i, 0),
                         masked, msg);
    }
    db_res_free(&res);
    if (rc == DB_OK && (first || to > from)) {
        char value[24];
        snprintf(value, sizeof(value), "%lld", to);
        rc = db_exec(db,
                     "INSERT INTO job_state (name, value, updated_at) VALUES (?, ?,"
                     " UTC_TIMESTAMP()) ON DUPLICATE KEY UPDATE value = VALUES(value),"
                     " updated_at = VALUES(updated_at)",
                     DB_ARGS(DB_STR(EVENTS_CURSOR), DB_STR(value)), NULL, NULL);
    }
    return rc;
}

enum db_rc capacity_check(struct db *db, struct alerter *a, struct capacity_run *run)
{
    enum db_rc rc;

    memset(run, 0, sizeof(*run));
    rc = check_upstreams(db, a, run);
    if (rc == DB_OK)
        rc = check_recovered(db, a, run);
    if (rc == DB_OK)
        rc = check_probes(db, a, run);
    return rc;
}

static void add_time(struct json_object *o, const char *name, const char *unix_s)
{
    char stamp[32];

    json_object_object_add(o, name,
                           unix_s == NULL
                               ? NULL
                               : json_object_new_string(clock_rfc3339(
                                     (time_t)strtoll(unix_s, NULL, 10), stamp, sizeof(stamp))));
}

struct json_object *capacity_json(struct db *db, long long upstream_id, enum db_rc *rc)
{
    struct json_object *o;
    struct db_res res;
    bool seen;

    *rc = db_query(db,
                   "SELECT state, usable, total, UNIX_TIMESTAMP(since), UNIX_TIMESTAMP(checked_at)"
                   " FROM capacity_state WHERE upstream_id = ? AND key_id = 0",
                   DB_ARGS(DB_INT(upstream_id)), &res);
    if (*rc != DB_OK) {
        db_res_free(&res);
        return NULL;
    }
    seen = res.nrows > 0;
    o = json_object_new_object();
    json_object_object_add(o, "state",
                           json_object_new_string(seen ? db_val(&res, 0, 0) : "unknown"));
    json_object_object_add(o, "usable", seen ? json_object_new_int64(db_int(&res, 0, 1)) : NULL);
    json_object_object_add(o, "total", seen ? json_object_new_int64(db_int(&res, 0, 2)) : NULL);
    add_time(o, "since", seen ? db_val(&res, 0, 3) : NULL);
    add_time(o, "checked_at", seen ? db_val(&res, 0, 4) : NULL);
    db_res_free(&res);
    return o;
}
