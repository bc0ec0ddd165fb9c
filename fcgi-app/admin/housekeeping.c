/* GET /api/admin/housekeeping: each cron job's latest run (the rows the
 * jobs write, cron-jobs/job.c) next to its expected period, so that the
 * dashboard can say when housekeeping last ran and warn when it stopped. */
#include <json-c/json.h>
#include <stdlib.h>
#include <time.h>

#include "app.h"
#include "admin/handlers.h"
#include "admin/resource.h"
#include "core/clock.h"
#include "core/nelem.h"
#include "http.h"

/* The schedule of conf-examples/crontab (docs/OPERATIONS.md,
 * "Housekeeping"): a job is late once twice its period has passed since it
 * last finished. */
static const struct {
    const char *job;
    long long period_s;
} jobs[] = {
    {"apigw-recover", 60},
    {"apigw-jobs", 60},
    {"apigw-quota-reset", 3600},
    {"apigw-log-cleanup", 86400},
};

static struct json_object *time_json(const struct db_res *res, unsigned col)
{
    char stamp[32];
    const char *v = db_val(res, 0, col);

    return v == NULL ? NULL
                     : json_object_new_string(
                           clock_rfc3339((time_t)strtoll(v, NULL, 10), stamp, sizeof(stamp)));
}

/* One job's entry; false when the database failed (res is freed). */
static bool job_entry(struct req *r, size_t i, struct json_object *out)
{
    struct json_object *o = json_object_new_object(), *last = NULL;
    struct db_res res;
    long long age = -1;
    enum db_rc rc;

    rc = db_query(r->w->db,
                  "SELECT UNIX_TIMESTAMP(started_at), UNIX_TIMESTAMP(finished_at), ok, summary,"
                  " TIMESTAMPDIFF(SECOND, finished_at, UTC_TIMESTAMP())"
                  " FROM housekeeping_runs WHERE job = ? ORDER BY id DESC LIMIT 1",
                  DB_ARGS(DB_STR(jobs[i].job)), &res);
    if (rc != DB_OK) {
        db_res_free(&res);
        json_object_put(o);
        rs_reply_db_error(r, err_from_db(rc), "");
        return false;
    }
    if (res.nrows > 0) {
        last = json_object_new_object();
        json_object_object_add(last, "started_at", time_json(&res, 0));
        json_object_object_add(last, "finished_at", time_json(&res, 1));
        json_object_object_add(last, "ok", json_object_new_boolean(db_int(&res, 0, 2) != 0));
        json_object_object_add(last, "summary", json_object_new_string(db_val(&res, 0, 3)));
        age = db_int(&res, 0, 4);
    }
    db_res_free(&res);
    json_object_object_add(o, "job", json_object_new_string(jobs[i].job));
    json_object_object_add(o, "period_s", json_object_new_int64(jobs[i].period_s));
    json_object_object_add(o, "last_run", last);
    json_object_object_add(o, "age_s", age >= 0 ? json_object_new_int64(age) : NULL);
    json_object_object_add(o, "late",
                           json_object_new_boolean(age < 0 || age > 2 * jobs[i].period_s));
    json_object_array_add(out, o);
    return true;
}

void h_housekeeping(struct req *r, const struct route_args *a)
{
    struct json_object *list = json_object_new_array(), *body;
    size_t i;

    (void)a;
    for (i = 0; i < NELEM(jobs); i++) {
        if (!job_entry(r, i, list)) {
            json_object_put(list);
            return;
        }
    }
    body = json_object_new_object();
    json_object_object_add(body, "jobs", list);
    reply_json(r, 200, body);
}
