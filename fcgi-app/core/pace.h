/*
 * Pacing by the provider's headers (docs/API.md "Pacing by the provider's
 * headers"): on an upstream with pace_by_headers, every answer of a key
 * says how many requests and tokens the key has left and when they refill
 * (x-ratelimit-remaining-*, x-ratelimit-reset-* of OpenAI,
 * anthropic-ratelimit-* of Anthropic, and Retry-After on a 429).  The
 * latest of that is kept in the key's pace_state, in atomics of the pool
 * snapshot, so that the next pick in this process uses it at once: a key
 * with no requests left rests until they refill (a predicted 429, never
 * sent), and `weighted` selection weighs a key by its share of
 * PACE_FULL_REQUESTS.  Other processes learn it through the key_pace
 * table (core/pace_store.c), written and read in batches by the
 * refresher thread, never per request.
 */
#ifndef APIGW_PACE_H
#define APIGW_PACE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A key with this many requests left, or more, weighs in `weighted`
 * selection as a key whose budget is not known; one with fewer weighs that
 * share of its weight. */
#define PACE_FULL_REQUESTS 1000

/* A remaining count without a reset header is taken to hold this long:
 * the minute that request and token limits of providers count. */
#define PACE_DEFAULT_WINDOW_MS 60000

/* No remaining count above this is believed (a header's garbage must not
 * overflow a weight). */
#define PACE_REMAINING_MAX 1000000000000LL

/* What the headers of one answer said; -1 for what they did not say. */
struct pace_reading {
    long long req_left, tok_left;
    long long req_reset_ms, tok_reset_ms; /* ms from the answer until each refills */
};

/* A key's learned budget (-1: not known).  The reset instants are
 * monotonic ms of this process; learned_ms is the wall clock of the answer
 * that said it (the newest wins across processes); dirty says that it was
 * learned here since it was last written to key_pace. */
struct pace_state {
    atomic_llong req_left, tok_left;
    atomic_llong req_reset_ms, tok_reset_ms;
    atomic_llong learned_ms;
    atomic_bool dirty;
};

/* Marks everything not known (the state of a key just loaded). */
void pace_state_init(struct pace_state *s);

void pace_reading_init(struct pace_reading *r);

/* Reads one header of an answer with this status into r: name is nlen
 * bytes, value is NUL-terminated.  Returns whether it was one that pacing
 * reads. */
bool pace_read_header(struct pace_reading *r, const char *name, size_t nlen, const char *value,
                      int status, time_t now);

/* Keeps what r says in s (fields r does not say keep their value), as of
 * now_mono (monotonic ms) and now_wall (wall ms), and marks s dirty. */
void pace_learn(struct pace_state *s, const struct pace_reading *r, int64_t now_mono,
                long long now_wall);

/* Keeps a stored budget in s (its resets in ms from now_mono) when it was
 * learned (learned_ms, wall) later than what s holds.  Does not mark s
 * dirty: it is stored already. */
void pace_adopt(struct pace_state *s, const struct pace_reading *stored, int64_t now_mono,
                long long learned_ms);

/* Counts one request sent with the key: its remaining requests, while
 * known and not refilled, go down by one (not below 0). */
void pace_spend(struct pace_state *s, int64_t now_mono);

/* The ms until a key that has no requests or tokens left refills; 0 when
 * it is not resting by its budget. */
long long pace_rest_left_ms(const struct pace_state *s, int64_t now_mono);

/* The weight w of a key (> 0) scaled by its share of PACE_FULL_REQUESTS
 * while its remaining requests are known and not yet refilled: never
 * below 1 while it has any left. */
long long pace_weigh(const struct pace_state *s, long long w, int64_t now_mono);

#endif
