/*
 * Validation of JSON request bodies by a table per resource: each field's
 * name, type, flags, range and extra check.  Handlers only ever see bodies
 * that passed; a failure names the field and says what to fix.
 */
#ifndef APIGW_VALID_H
#define APIGW_VALID_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct json_object;

enum vtype {
    VT_STRING,
    VT_INT,
    VT_BOOL,
    VT_TIME,     /* RFC 3339 text */
    VT_INT_LIST, /* array of positive integers */
    VT_ARRAY,    /* any JSON array, checked elsewhere */
    VT_OBJECT,   /* any JSON object or array, checked elsewhere */
    VT_NUMBER    /* a JSON number (integer or not), within min..max */
};

#define VF_REQUIRED  1u  /* must be present on create */
#define VF_NULLABLE  2u  /* null is accepted */
#define VF_READONLY  4u  /* returned, never written; ignored in bodies */
#define VF_WRITEONLY 8u  /* accepted, never returned (no column in rows) */
#define VF_NOUPDATE  16u /* set on create; an update may repeat it but not change it */

struct vfield {
    const char *name;
    enum vtype type;
    unsigned flags;
    long long min, max;                  /* int range, string length, list length */
    const char *(*check)(const char *s); /* strings: NULL when fine, else why not */
    const char *def;                     /* default on create as JSON text, or NULL */
    const char *column; /* admin resources: its column, when not named like the field */
    /* Strings: the only values check accepts, split by |, for the OpenAPI
     * document's enum (check still decides); NULL when any value may do. */
    const char *oneof;
};

/* A field table with its length, for tables named from elsewhere (the
 * route table's request and answer shapes, fcgi-app/route.h). */
struct vtable {
    const struct vfield *f;
    size_t n;
};

/* Checks body (must be an object) against the table.  On create, required
 * fields must be present.  Returns ERR_OK, or ERR_INVALID_FIELD with
 * "field: what is wrong" in msg. */
enum err valid_body(struct json_object *body, const struct vfield *f, size_t n, bool create,
                    char *msg, size_t msglen);

#define VALID_FAULTS_MAX 32 /* faults listed at most; the first is always among them */

/* valid_body, and every fault at once: when faults is not NULL, each bad
 * field appends {"field": name, "message": what is wrong} to it (a JSON
 * array), while msg still holds the first fault as valid_body writes it. */
enum err valid_body_all(struct json_object *body, const struct vfield *f, size_t n, bool create,
                        char *msg, size_t msglen, struct json_object *faults);

/* Adds the defaults of fields missing from obj. */
void valid_defaults(struct json_object *obj, const struct vfield *f, size_t n);

/* Looks a field up by name; NULL when the table has none. */
const struct vfield *valid_find(const struct vfield *f, size_t n, const char *name);

/* True for the characters of an HTTP token (RFC 9110 5.6.2 tchar), which
 * header names and methods are made of. */
bool http_tchar(unsigned char c);
/* Whether every byte of s is a tchar (an HTTP token: a method, a header
 * name); an empty s is one as far as this says. */
bool http_token(const char *s);

/* Ready-made string checks. */
const char *check_name_slug(const char *s);   /* [a-z0-9_-]{1,64} */
const char *check_http_url(const char *s);    /* http(s)://host..., no query or fragment */
const char *check_header_name(const char *s); /* an HTTP token */
const char *check_no_ctl(const char *s);      /* no control characters */
const char *check_url_path(const char *s);    /* starts with /, no control characters */
const char *check_query_name(const char *s);  /* [A-Za-z0-9_.-]+ */

#endif
