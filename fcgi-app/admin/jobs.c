/* POST /api/admin/keys/validate, GET /api/admin/jobs, GET and DELETE
 * /api/admin/jobs/{id}: validation jobs as rows (core/valjob.h).  These
 * routes only write and read rows; apigw-jobs probes. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "admin/handlers.h"
#include "core/idlist.h"
#include "admin/doc_tables.h"
#include "admin/resource.h"
#include "admin/sqlfmt.h"
#include "core/nelem.h"
#include "core/store.h"
#include "core/valjob.h"
#include "http.h"

static const char *check_status(const char *s)
{
    return key_status_parse(s) < 0 ? "must be active, disabled, banned or exhausted" : NULL;
}

static const struct vfield validate_fields[] = {
    {.name = "upstream_id", .type = VT_INT, .flags = VF_REQUIRED, .min = 1, .max = INT64_MAX},
    {.name = "ids", .type = VT_INT_LIST, .min = 1, .max = VALJOB_IDS_MAX},
    {.name = "status",
     .type = VT_STRING,
     .min = 1,
     .max = 16,
     .check = check_status,
     .oneof = "active|disabled|banned|exhausted"},
    {.name = "on_invalid", .type = VT_STRING, .min = 1, .max = 8, .check = valjob_check_on_invalid},
    {.name = "concurrency", .type = VT_INT, .min = 1, .max = VALJOB_CONCURRENCY_MAX},
    {.name = "rps", .type = VT_INT, .flags = VF_NULLABLE, .min = 1, .max = VALJOB_RPS_MAX},
};

/* The job as every answer shows it: counts together, the share done, and
 * the time left at the pace so far (null before the first key, and once
 * the job has ended). */
static void job_shown(struct json_object *row)
{
    struct json_object *counts = json_object_new_object(), *v;
    long long total = 0, done = 0, run_ms = 0;
    const char *state = "";
    static const char *const names[][2] = {{"valid_count", "valid"},
                                           {"invalid_count", "invalid"},
                                           {"inconclusive_count", "inconclusive"}};
    size_t i;

    for (i = 0; i < NELEM(names); i++) {
        if (json_object_object_get_ex(row, names[i][0], &v))
            json_object_object_add(counts, names[i][1], json_object_get(v));
        json_object_object_del(row, names[i][0]);
    }
    json_object_object_add(row, "counts", counts);
    if (json_object_object_get_ex(row, "total", &v))
        total = json_object_get_int64(v);
    if (json_object_object_get_ex(row, "processed", &v))
        done = json_object_get_int64(v);
    if (json_object_object_get_ex(row, "run_ms", &v))
        run_ms = json_object_get_int64(v);
    if (json_object_object_get_ex(row, "state", &v))
        state = json_object_get_string(v);
    json_object_object_del(row, "run_ms");
    json_object_object_add(row, "progress",
                           json_object_new_double(total > 0 ? (double)done / (double)total : 1.0));
    json_object_object_add(
        row, "eta_s",
        done > 0 && done < total && (strcmp(state, "running") == 0 || strcmp(state, "queued") == 0)
            ? json_object_new_int64((run_ms * (total - done) / done + 999) / 1000)
            : NULL);
}

static const struct vfield job_fields[] = {
    {.name = "id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "kind", .type = VT_STRING, .flags = VF_READONLY},
    {.name = "upstream_id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "state", .type = VT_STRING, .flags = VF_READONLY},
    {.name = "on_invalid", .type = VT_STRING, .flags = VF_READONLY},
    {.name = "concurrency", .type = VT_INT, .flags = VF_READONLY},
    {.name = "rps", .type = VT_INT, .flags = VF_READONLY},
    {.name = "total", .type = VT_INT, .flags = VF_READONLY},
    {.name = "processed", .type = VT_INT, .flags = VF_READONLY},
    {.name = "valid_count", .type = VT_INT, .flags = VF_READONLY},
    {.name = "invalid_count", .type = VT_INT, .flags = VF_READONLY},
    {.name = "inconclusive_count", .type = VT_INT, .flags = VF_READONLY},
    {.name = "run_ms", .type = VT_INT, .flags = VF_READONLY},
    {.name = "actor", .type = VT_STRING, .flags = VF_READONLY},
    {.name = "error", .type = VT_STRING, .flags = VF_READONLY},
    {.name = "created_at", .type = VT_TIME, .flags = VF_READONLY},
    {.name = "started_at", .type = VT_TIME, .flags = VF_READONLY},
    {.name = "finished_at", .type = VT_TIME, .flags = VF_READONLY},
};

_Static_assert(NELEM(job_fields) <= RS_FIELDS_MAX, "jobs: raise RS_FIELDS_MAX");

struct resource admin_jobs = {
    .noun = "job",
    .table = "jobs",
    .fields = job_fields,
    .nfields = NELEM(job_fields),
    /* The id filter is for one job (job_fetch): the list has no get. */
    .list_filter =
        " WHERE (? = 0 OR id = ?) AND (? = 0 OR upstream_id = ?) AND (? = '' OR state = ?)",
    .list_order = "id DESC",
    .list_only = true,
    .shown = job_shown,
};

/* The job's results: key id and masked value, never the key. */
static const struct vfield result_fields[] = {
    {.name = "key_id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "key_masked", .type = VT_STRING, .flags = VF_READONLY},
    {.name = "verdict", .type = VT_STRING, .flags = VF_READONLY},
    {.name = "status", .type = VT_INT, .flags = VF_READONLY},
    {.name = "latency_ms", .type = VT_INT, .flags = VF_READONLY},
    {.name = "rule", .type = VT_STRING, .flags = VF_READONLY, .column = "rule_name"},
    {.name = "action", .type = VT_STRING, .flags = VF_READONLY},
    {.name = "error", .type = VT_STRING, .flags = VF_READONLY},
    {.name = "checked_at", .type = VT_TIME, .flags = VF_READONLY},
};

void h_jobs_list(struct req *r, const struct route_args *a)
{
    char state[24] = "";
    long long up;
    bool has;

    (void)a;
    if (!rs_query_id(r, "upstream_id", &up) ||
        !rs_query_text(r, "state", state, sizeof(state), &has))
        return;
    rs_list(r, &admin_jobs,
            DB_ARGS(DB_INT(0), DB_INT(0), DB_INT(up), DB_INT(up), DB_STR(state), DB_STR(state)));
}

/* Reads one job as the list shows it into *out (NULL when there is none). */
static enum db_rc job_fetch(struct req *r, long long id, struct json_object **out)
{
    struct db_res res;
    enum db_rc rc;

    *out = NULL;
    if (!rs_build(&admin_jobs))
        return DB_EFAIL;
    rc = db_query(r->w->db, admin_jobs.sql.page,
                  DB_ARGS(DB_INT(id), DB_INT(id), DB_INT(0), DB_INT(0), DB_STR(""), DB_STR(""),
                          DB_INT(1), DB_INT(0)),
                  &res);
    if (rc == DB_OK && res.nrows > 0) {
        *out = rs_row_json(job_fields, NELEM(job_fields), &res, 0);
        job_shown(*out);
    }
    db_res_free(&res);
    return rc;
}

/* Adds {"items", "total"} of the job's results, paged, optionally of one
 * verdict ("pending": not probed yet). */
static enum db_rc add_results(struct req *r, long long id, struct json_object *job, long long limit,
                              long long offset, const char *verdict)
{
    struct json_object *res = json_object_new_object(), *items = json_object_new_array();
    struct db_res rows, count;
    unsigned i;
    enum db_rc rc = db_query(
        r->w->db,
        "SELECT key_id, key_masked, verdict, status, latency_ms, rule_name, action, error,"
        " " SQL_TIME(
            "checked_at") " FROM job_results WHERE job_id = ?"
                          " AND (? = '' OR IFNULL(verdict, 'pending') = ?) ORDER BY key_id LIMIT ? OFFSET ?",
        DB_ARGS(DB_INT(id), DB_STR(verdict), DB_STR(verdict), DB_INT(limit), DB_INT(offset)),
        &rows);

    if (rc == DB_OK)
        rc = db_query(r->w->db,
                      "SELECT COUNT(*) FROM job_results WHERE job_id = ?"
                      " AND (? = '' OR IFNULL(verdict, 'pending') = ?)",
                      DB_ARGS(DB_INT(id), DB_STR(verdict), DB_STR(verdict)), &count);
    else
        memset(&count, 0, sizeof(count));
    for (i = 0; rc == DB_OK && i < rows.nrows; i++)
        json_object_array_add(items, rs_row_json(result_fields, NELEM(result_fields), &rows, i));
    json_object_object_add(res, "items", items);
    json_object_object_add(res, "total",
                           json_object_new_int64(rc == DB_OK ? db_int(&count, 0, 0) : 0));
    json_object_object_add(job, "results", res);
    db_res_free(&rows);
    db_res_free(&count);
    return rc;
}

void h_jobs_get(struct req *r, const struct route_args *a)
{
    struct json_object *o = NULL;
    char verdict[16] = "";
    long long limit, offset;
    bool has;
    enum db_rc rc;

    if (!rs_page_params(r, &limit, &offset) ||
        !rs_query_text(r, "verdict", verdict, sizeof(verdict), &has))
        return;
    rc = job_fetch(r, a->id, &o);
    if (rc == DB_OK && o != NULL)
        rc = add_results(r, a->id, o, limit, offset, verdict);
    rs_reply_row(r, &admin_jobs, a->id, rc, o);
}

void h_jobs_cancel(struct req *r, const struct route_args *a)
{
    struct json_object *o = NULL;
    bool changed = false;
    enum db_rc rc = valjob_cancel(r->w->db, a->id, &changed);

    if (rc == DB_OK)
        rc = job_fetch(r, a->id, &o);
    if (rc == DB_OK && o != NULL && !changed) {
        json_object_put(o);
        reply_error(r, ERR_CONFLICT, "job %lld has already ended", a->id);
        return;
    }
    rs_reply_row(r, &admin_jobs, a->id, rc, o);
}

struct validate_tx {
    struct valjob_spec spec;
    size_t nids; /* distinct ids asked for */
    long long job_id, total;
    bool missing; /* some id is not a key of the upstream */
};

static int validate_body(struct db *db, void *arg)
{
    struct validate_tx *t = arg;
    int rc = valjob_create(db, &t->spec, &t->job_id, &t->total);

    t->missing = rc == DB_OK && t->spec.ids != NULL && (size_t)t->total != t->nids;
    return t->missing ? DB_EFAIL : rc;
}

/* How many distinct ids the list holds. */
static size_t distinct_ids(struct json_object *ids)
{
    size_t n = json_object_array_length(ids), i, d;
    long long *v = calloc(n + 1, sizeof(*v));

    if (v == NULL)
        return 0;
    for (i = 0; i < n; i++)
        v[i] = json_object_get_int64(json_object_array_get_idx(ids, i));
    d = idlist_unique(v, n);
    free(v);
    return d;
}

bool jobs_upstream_ok(struct req *r, long long upstream_id)
{
    struct db_res res;
    int rc = db_query(r->w->db, "SELECT probe_method, probe_path FROM upstreams WHERE id = ?",
                      DB_ARGS(DB_INT(upstream_id)), &res);

    if (rc != DB_OK)
        rs_reply_db_error(r, err_from_db(rc), "");
    else if (res.nrows == 0)
        reply_error(r, ERR_INVALID_FIELD, "upstream_id: upstream %lld does not exist", upstream_id);
    else if (db_val(&res, 0, 0) == NULL || db_val(&res, 0, 1) == NULL)
        reply_error(r, ERR_INVALID_FIELD,
                    "upstream_id: upstream %lld has no probe; set its probe_method and probe_path",
                    upstream_id);
    else {
        db_res_free(&res);
        return true;
    }
    db_res_free(&res);
    return false;
}

void jobs_reply_started(struct req *r, long long job_id, long long total)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "job_id", json_object_new_int64(job_id));
    json_object_object_add(o, "total", json_object_new_int64(total));
    reply_json(r, 202, o);
}

void h_keys_validate(struct req *r, const struct route_args *a)
{
    struct json_object *o = rs_body_valid(r, validate_fields, NELEM(validate_fields), true);
    struct json_object *ids = NULL;
    struct validate_tx t;
    int rc;

    (void)a;
    if (o == NULL)
        return;
    memset(&t, 0, sizeof(t));
    json_object_object_get_ex(o, "ids", &ids);
    if (ids != NULL && rs_jstr(o, "status") != NULL) {
        reply_error(r, ERR_INVALID_FIELD, "ids: give ids or status, not both");
        goto out;
    }
    if (!jobs_upstream_ok(r, rs_jint(o, "upstream_id", 0)))
        goto out;
    t.spec.upstream_id = rs_jint(o, "upstream_id", 0);
    t.spec.on_invalid = rs_jstr(o, "on_invalid") != NULL ? rs_jstr(o, "on_invalid") : "none";
    t.spec.concurrency = rs_jint(o, "concurrency", 4);
    t.spec.rps = rs_jint(o, "rps", 0);
    t.spec.actor = r->actor;
    t.spec.status = rs_jstr(o, "status");
    if (ids != NULL) {
        t.spec.ids = json_object_to_json_string_ext(ids, JSON_C_TO_STRING_PLAIN);
        t.nids = distinct_ids(ids);
    }
    rc = db_transaction(r->w->db, validate_body, &t);
    if (t.missing)
        reply_error(r, ERR_INVALID_FIELD, "ids: %zu of the ids are not keys of upstream %lld",
                    t.nids - (size_t)t.total, t.spec.upstream_id);
    else if (rc != DB_OK)
        rs_reply_db_error(r, err_from_db(rc), "");
    else
        jobs_reply_started(r, t.job_id, t.total);
out:
    json_object_put(o);
}

/* For the OpenAPI document (admin/doc_tables.h). */
const struct vtable vt_jobs = {job_fields, NELEM(job_fields)};
const struct vtable vt_keys_validate = {validate_fields, NELEM(validate_fields)};
