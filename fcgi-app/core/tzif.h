/*
 * A reader of the system's time zone files (TZif, RFC 8536), so that the
 * offset of a zone at any instant can be had without touching the
 * process's TZ (which is not thread-safe).  A zone is turned into one
 * sorted list of transitions: those of the file's 64-bit section, then
 * those its footer rule (a POSIX TZ string) gives, year by year, up to
 * TZIF_LAST_YEAR.  After that the last offset holds.
 */
#ifndef APIGW_TZIF_H
#define APIGW_TZIF_H

#include <stddef.h>
#include <stdint.h>

#define TZIF_NAME_MAX  64           /* the longest zone name read */
#define TZIF_FILE_MAX  (256 * 1024) /* real files are a few kB */
#define TZIF_LAST_YEAR 2200

struct tzone {
    char name[TZIF_NAME_MAX + 1];
    int32_t off0; /* the UTC offset (s) before the first transition */
    size_t n;     /* transitions */
    int64_t *at;  /* the instants, ascending */
    int32_t *off; /* the UTC offset from at[i] on */
};

/* Whether name may name a zone file: not empty, at most TZIF_NAME_MAX
 * bytes of letters, digits and "/_-+", no leading "/" and no "..". */
int tzif_name_ok(const char *name);

/* Loads the zone name from dir ("/usr/share/zoneinfo"); "UTC" and "GMT"
 * need no file.  Returns NULL for an unknown name, a file that is not
 * TZif or is larger than TZIF_FILE_MAX, or no memory. */
struct tzone *tzif_load(const char *dir, const char *name);
void tzif_free(struct tzone *z);

/* The UTC offset of z at instant t. */
int32_t tzif_offset_at(const struct tzone *z, int64_t t);

/* The first instant whose local wall time (seconds since 1970-01-01 in
 * local terms) is at least local: the instant itself for a time that
 * happens once, the earlier of the two for one a fall-back repeats, and
 * the end of the gap for one a spring-forward skips. */
int64_t tzif_first_at_local(const struct tzone *z, int64_t local);

#endif
