/* The rules of a key paste (POST /api/admin/keys/import): how pasted text
 * splits into values and which values are refused, and why. */
#ifndef APIGW_KEYS_PASTE_H
#define APIGW_KEYS_PASTE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

/* Why a value of an import was not stored. */
enum paste_reason {
    PASTE_OK,
    PASTE_TOO_SHORT,  /* under key_min_length bytes */
    PASTE_TOO_LONG,   /* over KEY_VALUE_MAX bytes */
    PASTE_BAD_CHAR,   /* a byte outside printable ASCII */
    PASTE_NOT_STRING, /* an item of `keys` that is not a string */
    PASTE_DUPLICATE,  /* the same value earlier in the same import */
    PASTE_IN_POOL,    /* the value is already in the upstream's pool */
    PASTE__MAX
};

/* The reason as the short text the API returns (a static string; it
 * never contains the value). */
const char *paste_reason_text(enum paste_reason r);

/* Checks one value (quotes already stripped): printable ASCII only, from
 * min_len to KEY_VALUE_MAX bytes.  Returns PASTE_OK or the reason. */
enum paste_reason paste_value_check(const char *v, size_t n, size_t min_len);

/* Called for each value of a paste with its 1-based line number. */
typedef void (*paste_fn)(void *arg, const char *v, size_t n, long line);

/* Splits the first len bytes of text on line ends, commas, semicolons and
 * whitespace; strips quotes (', ", `) from both ends of each piece and
 * calls fn for every piece that is not empty then.  The pieces point into
 * text (the caller's).  One pass, linear in len. */
void paste_split(const char *text, size_t len, paste_fn fn, void *arg);

#define IMPORT_MAX   50000 /* the most keys one import stores */
#define REJECTED_MAX 100   /* the longest `rejected` list of an import reply */

/* One candidate key of an import: where its text is, where it was in the
 * paste (line, and its place among all values) and what it became. */
struct candidate {
    const char *p;
    size_t n;
    long line;
    size_t seq;
    enum paste_reason reason; /* PASTE_OK, PASTE_DUPLICATE or PASTE_IN_POOL */
};

/* A value refused before sealing (too short, bad character, ...). */
struct refusal {
    long line;
    size_t seq;
    enum paste_reason reason;
};

struct import {
    struct candidate *c;
    size_t n, cap, seq, min_len;
    long long invalid;
    struct refusal refused[REJECTED_MAX];
    size_t nrefused;
    bool too_many;
};

/* Adds one value (surrounding whitespace trimmed; blank ones skipped) of an
 * import as a candidate, or counts it as refused with its reason.  The
 * candidate points into the caller's text. */
void import_add(struct import *im, const char *p, size_t n, long line);

/* Collects the values of `keys` (line: the 1-based place in the array)
 * and of `text` (split by paste_split) from the request body o, which must
 * outlive im.  The caller frees im->c. */
void import_collect(struct json_object *o, struct import *im);

/* The refused values and the duplicates in paste order, REJECTED_MAX at
 * most, as a new JSON array of {line, reason} that the caller owns. */
struct json_object *import_rejected(const struct import *im);

#endif
