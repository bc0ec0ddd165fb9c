/*
 * Script arguments described in C (req, res, ctx): the engine makes of
 * them only what the script reads.  Each object gets its members from a
 * frozen prototype per kind (label) in each script's instance, whose
 * accessors make a member's value on its first read (or take an
 * assignment) and make it the object's own property.  An answer's body
 * that no script reads is never masked, copied or parsed, and a request's
 * headers that no script touches never leave C.
 *
 * After onRequest the first argument is read back (script_call's
 * want_arg0): each field says whether the script changed it and, if so,
 * its new value, checked for shape (a string, an object of strings, ...).
 * A field that the script neither read nor assigned is unchanged without
 * looking at it.
 *
 * A description is borrowed by the call: it must outlive script_call, and
 * what it points to must stay put until then.  After the call an object
 * that the script kept (in a global) no longer reaches its description:
 * its remaining accessors give undefined.
 */
#ifndef APIGW_SCRIPT_OBJ_H
#define APIGW_SCRIPT_OBJ_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* One name and value (a header, a query item); neither NUL-terminated. */
struct script_pair {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* Pairs built one by one into one store (headers, query items): names
 * and values are kept as offsets while the store grows, and become
 * pointers when the list is taken. */
struct script_pairs {
    struct buf store, list;
};

/* Prepares an empty list of at most max bytes of names and values. */
void script_pairs_init(struct script_pairs *p, size_t max);

/* Empties the list, keeping its memory and its cap. */
void script_pairs_reset(struct script_pairs *p);

/* Appends a pair.  Returns 0, or -1 when the cap was reached. */
int script_pairs_add(struct script_pairs *p, const char *name, size_t nlen, const char *value,
                     size_t vlen);

/* Hands the pairs over (*pairs, *n; their names and values point into
 * *store; the caller frees both) and leaves p empty.  Returns -1 when
 * memory ran out (nothing is handed over). */
int script_pairs_take(struct script_pairs *p, struct script_pair **pairs, size_t *n, char **store);

void script_pairs_free(struct script_pairs *p);

enum script_field_type {
    SCRIPT_F_NULL,
    SCRIPT_F_STRING, /* s, len; s NULL: null */
    SCRIPT_F_NUMBER, /* num */
    SCRIPT_F_BOOL,   /* num != 0 */
    SCRIPT_F_PAIRS,  /* pairs: an object of names to strings */
    SCRIPT_F_QUERY,  /* pairs: an object of names to arrays of strings */
    SCRIPT_F_JSON,   /* s, len parsed when it is UTF-8 JSON text of an object
                      * or array, else undefined (num != 0: the describer
                      * knows it is UTF-8) */
    SCRIPT_F_OBJECT  /* obj */
};

struct script_obj;

struct script_field {
    const char *name;
    enum script_field_type type;
    /* The value may need the object's prepare; a lazy string may also be
     * set to null by the script. */
    bool lazy;
    const char *s;
    size_t len;
    double num;
    const struct script_pair *pairs;
    size_t npairs;
    struct script_obj *obj;
    /* The field's value was filled in by the object's prepare (the
     * describer clears it when the value must be made again). */
    bool ready;

    /* Out: the script read or assigned this field in the last call. */
    bool touched;
    /* Out, after a read-back: whether the value differs from the one
     * described; the new value (owned: script_obj_clear frees it) as text
     * (STRING; JSON as JSON.stringify writes it; out_s NULL for null) or
     * pairs (PAIRS, QUERY: one pair per value, in the script's order);
     * or why it cannot be taken (a string constant). */
    bool changed;
    char *out_s;
    size_t out_len;
    struct script_pair *out_pairs;
    size_t out_npairs;
    char *out_store;
    const char *malformed;
};

struct script_obj {
    struct script_field *fields;
    size_t nfields;
    /* Called before a lazy field is first made (its `ready` false): fills
     * in its value, so that an answer is masked only when it is read. */
    void (*prepare)(struct script_obj *o, struct script_field *f);
    void *udata;
    /* "req", "res", ...: names the kind (objects of one kind share a
     * prototype in each script's instance, so the same fields). */
    const char *label;
    bool with_log; /* ctx: has log(msg) */
};

/* Frees what the last read-back left in o's fields and resets them. */
void script_obj_clear(struct script_obj *o);

/* The field of o with the given name; NULL when it has none. */
struct script_field *script_obj_field(struct script_obj *o, const char *name);

#endif
