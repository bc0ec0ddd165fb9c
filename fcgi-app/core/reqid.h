#ifndef APIGW_REQID_H
#define APIGW_REQID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A request id (X-Gateway-Request-Id): 24 lower-case hex characters, the
 * first 12 the request's start in milliseconds since the epoch, the last
 * 12 random.  The time lets a row be found by id through the log's
 * (ts, request_id) key without an index on the random id alone. */
#define REQID_LEN 24

void reqid_make(char *out, size_t outlen, int64_t start_ms, uint64_t rnd);

/* The start time an id carries; false for an id of another form (the
 * 16 random hex characters of releases before, or nginx's 32). */
bool reqid_time_ms(const char *id, int64_t *ms);

#endif
