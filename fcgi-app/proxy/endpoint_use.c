/* The endpoint of each attempt (docs/API.md, "Endpoints"): chosen apart
 * from the key, the URL built from it, and its breaker told what the
 * attempt came to. */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "core/clock.h"
#include "core/endpoint.h"
#include "core/log.h"
#include "core/pool.h"
#include "http.h"
#include "proxy/credential.h"
#include "proxy/path.h"
#include "proxy/proxy.h"

const char *proxy_endpoint_url(struct proxy *px, const char *base)
{
    /* A client's ?key= credential goes; so does any parameter of the name
     * the key is injected as, which the client must not set. */
    buf_reset(&px->url);
    if (proxy_build_url(&px->url, base, px->rest, px->r->query,
                        px->strip[CRED_QUERY] ? "key" : NULL, px->up->auth_query_param) != 0)
        return "the path and query are too long";
    /* Checked against the endpoint the attempt goes to. */
    if (!proxy_same_origin(buf_str(&px->url), base))
        return "the path would leave the upstream's host";
    return NULL;
}

enum err proxy_endpoint_choose(struct proxy *px)
{
    struct pool_upstream *u = px->up;
    const char *base = u->base_url, *why;
    int i;

    proxy_endpoint_done(px, 0, false, false); /* a choice left unreported */
    px->ep_fault = false;
    px->ep_pending = false;
    i = endpoint_pick(u->eps, u->neps, &u->ep_params, px->ep_failed, worker_random(px->r->w),
                      clock_mono_ms(), &px->ep_trial);
    px->ep = i;
    if (i >= 0) {
        base = u->eps[i].url;
        px->ep_pending = u->eps[i].br != NULL;
    }
    if ((why = proxy_endpoint_url(px, base)) != NULL) {
        proxy_endpoint_done(px, 0, false, false);
        reply_error(px->r, ERR_INVALID_PATH, "%s", why);
        return ERR_INVALID_PATH;
    }
    return ERR_OK;
}

void proxy_endpoint_done(struct proxy *px, int status, bool transport, bool sent)
{
    struct pool_endpoint *e;
    enum endpoint_outcome o;

    if (!px->ep_pending)
        return;
    px->ep_pending = false;
    /* Only ever the endpoint of px->up chosen for this attempt; should the
     * upstream have gone, a trial it held ends by its time limit. */
    if (px->up == NULL || px->ep < 0 || (size_t)px->ep >= px->up->neps)
        return;
    e = &px->up->eps[px->ep];
    if (transport) {
        o = ENDPOINT_TRANSPORT;
        px->ep_fault = !sent;
        px->ep_failed |= 1u << px->ep;
    } else if (status >= 500) {
        o = ENDPOINT_5XX;
        px->ep_failed |= 1u << px->ep;
    } else if (status > 0) {
        o = ENDPOINT_OK;
    } else {
        endpoint_release(e->br, px->ep_trial);
        return;
    }
    if (endpoint_report(e->br, &px->up->ep_params, px->ep_trial, o, clock_mono_ms()))
        log_warn("proxy: endpoint %s of upstream %s failed %lld times within %lld s: its breaker "
                 "is open for %lld s",
                 e->origin, px->up->name, px->up->ep_params.threshold,
                 (long long)(px->up->ep_params.window_ms / 1000),
                 (long long)(px->up->ep_params.cooldown_ms / 1000));
}

bool proxy_endpoint_left(const struct proxy *px)
{
    const struct pool_upstream *u = px->up;

    return endpoint_any_usable(u->eps, u->neps, &u->ep_params, px->ep_failed, clock_mono_ms());
}
