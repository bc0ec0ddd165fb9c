/* Percent-decoding of URL parts, on its own so that parsers can be fuzzed. */
#ifndef APIGW_URL_H
#define APIGW_URL_H

#include <stdbool.h>
#include <stddef.h>

/* Decodes %XX escapes (and + as space when plus_space) of n bytes of s into
 * out (outlen bytes, NUL-terminated).  Returns the decoded length, or -1 for
 * a malformed escape or a decoded NUL. */
long url_decode(const char *s, size_t n, bool plus_space, char *out, size_t outlen);

#endif
