/* libFuzzer harness: an upstream's event stream goes through peek_scan,
 * whole and cut into reads where the input's first byte says; nothing may
 * crash or overrun, a found end lies within the read, and where the first
 * event ends does not depend on how the stream was cut (but for a CR LF
 * that a cut parts, whose CR ends the event).
 * fuzz-sources: fcgi-app/proxy/peek.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/peek.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Scans p in reads of at most step bytes; returns where the first event
 * ended, or 0. */
static size_t scan(const char *p, size_t n, size_t step)
{
    struct peek_scan s;
    size_t at = 0, used;

    peek_scan_init(&s);
    while (at < n) {
        size_t len = n - at < step ? n - at : step;
        if (peek_scan(&s, p + at, len, &used)) {
            if (used == 0 || used > len)
                abort();
            return at + used;
        }
        if (used != len)
            abort();
        at += len;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data + 1;
    size_t n, whole, cut;

    if (size < 1)
        return 0;
    n = size - 1;
    whole = scan(p, n, n > 0 ? n : 1);
    cut = scan(p, n, (size_t)data[0] % 7 + 1);
    if (whole != cut && !(cut > 0 && cut + 1 == whole && p[cut - 1] == '\r' && p[cut] == '\n'))
        abort();
    return 0;
}
