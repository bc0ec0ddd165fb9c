/*
 * UTF-8 helpers for text that comes from outside: validation, counting
 * characters and cutting on a character boundary.  Pure functions over
 * (pointer, length); none of them allocates.
 */
#ifndef APIGW_UTF8_H
#define APIGW_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the n bytes at s are well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF).  NUL bytes count as valid. */
bool utf8_valid(const char *s, size_t n);

/* The number of characters of n bytes of UTF-8 (bytes that do not continue
 * a character). */
size_t utf8_chars(const char *s, size_t n);

/* The byte length of the first k characters of the n bytes at s (n when
 * there are fewer). */
size_t utf8_prefix(const char *s, size_t n, size_t k);

/* The byte length of the sequence that the byte lead starts: 1 to 4, or 0
 * for a byte that cannot start one. */
size_t utf8_seq_len(unsigned char lead);

/* The largest m <= n at which the text s (of at least n + 1 bytes, or n
 * bytes when m == n is the end) can be cut without splitting a character:
 * m moves back while s[m] continues one. */
size_t utf8_floor(const char *s, size_t n);

#endif
