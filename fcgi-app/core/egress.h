/*
 * Egress proxies (docs/API.md, "Egress proxies"): the HTTP(S) and SOCKS5
 * proxies an upstream's requests leave through.  egress_url.c checks and
 * masks their URLs; egress.c opens the sealed lists the database holds,
 * chooses the proxy of an attempt (the key's own, rendezvous hashing of the
 * key id for per_key, a cursor for round_robin) and keeps, per process,
 * which proxies rest after failing.
 *
 * A proxy URL may hold a user and password: the full URL is only ever
 * given to libcurl; everything shown or logged uses the masked form, in
 * which the password is "***".
 */
#ifndef APIGW_EGRESS_H
#define APIGW_EGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EGRESS_URL_MAX     512 /* bytes of a proxy URL, NUL not included */
#define EGRESS_MASKED_MAX  (EGRESS_URL_MAX + 4)
#define EGRESS_PROXIES_MAX 32 /* proxies of one upstream */
#define EGRESS_MASK_PASS   "***"

/* Rest: a proxy that failed EGRESS_FAILS times within EGRESS_WINDOW_MS
 * is not chosen for EGRESS_REST_MS. */
#define EGRESS_FAILS     3
#define EGRESS_WINDOW_MS 60000
#define EGRESS_REST_MS   60000

enum egress_mode { EGRESS_NONE, EGRESS_ROUND_ROBIN, EGRESS_PER_KEY };

struct egress_proxy {
    char *url;                      /* with its credentials: for libcurl only */
    char masked[EGRESS_MASKED_MAX]; /* the password as *** */
    uint64_t id;                    /* hash of the masked form: who it is */
};

/* An upstream's proxies and how they are chosen. */
struct egress_set {
    enum egress_mode mode;
    struct egress_proxy *p;
    size_t n;
};

/* What one request has tried: the proxies that failed it. */
struct egress_try {
    const struct egress_proxy *cur; /* the proxy of the attempt running, NULL for none */
    uint64_t failed[EGRESS_PROXIES_MAX + 1];
    unsigned nfailed;
    bool cause; /* the attempt failed at its proxy (transport cause "proxy") */
};

/* Checks a proxy URL: scheme http, https, socks5 or socks5h, an optional
 * user[:password]@, a host and optional port, nothing after but an
 * optional "/".  Returns NULL, or why it is refused (a constant). */
const char *egress_url_check(const char *url);

/* Writes the masked form of a URL that egress_url_check accepted: its
 * password, if any, replaced by ***.  out holds EGRESS_MASKED_MAX bytes. */
void egress_url_mask(const char *url, char out[EGRESS_MASKED_MAX]);

/* Whether a URL's password is the mask itself (a masked value sent back). */
bool egress_url_is_masked(const char *url);

/* Rewrites an attempt's error text (cap bytes) that went through proxy p:
 * its password, should libcurl have quoted it, becomes ***, and with
 * cause the text says that the proxy failed, naming it masked. */
void egress_describe(const struct egress_proxy *p, bool cause, char *text, size_t cap);

/* Parses a proxy_mode; returns 0, or -1 when it is not one. */
int egress_mode_parse(const char *s, enum egress_mode *out);

/* The rendezvous weight of a key on a proxy: the key goes to the proxy
 * with the highest weight among those it may use, so that taking a proxy
 * away moves only the keys it had. */
uint64_t egress_weight(long long key_id, uint64_t proxy_id);

/* A stable 64-bit hash of a string (FNV-1a, mixed). */
uint64_t egress_hash(const char *s);

/* Fills p (its url malloc'ed) from one full URL. Returns 0 or -1. */
int egress_proxy_init(struct egress_proxy *p, const char *url);

/* Opens a sealed JSON array of URLs (as the admin API stores it) into s,
 * whose mode is set from mode.  n bytes at sealed; NULL or 0 bytes is an
 * empty list.  Returns 0, or -1 when it cannot be decrypted or parsed (s
 * is then empty). */
int egress_set_open(struct egress_set *s, const unsigned char key[32], const void *sealed, size_t n,
                    const char *mode);

/* Opens a key's sealed proxy URL into a new proxy (*out NULL when none).
 * Returns 0 or -1. */
int egress_proxy_open(struct egress_proxy **out, const unsigned char key[32], const void *sealed,
                      size_t n);

/* Wipes and frees the URLs of s. */
void egress_set_free(struct egress_set *s);

/* Wipes and frees a proxy made by egress_proxy_open. */
void egress_proxy_free(struct egress_proxy *p);

/* The proxy an attempt with key key_id goes through: the key's own
 * (own != NULL) unless it failed this request; else by the set's mode
 * among its proxies that have not failed this request (t may be NULL),
 * preferring those that do not rest; when all of them rest, the one whose
 * rest ends first.  *none_left is set when proxies are configured but
 * every one failed this request.  Returns NULL for a direct connection. */
const struct egress_proxy *egress_choose(const struct egress_set *s, const struct egress_proxy *own,
                                         long long key_id, const struct egress_try *t,
                                         int64_t now_ms, bool *none_left);

/* Records a failure of proxy id at now_ms (a rest may begin). */
void egress_note_failure(uint64_t id, int64_t now_ms);

/* Whether proxy id rests at now_ms; *until (may be NULL) gets its end. */
bool egress_resting(uint64_t id, int64_t now_ms, int64_t *until);

/* Failures at egress proxies, and rests they began, in this process
 * (for /metrics). */
long long egress_failures_total(void);
long long egress_rests_total(void);

/* Forgets every proxy's failures (for tests). */
void egress_reset_state(void);

#endif
