/*
 * The one place that hides a key value in text that may be stored or shown:
 * transport error messages, probe results, the excerpts of answers kept in
 * a key's history, and the header fields and held error bodies of upstream
 * answers before they reach a client.
 */
#ifndef APIGW_MASK_H
#define APIGW_MASK_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* The forms of a secret that are looked for: as stored, JSON-escaped
 * ("\/" and "\uXXXX" in lower and upper case), percent-encoded (upper and
 * lower case) and base64 (standard and URL-safe). */
#define MASK_FORMS_MAX 8

/* The shortest piece of a secret that still counts as the secret when the
 * edge of the input cuts it. */
#define MASK_PARTIAL_MIN 4

struct mask_form {
    const char *p;
    size_t len;
};

/* A secret, the masked form that stands in for it (crypto_mask) and the
 * encoded forms an upstream may write it in.  mask_secret_init fills it;
 * mask_secret_free wipes and frees the encoded forms. */
struct mask_secret {
    const char *value;
    size_t len;
    const char *masked;
    size_t nforms;                         /* forms in form[], the stored value first */
    struct mask_form form[MASK_FORMS_MAX]; /* distinct forms, pointing into store or value */
    unsigned char first[32];               /* bitmap of the forms' first bytes */
    char *store;                           /* owned: the encoded forms */
    size_t store_len;
};

/* Fills s for the secret value (len bytes; borrowed, as is masked, and
 * both must outlive s) with its encoded forms, computed once here.
 * Returns 0, or -1 when memory ran out (s then knows the stored form
 * only, and can still be used and freed). */
int mask_secret_init(struct mask_secret *s, const char *value, size_t len, const char *masked);

/* Wipes and frees the encoded forms of s. */
void mask_secret_free(struct mask_secret *s);

/* The forms of the secret value (len bytes) with the masked form masked,
 * from a small cache per thread that holds its own copies of the last few
 * secrets (wiped when they leave it or the thread ends), so that the hot
 * path does not encode the same key again for every attempt.  The result
 * belongs to the cache and stays valid until this thread's next call;
 * NULL when memory ran out (the caller then fills its own). */
const struct mask_secret *mask_secret_cached(const char *value, size_t len, const char *masked);

/* Copies the n bytes at src into out (outlen bytes, NUL included; the text
 * is cut when it does not fit), with every occurrence of the secret in any
 * of its forms replaced by the masked form.  A form cut off by the end of
 * the input, or whose tail begins the input, is masked too when at least
 * MASK_PARTIAL_MIN bytes of it are there, so that a key straddling a cut
 * never shows.  With printable, anything that is not valid UTF-8 becomes
 * '?' and control characters other than newline and tab become spaces, so
 * that the result is safe to store and show.  Returns the length written. */
size_t mask_text(char *out, size_t outlen, const char *src, size_t n, const struct mask_secret *k,
                 bool printable);

/* Appends the n bytes at src to out, byte for byte except that every
 * occurrence of the secret (any form, cut pieces at either edge as in
 * mask_text) becomes its masked form.  k may be NULL: src is appended as
 * it is.  Returns how many occurrences were masked, or -1 when out's cap
 * was reached (what fitted stays). */
int mask_buf(struct buf *out, const char *src, size_t n, const struct mask_secret *k);

/* The most bytes mask_buf can append for n bytes of input. */
size_t mask_buf_bound(size_t n);

#endif
