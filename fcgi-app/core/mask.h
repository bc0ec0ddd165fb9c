/*
 * The one place that hides a key value in text that may be stored or shown:
 * transport error messages, probe results and the excerpts of answers kept
 * in a key's history.
 */
#ifndef APIGW_MASK_H
#define APIGW_MASK_H

#include <stdbool.h>
#include <stddef.h>

/* A secret and the masked form that stands in for it (crypto_mask). */
struct mask_secret {
    const char *value;
    size_t len;
    const char *masked;
};

/* Copies the n bytes at src into out (outlen bytes, NUL included; the text
 * is cut when it does not fit), with every occurrence of the secret
 * replaced by its masked form.  A secret cut off by the end of the input
 * is masked too when at least 4 bytes of it are there, so that a key
 * straddling a cut never shows.  With printable, anything that is not
 * valid UTF-8 becomes '?' and control characters other than newline and
 * tab become spaces, so that the result is safe to store and show.
 * Returns the length written. */
size_t mask_text(char *out, size_t outlen, const char *src, size_t n, const struct mask_secret *k,
                 bool printable);

#endif
