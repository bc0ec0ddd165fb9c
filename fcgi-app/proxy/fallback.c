/* Fallback upstreams (proxy/fallback.h). */
#include "proxy/fallback.h"

#include <stdio.h>
#include <string.h>

#include "app.h"
#include "core/concurrency.h"
#include "core/pool.h"
#include "http.h"
#include "proxy/hook.h"
#include "proxy/proxy.h"

/* Whether the client may send this request to u: a request that came
 * without a token (a public upstream) may go only to a public one. */
static bool may_use(const struct proxy *px, const struct pool_upstream *u)
{
    if (!u->enabled)
        return false;
    if (u->is_public)
        return true;
    return px->token != NULL && pool_token_allows(px->token, u->id);
}

/* The first time: keeps the list of the upstream the request named, which
 * later snapshots may no longer hold. */
static void remember_list(struct proxy *px)
{
    size_t i;

    if (px->fb.named)
        return;
    px->fb.named = true;
    snprintf(px->fb.from, sizeof(px->fb.from), "%s", px->up->name);
    for (i = 0; i < px->up->nfallbacks && i < PROXY_MAX_FALLBACKS; i++)
        px->fb.ids[px->fb.n++] = px->up->fallbacks[i];
}

bool proxy_fallback_left(const struct proxy *px)
{
    return px->fb.named ? px->fb.next < px->fb.n : px->up->nfallbacks > 0;
}

bool proxy_fallback_next(struct proxy *px)
{
    remember_list(px);
    while (px->fb.next < px->fb.n) {
        struct pool_upstream *u = pool_upstream_by_id(px->pool, px->fb.ids[px->fb.next++]);
        if (u == NULL || !may_use(px, u) || !concurrency_enter(u->inflight, u->max_concurrent))
            continue;
        proxy_endpoint_done(px, 0, false, false); /* the last upstream's, if left */
        px->up = u;
        if (px->held_upstream != NULL)
            concurrency_leave(px->held_upstream);
        px->held_upstream = u->inflight;
        px->ntried = 0;
        px->ep_failed = 0;      /* bits of the named upstream's endpoints */
        px->egress.nfailed = 0; /* a proxy that failed there may reach this one */
        px->log->upstream_id = u->id;
        snprintf(px->log->fallback_from, sizeof(px->log->fallback_from), "%s", px->fb.from);
        /* The request was shaped by the named upstream's onRequest; the
         * fallback's onResponse and script leaves see it too. */
        if (px->hook == NULL && (u->script_rules || u->script != NULL))
            px->hook = hook_args_make(px, (size_t)px->r->cfg->script_body_limit);
        return true;
    }
    return false;
}
