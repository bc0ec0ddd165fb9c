/* The TZif reader (core/tzif.h); the footer's POSIX TZ rule is in tzrule.c. */
#include "core/tzif.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/tzrule.h"

#define HDR_LEN    44
#define FOOTER_MAX 128

struct hdr {
    uint64_t isut, isstd, leap, time, type, chars;
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

int tzif_name_ok(const char *name)
{
    size_t i, n = strlen(name);

    if (n == 0 || n > TZIF_NAME_MAX || name[0] == '/' || strstr(name, "..") != NULL)
        return 0;
    for (i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+'))
            return 0;
    }
    return 1;
}

/* A header at p[at..], and the length of the data block after it with
 * times of tsize bytes; 0 when it does not fit in len. */
static uint64_t read_hdr(const unsigned char *p, size_t len, size_t at, unsigned tsize,
                         struct hdr *h)
{
    uint64_t block;

    if (len < HDR_LEN || at > len - HDR_LEN || memcmp(p + at, "TZif", 4) != 0)
        return 0;
    h->isut = be32(p + at + 20);
    h->isstd = be32(p + at + 24);
    h->leap = be32(p + at + 28);
    h->time = be32(p + at + 32);
    h->type = be32(p + at + 36);
    h->chars = be32(p + at + 40);
    block = h->time * tsize + h->time + h->type * 6 + h->chars + h->leap * (tsize + 4) + h->isstd +
            h->isut;
    if (h->type == 0 || block > len - at - HDR_LEN)
        return 0;
    return block;
}

/* The transitions of the block at p (after its header). */
static int read_block(struct tzone *z, const unsigned char *p, const struct hdr *h, unsigned tsize)
{
    const unsigned char *idx = p + h->time * tsize, *types = idx + h->time;
    uint64_t i;

    z->off0 = (int32_t)be32(types);
    if (h->time == 0)
        return 0;
    z->at = malloc(h->time * sizeof(*z->at));
    z->off = malloc(h->time * sizeof(*z->off));
    if (z->at == NULL || z->off == NULL)
        return -1;
    for (i = 0; i < h->time; i++) {
        int64_t t = tsize == 8 ? be64(p + i * 8) : (int64_t)(int32_t)be32(p + i * 4);
        if (idx[i] >= h->type || (z->n > 0 && t <= z->at[z->n - 1]))
            return -1;
        z->at[z->n] = t;
        z->off[z->n++] = (int32_t)be32(types + idx[i] * 6);
    }
    return 0;
}

/* Parses a whole file's bytes into z. */
static int parse(struct tzone *z, const unsigned char *p, size_t len)
{
    struct hdr h;
    uint64_t block = read_hdr(p, len, 0, 4, &h);
    size_t at, end;
    char footer[FOOTER_MAX + 1];

    if (block == 0)
        return -1;
    if (p[4] == '\0') /* version 1: 32-bit times, no footer */
        return read_block(z, p + HDR_LEN, &h, 4);
    at = HDR_LEN + (size_t)block;
    if ((block = read_hdr(p, len, at, 8, &h)) == 0 || read_block(z, p + at + HDR_LEN, &h, 8) != 0)
        return -1;
    at += HDR_LEN + (size_t)block;
    if (at >= len || p[at] != '\n')
        return 0;
    for (end = at + 1; end < len && p[end] != '\n'; end++)
        ;
    if (end >= len || end - at - 1 > FOOTER_MAX)
        return 0;
    memcpy(footer, p + at + 1, end - at - 1);
    footer[end - at - 1] = '\0';
    return tzrule_extend(z, footer, TZIF_LAST_YEAR);
}

static unsigned char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    unsigned char *buf = NULL;
    struct stat st;
    size_t got = 0;

    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        st.st_size <= TZIF_FILE_MAX && (buf = malloc((size_t)st.st_size)) != NULL) {
        while (got < (size_t)st.st_size) {
            ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        if (got < (size_t)st.st_size) {
            free(buf);
            buf = NULL;
        }
    }
    close(fd);
    *len = got;
    return buf;
}

struct tzone *tzif_load(const char *dir, const char *name)
{
    struct tzone *z;
    unsigned char *data = NULL;
    char path[512];
    size_t len = 0;
    bool builtin = strcmp(name, "UTC") == 0 || strcmp(name, "GMT") == 0;

    if (!tzif_name_ok(name) || (z = calloc(1, sizeof(*z))) == NULL)
        return NULL;
    memcpy(z->name, name, strlen(name) + 1);
    if (builtin)
        return z; /* offset 0, no transitions */
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((data = read_file(path, &len)) == NULL || parse(z, data, len) != 0) {
        tzif_free(z);
        z = NULL;
    }
    free(data);
    return z;
}

void tzif_free(struct tzone *z)
{
    if (z == NULL)
        return;
    free(z->at);
    free(z->off);
    free(z);
}

/* The index of the last transition at or before t; -1 when none is. */
static long last_at_or_before(const struct tzone *z, int64_t t)
{
    size_t lo = 0, hi = z->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->at[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo - 1;
}

int32_t tzif_offset_at(const struct tzone *z, int64_t t)
{
    long i = last_at_or_before(z, t);

    return i < 0 ? z->off0 : z->off[i];
}

/* Offsets stay within a day and two hours of UTC, so no instant more than
 * 30 hours before local can show a wall time at or after it.  From the
 * span holding that instant on, the first span with such an instant has
 * the answer: its start, or the instant its offset maps to local. */
int64_t tzif_first_at_local(const struct tzone *z, int64_t local)
{
    long i = last_at_or_before(z, local - 30 * 3600);

    for (;; i++) {
        int64_t start = i < 0 ? INT64_MIN : z->at[i];
        int64_t end = i + 1 < (long)z->n ? z->at[i + 1] : INT64_MAX;
        int64_t cand = local - (i < 0 ? z->off0 : z->off[i]);
        if (cand < start)
            cand = start;
        if (cand < end)
            return cand;
    }
}
