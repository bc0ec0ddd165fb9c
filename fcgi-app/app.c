#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

/* A configuration and the number of references to it. */
struct counted_config {
    atomic_int refs;
    struct config c;
};

static struct counted_config *counted(const struct config *c)
{
    return (struct counted_config *)((const char *)c - offsetof(struct counted_config, c));
}

const struct config *app_config_load(const char *path, char *err, size_t errlen)
{
    struct counted_config *cc = calloc(1, sizeof(*cc));

    if (cc == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (config_load(&cc->c, path, err, errlen) != 0) {
        free(cc);
        return NULL;
    }
    atomic_init(&cc->refs, 1);
    return &cc->c;
}

const struct config *app_config_acquire(struct app *app)
{
    const struct config *c;

    pthread_mutex_lock(&app->cfg_lock);
    c = app->cfg;
    if (c != NULL)
        atomic_fetch_add_explicit(&counted(c)->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&app->cfg_lock);
    return c;
}

void app_config_release(const struct config *c)
{
    struct counted_config *cc;

    if (c == NULL)
        return;
    cc = counted(c);
    if (atomic_fetch_sub_explicit(&cc->refs, 1, memory_order_acq_rel) == 1) {
        config_free(&cc->c);
        free(cc);
    }
}

void app_config_set(struct app *app, const struct config *c)
{
    const struct config *old;

    if (c != NULL)
        atomic_fetch_add_explicit(&counted(c)->refs, 1, memory_order_relaxed);
    pthread_mutex_lock(&app->cfg_lock);
    old = app->cfg;
    app->cfg = c;
    pthread_mutex_unlock(&app->cfg_lock);
    app_config_release(old);
}

bool app_inflight_enter(struct app *app, long long max)
{
    if (atomic_fetch_add(&app->inflight, 1) < max)
        return true;
    atomic_fetch_sub(&app->inflight, 1);
    atomic_fetch_add(&app->overloaded, 1);
    return false;
}

void app_inflight_leave(struct app *app)
{
    atomic_fetch_sub(&app->inflight, 1);
}

void worker_seed(struct worker *w)
{
    if (getrandom(&w->rng, sizeof(w->rng), 0) != (ssize_t)sizeof(w->rng))
        w->rng = (uint64_t)(uintptr_t)w ^ 0x9e3779b97f4a7c15ull;
}

/* splitmix64: fast, and good enough for ids, jitter and key picks. */
uint64_t worker_random(struct worker *w)
{
    uint64_t z = (w->rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
