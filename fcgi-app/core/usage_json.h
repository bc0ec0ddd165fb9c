/*
 * An incremental JSON tokenizer for usage_scan.c: it is fed one document
 * in pieces split anywhere, checks its syntax (RFC 8259), tracks where it
 * is in the document, and reports the scalars found at a few target paths.
 * Nothing is allocated: the state is a fixed struct (struct usage_json),
 * whatever the document's size.  Only what a target needs is kept: member
 * names are collected while a container could lead to a target, a number's
 * text or a string's printable ASCII only when it is a target's value.
 *
 * Limits: nesting deeper than USAGE_JSON_DEPTH is an error (the document
 * counts as malformed); member names longer than USAGE_JSON_KEY_MAX bytes
 * match no target; numbers longer than USAGE_JSON_NUM_MAX characters are
 * not reported.  Bytes of 0x80 and above in strings are taken
 * as they are (not checked as UTF-8).
 */
#ifndef APIGW_USAGE_JSON_H
#define APIGW_USAGE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USAGE_JSON_DEPTH   256
#define USAGE_JSON_KEY_MAX 256
#define USAGE_JSON_NUM_MAX 40
#define USAGE_JSON_STR_MAX 128 /* a string value kept, NUL included */
#define USAGE_JSON_TARGETS 32  /* bits of a mask */

/* One step of a target path: a member name, or an array index when name
 * is NULL. */
struct usage_json_step {
    const char *name;
    size_t len;
    uint32_t index;
};

/* A path to a scalar and what it is (field, the caller's number). */
struct usage_json_target {
    const struct usage_json_step *steps;
    unsigned nsteps;
    unsigned field;
};

/* A scalar found at a target: a number's JSON text, or a string's
 * printable ASCII (escapes decoded, other characters dropped, cut to
 * USAGE_JSON_STR_MAX - 1 bytes).  text is NUL-terminated and lives in the
 * tokenizer until the next byte is fed.  true, false, null, containers
 * and numbers longer than USAGE_JSON_NUM_MAX are not reported. */
struct usage_json_value {
    bool string;
    const char *text;
    size_t len;
};

typedef void usage_json_report(void *ctx, unsigned field, const struct usage_json_value *v);

struct usage_json_frame {
    uint32_t mask;  /* targets that may still lie below this container */
    uint32_t index; /* the current element of an array */
    uint16_t level; /* steps of the targets matched to reach it */
    uint8_t array;
};

struct usage_json {
    /* Set by usage_json_init, kept across documents. */
    const struct usage_json_target *targets;
    unsigned ntargets;
    bool array_roots; /* the elements of a top-level array are roots too */
    usage_json_report *report;
    void *ctx;

    /* The state of the current document. */
    int state, sub;  /* where in the grammar; sub: a number's or literal's step */
    uint32_t vmask;  /* targets ending at or passing through the next value */
    uint16_t vlevel; /* the level of the next value */
    bool in_key;     /* the string being read is a member name */
    bool keep;       /* the string or number being read is kept */
    bool key_long;   /* the member name did not fit */
    uint32_t ucode;  /* a \u escape being read, and its digits */
    unsigned udigits;
    uint32_t high;   /* a high surrogate waiting for its low half */
    const char *lit; /* the literal being matched: "true", "false", "null" */
    size_t len;      /* bytes in buf */
    unsigned depth;
    char buf[USAGE_JSON_KEY_MAX + 4];
    struct usage_json_frame frames[USAGE_JSON_DEPTH];
};

/* Prepares j to scan documents for the targets (at most
 * USAGE_JSON_TARGETS; owned by the caller and read while j is used),
 * reporting their scalars to report(ctx, ...). */
void usage_json_init(struct usage_json *j, const struct usage_json_target *targets,
                     unsigned ntargets, bool array_roots, usage_json_report *report, void *ctx);

/* Starts a new document. */
void usage_json_reset(struct usage_json *j);

/* Feeds the next n bytes of the document.  Returns false once the document
 * is malformed (it then stays so until the next reset). */
bool usage_json_feed(struct usage_json *j, const char *p, size_t n);

/* Ends the document: true when it held exactly one whole JSON value. */
bool usage_json_end(struct usage_json *j);

#endif
