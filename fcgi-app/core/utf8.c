#include "core/utf8.h"

/* Whether the byte continues a multi-byte sequence (10xxxxxx). */
static bool continues(unsigned char c)
{
    return (c & 0xc0) == 0x80;
}

size_t utf8_seq_len(unsigned char lead)
{
    if (lead < 0x80)
        return 1;
    if (lead >= 0xc2 && lead <= 0xdf)
        return 2;
    if (lead >= 0xe0 && lead <= 0xef)
        return 3;
    if (lead >= 0xf0 && lead <= 0xf4)
        return 4;
    return 0;
}

bool utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;

    while (p < end) {
        size_t len = utf8_seq_len(*p), i;
        unsigned cp;
        if (len == 1) {
            p++;
            continue;
        }
        if (len == 0 || (size_t)(end - p) < len)
            return false;
        cp = *p & (len == 2 ? 0x1f : len == 3 ? 0x0f : 0x07);
        for (i = 1; i < len; i++) {
            if (!continues(p[i]))
                return false;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += len;
    }
    return true;
}

size_t utf8_chars(const char *s, size_t n)
{
    size_t i, c = 0;

    for (i = 0; i < n; i++)
        if (!continues((unsigned char)s[i]))
            c++;
    return c;
}

size_t utf8_prefix(const char *s, size_t n, size_t k)
{
    size_t i = 0;

    while (i < n && k > 0) {
        i++;
        while (i < n && continues((unsigned char)s[i]))
            i++;
        k--;
    }
    return i;
}

size_t utf8_floor(const char *s, size_t n)
{
    while (n > 0 && continues((unsigned char)s[n]))
        n--;
    return n;
}
