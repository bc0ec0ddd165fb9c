#include "app.h"

#include <sys/random.h>

const struct config *app_config(struct app *app)
{
    return atomic_load(&app->cfg);
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
