/*
 * Compiling a rule's condition: the JSON grammar ({"all": [...]},
 * {"any": [...]}, {"not": c} and the leaves) checked and turned into a tree
 * of struct rule_cond, with regular expressions compiled (and JIT-compiled
 * where PCRE2 can) and JSON paths parsed once.  The first fault found is
 * reported with its place, e.g. "condition.all[1].pattern: missing closing
 * parenthesis at offset 3".
 *
 * Limits: nesting 32 levels; body_contains and header values and patterns
 * 4096 bytes; header names 256 bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rule/rule_int.h"
#include "core/script.h"
#include "core/valid.h"
#include "core/nelem.h"

#define PLACE_MAX      512
#define TEXT_MAX       4096 /* body_contains and header values, patterns */
#define HEADER_MAX     256  /* header names */
#define MATCH_LIMIT    1000000
#define HEAP_LIMIT_KIB 32768

struct cc {
    char *err;
    size_t errlen;
    bool *needs_body;
};

struct op_name {
    const char *name;
    enum cond_op op;
};

static struct rule_cond *compile_node(struct json_object *j, const char *place, int depth,
                                      struct cc *cc);

/* Writes place.key, or place[index] when key is NULL, into dst. */
static void sub_place(char *dst, const char *place, const char *key, size_t index)
{
    int w = key != NULL ? snprintf(dst, PLACE_MAX, "%s.%s", place, key)
                        : snprintf(dst, PLACE_MAX, "%s[%zu]", place, index);

    if (w < 0 || w >= PLACE_MAX)
        dst[PLACE_MAX - 1] = '\0'; /* an absurdly deep place stays truncated */
}

/* Reads the op field as one of ops[n]; fails with the list of names. */
static int get_op(struct json_object *j, const char *place, const struct op_name *ops, size_t n,
                  struct cc *cc, enum cond_op *out)
{
    struct json_object *v;
    char list[128] = "";
    size_t i, used = 0;

    if (!json_object_object_get_ex(j, "op", &v)) {
        rule_fail(cc->err, cc->errlen, place, "op", "required");
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (json_object_is_type(v, json_type_string) &&
            strcmp(json_object_get_string(v), ops[i].name) == 0) {
            *out = ops[i].op;
            return 0;
        }
    }
    for (i = 0; i < n && used < sizeof(list); i++) {
        int w = snprintf(list + used, sizeof(list) - used, "%s%s",
                         i == 0      ? ""
                         : i + 1 < n ? ", "
                                     : " or ",
                         ops[i].name);
        if (w > 0)
            used += (size_t)w;
    }
    rule_fail(cc->err, cc->errlen, place, "op", "must be %s", list);
    return -1;
}

/* Reads field key of j as a string of min to TEXT_MAX bytes, counted in
 * bytes and not checked as UTF-8; *s points into j. */
static int get_bytes(struct json_object *j, const char *place, const char *key, size_t min,
                     struct cc *cc, const char **s, size_t *len)
{
    struct json_object *v;

    if (!json_object_object_get_ex(j, key, &v)) {
        rule_fail(cc->err, cc->errlen, place, key, "required");
        return -1;
    }
    if (!json_object_is_type(v, json_type_string) || (size_t)json_object_get_string_len(v) < min) {
        rule_fail(cc->err, cc->errlen, place, key, "must be a %sstring",
                  min > 0 ? "non-empty " : "");
        return -1;
    }
    *s = json_object_get_string(v);
    *len = (size_t)json_object_get_string_len(v);
    if (*len > TEXT_MAX) {
        rule_fail(cc->err, cc->errlen, place, key, "must be at most %d bytes", TEXT_MAX);
        return -1;
    }
    return 0;
}

/* Keeps a copy of n bytes as c->text. */
static int keep_text(struct rule_cond *c, const char *s, size_t n, struct cc *cc, const char *place)
{
    c->text = malloc(n + 1);
    if (c->text == NULL) {
        rule_fail(cc->err, cc->errlen, place, NULL, "out of memory");
        return -1;
    }
    memcpy(c->text, s, n);
    c->text[n] = '\0';
    c->len = n;
    return 0;
}

/* Compiles field key of j as a PCRE2 pattern into c->re. */
static int compile_regex(struct rule_cond *c, struct json_object *j, const char *place,
                         const char *key, struct cc *cc)
{
    const char *s;
    size_t n;
    int code;
    PCRE2_SIZE off;
    PCRE2_UCHAR why[256];

    if (get_bytes(j, place, key, 1, cc, &s, &n) != 0)
        return -1;
    c->re = pcre2_compile((PCRE2_SPTR)s, n, 0, &code, &off, NULL);
    if (c->re == NULL) {
        if (pcre2_get_error_message(code, why, sizeof(why)) < 0)
            snprintf((char *)why, sizeof(why), "invalid pattern");
        rule_fail(cc->err, cc->errlen, place, key, "%s at offset %zu", (const char *)why,
                  (size_t)off);
        return -1;
    }
    (void)pcre2_jit_compile(c->re, PCRE2_JIT_COMPLETE); /* the interpreter does without */
    c->mctx = pcre2_match_context_create(NULL);
    if (c->mctx == NULL) {
        rule_fail(cc->err, cc->errlen, place, key, "out of memory");
        return -1;
    }
    pcre2_set_match_limit(c->mctx, MATCH_LIMIT);
    pcre2_set_heap_limit(c->mctx, HEAP_LIMIT_KIB);
    return 0;
}

/* Reads an integer into c->nums[i]; the place is key, or key[i] in a list. */
static int get_int(struct json_object *v, const char *place, const char *key, size_t i, bool list,
                   struct cc *cc, long long *out)
{
    char field[32];

    if (!json_object_is_type(v, json_type_int)) {
        snprintf(field, sizeof(field), list ? "%s[%zu]" : "%s", key, i);
        rule_fail(cc->err, cc->errlen, place, field, "must be an integer");
        return -1;
    }
    *out = json_object_get_int64(v);
    return 0;
}

static int c_status(struct rule_cond *c, struct json_object *j, const char *place, struct cc *cc)
{
    static const struct op_name ops[] = {{"eq", OP_EQ},       {"ne", OP_NE},   {"in", OP_IN},
                                         {"range", OP_RANGE}, {"gte", OP_GTE}, {"lte", OP_LTE}};
    struct json_object *v;
    size_t i, n = 1;

    if (get_op(j, place, ops, NELEM(ops), cc, &c->op) != 0)
        return -1;
    if (!json_object_object_get_ex(j, "value", &v)) {
        rule_fail(cc->err, cc->errlen, place, "value", "required");
        return -1;
    }
    if (c->op == OP_IN || c->op == OP_RANGE) {
        n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
        if (c->op == OP_IN && n == 0) {
            rule_fail(cc->err, cc->errlen, place, "value", "must be a non-empty array of integers");
            return -1;
        }
        if (c->op == OP_RANGE && n != 2) {
            rule_fail(cc->err, cc->errlen, place, "value", "must be [low, high]");
            return -1;
        }
    }
    c->nums = calloc(n, sizeof(*c->nums));
    if (c->nums == NULL) {
        rule_fail(cc->err, cc->errlen, place, NULL, "out of memory");
        return -1;
    }
    c->nnums = n;
    if (c->op != OP_IN && c->op != OP_RANGE)
        return get_int(v, place, "value", 0, false, cc, &c->nums[0]);
    for (i = 0; i < n; i++)
        if (get_int(json_object_array_get_idx(v, i), place, "value", i, true, cc, &c->nums[i]) != 0)
            return -1;
    if (c->op == OP_RANGE && c->nums[0] > c->nums[1]) {
        rule_fail(cc->err, cc->errlen, place, "value", "low must not be greater than high");
        return -1;
    }
    return 0;
}

static int c_body_contains(struct rule_cond *c, struct json_object *j, const char *place,
                           struct cc *cc)
{
    struct json_object *v;
    const char *s;
    size_t n, i, k = 0;

    if (json_object_object_get_ex(j, "case_insensitive", &v)) {
        if (!json_object_is_type(v, json_type_boolean)) {
            rule_fail(cc->err, cc->errlen, place, "case_insensitive", "must be true or false");
            return -1;
        }
        c->nocase = json_object_get_boolean(v);
    }
    if (get_bytes(j, place, "value", 1, cc, &s, &n) != 0 || keep_text(c, s, n, cc, place) != 0)
        return -1;
    c->fail = malloc(n * sizeof(*c->fail));
    if (c->fail == NULL) {
        rule_fail(cc->err, cc->errlen, place, NULL, "out of memory");
        return -1;
    }
    for (i = 0; i < n; i++)
        if (c->nocase)
            c->text[i] = rule_fold(c->text[i]);
    /* fail[i]: the longest proper prefix of text[0..i] that is also its suffix. */
    c->fail[0] = 0;
    for (i = 1; i < n; i++) {
        while (k > 0 && c->text[i] != c->text[k])
            k = c->fail[k - 1];
        if (c->text[i] == c->text[k])
            k++;
        c->fail[i] = k;
    }
    return 0;
}

static int c_body_regex(struct rule_cond *c, struct json_object *j, const char *place,
                        struct cc *cc)
{
    return compile_regex(c, j, place, "pattern", cc);
}

static int c_json_path(struct rule_cond *c, struct json_object *j, const char *place, struct cc *cc)
{
    static const struct op_name ops[] = {
        {"eq", OP_EQ}, {"ne", OP_NE}, {"contains", OP_CONTAINS}, {"exists", OP_EXISTS},
        {"gt", OP_GT}, {"lt", OP_LT}, {"regex", OP_REGEX}};
    struct json_object *v;
    char why[128];
    const char *s;
    size_t n;

    if (get_bytes(j, place, "path", 1, cc, &s, &n) != 0)
        return -1;
    if (strlen(s) != n || (c->path = jsonpath_compile(s, why, sizeof(why))) == NULL) {
        rule_fail(cc->err, cc->errlen, place, "path", "%s",
                  strlen(s) != n ? "must not contain NUL characters" : why);
        return -1;
    }
    if (get_op(j, place, ops, NELEM(ops), cc, &c->op) != 0)
        return -1;
    if (c->op == OP_EXISTS)
        return 0; /* a value, if any, is ignored */
    if (c->op == OP_REGEX)
        return compile_regex(c, j, place, "value", cc);
    if (!json_object_object_get_ex(j, "value", &v)) {
        rule_fail(cc->err, cc->errlen, place, "value", "required");
        return -1;
    }
    if (jp_value_init(&c->value, v) != 0) {
        rule_fail(cc->err, cc->errlen, place, "value",
                  "must be a string, number, true, false or null");
        return -1;
    }
    if ((c->op == OP_GT || c->op == OP_LT) && !c->value.is_num) {
        rule_fail(cc->err, cc->errlen, place, "value", "must be a number");
        return -1;
    }
    return 0;
}

static int c_header(struct rule_cond *c, struct json_object *j, const char *place, struct cc *cc)
{
    static const struct op_name ops[] = {
        {"eq", OP_EQ}, {"contains", OP_CONTAINS}, {"exists", OP_EXISTS}, {"regex", OP_REGEX}};
    const char *s;
    size_t n;

    if (get_bytes(j, place, "name", 1, cc, &s, &n) != 0)
        return -1;
    if (n > HEADER_MAX || strlen(s) != n || check_header_name(s) != NULL) {
        rule_fail(cc->err, cc->errlen, place, "name",
                  "must be an HTTP header name of at most %d bytes", HEADER_MAX);
        return -1;
    }
    c->name = strdup(s);
    c->name_len = n;
    if (c->name == NULL) {
        rule_fail(cc->err, cc->errlen, place, NULL, "out of memory");
        return -1;
    }
    if (get_op(j, place, ops, NELEM(ops), cc, &c->op) != 0)
        return -1;
    if (c->op == OP_EXISTS)
        return 0;
    if (c->op == OP_REGEX)
        return compile_regex(c, j, place, "value", cc);
    if (get_bytes(j, place, "value", 0, cc, &s, &n) != 0)
        return -1;
    return keep_text(c, s, n, cc, place);
}

static int c_latency(struct rule_cond *c, struct json_object *j, const char *place, struct cc *cc)
{
    static const struct op_name ops[] = {{"gt", OP_GT}, {"lt", OP_LT}};
    struct json_object *v;

    if (get_op(j, place, ops, NELEM(ops), cc, &c->op) != 0)
        return -1;
    if (!json_object_object_get_ex(j, "value_ms", &v)) {
        rule_fail(cc->err, cc->errlen, place, "value_ms", "required");
        return -1;
    }
    c->nums = calloc(1, sizeof(*c->nums));
    if (c->nums == NULL) {
        rule_fail(cc->err, cc->errlen, place, NULL, "out of memory");
        return -1;
    }
    c->nnums = 1;
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0) {
        rule_fail(cc->err, cc->errlen, place, "value_ms", "must be a non-negative integer");
        return -1;
    }
    c->nums[0] = json_object_get_int64(v);
    return 0;
}

static int c_transport(struct rule_cond *c, struct json_object *j, const char *place, struct cc *cc)
{
    struct json_object *v;
    const char *s;

    if (!json_object_object_get_ex(j, "value", &v)) {
        rule_fail(cc->err, cc->errlen, place, "value", "required");
        return -1;
    }
    s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
    if (strcmp(s, "timeout") == 0)
        c->transport = TRANSPORT_TIMEOUT;
    else if (strcmp(s, "connect") == 0)
        c->transport = TRANSPORT_CONNECT;
    else if (strcmp(s, "proxy") == 0)
        c->transport = TRANSPORT_PROXY;
    else if (strcmp(s, "any") == 0)
        c->transport = TRANSPORT_NONE;
    else {
        rule_fail(cc->err, cc->errlen, place, "value", "must be timeout, connect, proxy or any");
        return -1;
    }
    return 0;
}

static int c_script(struct rule_cond *c, struct json_object *j, const char *place, struct cc *cc)
{
    return rule_script_compile(c, j, place, cc->err, cc->errlen);
}

/* The leaves: their type, the fields they take besides "type", whether they
 * look at the body, and how to compile the rest. */
static const struct leaf {
    const char *type;
    enum cond_kind kind;
    const char *fields[3];
    bool body;
    int (*compile)(struct rule_cond *c, struct json_object *j, const char *place, struct cc *cc);
} leaves[] = {
    {"status", K_STATUS, {"op", "value", NULL}, false, c_status},
    {"body_contains", K_CONTAINS, {"value", "case_insensitive", NULL}, true, c_body_contains},
    {"body_regex", K_REGEX, {"pattern", NULL, NULL}, true, c_body_regex},
    {"json_path", K_JSON, {"path", "op", "value"}, true, c_json_path},
    {"header", K_HEADER, {"name", "op", "value"}, false, c_header},
    {"latency", K_LATENCY, {"op", "value_ms", NULL}, false, c_latency},
    {"transport_error", K_TRANSPORT, {"value", NULL, NULL}, false, c_transport},
    {"script", K_SCRIPT, {"source", NULL, NULL}, true, c_script},
};

#define NLEAVES (NELEM(leaves))

static bool leaf_takes(const struct leaf *lf, const char *key)
{
    size_t i;

    if (strcmp(key, "type") == 0)
        return true;
    for (i = 0; i < NELEM(lf->fields); i++)
        if (lf->fields[i] != NULL && strcmp(lf->fields[i], key) == 0)
            return true;
    return false;
}

static struct rule_cond *compile_leaf(struct json_object *j, const char *place, struct cc *cc)
{
    struct json_object *t = json_object_object_get(j, "type");
    const struct leaf *lf = NULL;
    struct rule_cond *c;
    size_t i;

    for (i = 0; i < NLEAVES && lf == NULL; i++)
        if (json_object_is_type(t, json_type_string) &&
            strcmp(json_object_get_string(t), leaves[i].type) == 0)
            lf = &leaves[i];
    if (lf == NULL) {
        rule_fail(cc->err, cc->errlen, place, "type",
                  "must be status, body_contains, body_regex, json_path, header, latency, "
                  "transport_error or script");
        return NULL;
    }
    json_object_object_foreach(j, key, val)
    {
        (void)val;
        if (!leaf_takes(lf, key)) {
            rule_fail(cc->err, cc->errlen, place, key, "unknown field");
            return NULL;
        }
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        rule_fail(cc->err, cc->errlen, place, NULL, "out of memory");
        return NULL;
    }
    c->kind = lf->kind;
    if (lf->compile(c, j, place, cc) != 0) {
        rule_cond_free(c);
        return NULL;
    }
    if (lf->body)
        *cc->needs_body = true;
    return c;
}

/* Compiles {"all": [...]}, {"any": [...]} or {"not": c}. */
static struct rule_cond *compile_group(struct json_object *j, const char *place, int depth,
                                       struct cc *cc)
{
    static const char *const names[] = {"all", "any", "not"};
    struct rule_cond *c = NULL;
    struct json_object *v = NULL;
    char sub[PLACE_MAX];
    size_t i, n = 1;
    bool ok = false;

    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        rule_fail(cc->err, cc->errlen, place, NULL, "out of memory");
        return NULL;
    }
    for (i = 0; i < 3 && !json_object_object_get_ex(j, names[i], &v); i++)
        ;
    c->kind = i == 0 ? K_ALL : i == 1 ? K_ANY : K_NOT;
    sub_place(sub, place, names[i], 0);
    if (c->kind != K_NOT) {
        n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
        if (n == 0) {
            rule_fail(cc->err, cc->errlen, place, names[i],
                      "must be a non-empty array of conditions");
            goto out;
        }
    }
    c->kids = calloc(n, sizeof(*c->kids));
    if (c->kids == NULL) {
        rule_fail(cc->err, cc->errlen, place, NULL, "out of memory");
        goto out;
    }
    if (c->kind == K_NOT) {
        c->nkids = 1;
        c->kids[0] = compile_node(v, sub, depth + 1, cc);
        ok = c->kids[0] != NULL;
        goto out;
    }
    for (c->nkids = 0; c->nkids < n; c->nkids++) {
        char kid[PLACE_MAX];
        sub_place(kid, sub, NULL, c->nkids);
        c->kids[c->nkids] =
            compile_node(json_object_array_get_idx(v, c->nkids), kid, depth + 1, cc);
        if (c->kids[c->nkids] == NULL)
            goto out;
    }
    ok = true;
out:
    if (!ok) {
        rule_cond_free(c);
        c = NULL;
    }
    return c;
}

static struct rule_cond *compile_node(struct json_object *j, const char *place, int depth,
                                      struct cc *cc)
{
    static const char *const heads[] = {"all", "any", "not", "type"};
    size_t i, nheads = 0;

    if (depth > RULE_MAX_DEPTH) {
        rule_fail(cc->err, cc->errlen, place, NULL, "nested too deeply (at most %d levels)",
                  RULE_MAX_DEPTH);
        return NULL;
    }
    if (!json_object_is_type(j, json_type_object)) {
        rule_fail(cc->err, cc->errlen, place, NULL, "must be an object");
        return NULL;
    }
    for (i = 0; i < 4; i++)
        nheads += json_object_object_get_ex(j, heads[i], NULL);
    if (nheads != 1) {
        rule_fail(cc->err, cc->errlen, place, NULL,
                  "must have exactly one of all, any, not or type");
        return NULL;
    }
    if (json_object_object_get_ex(j, "type", NULL))
        return compile_leaf(j, place, cc);
    json_object_object_foreach(j, key, val)
    {
        (void)val;
        if (strcmp(key, "all") != 0 && strcmp(key, "any") != 0 && strcmp(key, "not") != 0) {
            rule_fail(cc->err, cc->errlen, place, key, "unknown field");
            return NULL;
        }
    }
    return compile_group(j, place, depth, cc);
}

struct rule_cond *rule_cond_compile(struct json_object *j, const char *place, bool *needs_body,
                                    char *err, size_t errlen)
{
    struct cc cc = {err, errlen, needs_body};

    return compile_node(j, place, 1, &cc);
}

void rule_cond_free(struct rule_cond *c)
{
    size_t i;

    if (c == NULL)
        return;
    for (i = 0; i < c->nkids; i++)
        rule_cond_free(c->kids[i]);
    free(c->kids);
    free(c->nums);
    free(c->text);
    free(c->fail);
    free(c->name);
    pcre2_code_free(c->re);
    pcre2_match_context_free(c->mctx);
    jsonpath_free(c->path);
    jp_value_free(&c->value);
    script_free(c->script);
    free(c);
}
