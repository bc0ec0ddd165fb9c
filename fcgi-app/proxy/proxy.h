/*
 * The proxy: /proxy/{upstream}/{path...}.  proxy.c runs a request (guards,
 * key choice and reservation, retries, the log entry); credential.c finds
 * the client token; attempt.c runs one attempt with libcurl and streams or
 * holds the answer, sending the request upstream_req.c builds and reading
 * the answer's head with upstream_head.c.  path.c guards the path and
 * builds the upstream URL; rules.c applies the rules to each attempt.
 */
#ifndef APIGW_PROXY_H
#define APIGW_PROXY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/egress.h"
#include "core/err.h"
#include "core/pool.h"
#include "core/limit_store.h"
#include "core/reqlog.h"
#include "core/script.h"
#include "core/script_obj.h"
#include "core/usage_scan.h"
#include "proxy/credential.h"
#include "route.h"

struct req;
struct pool;
struct pool_upstream;
struct pool_key;
struct pool_token;
struct json_object;
struct hook_args;

#define PROXY_MAX_TRIED     16
#define PROXY_MAX_FALLBACKS 8
#define PROXY_TRAIL_MAX     16 /* attempts kept for request_attempts (proxy/trail.h) */

/* One client request on its way through the proxy. */
struct proxy {
    struct req *r;
    struct pool *pool;
    struct pool_upstream *up;
    const struct pool_token *token;
    struct pool *token_pool; /* the snapshot token points into, held */
    bool strip[CRED_PLACES]; /* places that held a client token: never forwarded */
    char name[72];
    const char *rest; /* the raw path after the upstream name, NULL when none */
    struct buf url;   /* the upstream URL, without the key */
    long long tried[PROXY_MAX_TRIED];
    unsigned ntried;
    int64_t deadline_ms; /* monotonic: no attempt or back-off goes past it */
    struct reqlog_entry *log;
    struct pool_key *last_key;    /* of the last attempt, NULL before one */
    struct json_object *fired;    /* names of the rules that fired */
    struct json_object *messages; /* messages of `log` actions */
    struct json_object *trail;    /* the attempts noted (proxy/trail.h), NULL for none */
    size_t trail_fired;           /* the names of px->fired the trail has seen */
    int saved_status;             /* the last error answer a rule retried, 0 if none */
    char saved_from[65];          /* the upstream that gave it */
    const char *answer_from;      /* X-Gateway-Upstream when not px->up (proxy.c serve) */
    struct buf saved_head, saved_body;
    /* The in-flight counts (core/concurrency.h) the request holds, NULL
     * when none: taken before the attempts, given back after them. */
    atomic_llong *held_token, *held_upstream;
    /* The upstream's script (proxy/hook.c): the arguments scripts get
     * (NULL without a script; they hold the headers onRequest set); what
     * else it changed (NULL: unchanged), owned here; whether a script
     * failed while script_fail is closed (the client then gets 502
     * script_error). */
    struct hook_args *hook;
    /* The fallbacks of the upstream the request named (proxy/fallback.c):
     * its name and list, kept at the first fallback, and the next to try. */
    struct {
        bool named;
        char from[65];
        long long ids[PROXY_MAX_FALLBACKS];
        size_t n, next;
        int attempts_before; /* attempts made on earlier upstreams */
    } fb;
    char *hook_method, *hook_rest, *hook_query;
    bool hook_failed;
    struct script_error hook_err; /* the failure, when hook_failed */
    char hook_where[16];          /* the hook that failed */
    /* Sticky keys (proxy/affinity.h): whether the request has an
     * affinity id, and its hash. */
    bool affine;
    uint64_t affinity_hash;
    /* The egress proxy of the attempt and those that failed this request
     * (core/egress.h); set by proxy.c, applied and judged by attempt.c. */
    struct egress_try egress;
    /* The endpoint of the attempt (proxy/endpoint_use.c): its index in
     * up->eps; whether it is its breaker's trial; whether its outcome is
     * still to be reported; the endpoints that failed in this request (a
     * bit each); whether the last attempt failed by the endpoint's fault
     * (no connection: nothing was sent), which never counts against the
     * key. */
    int ep;
    bool ep_trial, ep_pending, ep_fault;
    uint32_t ep_failed;
    /* The model the request sends (proxy/model_rest.h), found once per
     * upstream when needed: model_of is that upstream's id (0: not yet). */
    struct pool_model model;
    long long model_of;
    char model_name[128];
    /* Limit windows (proxy/limit_check.h): whether the client token's
     * windows were reserved (with the first key) or refused the request,
     * and why; the counters the answer's tokens go to: the client token's,
     * and those of the key lim_key_id. */
    bool lim_token_done, lim_token_refused;
    struct limit_refusal lim_token_ref;
    struct limit_held lim_token, lim_key;
    long long lim_key_id;
    /* Every counter the last reservation counted the request in, to take
     * it back when that key's lease then refuses it (proxy_limits_undo). */
    struct limit_held lim_counted_token, lim_counted_key;
};

/* What one attempt came to. */
enum outcome {
    OUTCOME_DONE,       /* an answer went (or is going) to the client */
    OUTCOME_RETRY,      /* failed before any byte reached the client: try another key */
    OUTCOME_CLIENT_GONE /* the client left; nothing more to do */
};

/* The result of an attempt that failed. */
struct attempt_error {
    enum err code;  /* ERR_UPSTREAM_ERROR or ERR_UPSTREAM_TIMEOUT */
    char text[256]; /* for the log and the client; key values masked */
};

/* The route of /proxy/{upstream}/{path...}: runs one client request. */
void h_proxy(struct req *r, const struct route_args *a);

/* The attempt asks the request: whether another attempt could follow this
 * one (attempt_no counts from 1): attempts and time are left, and another
 * key is worth trying, or a fallback upstream is left.  A rule's retry is
 * honoured only then; otherwise the answer goes to the client as it is.
 * The call goes from attempt.c back
 * into proxy.c because the attempt is where a rule asks for a retry, and it
 * must know before the answer goes out (a streamed answer cannot be taken
 * back), while only the request knows the deadline, the keys tried and the
 * retries left. */
bool proxy_can_retry(struct proxy *px, int attempt_no);

/* A lookup missed (snapshot.c): the pool may have changed since the
 * snapshot was made (a token, upstream or key created a moment ago).
 * Waits for a version check that began after now (shared with the other
 * requests that miss meanwhile) and, when the current snapshot is not the
 * one px->pool holds, takes it (proxy_take_snapshot).  Returns true when it
 * took a new snapshot. */
bool proxy_refresh_after_miss(struct proxy *px);

/* Key reservation (key_reserve.c).  Whether a key has a limit that only
 * the database can enforce exactly. */
bool proxy_key_is_limited(const struct pool_key *k);

/* Picks a key of px->up and reserves it (a unit of the process's lease
 * when it has limits); with may_refresh, a first attempt that finds none
 * looks once for a newer snapshot.  NULL with *e set when there is none. */
struct pool_key *proxy_reserve_key(struct proxy *px, enum err *e, bool may_refresh);

/* The first key of the request: proxy_reserve_key, and on an upstream with
 * queue_wait_ms the wait for one (proxy/key_wait.h); *refused when
 * max_waiting refused the wait. */
struct pool_key *proxy_first_key(struct proxy *px, enum err *e, bool *refused);

/* Takes the snapshot now (a reference the caller passes on) into px in
 * place of the one it holds, and finds the upstream the request is on in
 * it (px->up NULL when it is gone). */
void proxy_take_snapshot(struct proxy *px, struct pool *now);

/* Adds the headers every answer of an attempt carries: X-Gateway-Attempts
 * (attempts counts the request's attempts) and X-Gateway-Upstream (the
 * upstream that answered, a fallback's name when one served). */
void proxy_answer_headers(struct proxy *px, int attempts);

/* Runs one attempt (attempt.c): sends the request to the upstream with key
 * k and streams the answer to the client, or holds an error answer so that
 * a rule may still retry it.  attempt_no counts from 1 (it goes in
 * X-Gateway-Attempts).  Returns what the attempt came to; err says why an
 * attempt is to be retried, or how an answer was cut off. */
enum outcome proxy_attempt(struct proxy *px, struct pool_key *k, int attempt_no,
                           struct attempt_error *err);

/* The endpoint of the next attempt (endpoint_use.c): chosen by weight
 * among the usable ones (core/endpoint.h), the upstream URL built from it
 * into px->url and checked to stay on its origin.  Answers 400
 * invalid_path and returns it when the path would leave the host. */
enum err proxy_endpoint_choose(struct proxy *px);

/* Builds the upstream URL of the request on base (an endpoint's URL or
 * base_url) into px->url, without the key: the path after the upstream's
 * name and the query less a client's ?key= and the key's own parameter.
 * Returns NULL, or why the request may not go (too long, or the path
 * would leave base's host). */
const char *proxy_endpoint_url(struct proxy *px, const char *base);

/* The shaping preview (shape_preview.c; fcgi-app/shape_preview.h): runs
 * the request's shaping, URL and headers on the sample, with `<key>` for
 * the key, and answers 200 with what would go upstream or the refusal;
 * 400 for a path the proxy refuses. */
struct shape_sample;
void proxy_shape_preview(struct shape_sample *s);

/* Reports what the attempt came to, once: an answer's status (0 for none),
 * or a transport failure, and whether the request was sent.  A transport
 * failure before anything was sent is the endpoint's fault (ep_fault).
 * Neither an answer nor a transport failure (the client left first, no
 * time was left) gives back the breaker's trial. */
void proxy_endpoint_done(struct proxy *px, int status, bool transport, bool sent);

/* After the endpoint's fault: whether another endpoint is worth trying
 * with the same key. */
bool proxy_endpoint_left(const struct proxy *px);

#endif
