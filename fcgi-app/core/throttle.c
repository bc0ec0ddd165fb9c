#include "core/throttle.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"

#define KEY_LEN  16 /* bytes of the salted digest kept per key */
#define NONE     UINT32_MAX
#define ADDR_MAX 64 /* bytes of a normalized address */

struct entry {
    unsigned char id[KEY_LEN];
    uint32_t failures;
    int64_t last_ms;  /* the last failure counted */
    int64_t until_ms; /* locked until then */
    uint32_t next;    /* the next entry of the same bucket */
    uint32_t older;   /* the neighbours in the order of use */
    uint32_t newer;
};

struct throttle {
    pthread_mutex_t lock;
    unsigned char salt[16];
    struct entry *entries;
    uint32_t *buckets;
    uint32_t cap, used, mask;
    uint32_t oldest, newest;
    struct throttle_stats stats;
};

struct throttle *throttle_new(size_t capacity, uint64_t seed)
{
    struct throttle *t = calloc(1, sizeof(*t));
    uint32_t nb = 16, i;

    if (capacity < 16)
        capacity = 16;
    if (t == NULL || capacity > (1u << 24))
        goto fail;
    t->cap = (uint32_t)capacity;
    while (nb < t->cap)
        nb <<= 1;
    t->mask = nb - 1;
    t->entries = calloc(t->cap, sizeof(*t->entries));
    t->buckets = malloc(nb * sizeof(*t->buckets));
    if (t->entries == NULL || t->buckets == NULL)
        goto fail;
    for (i = 0; i < nb; i++)
        t->buckets[i] = NONE;
    t->oldest = t->newest = NONE;
    for (i = 0; i < sizeof(seed); i++)
        t->salt[i] = (unsigned char)(seed >> (8 * i));
    pthread_mutex_init(&t->lock, NULL);
    return t;
fail:
    if (t != NULL) {
        free(t->entries);
        free(t->buckets);
    }
    free(t);
    return NULL;
}

void throttle_free(struct throttle *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t->entries);
    free(t->buckets);
    free(t);
}

/* Writes the address as the throttle counts it: IPv4 as is, IPv6 by its
 * /64 (one host usually holds a whole /64), anything else as given. */
static void addr_key(const char *addr, char *out, size_t outlen)
{
    unsigned char a6[16];

    if (addr == NULL)
        addr = "";
    if (strchr(addr, ':') != NULL && inet_pton(AF_INET6, addr, a6) == 1) {
        static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a6, v4mapped, sizeof(v4mapped)) == 0) {
            snprintf(out, outlen, "%u.%u.%u.%u", a6[12], a6[13], a6[14], a6[15]);
            return;
        }
        memset(a6 + 8, 0, 8);
        inet_ntop(AF_INET6, a6, out, (socklen_t)outlen);
        return;
    }
    snprintf(out, outlen, "%.*s", (int)(outlen - 1), addr);
}

/* The salted digest of a key: "a" and the address, or "p", the username
 * in lower case (the database matches usernames case-insensitively) and
 * the address. */
static void key_id(const struct throttle *t, const char *user, const char *addr,
                   unsigned char id[KEY_LEN])
{
    unsigned char text[16 + 2 + 256 + 1 + ADDR_MAX], digest[SHA256_LEN];
    size_t n = 0, i;

    memcpy(text, t->salt, sizeof(t->salt));
    n += sizeof(t->salt);
    text[n++] = user != NULL ? 'p' : 'a';
    text[n++] = '\0';
    for (i = 0; user != NULL && user[i] != '\0' && i < 256; i++)
        text[n++] = (unsigned char)tolower((unsigned char)user[i]);
    text[n++] = '\0';
    addr_key(addr, (char *)text + n, ADDR_MAX);
    n += strlen((char *)text + n);
    crypto_sha256(text, n, digest);
    memcpy(id, digest, KEY_LEN);
}

static uint32_t bucket_of(const struct throttle *t, const unsigned char id[KEY_LEN])
{
    uint32_t h;

    memcpy(&h, id, sizeof(h));
    return h & t->mask;
}

static void lru_unlink(struct throttle *t, uint32_t i)
{
    struct entry *e = &t->entries[i];

    if (e->older != NONE)
        t->entries[e->older].newer = e->newer;
    else
        t->oldest = e->newer;
    if (e->newer != NONE)
        t->entries[e->newer].older = e->older;
    else
        t->newest = e->older;
}

static void lru_push(struct throttle *t, uint32_t i)
{
    struct entry *e = &t->entries[i];

    e->older = t->newest;
    e->newer = NONE;
    if (t->newest != NONE)
        t->entries[t->newest].newer = i;
    else
        t->oldest = i;
    t->newest = i;
}

static uint32_t find(const struct throttle *t, const unsigned char id[KEY_LEN])
{
    uint32_t i = t->buckets[bucket_of(t, id)];

    while (i != NONE && memcmp(t->entries[i].id, id, KEY_LEN) != 0)
        i = t->entries[i].next;
    return i;
}

/* Takes the least recently used entry out of its bucket and the order. */
static uint32_t evict_oldest(struct throttle *t)
{
    uint32_t victim = t->oldest, *link = &t->buckets[bucket_of(t, t->entries[victim].id)];

    while (*link != victim)
        link = &t->entries[*link].next;
    *link = t->entries[victim].next;
    lru_unlink(t, victim);
    t->stats.evictions++;
    return victim;
}

/* The entry of a key, made (evicting the oldest when full) when add is
 * true; NONE otherwise.  A key idle for the window starts over. */
static uint32_t lookup(struct throttle *t, const struct throttle_limits *lim,
                       const unsigned char id[KEY_LEN], int64_t now_ms, bool add)
{
    uint32_t i = find(t, id), b;
    struct entry *e;

    if (i != NONE) {
        e = &t->entries[i];
        if (now_ms - e->last_ms >= lim->window_ms && now_ms >= e->until_ms)
            e->failures = 0, e->until_ms = 0;
        if (add) {
            lru_unlink(t, i);
            lru_push(t, i);
        }
        return i;
    }
    if (!add)
        return NONE;
    i = t->used < t->cap ? t->used++ : evict_oldest(t);
    e = &t->entries[i];
    memset(e, 0, sizeof(*e));
    memcpy(e->id, id, KEY_LEN);
    b = bucket_of(t, id);
    e->next = t->buckets[b];
    t->buckets[b] = i;
    lru_push(t, i);
    return i;
}

/* How long the key stays locked from now (0 when it is not). */
static int64_t remaining(const struct throttle *t, uint32_t i, int64_t now_ms)
{
    if (i == NONE || t->entries[i].until_ms <= now_ms)
        return 0;
    return t->entries[i].until_ms - now_ms;
}

/* Counts one failure and locks the key once it is past its free ones. */
static void count_failure(const struct throttle_limits *lim, struct entry *e, unsigned free_n,
                          int64_t now_ms)
{
    unsigned over;
    int64_t delay;

    e->failures++;
    e->last_ms = now_ms;
    if (e->failures < free_n)
        return;
    over = e->failures - free_n;
    delay = over >= 40 ? lim->max_ms : lim->base_ms << over;
    if (delay > lim->max_ms || delay <= 0)
        delay = lim->max_ms;
    e->until_ms = now_ms + delay;
}

/* Takes back one failure counted by throttle_begin, and the lock it set. */
static void uncount(struct entry *e, unsigned free_n)
{
    if (e->failures > 0)
        e->failures--;
    if (e->failures < free_n)
        e->until_ms = 0;
}

int64_t throttle_begin(struct throttle *t, const struct throttle_limits *lim, const char *user,
                       const char *addr, int64_t now_ms)
{
    unsigned char pid[KEY_LEN], aid[KEY_LEN];
    uint32_t p, a;
    int64_t wait, aw;

    key_id(t, user != NULL ? user : "", addr, pid);
    key_id(t, NULL, addr, aid);
    pthread_mutex_lock(&t->lock);
    wait = remaining(t, lookup(t, lim, pid, now_ms, false), now_ms);
    aw = remaining(t, lookup(t, lim, aid, now_ms, false), now_ms);
    if (aw > wait)
        wait = aw;
    if (wait > 0) {
        t->stats.refused++;
    } else {
        /* The pair is made first: making the address then evicts an older key. */
        p = lookup(t, lim, pid, now_ms, true);
        a = lookup(t, lim, aid, now_ms, true);
        count_failure(lim, &t->entries[p], lim->pair_free, now_ms);
        count_failure(lim, &t->entries[a], lim->addr_free, now_ms);
    }
    pthread_mutex_unlock(&t->lock);
    return wait;
}

void throttle_end(struct throttle *t, const struct throttle_limits *lim, const char *user,
                  const char *addr, enum throttle_outcome outcome)
{
    unsigned char pid[KEY_LEN], aid[KEY_LEN];
    uint32_t p, a;

    key_id(t, user != NULL ? user : "", addr, pid);
    key_id(t, NULL, addr, aid);
    pthread_mutex_lock(&t->lock);
    /* A key evicted meanwhile is simply not found. */
    p = find(t, pid);
    a = find(t, aid);
    if (outcome == THROTTLE_FAILED) {
        t->stats.failures++;
    } else {
        if (p != NONE && outcome == THROTTLE_SUCCEEDED)
            t->entries[p].failures = 0, t->entries[p].until_ms = 0;
        else if (p != NONE)
            uncount(&t->entries[p], lim->pair_free);
        if (a != NONE)
            uncount(&t->entries[a], lim->addr_free);
    }
    pthread_mutex_unlock(&t->lock);
}

void throttle_note_busy(struct throttle *t)
{
    pthread_mutex_lock(&t->lock);
    t->stats.busy++;
    pthread_mutex_unlock(&t->lock);
}

void throttle_get_stats(struct throttle *t, struct throttle_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->lock);
    *out = t->stats;
    out->keys = t->used;
    pthread_mutex_unlock(&t->lock);
}

static pthread_mutex_t process_lock = PTHREAD_MUTEX_INITIALIZER;
static struct throttle *process_throttle;
static bool process_tried;

struct throttle *throttle_process(size_t capacity)
{
    struct throttle *t;
    uint64_t seed = 0;

    pthread_mutex_lock(&process_lock);
    if (!process_tried && capacity > 0) {
        process_tried = true;
        if (crypto_random(&seed, sizeof(seed)) == 0)
            process_throttle = throttle_new(capacity, seed);
    }
    t = process_throttle;
    pthread_mutex_unlock(&process_lock);
    return t;
}
