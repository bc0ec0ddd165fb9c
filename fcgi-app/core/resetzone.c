/* Daily reset instants per time zone (core/resetzone.h). */
#include "core/resetzone.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core/pool.h"

#define ZONE_DIR "/usr/share/zoneinfo"
/* Zones kept loaded; a deployment uses a handful.  Past this, a zone is
 * loaded for each question and freed after. */
#define CACHE_MAX 64

/* Append-only: an entry is written, then published by raising ncache
 * (release); readers scan the published ones without the lock (acquire), so
 * a lookup on the request path costs no lock.  Writers take the lock. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tzone *cache[CACHE_MAX];
static atomic_size_t ncache;

static char default_tz[RESET_TZ_MAX + 1] = "UTC";
static int default_hour;

static struct tzone *cached(const char *name)
{
    size_t i, n = atomic_load_explicit(&ncache, memory_order_acquire);

    for (i = 0; i < n; i++)
        if (strcmp(cache[i]->name, name) == 0)
            return cache[i];
    return NULL;
}

/* The loaded zone name, from the cache or the file (*owned: the caller
 * frees it).  Zones in the cache are never changed or freed. */
static struct tzone *zone(const char *name, bool *owned)
{
    struct tzone *z, *other;
    size_t n;

    *owned = false;
    if ((z = cached(name)) != NULL || (z = tzif_load(ZONE_DIR, name)) == NULL)
        return z;
    pthread_mutex_lock(&cache_lock);
    n = atomic_load_explicit(&ncache, memory_order_relaxed);
    if ((other = cached(name)) != NULL) { /* another thread was first */
        tzif_free(z);
        z = other;
    } else if (n < CACHE_MAX) {
        cache[n] = z;
        atomic_store_explicit(&ncache, n + 1, memory_order_release);
    } else {
        *owned = true;
    }
    pthread_mutex_unlock(&cache_lock);
    return z;
}

bool reset_zone_known(const char *tz)
{
    struct tzone *z;

    /* A zone only checked (a save that names it, valid or not) is not
     * cached: the cache is for the zones resets are computed in, and
     * checks must not fill it with names nobody uses.  The pool snapshot's
     * first question about a saved zone caches it. */
    if (tz == NULL)
        return false;
    if (cached(tz) != NULL)
        return true;
    if ((z = tzif_load(ZONE_DIR, tz)) == NULL)
        return false;
    tzif_free(z);
    return true;
}

int reset_zone_set_default(const char *tz, int hour)
{
    if (!reset_zone_known(tz) || hour < 0 || hour > 23)
        return -1;
    snprintf(default_tz, sizeof(default_tz), "%s", tz);
    default_hour = hour;
    return 0;
}

/* The zone of (tz), the global one in its place when it is not set or
 * cannot be loaded; NULL only when neither loads. */
static struct tzone *zone_or_default(const char *tz, bool *owned)
{
    struct tzone *z = tz != NULL && tz[0] != '\0' ? zone(tz, owned) : NULL;

    return z != NULL ? z : zone(default_tz, owned);
}

/* The reset on local day (days since 1970) at hour. */
static time_t reset_on(const struct tzone *z, int64_t day, int hour)
{
    if (z == NULL)
        return (time_t)(day * 86400 + hour * 3600);
    return (time_t)tzif_first_at_local(z, day * 86400 + (int64_t)hour * 3600);
}

/* The local day of t in z. */
static int64_t local_day(const struct tzone *z, time_t t)
{
    int64_t local = (int64_t)t + (z != NULL ? tzif_offset_at(z, t) : 0);

    return local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
}

time_t reset_next_for(const char *tz, int hour, time_t t)
{
    bool owned = false;
    struct tzone *z = zone_or_default(tz, &owned);
    int64_t d, day = local_day(z, t);
    time_t r = 0;

    if (hour < 0)
        hour = default_hour;
    for (d = day - 1; d <= day + 2; d++)
        if ((r = reset_on(z, d, hour)) > t)
            break;
    if (owned)
        tzif_free(z);
    return r;
}

time_t reset_day_for(const char *tz, int hour, time_t t, char out[16])
{
    bool owned = false;
    struct tzone *z = zone_or_default(tz, &owned);
    int64_t d, day = local_day(z, t);
    time_t r = 0, noon;
    struct tm tm;

    if (hour < 0)
        hour = default_hour;
    for (d = day + 1; d >= day - 2; d--)
        if ((r = reset_on(z, d, hour)) <= t)
            break;
    if (owned)
        tzif_free(z);
    if (out != NULL) {
        noon = (time_t)(d * 86400 + 43200);
        gmtime_r(&noon, &tm);
        strftime(out, 16, "%Y-%m-%d", &tm);
    }
    return r;
}

time_t reset_prev_for(const char *tz, int hour, time_t t)
{
    return reset_day_for(tz, hour, t, NULL);
}

time_t upstream_day_start(const struct pool_upstream *u, time_t now)
{
    return u != NULL ? reset_prev_for(u->reset_tz, u->reset_hour, now)
                     : reset_prev_for(NULL, -1, now);
}

time_t upstream_next_reset(const struct pool_upstream *u, time_t now)
{
    return u != NULL ? reset_next_for(u->reset_tz, u->reset_hour, now)
                     : reset_next_for(NULL, -1, now);
}
