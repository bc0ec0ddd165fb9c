/* Keys rested for one model, as a request sees them (proxy/model_rest.h). */
#include "proxy/model_rest.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/model_block.h"
#include "core/pool.h"
#include "core/usage_scan.h"
#include "http.h"
#include "proxy/proxy.h"

_Static_assert(sizeof(((struct proxy *)0)->model_name) >= USAGE_MODEL_MAX,
               "proxy: model_name must hold a model name");

const struct pool_model *proxy_model(struct proxy *px, bool always)
{
    const char *rest = px->hook_rest != NULL ? px->hook_rest : px->rest;
    struct req *r = px->r;
    char *path;

    if (px->up == NULL || (!always && atomic_load(&px->up->model_blocks) == 0))
        return NULL;
    if (px->model_of != px->up->id) {
        /* "/" and the path, as usage_request_model reads /models/ in it. */
        rest = rest != NULL ? rest : "";
        px->model_name[0] = '\0';
        if ((path = malloc(strlen(rest) + 2)) != NULL) {
            path[0] = '/';
            memcpy(path + 1, rest, strlen(rest) + 1);
            usage_request_model(path, r->body.data, r->body.len, px->model_name, USAGE_MODEL_MAX);
            free(path);
        }
        px->model.name = px->model_name[0] != '\0' ? px->model_name : NULL;
        px->model.hash = px->model.name != NULL ? pool_model_hash(px->model.name) : 0;
        px->model_of = px->up->id;
    }
    return px->model.name != NULL ? &px->model : NULL;
}

bool proxy_model_rest(struct proxy *px, struct pool_key *k, struct model_block *b)
{
    const struct pool_model *m = proxy_model(px, true);
    time_t now = time(NULL);
    int64_t until_ms;
    bool put = false;

    if (m == NULL)
        return false;
    b->key_id = k->id;
    b->model = m->name;
    if (model_block_put(px->r->w->db, b, &put) != DB_OK)
        log_warn("rules: %s %s could not rest key %lld for a model", b->actor, b->reason, k->id);
    /* This process stops using the key for the model at once (even when
     * the database could not take it, as a key-wide rest does); the
     * others when the pool version they see moves. */
    until_ms =
        b->until > 0 ? clock_mono_ms() + (int64_t)(b->until - now) * 1000 : POOL_BLOCK_FOREVER;
    pool_key_block_here(px->up, k, m, until_ms);
    return true;
}
