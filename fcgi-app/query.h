/*
 * The query-string parser: finds a parameter in the raw text after '?'
 * and decodes its value.  It takes plain strings and nothing of the
 * request, so that it can be tested and fuzzed on its own (http.h wraps
 * it for a request).
 */
#ifndef APIGW_QUERY_H
#define APIGW_QUERY_H

#include <stddef.h>

enum query_rc { QUERY_ABSENT, QUERY_PRESENT, QUERY_MALFORMED };

/* Finds the nth occurrence (0 is the first) of parameter name in query
 * (the raw text after '?', "" when none; names are compared decoded, so
 * "%6bey" is "key"; "a" and "a=" both give an empty
 * value) and writes its decoded value (%XX and +) into out, which must
 * have room for at least one byte and is always NUL-terminated.  Values
 * longer than outlen are cut.  Returns QUERY_PRESENT, QUERY_ABSENT, or
 * QUERY_MALFORMED for a bad or NUL escape (out is then empty).  Nothing
 * is allocated; out belongs to the caller. */
enum query_rc query_nth(const char *query, const char *name, unsigned nth, char *out,
                        size_t outlen);

#endif
