#include "core/endpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* The breakers of this process, by upstream id and URL, never freed: an
 * endpoint removed from its upstream leaves a small node behind, which a
 * new endpoint of the same URL takes up again. */
#define REGISTRY_BUCKETS 1024

struct node {
    long long upstream_id;
    char *url;
    struct endpoint_breaker b;
    struct node *next;
};

static struct node *buckets[REGISTRY_BUCKETS];
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

void endpoint_breaker_init(struct endpoint_breaker *b)
{
    int i;

    memset(b, 0, sizeof(*b));
    pthread_mutex_init(&b->lock, NULL);
    for (i = 0; i < ENDPOINT_OUTCOMES; i++)
        atomic_init(&b->outcomes[i], 0);
    atomic_init(&b->open, false);
    atomic_init(&b->opened, 0);
}

static size_t bucket_of(long long id, const char *url)
{
    unsigned long long h = (unsigned long long)id * 1099511628211ull;

    for (; *url != '\0'; url++)
        h = (h ^ (unsigned char)*url) * 1099511628211ull;
    return (size_t)(h % REGISTRY_BUCKETS);
}

struct endpoint_breaker *endpoint_breaker_for(long long upstream_id, const char *url)
{
    size_t h = bucket_of(upstream_id, url);
    struct node *n;

    pthread_mutex_lock(&registry_lock);
    for (n = buckets[h]; n != NULL; n = n->next)
        if (n->upstream_id == upstream_id && strcmp(n->url, url) == 0)
            break;
    if (n == NULL && (n = calloc(1, sizeof(*n))) != NULL) {
        n->url = strdup(url);
        if (n->url == NULL) {
            free(n);
            n = NULL;
        } else {
            n->upstream_id = upstream_id;
            endpoint_breaker_init(&n->b);
            n->next = buckets[h];
            buckets[h] = n;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    if (n == NULL) {
        log_error("out of memory for the breaker of an endpoint of upstream %lld", upstream_id);
        return NULL;
    }
    return &n->b;
}

/* The failures the ring holds within the window ending at now (lock held). */
static unsigned in_window(const struct endpoint_breaker *b, const struct endpoint_params *p,
                          int64_t now)
{
    unsigned i, n = 0;

    for (i = 0; i < b->nfails; i++)
        if (b->fails[i] > now - p->window_ms)
            n++;
    return n;
}

/* Whether the trial slot is free at now (lock held). */
static bool trial_free(const struct endpoint_breaker *b, const struct endpoint_params *p,
                       int64_t now)
{
    return b->trial_ms == 0 || now - b->trial_ms >= p->trial_limit_ms;
}

enum endpoint_verdict endpoint_ask(struct endpoint_breaker *b, const struct endpoint_params *p,
                                   int64_t now)
{
    enum endpoint_verdict v = ENDPOINT_PASS;

    if (!atomic_load(&b->open))
        return ENDPOINT_PASS;
    pthread_mutex_lock(&b->lock);
    if (atomic_load(&b->open)) {
        if (now < b->open_until_ms || !trial_free(b, p, now)) {
            v = ENDPOINT_REJECT;
        } else {
            v = ENDPOINT_TRIAL;
            b->trial_ms = now > 0 ? now : 1;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return v;
}

/* Opens the breaker at now for the cooldown (lock held). */
static void open_at(struct endpoint_breaker *b, const struct endpoint_params *p, int64_t now)
{
    atomic_store(&b->open, true);
    b->open_until_ms = now + p->cooldown_ms;
    b->trial_ms = 0;
    b->nfails = b->next = 0;
}

bool endpoint_report(struct endpoint_breaker *b, const struct endpoint_params *p, bool trial,
                     enum endpoint_outcome o, int64_t now)
{
    bool opened = false;
    long long threshold = p->threshold < 1                        ? 1
                          : p->threshold > ENDPOINT_THRESHOLD_MAX ? ENDPOINT_THRESHOLD_MAX
                                                                  : p->threshold;

    atomic_fetch_add(&b->outcomes[o], 1);
    /* A success while closed changes nothing: no lock. */
    if (o == ENDPOINT_OK && !trial && !atomic_load(&b->open))
        return false;
    pthread_mutex_lock(&b->lock);
    if (atomic_load(&b->open)) {
        /* Only the trial decides: a request let through otherwise (every
         * endpoint was open) says nothing the cooldown does not. */
        if (trial) {
            if (o == ENDPOINT_OK) {
                atomic_store(&b->open, false);
                b->open_until_ms = b->trial_ms = 0;
            } else {
                open_at(b, p, now);
            }
        }
    } else if (o != ENDPOINT_OK) {
        b->fails[b->next] = now;
        b->next = (b->next + 1) % ENDPOINT_THRESHOLD_MAX;
        if (b->nfails < ENDPOINT_THRESHOLD_MAX)
            b->nfails++;
        if (in_window(b, p, now) >= (unsigned)threshold) {
            open_at(b, p, now);
            atomic_fetch_add(&b->opened, 1);
            opened = true;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return opened;
}

void endpoint_release(struct endpoint_breaker *b, bool trial)
{
    if (!trial)
        return;
    pthread_mutex_lock(&b->lock);
    b->trial_ms = 0;
    pthread_mutex_unlock(&b->lock);
}

void endpoint_view(struct endpoint_breaker *b, const struct endpoint_params *p, int64_t now,
                   struct endpoint_view *v)
{
    memset(v, 0, sizeof(*v));
    if (b == NULL)
        return;
    pthread_mutex_lock(&b->lock);
    if (atomic_load(&b->open)) {
        v->state = now < b->open_until_ms ? ENDPOINT_OPEN : ENDPOINT_HALF_OPEN;
        v->open_until_ms = b->open_until_ms;
    } else {
        v->failures = in_window(b, p, now);
    }
    pthread_mutex_unlock(&b->lock);
}

const char *endpoint_state_name(enum endpoint_state s)
{
    return s == ENDPOINT_OPEN ? "open" : s == ENDPOINT_HALF_OPEN ? "half_open" : "closed";
}

const char *endpoint_outcome_name(enum endpoint_outcome o)
{
    return o == ENDPOINT_OK ? "ok" : o == ENDPOINT_5XX ? "5xx" : "transport";
}

void endpoint_origin(const char *url, char *out, size_t size)
{
    const char *host = strstr(url, "://");
    size_t n;

    host = host != NULL ? host + 3 : url;
    n = (size_t)(host - url) + strcspn(host, "/?#");
    if (n >= size)
        n = size - 1;
    memcpy(out, url, n);
    out[n] = '\0';
}

/* Whether b would let a request through at now, without taking a trial. */
static bool lets_through(struct endpoint_breaker *b, const struct endpoint_params *p, int64_t now)
{
    bool ok;

    if (b == NULL || !atomic_load(&b->open))
        return true;
    pthread_mutex_lock(&b->lock);
    ok = !atomic_load(&b->open) || (now >= b->open_until_ms && trial_free(b, p, now));
    pthread_mutex_unlock(&b->lock);
    return ok;
}

bool endpoint_any_usable(const struct pool_endpoint *eps, size_t n, const struct endpoint_params *p,
                         uint32_t avoid, int64_t now)
{
    size_t i;

    for (i = 0; i < n && i < ENDPOINTS_MAX; i++)
        if (eps[i].enabled && !(avoid & (1u << i)) && lets_through(eps[i].br, p, now))
            return true;
    return false;
}

/* The weighted choice among the enabled endpoints outside skip that let a
 * request through; -1 when there is none. */
static int weighted(const struct pool_endpoint *eps, size_t n, const struct endpoint_params *p,
                    uint32_t skip, uint64_t rnd, int64_t now)
{
    long long total = 0, w[ENDPOINTS_MAX];
    size_t i;

    for (i = 0; i < n; i++) {
        w[i] = 0;
        if (eps[i].enabled && !(skip & (1u << i)) && lets_through(eps[i].br, p, now))
            w[i] = eps[i].weight > 0 ? eps[i].weight : 1;
        total += w[i];
    }
    if (total == 0)
        return -1;
    rnd %= (uint64_t)total;
    for (i = 0; i < n; i++) {
        if (rnd < (uint64_t)w[i])
            return (int)i;
        rnd -= (uint64_t)w[i];
    }
    return -1;
}

/* The enabled endpoint whose cooldown ends first (outside avoid when one
 * is), for a request when every one is open. */
static int soonest(const struct pool_endpoint *eps, size_t n, uint32_t avoid)
{
    int best = -1, pass;
    int64_t best_until = 0;
    size_t i;

    for (pass = 0; pass < 2 && best < 0; pass++) {
        for (i = 0; i < n; i++) {
            int64_t until = 0;
            if (!eps[i].enabled || (pass == 0 && (avoid & (1u << i))))
                continue;
            if (eps[i].br != NULL) {
                pthread_mutex_lock(&eps[i].br->lock);
                until = eps[i].br->open_until_ms;
                pthread_mutex_unlock(&eps[i].br->lock);
            }
            if (best < 0 || until < best_until) {
                best = (int)i;
                best_until = until;
            }
        }
    }
    return best;
}

int endpoint_pick(const struct pool_endpoint *eps, size_t n, const struct endpoint_params *p,
                  uint32_t avoid, uint64_t rnd, int64_t now, bool *trial)
{
    uint32_t refused = 0;
    int pass;
    size_t tries;

    *trial = false;
    if (n > ENDPOINTS_MAX)
        n = ENDPOINTS_MAX;
    /* First outside avoid; then the failed ones too, when nothing else is
     * left.  A breaker may refuse between the look and the ask (another
     * worker took the trial): that endpoint is left out and the choice
     * made again. */
    for (pass = 0; pass < 2; pass++) {
        for (tries = 0; tries <= n; tries++) {
            int i = weighted(eps, n, p, refused | (pass == 0 ? avoid : 0), rnd, now);
            enum endpoint_verdict v;
            if (i < 0)
                break;
            v = eps[i].br != NULL ? endpoint_ask(eps[i].br, p, now) : ENDPOINT_PASS;
            if (v != ENDPOINT_REJECT) {
                *trial = v == ENDPOINT_TRIAL;
                return i;
            }
            refused |= 1u << i;
            rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
        }
    }
    return soonest(eps, n, avoid);
}
