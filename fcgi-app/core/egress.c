/* Egress proxies: the sealed lists opened, the choice of an attempt's
 * proxy, and the rest of proxies that fail (core/egress.h). */
#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/egress.h"

/* Proxies whose failures are remembered; past it the least recently
 * failed is forgotten. */
#define REST_SLOTS 256

struct rest_slot {
    uint64_t id;
    int64_t fails[EGRESS_FAILS]; /* when the last failures were, a ring */
    unsigned next;
    int64_t until; /* monotonic ms the rest ends, 0 for none */
    int64_t last;  /* the latest failure */
};

/* Per process and outliving pool snapshots, so that a rest survives a
 * reload of the pool. */
static pthread_mutex_t rest_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rest_slot rest[REST_SLOTS];
static atomic_ullong rr_cursor;
static atomic_llong failures_total, rests_total;

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

uint64_t egress_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return mix64(h);
}

uint64_t egress_weight(long long key_id, uint64_t proxy_id)
{
    return mix64(proxy_id ^ mix64((uint64_t)key_id + 0x9e3779b97f4a7c15ULL));
}

int egress_proxy_init(struct egress_proxy *p, const char *url)
{
    memset(p, 0, sizeof(*p));
    if ((p->url = strdup(url)) == NULL)
        return -1;
    egress_url_mask(url, p->masked);
    p->id = egress_hash(p->masked);
    return 0;
}

static void proxy_wipe(struct egress_proxy *p)
{
    if (p->url != NULL) {
        crypto_wipe(p->url, strlen(p->url));
        free(p->url);
    }
    p->url = NULL;
}

void egress_set_free(struct egress_set *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        proxy_wipe(&s->p[i]);
    free(s->p);
    s->p = NULL;
    s->n = 0;
}

void egress_proxy_free(struct egress_proxy *p)
{
    if (p == NULL)
        return;
    proxy_wipe(p);
    free(p);
}

/* Decrypts n sealed bytes into a fresh string; NULL when they do not open. */
static char *open_text(const unsigned char key[32], const void *sealed, size_t n)
{
    char *plain;

    if (sealed == NULL || n < CRYPTO_OVERHEAD || (plain = malloc(n + 1)) == NULL)
        return NULL;
    if (crypto_open(key, sealed, n, plain) < 0) {
        free(plain);
        return NULL;
    }
    return plain;
}

int egress_set_open(struct egress_set *s, const unsigned char key[32], const void *sealed, size_t n,
                    const char *mode)
{
    struct json_object *arr;
    char *plain;
    size_t i, len;

    memset(s, 0, sizeof(*s));
    if (egress_mode_parse(mode, &s->mode) != 0)
        s->mode = EGRESS_NONE;
    if (sealed == NULL || n == 0)
        return 0;
    if ((plain = open_text(key, sealed, n)) == NULL)
        return -1;
    arr = json_tokener_parse(plain);
    crypto_wipe(plain, strlen(plain));
    free(plain);
    len = arr != NULL && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr)
                                                                   : 0;
    if (len > EGRESS_PROXIES_MAX)
        len = EGRESS_PROXIES_MAX;
    s->p = calloc(len + 1, sizeof(*s->p));
    for (i = 0; s->p != NULL && i < len; i++) {
        const char *u = json_object_get_string(json_object_array_get_idx(arr, i));
        if (u != NULL && egress_url_check(u) == NULL && egress_proxy_init(&s->p[s->n], u) == 0)
            s->n++;
    }
    json_object_put(arr); /* the copy inside json-c is freed unwiped: it is short-lived */
    return s->p != NULL || len == 0 ? 0 : -1;
}

int egress_proxy_open(struct egress_proxy **out, const unsigned char key[32], const void *sealed,
                      size_t n)
{
    char *plain;
    int rc = -1;

    *out = NULL;
    if (sealed == NULL || n == 0)
        return 0;
    if ((plain = open_text(key, sealed, n)) == NULL)
        return -1;
    if (egress_url_check(plain) == NULL && (*out = malloc(sizeof(**out))) != NULL) {
        rc = egress_proxy_init(*out, plain);
        if (rc != 0) {
            free(*out);
            *out = NULL;
        }
    }
    crypto_wipe(plain, strlen(plain));
    free(plain);
    return rc;
}

static struct rest_slot *slot_find(uint64_t id)
{
    size_t i;

    for (i = 0; i < REST_SLOTS; i++)
        if (rest[i].id == id && rest[i].last != 0)
            return &rest[i];
    return NULL;
}

void egress_note_failure(uint64_t id, int64_t now_ms)
{
    struct rest_slot *s;
    size_t i, n = 0;

    atomic_fetch_add(&failures_total, 1);
    pthread_mutex_lock(&rest_lock);
    if ((s = slot_find(id)) == NULL) {
        s = &rest[0];
        for (i = 0; i < REST_SLOTS; i++)
            if (rest[i].last < s->last)
                s = &rest[i];
        memset(s, 0, sizeof(*s));
        s->id = id;
    }
    s->last = now_ms;
    s->fails[s->next] = now_ms;
    s->next = (s->next + 1) % EGRESS_FAILS;
    for (i = 0; i < EGRESS_FAILS; i++)
        if (s->fails[i] != 0 && now_ms - s->fails[i] < EGRESS_WINDOW_MS)
            n++;
    if (n >= EGRESS_FAILS && s->until <= now_ms) {
        s->until = now_ms + EGRESS_REST_MS;
        atomic_fetch_add(&rests_total, 1);
        memset(s->fails, 0, sizeof(s->fails)); /* the next rest needs three new failures */
    }
    pthread_mutex_unlock(&rest_lock);
}

bool egress_resting(uint64_t id, int64_t now_ms, int64_t *until)
{
    struct rest_slot *s;
    int64_t u = 0;

    pthread_mutex_lock(&rest_lock);
    if ((s = slot_find(id)) != NULL)
        u = s->until;
    pthread_mutex_unlock(&rest_lock);
    if (until != NULL)
        *until = u;
    return u > now_ms;
}

long long egress_failures_total(void)
{
    return atomic_load(&failures_total);
}

long long egress_rests_total(void)
{
    return atomic_load(&rests_total);
}

void egress_reset_state(void)
{
    pthread_mutex_lock(&rest_lock);
    memset(rest, 0, sizeof(rest));
    pthread_mutex_unlock(&rest_lock);
}

static bool failed_here(const struct egress_try *t, uint64_t id)
{
    unsigned i;

    for (i = 0; t != NULL && i < t->nfailed; i++)
        if (t->failed[i] == id)
            return true;
    return false;
}

/* The best of s's proxies that have not failed this request, by mode:
 * first among those not resting, else the one whose rest ends first. */
static const struct egress_proxy *pick(const struct egress_set *s, long long key_id,
                                       const struct egress_try *t, int64_t now_ms)
{
    const struct egress_proxy *best = NULL, *soonest = NULL;
    uint64_t best_w = 0,
             start = s->mode == EGRESS_ROUND_ROBIN ? atomic_fetch_add(&rr_cursor, 1) : 0;
    int64_t soonest_until = 0, until;
    size_t i;

    for (i = 0; i < s->n; i++) {
        const struct egress_proxy *p = &s->p[(start + i) % s->n];
        uint64_t w;
        if (failed_here(t, p->id))
            continue;
        if (egress_resting(p->id, now_ms, &until)) {
            if (soonest == NULL || until < soonest_until) {
                soonest = p;
                soonest_until = until;
            }
            continue;
        }
        if (s->mode == EGRESS_ROUND_ROBIN)
            return p; /* the first usable one from the cursor on */
        w = egress_weight(key_id, p->id);
        if (best == NULL || w > best_w) {
            best = p;
            best_w = w;
        }
    }
    return best != NULL ? best : soonest;
}

const struct egress_proxy *egress_choose(const struct egress_set *s, const struct egress_proxy *own,
                                         long long key_id, const struct egress_try *t,
                                         int64_t now_ms, bool *none_left)
{
    const struct egress_proxy *p;

    *none_left = false;
    if (own != NULL) {
        if (!failed_here(t, own->id))
            return own;
        *none_left = true;
        return NULL;
    }
    if (s == NULL || s->mode == EGRESS_NONE)
        return NULL;
    /* With a mode but no proxy (its list did not decrypt) nothing leaves
     * directly: the gateway's own address stays hidden. */
    p = s->n > 0 ? pick(s, key_id, t, now_ms) : NULL;
    if (p == NULL)
        *none_left = true;
    return p;
}
