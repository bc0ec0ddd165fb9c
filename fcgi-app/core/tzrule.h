/*
 * The footer of a TZif file: a POSIX TZ string such as
 * "PST8PDT,M3.2.0,M11.1.0" that says how the zone goes on after its last
 * listed transition (RFC 8536 section 3.3, with the version 3 extensions:
 * hours up to 167 and negative times).
 */
#ifndef APIGW_TZRULE_H
#define APIGW_TZRULE_H

#include "core/tzif.h"

/* Adds to z the transitions rule gives after z's last one, year by year up
 * to last_year.  A rule without daylight saving, or one that does not
 * parse, adds none.  Returns -1 when memory runs out. */
int tzrule_extend(struct tzone *z, const char *rule, int last_year);

/* Days since 1970-01-01 of a date in the proleptic Gregorian calendar. */
int64_t tzrule_days(int64_t y, unsigned m, unsigned d);

#endif
