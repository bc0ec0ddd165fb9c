/*
 * The pool cache: upstreams, their usable keys (decrypted) and client
 * tokens, loaded from the database into an immutable snapshot that every
 * worker reads without a lock.  A snapshot is rebuilt when the database's
 * pool version moves (checked at most every pool_refresh_ms) and, so that
 * remaining quotas stay close, at least every POOL_MAX_AGE_MS.
 *
 * Nothing here is the only copy of anything: key status, quotas and rpm
 * windows are decided by atomic statements in the database (quota.h); the
 * snapshot only says which keys are worth trying.
 */
#ifndef APIGW_POOL_H
#define APIGW_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/crypto.h"
#include "core/egress.h"
#include "core/endpoint.h"
#include "core/header_rules.h"
#include "core/pace.h"
#include "core/script.h"
#include "core/tzif.h"
#include "core/price.h"
#include "core/usage_scan.h"

struct db;
struct config;
struct rule;

#define POOL_MAX_AGE_MS 30000

enum strategy { STRATEGY_ROUND_ROBIN, STRATEGY_RANDOM, STRATEGY_WEIGHTED };

/* Where a request's affinity id comes from (core/pool_affinity.c). */
enum affinity { AFFINITY_NONE, AFFINITY_HEADER, AFFINITY_TOKEN, AFFINITY_BODY };

/* Affinity ids longer than this are hashed on their first bytes. */
#define AFFINITY_ID_MAX 256

/* A key rested for one model (docs/API.md "Model-scoped key state"): the
 * model as sent upstream (compared byte for byte), its hash, and the
 * monotonic ms at which the rest ends (POOL_BLOCK_FOREVER: until enabled). */
struct pool_block {
    char *model;
    uint64_t hash;
    int64_t until_ms;
    bool exhausted;
};

#define POOL_BLOCK_FOREVER INT64_MAX
#define POOL_LOCAL_BLOCKS  4

/* The model a request sends upstream, for keys rested for one model; name
 * NULL (or no pool_model at all) for a request without one. */
struct pool_model {
    const char *name;
    uint64_t hash;
};

struct pool_key {
    long long id;
    long long upstream_id;
    char *value; /* the decrypted key: only ever sent to its upstream */
    size_t value_len;
    char masked[MASK_MAX];
    long long weight;
    long long daily_quota; /* 0 = unlimited */
    long long used_today;  /* as loaded */
    long long rpm_limit;
    long long daily_token_quota; /* 0 = none (docs/USAGE.md) */
    long long priority;          /* its tier: higher tiers are tried first (pool_pick.c) */
    char *name;                  /* NULL when it has none */
    atomic_llong used_here;      /* reservations this process made since loading */
    atomic_llong skip_until_ms;  /* monotonic ms before which the key is not tried */
    /* Monotonic ms until which a full limit window of every model sets the
     * key aside in this process (proxy/limit_check.c): its own field, so
     * that the Retry-After says the window's end, not the daily reset. */
    atomic_llong window_until_ms;

    /* A key loaded while it rests (disabled until a time, on an upstream
     * without a probe): the monotonic ms at which its rest is over, when
     * it is worth trying again; 0 for an active key.  woken is set by the
     * first request that uses it after that, which marks it active in the
     * database (pool_key_wake_due). */
    int64_t rest_until_ms;
    atomic_bool woken;

    /* Its own egress proxy (core/egress.h), NULL to follow the upstream's. */
    struct egress_proxy *proxy;

    /* Rests for one model (pool_blocks.c): those loaded with the snapshot,
     * and those this process made since (a hash and a monotonic end each,
     * POOL_LOCAL_BLOCKS at most), so that it stops using the key for that
     * model at once. */
    struct pool_block *blocks;
    size_t nblocks;
    atomic_ullong local_hash[POOL_LOCAL_BLOCKS];
    atomic_llong local_until[POOL_LOCAL_BLOCKS];
    atomic_uint local_next;
    /* Its limit windows (core/limits.h), NULL when it has none. */
    struct limit_set *limits;
    /* The budget its upstream's answers report (core/pace.h), on an
     * upstream with pace_by_headers (paced) only. */
    bool paced;
    struct pace_state pace;
};

struct shape;
struct limit_set;

struct pool_upstream {
    long long id;
    char *name;
    char *base_url;
    char *auth_header;
    char *auth_template;
    char *auth_query_param; /* NULL: inject into auth_header */
    char *probe_method;     /* NULL when no probe is set */
    char *probe_path;
    enum strategy strategy;
    long long timeout_ms, connect_timeout_ms, max_retries, retry_backoff_ms;
    long long auto_disable_max_pct;
    bool enabled, is_public;
    struct pool_key *keys; /* the active keys, and resting ones (rest_until_ms) */
    size_t nkeys, keys_cap;
    long long keys_total; /* keys of any status */
    bool body_rules;      /* an enabled rule for it looks at the body */
    bool script_rules;    /* an enabled rule for it has a script leaf */
    atomic_ullong *rr;    /* round-robin cursor; outlives snapshots */

    /* Requests in flight in this process (core/concurrency.h): the limit
     * (0 = unlimited) and the count, which outlives snapshots. */
    long long max_concurrent;
    atomic_llong *inflight;

    /* The upstream's script (core/upscript.h), NULL when it has none. */
    struct upscript *script;

    /* How its answers report token usage (core/usage_scan.h); the paths
     * only for USAGE_FORMAT_CUSTOM, else NULL. */
    enum usage_format usage_format;
    struct usage_paths *usage_paths;

    /* stream_peek (proxy/peek.h): hold a 2xx event stream until its first
     * event, peek_bytes held or peek_ms passed; 0 for a limit not used
     * (both 0: no peek). */
    long long peek_bytes, peek_ms;

    /* For the wait until a key is usable (core/pool_wait.c): how long a
     * request may wait for one (0: it does not), the keys exhausted until
     * the quota reset, and the monotonic ms at which the earliest rest of a
     * disabled key ends (0: none has a time). */
    long long queue_wait_ms;
    long long keys_exhausted;
    int64_t next_rest_end_ms;

    /* Rests for one model on its keys: loaded, plus those this process
     * made since; 0 lets a request skip finding its model. */
    atomic_llong model_blocks;

    /* model_allow, model_map and body_set (core/shape.h), NULL when none
     * is set or what is stored does not parse. */
    struct shape *shape;

    /* fallback_upstreams: ids, in order (proxy/fallback.c). */
    long long *fallbacks;
    size_t nfallbacks;
    /* Sticky keys (core/pool_affinity.c): where the affinity id comes
     * from, the compiled path of a body id (NULL otherwise), and the ids
     * of the keys an id may call its preferred one: the keys active or
     * disabled in the highest tier of those (homes, nhomes). */
    enum affinity affinity;
    struct jsonpath *affinity_path;
    long long *homes;
    size_t nhomes;
    /* Requests with an affinity id that another key [0] or the preferred
     * key [1] served, in this process; outlives snapshots. */
    atomic_llong *affinity_served;
    /* Egress proxies and proxy_mode (core/egress.h; pool_egress.c). */
    struct egress_set egress;
    /* Its base URLs (core/endpoint.h): the endpoints field, or base_url
     * alone when it has none; never empty after a load.  Each breaker
     * outlives snapshots. */
    struct pool_endpoint *eps;
    size_t neps;
    struct endpoint_params ep_params;
    /* Header shaping (proxy/shape_headers.h), parsed once here. */
    struct header_rules header_rules;
    bool strip_forwarding;
    /* Its own daily reset (core/resetzone.h): the hour, -1 for the global
     * one, and the zone, "" for the global one. */
    int reset_hour;
    char reset_tz[TZIF_NAME_MAX + 1];
    /* pace_by_headers (core/pace.h). */
    bool pace_by_headers;
};

struct pool_token {
    unsigned char hash[SHA256_LEN];
    long long id;
    char *name;
    long long *upstreams; /* allowed upstream ids; none = all */
    size_t nupstreams;
    long long rpm_limit, daily_quota;
    long long daily_token_quota; /* 0 = none (docs/USAGE.md) */
    long long priority;          /* its tier: higher tiers are tried first (pool_pick.c) */
    time_t expires_at;           /* 0 = never */
    bool enabled;

    /* Requests in flight in this process (core/concurrency.h): the limit
     * (0 = unlimited) and the count, which outlives snapshots. */
    long long max_concurrent;
    atomic_llong *inflight;
    /* Its limit windows (core/limits.h), NULL when it has none. */
    struct limit_set *limits;
};

struct pool {
    atomic_int refs;
    unsigned long long version;
    int64_t loaded_ms;
    struct pool_upstream *ups; /* sorted by name */
    size_t nups;
    struct pool_token *tokens; /* sorted by hash */
    size_t ntokens;
    struct rule **rules; /* compiled, by priority then id */
    size_t nrules;
    struct price *prices; /* core/price.h */
    size_t nprices;
};

struct pool_cache {
    pthread_mutex_t lock; /* guards cur */
    struct pool *cur;
    pthread_cond_t changed;     /* broadcast (under lock) when cur changes */
    pthread_mutex_t build_lock; /* one rebuild at a time */
    atomic_llong checked_ms;    /* when the version was last compared */
    const unsigned char *enc_key;

    /* Checks asked for by lookups that missed (pool_refresh_fresh): one at
     * a time; fresh_started and fresh_done count them, fresh_begun says
     * whether the last started one has sent its query. */
    pthread_mutex_t fresh_lock;
    pthread_cond_t fresh_cv;
    unsigned long long fresh_started, fresh_done;
    bool fresh_running, fresh_begun;
    int fresh_rc;
    int64_t fresh_query_us;       /* when the last one sent its query */
    atomic_ullong version_checks; /* version queries this process made */
    /* The limits upstream scripts are compiled under (set before the first
     * refresh; script_compile runs a script's top level). */
    struct script_limits script_lim;
};

/* Prepares an empty cache; enc_key (32 bytes) must outlive it. */
void pool_cache_init(struct pool_cache *c, const unsigned char *enc_key);

/* Frees the current snapshot (no worker may still hold one). */
void pool_cache_free(struct pool_cache *c);

/* Takes a reference to the current snapshot (NULL before the first load).
 * Release it with pool_release. */
struct pool *pool_acquire(struct pool_cache *c);
void pool_release(struct pool *p);

/* Takes another reference to p (which the caller holds); returns p. */
struct pool *pool_retain(struct pool *p);

/* Compares the database's pool version with the snapshot's, when the last
 * comparison is older than min_interval_ms, and rebuilds on a change (or
 * when the snapshot is older than POOL_MAX_AGE_MS).  Returns 1 when a new
 * snapshot was installed, 0 when none was needed, or a DB_E* error. */
int pool_refresh(struct pool_cache *c, struct db *db, long long min_interval_ms);

/* For a lookup that missed: waits until a version check whose query was
 * sent after this call began has ended, rebuilding on a change (as
 * pool_refresh).  Callers that miss together share one check, and one
 * check runs at a time: a check whose query is already out is too early,
 * so they wait for the next one, which one of them runs with its db.  A
 * check sends its query no sooner than min_gap_ms after the previous one
 * did, so a flood of misses costs the database at most one version query
 * per min_gap_ms.  Returns 0 when that check ended well (the current
 * snapshot then holds everything committed before the call) or its DB_E*
 * error. */
int pool_refresh_fresh(struct pool_cache *c, struct db *db, long long min_gap_ms);

/* Loads the egress proxies of the upstreams and keys of p (pool_egress.c).
 * Returns DB_OK or the error. */
int pool_load_egress(struct db *db, struct pool *p, const unsigned char *enc_key);

/* Lookups in a snapshot; NULL when absent. */
struct pool_upstream *pool_upstream_by_id(struct pool *p, long long id);
struct pool_upstream *pool_find_upstream(const struct pool *p, const char *name);
const struct pool_token *pool_find_token(const struct pool *p, const unsigned char *hash);

/* Whether a token may call an upstream. */
bool pool_token_allows(const struct pool_token *t, long long upstream_id);

/* Whether u has a key worth trying now that is not among the tried ids
 * (without moving the round-robin cursor). */
bool pool_has_untried(struct pool_upstream *u, const struct pool_model *m, const long long *tried,
                      size_t ntried, int64_t now_ms);

/* Picks a key of u that is worth trying now for the request's model m
 * (NULL: none; a key rested for m is not) and is not among the tried
 * ids: in the highest priority tier that has one, by the upstream's
 * strategy (pool_pick.c); NULL when there is none.  rnd is a fresh random
 * number. */
struct pool_key *pool_pick(struct pool_upstream *u, const struct pool_model *m,
                           const long long *tried, size_t ntried, uint64_t rnd, int64_t now_ms);

/* How long until a key of u that is not usable now may be for model m
 * (NULL: none): the earliest end of a rest (for m too), of a skip, of an
 * rpm minute (wall_ms: the wall clock, whose minutes the rpm windows count)
 * and, for keys exhausted, the quota reset reset_wait_ms away.  Returns -1
 * when no key of u comes back by itself. */
long long pool_next_usable_ms(const struct pool_upstream *u, const struct pool_model *m,
                              int64_t now_ms, long long wall_ms, long long reset_wait_ms);

/* Waits, without a database round trip, until the current snapshot is no
 * longer seen or until_ms (monotonic) comes.  Returns true when the
 * snapshot changed. */
bool pool_wait_change(struct pool_cache *c, const struct pool *seen, int64_t until_ms);
/* Sticky keys (core/pool_affinity.c).  The hash of an affinity id, the
 * same in every process and on every host (no random seed). */
uint64_t pool_affinity_hash(const char *id, size_t len);

/* The rendezvous score of a key for an id's hash: an id goes to the key
 * with the highest score. */
uint64_t pool_affinity_score(uint64_t id_hash, long long key_id);

/* Whether key_id is the preferred key of id_hash: the first in hash order
 * among u's homes. */
bool pool_affinity_is_home(const struct pool_upstream *u, uint64_t id_hash, long long key_id);

/* The affinity mode named s ("none", "header", "token", "body"); -1 for
 * another name. */
int pool_affinity_parse(const char *s, enum affinity *out);

/* Reads an upstream's affinity and affinity_path columns into u (an
 * unknown mode, or a body path that does not compile, reads as none). */
void pool_affinity_load(struct pool_upstream *u, const char *mode, const char *path);

/* Counts a request with an affinity id that a key served, its preferred
 * one (home) or another, for apigw_affinity_total. */
void pool_affinity_count(struct pool_upstream *u, bool home);

/* Loads the homes of every upstream of p that uses affinity. */
int pool_affinity_load_homes(struct db *db, struct pool *p);

/* Frees what pool_affinity_load and _load_homes put in u. */
void pool_affinity_free(struct pool_upstream *u);

/* Picks by affinity: in the highest tier with a usable key not among the
 * tried ids, the usable key with the highest score for id_hash (so a key
 * that is out, or tried, moves only its own ids, each to its next key in
 * hash order); NULL when there is none (pool_pick.c). */
struct pool_key *pool_pick_affine(struct pool_upstream *u, const struct pool_model *m,
                                  uint64_t id_hash, const long long *tried, size_t ntried,
                                  int64_t now_ms);
/* Fills u->eps from the stored endpoints (JSON text, NULL for none: then
 * u->base_url alone) and the breaker settings (pool_endpoints.c).
 * Returns -1 when memory ran out. */
int pool_endpoints_load(struct pool_upstream *u, const char *json, long long threshold,
                        long long window_s, long long cooldown_s);
void pool_endpoints_free(struct pool_upstream *u);

/* The URL of u's first enabled endpoint whose breaker is closed in this
 * process, for the key probe; NULL when none is. */
const char *pool_endpoint_healthy(const struct pool_upstream *u, int64_t now);

/* Rests for one model (pool_blocks.c).  The hash of a model name. */
uint64_t pool_model_hash(const char *name);

/* Whether k rests for model m at now_ms (false when m names none). */
bool pool_key_blocked(const struct pool_key *k, const struct pool_model *m, int64_t now_ms);

/* The ms until k's rest for m ends: 0 when it has none, -1 when it lasts
 * until the key is enabled. */
long long pool_key_block_left(const struct pool_key *k, const struct pool_model *m, int64_t now_ms);

/* Rests k for m in this process until until_ms (monotonic;
 * POOL_BLOCK_FOREVER), before the next snapshot loads the stored rest. */
void pool_key_block_here(struct pool_upstream *u, struct pool_key *k, const struct pool_model *m,
                         int64_t until_ms);

/* Loads the rests for one model that have not ended onto the keys of p. */
int pool_load_blocks(struct db *db, struct pool *p);

/* Frees the rests loaded onto k. */
void pool_key_blocks_free(struct pool_key *k);

/* Whether k is a resting key whose rest is over and that nobody in this
 * process has yet marked active in the database.  Returns true once per
 * key and snapshot, to the caller that should mark it. */
bool pool_key_wake_due(struct pool_key *k);

/* Compiles the stored rule in row i of a result whose columns are those of
 * POOL_RULE_COLS (apigw-jobs judges probes by the same rules).  Returns the
 * rule with its id, or NULL (logged) when it no longer compiles. */
#define POOL_RULE_COLS                                                                             \
    "id, upstream_id, name, enabled, priority, cond_json, actions_json, threshold, window_s,"      \
    " cooldown_s, stop"
struct db_res;
struct rule *pool_rule_compile(const struct db_res *res, unsigned i);

#endif
