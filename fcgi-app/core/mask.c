#include "core/mask.h"

#include <string.h>

#include "core/utf8.h"

/* The shortest tail of a secret that still counts as the secret when the
 * input ends in it. */
#define MASK_PARTIAL_MIN 4

/* How many bytes of the secret start at src (n bytes left): its whole
 * length, or what is left of the input when the input ends inside it (at
 * least MASK_PARTIAL_MIN bytes); 0 when it does not start there. */
static size_t secret_at(const char *src, size_t n, const struct mask_secret *k)
{
    size_t len = n < k->len ? n : k->len;

    if (k->len == 0 || (len < k->len && len < MASK_PARTIAL_MIN))
        return 0;
    return memcmp(src, k->value, len) == 0 ? len : 0;
}

/* Appends the len bytes of UTF-8 text s to out (o bytes used of cap), cut
 * on a character boundary when they do not fit; returns the new length. */
static size_t put(char *out, size_t o, size_t cap, const char *s, size_t len)
{
    if (len > cap - o)
        len = utf8_floor(s, cap - o);
    memcpy(out + o, s, len);
    return o + len;
}

size_t mask_text(char *out, size_t outlen, const char *src, size_t n, const struct mask_secret *k,
                 bool printable)
{
    size_t i = 0, o = 0, cap, hit, len;

    if (outlen == 0)
        return 0;
    cap = outlen - 1;
    while (i < n && o < cap) {
        unsigned char c = (unsigned char)src[i];
        if ((hit = secret_at(src + i, n - i, k)) > 0) {
            size_t mlen = strlen(k->masked), room = cap - o;
            o = put(out, o, cap, k->masked, mlen);
            if (mlen > room)
                break; /* the text ends in a cut mask */
            i += hit;
            continue;
        }
        if (!printable) {
            out[o++] = src[i++];
            continue;
        }
        len = utf8_seq_len(c);
        if (len == 0 || i + len > n || !utf8_valid(src + i, len) || o + len > cap) {
            out[o++] = '?';
            i++;
            continue;
        }
        if (len == 1 && c < 0x20 && c != '\n' && c != '\t')
            out[o++] = ' ';
        else
            o = put(out, o, cap, src + i, len);
        i += len;
    }
    out[o] = '\0';
    return o;
}
