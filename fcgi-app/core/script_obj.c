/* Script arguments described in C (script_obj.h), made in the engine as
 * far as the script reads them, and read back after onRequest. */
#include "core/script_obj.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/script.h"
#include "core/script_value.h"
#include "core/utf8.h"

/* Described objects one call may make (req, res, its key, ctx). */
#define LIVE_MAX 8
/* The getter's own hidden properties: the setter that goes with it, and
 * the instance's prototypes (by label), so that a getter can make a nested
 * object with the same kit. */
#define SETTER DUK_HIDDEN_SYMBOL("setter")
#define PROTOS DUK_HIDDEN_SYMBOL("protos")

/* The calling thread's call: the descriptions its objects reach, and
 * those objects.  An object of an earlier call (a script may keep one in
 * a global) is none of them and reaches nothing. */
static _Thread_local struct {
    struct script_obj *live[LIVE_MAX];
    void *heapptr[LIVE_MAX];
    size_t nlive;
} scope;

static duk_ret_t script_obj_getter(duk_context *t);
static duk_ret_t script_obj_setter(duk_context *t);

void script_obj_begin(void)
{
    scope.nlive = 0;
}

void script_obj_end(void)
{
    scope.nlive = 0;
}

void script_obj_kit(duk_context *t)
{
    duk_push_c_function(t, script_obj_getter, 1);
    duk_push_c_function(t, script_obj_setter, 2);
    duk_push_bare_object(t);
    duk_dup(t, -2);
    duk_put_prop_string(t, -4, SETTER);
    duk_dup(t, -1);
    duk_put_prop_string(t, -4, PROTOS);
}

struct script_field *script_obj_field(struct script_obj *o, const char *name)
{
    size_t i;

    for (i = 0; o != NULL && i < o->nfields; i++)
        if (strcmp(o->fields[i].name, name) == 0)
            return &o->fields[i];
    return NULL;
}

void script_obj_clear(struct script_obj *o)
{
    size_t i;

    for (i = 0; o != NULL && i < o->nfields; i++) {
        struct script_field *f = &o->fields[i];
        free(f->out_s);
        free(f->out_pairs);
        free(f->out_store);
        f->out_s = f->out_store = NULL;
        f->out_pairs = NULL;
        f->out_len = f->out_npairs = 0;
        f->changed = f->touched = false;
        f->malformed = NULL;
    }
}

/* Parses the JSON text on top of the stack in place (a protected call:
 * text that is not JSON must not end the script's call). */
static duk_ret_t decode_top(duk_context *t, void *udata)
{
    (void)udata;
    duk_json_decode(t, -1);
    return 1;
}

/* Whether len bytes at s may be given to the engine's JSON parser: UTF-8
 * text (checked here unless utf8 says it is) of an object or an array (as
 * the rules' JSON paths take it). */
static bool json_text(const char *s, size_t len, bool utf8)
{
    return s != NULL && len > 0 && (s[0] == '{' || s[0] == '[') && (utf8 || utf8_valid(s, len));
}

/* Pushes the parsed JSON text, or undefined when it is none. */
static void push_json(duk_context *t, const char *s, size_t len, bool utf8)
{
    if (!json_text(s, len, utf8)) {
        duk_push_undefined(t);
        return;
    }
    duk_push_lstring(t, s, (duk_size_t)len);
    if (duk_safe_call(t, decode_top, NULL, 1, 1) != DUK_EXEC_SUCCESS) {
        duk_pop(t);
        duk_push_undefined(t);
    }
}

/* Pushes the pairs as an object of names to strings, or (query) to arrays
 * of strings. */
static void push_pairs(duk_context *t, const struct script_pair *p, size_t n, bool query)
{
    duk_idx_t obj = duk_push_object(t);
    size_t i;

    for (i = 0; i < n; i++) {
        script_value_push_text(t, p[i].name, p[i].name_len);
        if (!query) {
            script_value_push_text(t, p[i].value, p[i].value_len);
            duk_put_prop(t, obj);
            continue;
        }
        duk_dup_top(t);
        if (!duk_get_prop(t, obj)) {
            duk_pop(t);
            duk_push_array(t);
            duk_dup(t, -2);
            duk_dup(t, -2);
            duk_put_prop(t, obj);
        }
        script_value_push_text(t, p[i].value, p[i].value_len);
        duk_put_prop_index(t, -2, (duk_uarridx_t)duk_get_length(t, -2));
        duk_pop_2(t);
    }
}

static void push_field(duk_context *t, struct script_field *f, duk_idx_t kit);
static struct script_obj *obj_of_this(duk_context *t);

/* toJSON of described objects: makes every field (each becomes the
 * object's own), then gives the object itself to be written. */
static duk_ret_t obj_to_json(duk_context *t)
{
    struct script_obj *o = obj_of_this(t);
    size_t i;

    for (i = 0; o != NULL && i < o->nfields; i++) {
        duk_get_prop_string(t, -1, o->fields[i].name);
        duk_pop(t);
    }
    return 1;
}

/* Pushes the prototype of o's kind (its label) in this instance: an
 * accessor for each field (enumerable, not configurable), toJSON, and
 * ctx.log where o has it (log: its index, or -1); frozen, so that a
 * script cannot take the accessors away.  Made on first use. */
static void push_proto(duk_context *t, struct script_obj *o, duk_idx_t kit, duk_idx_t log)
{
    duk_idx_t protos = kit + 2, proto;
    size_t i;

    if (duk_get_prop_string(t, protos, o->label))
        return;
    duk_pop(t);
    proto = duk_push_object(t);
    for (i = 0; i < o->nfields; i++) {
        duk_push_string(t, o->fields[i].name);
        duk_dup(t, kit);
        duk_dup(t, kit + 1);
        duk_def_prop(t, proto,
                     DUK_DEFPROP_HAVE_GETTER | DUK_DEFPROP_HAVE_SETTER |
                         DUK_DEFPROP_SET_ENUMERABLE | DUK_DEFPROP_CLEAR_CONFIGURABLE);
    }
    duk_push_string(t, "toJSON");
    duk_push_c_function(t, obj_to_json, 1);
    duk_def_prop(t, proto, DUK_DEFPROP_HAVE_VALUE | DUK_DEFPROP_CLEAR_WEC);
    if (o->with_log && log >= 0) {
        duk_push_string(t, "log");
        duk_dup(t, log);
        duk_def_prop(t, proto, DUK_DEFPROP_HAVE_VALUE | DUK_DEFPROP_CLEAR_WEC);
    }
    duk_freeze(t, proto);
    duk_dup(t, proto);
    duk_put_prop_string(t, protos, o->label);
}

/* Pushes o as a new object whose members are its prototype's accessors
 * until read (kit: the instance's getter, setter and prototypes). */
static void push_obj(duk_context *t, struct script_obj *o, duk_idx_t kit, duk_idx_t log)
{
    duk_idx_t obj;
    size_t i;

    if (scope.nlive == LIVE_MAX) {
        duk_push_null(t);
        return;
    }
    obj = duk_push_object(t);
    scope.live[scope.nlive] = o;
    scope.heapptr[scope.nlive++] = duk_get_heapptr(t, obj);
    for (i = 0; i < o->nfields; i++)
        o->fields[i].touched = false;
    push_proto(t, o, kit, log);
    duk_set_prototype(t, obj);
}

static void push_field(duk_context *t, struct script_field *f, duk_idx_t kit)
{
    switch (f->type) {
    case SCRIPT_F_STRING:
        if (f->s != NULL)
            script_value_push_text(t, f->s, f->len);
        else
            duk_push_null(t);
        return;
    case SCRIPT_F_NUMBER:
        duk_push_number(t, f->num);
        return;
    case SCRIPT_F_BOOL:
        duk_push_boolean(t, f->num != 0);
        return;
    case SCRIPT_F_PAIRS:
    case SCRIPT_F_QUERY:
        push_pairs(t, f->pairs, f->npairs, f->type == SCRIPT_F_QUERY);
        return;
    case SCRIPT_F_JSON:
        push_json(t, f->s, f->len, f->num != 0);
        return;
    case SCRIPT_F_OBJECT:
        if (f->obj != NULL) {
            push_obj(t, f->obj, kit, -1);
            return;
        }
        break;
    case SCRIPT_F_NULL:
        break;
    }
    duk_push_null(t);
}

void script_obj_push(duk_context *t, struct script_obj *o, duk_idx_t kit, duk_idx_t log)
{
    push_obj(t, o, duk_normalize_index(t, kit), log >= 0 ? duk_normalize_index(t, log) : -1);
}

/* The description of `this` (pushed, and left on the stack): the objects
 * of the current call are known by their heap pointers; one of an earlier
 * call (or a prototype) matches none, even at the same address, since a
 * live object of this call would hold it.  NULL when there is none. */
static struct script_obj *obj_of_this(duk_context *t)
{
    void *self;
    size_t i;

    duk_push_this(t);
    self = duk_get_heapptr(t, -1);
    for (i = 0; self != NULL && i < scope.nlive; i++)
        if (scope.heapptr[i] == self)
            return scope.live[i];
    return NULL;
}

/* The description and field behind an accessor's call: `this` (pushed)
 * and the property's name (Duktape passes it to accessors). */
static struct script_field *field_of(duk_context *t, duk_idx_t key, struct script_obj **o)
{
    *o = obj_of_this(t);
    return *o != NULL && duk_is_string(t, key) ? script_obj_field(*o, duk_get_string(t, key))
                                               : NULL;
}

/* Makes the property at key of `this` (on top, under the value) a plain
 * one holding the value on top. */
static void settle(duk_context *t, duk_idx_t key)
{
    duk_idx_t value = duk_get_top_index(t);

    duk_dup(t, key);
    duk_dup(t, value);
    duk_def_prop(t, value - 1,
                 DUK_DEFPROP_HAVE_VALUE | DUK_DEFPROP_SET_WRITABLE | DUK_DEFPROP_SET_ENUMERABLE |
                     DUK_DEFPROP_SET_CONFIGURABLE | DUK_DEFPROP_FORCE);
}

static duk_ret_t script_obj_getter(duk_context *t)
{
    struct script_obj *o = NULL;
    struct script_field *f;

    /* [key getter setter protos this]: a nested object gets the same kit. */
    duk_push_current_function(t);
    duk_get_prop_string(t, -1, SETTER);
    duk_get_prop_string(t, -2, PROTOS);
    if ((f = field_of(t, 0, &o)) == NULL)
        return 0;
    if (!f->ready) {
        if (o->prepare != NULL)
            o->prepare(o, f);
        f->ready = true;
    }
    f->touched = true;
    push_field(t, f, 1);
    settle(t, 0);
    return 1;
}

static duk_ret_t script_obj_setter(duk_context *t)
{
    struct script_obj *o = NULL;
    struct script_field *f = field_of(t, 1, &o);

    if (f == NULL)
        return 0;
    f->touched = true;
    duk_dup(t, 0);
    settle(t, 1);
    return 0;
}

/* Keeps a copy of the string at idx as f's new value when it differs. */
static void take_string(duk_context *t, duk_idx_t idx, struct script_field *f)
{
    duk_size_t len = 0;
    const char *s = duk_get_lstring(t, idx, &len);

    if (f->s != NULL && len == f->len && memcmp(s, f->s, len) == 0)
        return;
    f->changed = true;
    if ((f->out_s = malloc(len + 1)) == NULL) {
        f->malformed = "out of memory";
        return;
    }
    memcpy(f->out_s, s, len);
    f->out_s[len] = '\0';
    f->out_len = len;
}

void script_pairs_init(struct script_pairs *p, size_t max)
{
    buf_init(&p->store, max);
    buf_init(&p->list, max);
}

void script_pairs_reset(struct script_pairs *p)
{
    buf_reset(&p->store);
    buf_reset(&p->list);
}

int script_pairs_add(struct script_pairs *p, const char *name, size_t nlen, const char *value,
                     size_t vlen)
{
    struct script_pair x = {(const char *)(uintptr_t)p->store.len, nlen, NULL, vlen};

    if (buf_append(&p->store, name, nlen) != 0)
        return -1;
    x.value = (const char *)(uintptr_t)p->store.len;
    if (buf_append(&p->store, value, vlen) != 0)
        return -1;
    return buf_append(&p->list, (const char *)&x, sizeof(x));
}

/* The pairs of p, names and values still offsets into p->store. */
static const struct script_pair *pairs_raw(const struct script_pairs *p, size_t *n)
{
    *n = p->list.len / sizeof(struct script_pair);
    return (const struct script_pair *)(const void *)p->list.data;
}

int script_pairs_take(struct script_pairs *p, struct script_pair **pairs, size_t *n, char **store)
{
    struct script_pair *x;
    size_t i, max = p->store.max;

    /* Both buffers exist even for an empty list: the caller frees them. */
    if ((p->store.data == NULL && buf_append(&p->store, "", 0) != 0) ||
        (p->list.data == NULL && buf_append(&p->list, "", 0) != 0))
        return -1;
    x = (struct script_pair *)(void *)p->list.data;
    *n = p->list.len / sizeof(*x);
    for (i = 0; i < *n; i++) {
        x[i].name = p->store.data + (uintptr_t)x[i].name;
        x[i].value = p->store.data + (uintptr_t)x[i].value;
    }
    *pairs = x;
    *store = p->store.data;
    script_pairs_init(p, max);
    return 0;
}

void script_pairs_free(struct script_pairs *p)
{
    buf_free(&p->store);
    buf_free(&p->list);
}

/* Scratch for reading pairs back, kept per thread: a script's getter may
 * throw in the middle, and nothing allocated for the call may leak. */
static _Thread_local struct script_pairs tl_pairs;

void script_obj_thread_done(void)
{
    script_pairs_free(&tl_pairs);
}

/* A query value may also be a number, a boolean (written as text) or
 * null (empty): turns the one at idx into a string and says so. */
static bool query_scalar(duk_context *t, duk_idx_t idx)
{
    idx = duk_normalize_index(t, idx);
    if (duk_is_null(t, idx)) {
        duk_push_string(t, "");
        duk_replace(t, idx);
        return true;
    }
    if (!duk_is_number(t, idx) && !duk_is_boolean(t, idx))
        return false;
    duk_to_string(t, idx);
    return true;
}

/* Reads the object at idx as pairs into the scratch (query: values may be
 * arrays of strings); returns why it cannot be, or NULL.  Throws only
 * when memory runs out or a getter of the script's throws. */
static const char *read_pairs(duk_context *t, duk_idx_t idx, bool query)
{
    const char *why = NULL;

    if (!duk_is_object(t, idx) || duk_is_array(t, idx) || duk_is_function(t, idx))
        return query ? "must be an object of names to arrays of strings"
                     : "must be an object of names to strings";
    duk_enum(t, idx, DUK_ENUM_OWN_PROPERTIES_ONLY);
    while (why == NULL && duk_next(t, -1, 1)) {
        duk_size_t nlen = 0, vlen = 0, i, n;
        const char *name = duk_get_lstring(t, -2, &nlen);
        if (duk_is_string(t, -1) || (query && query_scalar(t, -1))) {
            const char *v = duk_get_lstring(t, -1, &vlen);
            if (script_pairs_add(&tl_pairs, name, nlen, v, vlen) != 0)
                why = "is too large";
        } else if (query && duk_is_array(t, -1)) {
            n = duk_get_length(t, -1);
            for (i = 0; why == NULL && i < n; i++) {
                duk_get_prop_index(t, -1, (duk_uarridx_t)i);
                if (!duk_is_string(t, -1) && !query_scalar(t, -1)) {
                    why = "must be an object of names to arrays of strings";
                } else {
                    const char *v = duk_get_lstring(t, -1, &vlen);
                    if (script_pairs_add(&tl_pairs, name, nlen, v, vlen) != 0)
                        why = "is too large";
                }
                duk_pop(t);
            }
        } else {
            why = query ? "must be an object of names to arrays of strings"
                        : "must be an object of names to strings";
        }
        duk_pop_2(t);
    }
    duk_pop(t);
    return why;
}

/* Whether the scratch's pairs are the described ones, in the same order. */
static bool same_pairs(const struct script_field *f)
{
    const char *store = tl_pairs.store.data;
    size_t i, n;
    const struct script_pair *p = pairs_raw(&tl_pairs, &n);

    if (n != f->npairs)
        return false;
    for (i = 0; i < n; i++) {
        const struct script_pair *a = &f->pairs[i];
        if (a->name_len != p[i].name_len || a->value_len != p[i].value_len ||
            memcmp(a->name, store + (uintptr_t)p[i].name, a->name_len) != 0 ||
            memcmp(a->value, store + (uintptr_t)p[i].value, a->value_len) != 0)
            return false;
    }
    return true;
}

static void take_pairs(duk_context *t, duk_idx_t idx, struct script_field *f)
{
    tl_pairs.store.max = tl_pairs.list.max = SCRIPT_RESULT_MAX;
    script_pairs_reset(&tl_pairs);
    if ((f->malformed = read_pairs(t, idx, f->type == SCRIPT_F_QUERY)) != NULL || same_pairs(f))
        return;
    f->changed = true;
    if (script_pairs_take(&tl_pairs, &f->out_pairs, &f->out_npairs, &f->out_store) != 0)
        f->malformed = "out of memory";
}

/* The JSON text of the value at idx, as JSON.stringify writes it, on top
 * (undefined when it has none). */
static void push_encoded(duk_context *t, duk_idx_t idx)
{
    duk_dup(t, idx);
    if (!duk_is_undefined(t, -1))
        duk_json_encode(t, -1);
}

/* Whether JSON.stringify of the parsed text would write the text again
 * byte for byte, as far as a quick look can tell (false: it may not): no
 * space outside strings, strings of printable ASCII without escapes,
 * integers of at most 15 digits without a leading zero.  An object that
 * names a member twice, or has names that are array indices, may still
 * come out otherwise: such a body is written anew when a script reads
 * json, in a form that means the same to a JSON reader that keeps the last
 * of a name given twice. */
static bool canonical(const char *s, size_t n)
{
    size_t i, j, d;
    bool in_string = false;

    if (s == NULL)
        return false;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (in_string) {
            if (c == '"')
                in_string = false;
            else if (c == '\\' || c < 0x20 || c >= 0x7f)
                return false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            d = i + (c == '-');
            for (j = d; j < n && s[j] >= '0' && s[j] <= '9'; j++)
                ;
            if (j == d || j - d > 15 || (s[d] == '0' && (j - d > 1 || c == '-')) ||
                (j < n && (s[j] == '.' || s[j] == 'e' || s[j] == 'E')))
                return false;
            i = j - 1;
        } else if (c == 0 || (strchr("{}[],:", c) == NULL && !(c >= 'a' && c <= 'z'))) {
            return false;
        }
    }
    return !in_string;
}

/* json: changed when its text differs from the described text both as
 * written and as the parser and JSON.stringify would write it again (a
 * script that only read json does not rewrite the body's spacing or
 * numbers). */
static void take_json(duk_context *t, duk_idx_t idx, struct script_field *f)
{
    duk_size_t len = 0;
    const char *now;

    if (duk_is_undefined(t, idx))
        return;
    push_encoded(t, idx);
    if (!duk_is_string(t, -1)) {
        duk_pop(t);
        return;
    }
    now = duk_get_lstring(t, -1, &len);
    if (f->s != NULL && len == f->len && memcmp(now, f->s, len) == 0) {
        duk_pop(t);
        return;
    }
    if (canonical(f->s, f->len)) {
        take_string(t, -1, f);
        duk_pop(t);
        return;
    }
    push_json(t, f->s, f->len, f->num != 0);
    push_encoded(t, -1);
    if (duk_is_string(t, -1) && duk_get_length(t, -1) == len &&
        memcmp(duk_get_string(t, -1), now, len) == 0) {
        duk_pop_3(t);
        return;
    }
    duk_pop_2(t);
    take_string(t, -1, f);
    duk_pop(t);
}

void script_obj_read_back(duk_context *t, duk_idx_t idx, struct script_obj *o)
{
    size_t i;

    idx = duk_normalize_index(t, idx);
    for (i = 0; i < o->nfields; i++) {
        struct script_field *f = &o->fields[i];
        if (!f->touched)
            continue;
        if (f->type != SCRIPT_F_STRING && f->type != SCRIPT_F_PAIRS && f->type != SCRIPT_F_QUERY &&
            f->type != SCRIPT_F_JSON)
            continue;
        duk_get_prop_string(t, idx, f->name);
        switch (f->type) {
        case SCRIPT_F_STRING:
            if (duk_is_string(t, -1))
                take_string(t, -1, f);
            else if (duk_is_null_or_undefined(t, -1) && f->lazy)
                f->changed = f->s != NULL;
            else
                f->malformed = f->lazy ? "must be a string or null" : "must be a string";
            break;
        case SCRIPT_F_PAIRS:
        case SCRIPT_F_QUERY:
            take_pairs(t, -1, f);
            break;
        default:
            take_json(t, -1, f);
            break;
        }
        duk_pop(t);
    }
}
