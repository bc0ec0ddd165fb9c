/*
 * Upstream script errors in this process: counted by upstream and kind
 * (apigw_script_errors_total in /metrics), and whether an error is the
 * first of its upstream in a minute (the one that raises an alert).
 */
#ifndef APIGW_SCRIPTSTAT_H
#define APIGW_SCRIPTSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/script.h"

#define SCRIPTSTAT_SLOTS 256

/* Counts one error of kind for the upstream named upstream at monotonic
 * now_ms.  Returns true when it is the upstream's first error in a minute
 * (then an alert is due).  Past SCRIPTSTAT_SLOTS upstreams, the rest are
 * counted under the name "-". */
bool scriptstat_note(const char *upstream, enum script_kind kind, int64_t now_ms);

/* One counter: its upstream and kind, and the count. */
struct scriptstat_row {
    char upstream[72];
    enum script_kind kind;
    long long count;
};

/* Copies up to max counters that are not zero into rows.  Returns how
 * many were copied. */
size_t scriptstat_rows(struct scriptstat_row *rows, size_t max);

#endif
