/*
 * Requests in flight per client token and per upstream, counted in this
 * process, for their max_concurrent limits.  Each count is an atomic
 * counter keyed by its token's or upstream's id that lives as long as the
 * process, outside the pool snapshots, so that a reload goes on counting
 * the requests that the old snapshot let in.  The snapshot only carries a
 * pointer to it and the limit (core/pool.h).
 *
 * The limit is per process on purpose: with N processes the ceiling is N
 * times the limit (docs/API.md says why the database does not keep it).
 */
#ifndef APIGW_CONCURRENCY_H
#define APIGW_CONCURRENCY_H

#include <stdatomic.h>
#include <stdbool.h>

enum concurrency_scope { CONCURRENCY_TOKEN, CONCURRENCY_UPSTREAM, CONCURRENCY__MAX };

/* The in-flight counter of one token or upstream id: the same pointer for
 * the same scope and id for the life of the process (never freed).
 * Returns NULL only when memory ran out. */
atomic_llong *concurrency_counter(enum concurrency_scope scope, long long id);

/* Counts one more request in flight on count, unless limit is above 0 and
 * count has reached it.  Returns true when the request was counted (the
 * caller then owes one concurrency_leave), false when it is refused. */
bool concurrency_enter(atomic_llong *count, long long limit);

/* Counts one request in flight fewer: the end of a concurrency_enter that
 * returned true. */
void concurrency_leave(atomic_llong *count);

/* Counts one request refused by the limit of scope, and reads how many
 * were since the process started (for /metrics). */
void concurrency_note_refusal(enum concurrency_scope scope);
long long concurrency_refusals(enum concurrency_scope scope);

/* "token" or "upstream". */
const char *concurrency_scope_name(enum concurrency_scope scope);

#endif
