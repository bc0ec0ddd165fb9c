#include "core/reqid.h"

#include <stdio.h>
#include <string.h>

#define HALF 12

void reqid_make(char *out, size_t outlen, int64_t start_ms, uint64_t rnd)
{
    snprintf(out, outlen, "%012llx%012llx", (unsigned long long)start_ms & 0xffffffffffffULL,
             (unsigned long long)rnd & 0xffffffffffffULL);
}

bool reqid_time_ms(const char *id, int64_t *ms)
{
    int64_t v = 0;
    size_t i;

    if (id == NULL || strlen(id) != REQID_LEN)
        return false;
    for (i = 0; i < REQID_LEN; i++) {
        char c = id[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return false;
        if (i < HALF)
            v = v * 16 + d;
    }
    *ms = v;
    return true;
}
