/*
 * JSON paths for json_path rule leaves, and how those leaves compare.
 *
 * Paths.  A path starts with "$" (the whole document) and continues with
 * steps: ".name" (a member whose name is made of letters, digits, _, - and
 * $ or non-ASCII UTF-8), "['name']" or "[\"name\"]" (any member name;
 * inside the quotes a backslash takes the next character as it is) and
 * "[index]" (an array element, counting from 0).  Examples: "$.error.code",
 * "$.choices[0].finish_reason", "$['odd key'][2]".  Wildcards, filters,
 * slices and negative indexes are not supported.  A path is at most 1024
 * bytes and 64 steps.  A step that meets a value of the wrong type (a name
 * on an array, an index on an object) or a missing member or element means
 * the path does not exist.
 *
 * Comparison rules of the json_path ops:
 * - A path that does not exist makes every op false (exists too, and ne).
 * - exists is true for a present member even if its value is null.
 * - eq / ne: two numbers compare numerically (integer or floating point);
 *   two strings byte for byte; booleans and null by value; a string that is
 *   entirely a JSON number (e.g. "429", "-1.5e3"), compared with a number,
 *   compares numerically.  Anything else is unequal, so ne is true.
 * - contains: a string target contains the value as a substring (the value
 *   taken as its JSON text when it is not a string: 42, true, null); an
 *   array target contains an element equal to the value by the eq rules.
 *   Other targets contain nothing.
 * - gt / lt: numeric only (numbers, and strings that are entirely numbers);
 *   anything else, and NaN, is false.
 * - regex: strings are matched as they are, numbers and booleans by their
 *   JSON text (1.50 as "1.50"); other types are false.
 * A body that is not JSON (or is truncated by rule_body_limit, or is the
 * bare literal null) makes every json_path leaf false.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "core/rule/rule_int.h"
#include "core/valid.h"

#define JP_MAX_LEN    1024
#define JP_MAX_STEPS  64
#define JP_MAX_DIGITS 9 /* indexes below one billion */

struct jp_step {
    char *name; /* a member name, or NULL for an array index */
    size_t index;
};

struct jsonpath {
    struct jp_step steps[JP_MAX_STEPS];
    size_t nsteps;
};

static bool name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '$' || c >= 0x80;
}

/* Describes the byte at offset i of s for an error message. */
static void unexpected(const char *s, size_t i, char *err, size_t errlen)
{
    unsigned char c = (unsigned char)s[i];

    if (c == '\0')
        snprintf(err, errlen, "unexpected end at offset %zu", i);
    else if (c > 0x20 && c < 0x7f)
        snprintf(err, errlen, "unexpected '%c' at offset %zu", c, i);
    else
        snprintf(err, errlen, "unexpected byte 0x%02x at offset %zu", c, i);
}

/* Parses ".name" at s[*i]; returns the name or NULL (err set). */
static char *parse_dot(const char *s, size_t *i, char *err, size_t errlen)
{
    size_t start = *i + 1, end = start;
    char *name;

    while (name_char((unsigned char)s[end]))
        end++;
    if (end == start) {
        if (s[end] == '\0' || s[end] == '.' || s[end] == '[')
            snprintf(err, errlen, "expected a name after . at offset %zu", *i);
        else if (s[end] == '*')
            snprintf(err, errlen, "wildcards are not supported (offset %zu)", end);
        else
            unexpected(s, end, err, errlen);
        return NULL;
    }
    name = strndup(s + start, end - start);
    if (name == NULL)
        snprintf(err, errlen, "out of memory");
    *i = end;
    return name;
}

/* Parses a quoted name starting at the quote s[*i]; leaves *i after the
 * closing quote.  Returns the name or NULL (err set). */
static char *parse_quoted(const char *s, size_t *i, char *err, size_t errlen)
{
    char quote = s[*i], *name;
    size_t j = *i + 1, n = 0;

    name = malloc(strlen(s + j) + 1);
    if (name == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (; s[j] != quote; j++) {
        if (s[j] == '\\' && s[j + 1] != '\0')
            j++;
        if (s[j] == '\0') {
            snprintf(err, errlen, "unterminated name starting at offset %zu", *i);
            free(name);
            return NULL;
        }
        name[n++] = s[j];
    }
    name[n] = '\0';
    *i = j + 1;
    return name;
}

/* Parses "[index]" or "['name']" at s[*i] into st.  Returns 0 or -1. */
static int parse_bracket(const char *s, size_t *i, struct jp_step *st, char *err, size_t errlen)
{
    size_t j = *i + 1, digits = 0;

    if (s[j] == '\'' || s[j] == '"') {
        st->name = parse_quoted(s, &j, err, errlen);
        if (st->name == NULL)
            return -1;
    } else if (s[j] >= '0' && s[j] <= '9') {
        st->index = 0;
        for (; s[j] >= '0' && s[j] <= '9'; j++) {
            if (++digits > JP_MAX_DIGITS) {
                snprintf(err, errlen, "index too large at offset %zu", *i + 1);
                return -1;
            }
            st->index = st->index * 10 + (size_t)(s[j] - '0');
        }
    } else {
        if (s[j] == '-')
            snprintf(err, errlen, "negative index at offset %zu", j);
        else if (s[j] == '*')
            snprintf(err, errlen, "wildcards are not supported (offset %zu)", j);
        else
            snprintf(err, errlen, "expected an index or a quoted name after [ at offset %zu", *i);
        return -1;
    }
    if (s[j] != ']') {
        if (s[j] == '\0')
            snprintf(err, errlen, "missing ] for the [ at offset %zu", *i);
        else
            unexpected(s, j, err, errlen);
        free(st->name);
        st->name = NULL;
        return -1;
    }
    *i = j + 1;
    return 0;
}

struct jsonpath *jsonpath_compile(const char *text, char *err, size_t errlen)
{
    struct jsonpath *p = NULL;
    size_t len = strlen(text), i = 1;
    bool ok = false;

    if (len > JP_MAX_LEN) {
        snprintf(err, errlen, "must be at most %d bytes", JP_MAX_LEN);
        goto out;
    }
    if (!utf8_valid(text, len)) {
        snprintf(err, errlen, "must be valid UTF-8");
        goto out;
    }
    if (text[0] != '$') {
        snprintf(err, errlen, "must start with $");
        goto out;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    while (i < len) {
        struct jp_step *st = &p->steps[p->nsteps];
        if (p->nsteps == JP_MAX_STEPS) {
            snprintf(err, errlen, "must have at most %d steps", JP_MAX_STEPS);
            goto out;
        }
        if (text[i] == '.') {
            st->name = parse_dot(text, &i, err, errlen);
            if (st->name == NULL)
                goto out;
        } else if (text[i] == '[') {
            if (parse_bracket(text, &i, st, err, errlen) != 0)
                goto out;
        } else {
            unexpected(text, i, err, errlen);
            goto out;
        }
        p->nsteps++;
    }
    ok = true;
out:
    if (!ok) {
        jsonpath_free(p);
        p = NULL;
    }
    return p;
}

void jsonpath_free(struct jsonpath *p)
{
    size_t i;

    if (p == NULL)
        return;
    for (i = 0; i < p->nsteps; i++)
        free(p->steps[i].name);
    free(p);
}

struct json_object *jsonpath_get(const struct jsonpath *p, struct json_object *doc, bool *found)
{
    struct json_object *cur = doc;
    bool ok = p != NULL;
    size_t i;

    for (i = 0; ok && i < p->nsteps; i++) {
        const struct jp_step *st = &p->steps[i];
        if (st->name != NULL)
            ok = json_object_is_type(cur, json_type_object) &&
                 json_object_object_get_ex(cur, st->name, &cur);
        else if (json_object_is_type(cur, json_type_array) &&
                 st->index < json_object_array_length(cur))
            cur = json_object_array_get_idx(cur, st->index);
        else
            ok = false;
    }
    if (found != NULL)
        *found = ok;
    return ok ? cur : NULL;
}

size_t jsonpath_nsteps(const struct jsonpath *p)
{
    return p->nsteps;
}

const char *jsonpath_step(const struct jsonpath *p, size_t i, size_t *index)
{
    *index = p->steps[i].index;
    return p->steps[i].name;
}

/* Whether the n bytes of s are exactly a JSON number; if so, its value. */
static bool number_text(const char *s, size_t n, struct jp_num *out)
{
    size_t i = 0, d;
    bool is_int = true;

    if (i < n && s[i] == '-')
        i++;
    for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        ;
    if (i == d || (s[d] == '0' && i - d > 1))
        return false;
    if (i < n && s[i] == '.') {
        is_int = false;
        for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            ;
        if (i == d)
            return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        is_int = false;
        if (++i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            ;
        if (i == d)
            return false;
    }
    if (i != n || s[n] != '\0')
        return false;
    errno = 0;
    out->is_int = false;
    if (is_int) {
        out->i = strtoll(s, NULL, 10);
        out->is_int = errno == 0;
    }
    if (!out->is_int)
        out->d = strtod(s, NULL);
    return true;
}

/* Whether o is a number or a string that is entirely one; if so, its value. */
static bool json_num(struct json_object *o, struct jp_num *out)
{
    switch (json_object_get_type(o)) {
    case json_type_int:
        out->is_int = true;
        out->i = json_object_get_int64(o);
        if (out->i == INT64_MAX && json_object_get_uint64(o) > (uint64_t)INT64_MAX) {
            out->is_int = false;
            out->d = (double)json_object_get_uint64(o);
        }
        return true;
    case json_type_double:
        out->is_int = false;
        out->d = json_object_get_double(o);
        return true;
    case json_type_string:
        return number_text(json_object_get_string(o), (size_t)json_object_get_string_len(o), out);
    default:
        return false;
    }
}

/* Compares two numbers: -1, 0 or 1, or 2 when unordered (NaN). */
static int num_cmp(const struct jp_num *a, const struct jp_num *b)
{
    double x, y;

    if (a->is_int && b->is_int)
        return a->i < b->i ? -1 : a->i > b->i;
    x = a->is_int ? (double)a->i : a->d;
    y = b->is_int ? (double)b->i : b->d;
    if (x < y)
        return -1;
    if (x > y)
        return 1;
    return x == y ? 0 : 2;
}

int jp_value_init(struct jp_value *v, struct json_object *o)
{
    const char *t;

    memset(v, 0, sizeof(*v));
    v->type = json_object_get_type(o);
    if (v->type == json_type_array || v->type == json_type_object)
        return -1;
    if (v->type == json_type_string) {
        t = json_object_get_string(o);
        v->len = (size_t)json_object_get_string_len(o);
    } else {
        t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        v->len = strlen(t);
    }
    v->text = malloc(v->len + 1);
    if (v->text == NULL)
        return -1;
    memcpy(v->text, t, v->len);
    v->text[v->len] = '\0';
    v->b = v->type == json_type_boolean && json_object_get_boolean(o);
    v->is_num = json_num(o, &v->num);
    return 0;
}

void jp_value_free(struct jp_value *v)
{
    free(v->text);
    v->text = NULL;
}

bool jp_equal(struct json_object *target, const struct jp_value *v)
{
    enum json_type t = json_object_get_type(target);
    struct jp_num n;

    if (t == json_type_null || v->type == json_type_null)
        return t == v->type;
    if (t == json_type_boolean || v->type == json_type_boolean)
        return t == v->type && (bool)json_object_get_boolean(target) == v->b;
    if (t == json_type_string && v->type == json_type_string)
        return (size_t)json_object_get_string_len(target) == v->len &&
               memcmp(json_object_get_string(target), v->text, v->len) == 0;
    /* At most one side is a string here: compare as numbers if both are. */
    return v->is_num && json_num(target, &n) && num_cmp(&n, &v->num) == 0;
}

bool jp_contains(struct json_object *target, const struct jp_value *v)
{
    size_t i, n;

    switch (json_object_get_type(target)) {
    case json_type_string:
        return memmem(json_object_get_string(target), (size_t)json_object_get_string_len(target),
                      v->text, v->len) != NULL;
    case json_type_array:
        n = json_object_array_length(target);
        for (i = 0; i < n; i++)
            if (jp_equal(json_object_array_get_idx(target, i), v))
                return true;
        return false;
    default:
        return false;
    }
}

bool jp_order(struct json_object *target, const struct jp_value *v, int want)
{
    struct jp_num n;

    return v->is_num && json_num(target, &n) && num_cmp(&n, &v->num) == want;
}

const char *jp_regex_text(struct json_object *target, size_t *len)
{
    const char *s;

    switch (json_object_get_type(target)) {
    case json_type_string:
        *len = (size_t)json_object_get_string_len(target);
        return json_object_get_string(target);
    case json_type_int:
    case json_type_double:
    case json_type_boolean:
        s = json_object_to_json_string_ext(target, JSON_C_TO_STRING_PLAIN);
        *len = strlen(s);
        return s;
    default:
        return NULL;
    }
}
