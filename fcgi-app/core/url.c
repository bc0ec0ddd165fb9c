#include "core/url.h"

static int hexdigit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long url_decode(const char *s, size_t n, bool plus_space, char *out, size_t outlen)
{
    size_t i, o = 0;

    if (outlen == 0)
        return -1;
    for (i = 0; i < n && o + 1 < outlen; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return -1;
            hi = hexdigit((unsigned char)s[i + 1]);
            lo = hexdigit((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi << 4 | lo;
            if (c == 0)
                return -1;
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return (long)o;
}
