/* POST /api/admin/keys/{id}/test: sends the upstream's probe with one key
 * and says what came back.  The same probe as apigw-recover; it changes
 * nothing (no counters, no status). */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/clock.h"
#include "core/pool.h"
#include "core/store.h"
#include "core/probe.h"
#include "admin/handlers.h"
#include "admin/doc_tables.h"
#include "http.h"
#include "admin/resource.h"
#include "core/nelem.h"

/* The probe goes to a healthy endpoint as this process sees it: the
 * first enabled one whose breaker is closed (probe_load gives the first
 * enabled one, which apigw-recover uses).  Only a snapshot that agrees
 * with the row is asked: one made before the upstream changed (or before
 * its id was given to another upstream) keeps the row's URL. */
static void healthy_endpoint(struct req *r, struct probe_target *t)
{
    struct pool *p = pool_acquire(&r->w->app->pool);
    const char *url = NULL;
    char *copy;
    size_t i;

    for (i = 0; p != NULL && i < p->nups && url == NULL; i++)
        if (p->ups[i].id == t->upstream_id && p->ups[i].base_url != NULL && t->base_url != NULL &&
            strcmp(p->ups[i].base_url, t->base_url) == 0)
            url = pool_endpoint_healthy(&p->ups[i], clock_mono_ms());
    if (url != NULL && (copy = strdup(url)) != NULL) {
        free(t->base_url);
        t->base_url = copy;
    }
    pool_release(p);
}

void h_keys_test(struct req *r, const struct route_args *a)
{
    struct probe_target t;
    struct probe_result res;
    struct json_object *o;
    int rc = probe_load(r->w->db, r->cfg->enc_key, a->id, &t);

    if (rc == DB_EFAIL) {
        bool found = true;
        if (store_key_exists(r->w->db, a->id, &found) == DB_OK && !found)
            reply_error(r, ERR_NOT_FOUND, "key %lld does not exist", a->id);
        else
            reply_error(r, ERR_INTERNAL, "key %lld cannot be decrypted with this encryption_key",
                        a->id);
        return;
    }
    if (rc != DB_OK) {
        rs_reply_db_error(r, err_from_db(rc), "");
        return;
    }
    if (t.method == NULL || t.path == NULL) {
        reply_error(r, ERR_INVALID_FIELD,
                    "probe_path: upstream %lld has no probe; set its probe_method and probe_path",
                    t.upstream_id);
        probe_target_free(&t);
        return;
    }
    healthy_endpoint(r, &t);
    probe_run(&t, &res);
    o = json_object_new_object();
    json_object_object_add(o, "key_id", json_object_new_int64(t.key_id));
    json_object_object_add(o, "key_masked", json_object_new_string(t.masked));
    json_object_object_add(o, "ok", json_object_new_boolean(res.ok));
    json_object_object_add(o, "status", json_object_new_int(res.status));
    json_object_object_add(o, "latency_ms", json_object_new_int64(res.latency_ms));
    json_object_object_add(o, "error",
                           res.error[0] != '\0' ? json_object_new_string(res.error) : NULL);
    probe_target_free(&t);
    reply_json(r, 200, o);
}

/* The answer of the key test, for the OpenAPI document
 * (admin/doc_tables.h): the key masked, never its value. */
static const struct vfield test_answer[] = {
    {.name = "key_id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "key_masked", .type = VT_STRING, .flags = VF_READONLY},
    {.name = "ok", .type = VT_BOOL, .flags = VF_READONLY},
    {.name = "status", .type = VT_INT, .flags = VF_READONLY},
    {.name = "latency_ms", .type = VT_INT, .flags = VF_READONLY},
    {.name = "error", .type = VT_STRING, .flags = VF_READONLY | VF_NULLABLE},
};
const struct vtable vt_key_test = {test_answer, NELEM(test_answer)};
