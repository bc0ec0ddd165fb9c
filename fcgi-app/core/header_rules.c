/* An upstream's header_rules parsed and checked (header_rules.h). */
#include "core/header_rules.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/nelem.h"
#include "core/valid.h"

bool header_rules_fixed(const char *name)
{
    /* Hop-by-hop headers belong to one connection, not to the request;
     * Host, Content-Length and Expect are written by libcurl for the body
     * and the URL it sends, and a wrong one breaks the transfer. */
    static const char *const fixed[] = {"connection",
                                        "keep-alive",
                                        "proxy-connection",
                                        "te",
                                        "trailer",
                                        "transfer-encoding",
                                        "upgrade",
                                        "proxy-authorization",
                                        "proxy-authenticate",
                                        "content-length",
                                        "host",
                                        "expect"};
    size_t i;

    for (i = 0; i < NELEM(fixed); i++)
        if (strcasecmp(name, fixed[i]) == 0)
            return true;
    return false;
}

/* A value may be anything a header field carries but a control character
 * (a CR or LF would start another header; a tab is allowed). */
static bool value_ok(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

static int parse_op(const char *s, enum header_op *op)
{
    if (strcmp(s, "set") == 0)
        *op = HEADER_SET;
    else if (strcmp(s, "remove") == 0)
        *op = HEADER_REMOVE;
    else if (strcmp(s, "append") == 0)
        *op = HEADER_APPEND;
    else
        return -1;
    return 0;
}

/* The name of entry i: a header token that a rule may touch. */
static const char *check_name(struct json_object *name, const char *key_header, char *why,
                              size_t len)
{
    const char *s;

    if (name == NULL || !json_object_is_type(name, json_type_string))
        return "required, a header name";
    s = json_object_get_string(name);
    if (json_object_get_string_len(name) < 1 ||
        json_object_get_string_len(name) > HEADER_RULE_NAME_MAX ||
        strlen(s) != (size_t)json_object_get_string_len(name))
        return "must be 1 to 128 characters";
    if (check_header_name(s) != NULL)
        return check_header_name(s);
    if (header_rules_fixed(s)) {
        snprintf(why, len, "%s cannot be changed", s);
        return why;
    }
    if (key_header != NULL && strcasecmp(s, key_header) == 0) {
        snprintf(why, len, "%s carries the key (auth_header) and cannot be changed", s);
        return why;
    }
    return NULL;
}

/* The value of entry i with its op. */
static const char *check_value(struct json_object *value, enum header_op op)
{
    if (op == HEADER_REMOVE)
        return value == NULL ? NULL : "not allowed with remove";
    if (value == NULL || !json_object_is_type(value, json_type_string))
        return "required with set and append, a string";
    if (json_object_get_string_len(value) < 1 ||
        json_object_get_string_len(value) > HEADER_RULE_VALUE_MAX)
        return "must be 1 to 1024 bytes";
    if (!value_ok(json_object_get_string(value), (size_t)json_object_get_string_len(value)))
        return "must not contain control characters (CR, LF, NUL, ...)";
    return NULL;
}

/* Checks entry i and fills r; else writes the message. */
static int parse_entry(struct json_object *o, size_t i, const char *key_header,
                       struct header_rule *r, char *msg, size_t len)
{
    struct json_object *op = NULL, *name = NULL, *value = NULL;
    char why[192];
    const char *bad;

    if (!json_object_is_type(o, json_type_object)) {
        snprintf(msg, len, "header_rules[%zu]: must be an object {\"op\", \"name\", \"value\"}", i);
        return -1;
    }
    json_object_object_foreach(o, key, val)
    {
        (void)val;
        if (strcmp(key, "op") != 0 && strcmp(key, "name") != 0 && strcmp(key, "value") != 0) {
            snprintf(msg, len, "header_rules[%zu]: unknown member (only op, name and value)", i);
            return -1;
        }
    }
    json_object_object_get_ex(o, "op", &op);
    json_object_object_get_ex(o, "name", &name);
    json_object_object_get_ex(o, "value", &value);
    if (op == NULL || !json_object_is_type(op, json_type_string) ||
        parse_op(json_object_get_string(op), &r->op) != 0) {
        snprintf(msg, len, "header_rules[%zu].op: must be set, remove or append", i);
        return -1;
    }
    if ((bad = check_name(name, key_header, why, sizeof(why))) != NULL) {
        snprintf(msg, len, "header_rules[%zu].name: %s", i, bad);
        return -1;
    }
    if ((bad = check_value(value, r->op)) != NULL) {
        snprintf(msg, len, "header_rules[%zu].value: %s", i, bad);
        return -1;
    }
    r->name = strdup(json_object_get_string(name));
    r->value = value != NULL ? strdup(json_object_get_string(value)) : NULL;
    if (r->name == NULL || (value != NULL && r->value == NULL)) {
        snprintf(msg, len, "header_rules: out of memory");
        return -1;
    }
    return 0;
}

/* A line a rule adds is kept unless a later set or remove names it. */
static void mark_emits(struct header_rules *rs)
{
    size_t i, j;

    for (i = 0; i < rs->n; i++) {
        struct header_rule *r = &rs->v[i];
        r->emits = r->op != HEADER_REMOVE;
        for (j = i + 1; j < rs->n && r->emits; j++)
            if (rs->v[j].op != HEADER_APPEND && strcasecmp(rs->v[j].name, r->name) == 0)
                r->emits = false;
    }
}

int header_rules_parse(struct json_object *arr, const char *key_header, struct header_rules *out,
                       char *msg, size_t len)
{
    size_t i, n;

    memset(out, 0, sizeof(*out));
    if (arr == NULL || json_object_is_type(arr, json_type_null))
        return 0;
    if (!json_object_is_type(arr, json_type_array)) {
        snprintf(msg, len, "header_rules: must be an array of {\"op\", \"name\", \"value\"}");
        return -1;
    }
    n = json_object_array_length(arr);
    if (n > HEADER_RULES_MAX) {
        snprintf(msg, len, "header_rules: at most %d rules", HEADER_RULES_MAX);
        return -1;
    }
    if (n == 0)
        return 0;
    if ((out->v = calloc(n, sizeof(*out->v))) == NULL) {
        snprintf(msg, len, "header_rules: out of memory");
        return -1;
    }
    for (i = 0; i < n; i++, out->n++)
        if (parse_entry(json_object_array_get_idx(arr, i), i, key_header, &out->v[i], msg, len) !=
            0) {
            out->n++; /* the entry may hold a name already */
            header_rules_free(out);
            return -1;
        }
    mark_emits(out);
    return 0;
}

int header_rules_parse_text(const char *text, const char *key_header, struct header_rules *out,
                            char *msg, size_t len)
{
    struct json_object *arr;
    int rc;

    memset(out, 0, sizeof(*out));
    if (text == NULL || strcmp(text, "null") == 0)
        return 0;
    if ((arr = json_tokener_parse(text)) == NULL) {
        snprintf(msg, len, "header_rules: not JSON");
        return -1;
    }
    rc = header_rules_parse(arr, key_header, out, msg, len);
    json_object_put(arr);
    return rc;
}

void header_rules_free(struct header_rules *r)
{
    size_t i;

    for (i = 0; i < r->n; i++) {
        free(r->v[i].name);
        free(r->v[i].value);
    }
    free(r->v);
    memset(r, 0, sizeof(*r));
}

/* The value of the placeholder at p (which starts with '{'), with its
 * length in *len, or NULL when none starts there. */
static const char *placeholder(const char *p, const struct header_vars *v, size_t *len)
{
    static const char *const names[] = {"{request_id}", "{token}", "{upstream}"};
    const char *vals[] = {v->request_id, v->token, v->upstream};
    size_t i;

    for (i = 0; i < NELEM(names); i++)
        if (strncmp(p, names[i], strlen(names[i])) == 0) {
            *len = strlen(names[i]);
            return vals[i] != NULL ? vals[i] : "";
        }
    return NULL;
}

int header_rule_line(const struct header_rule *r, const struct header_vars *v, struct buf *line)
{
    const char *p = r->value, *brace;
    int rc = buf_cat(line, r->name, ": ", (char *)NULL);

    /* An unknown {name} stays as it is written. */
    while (rc == 0 && (brace = strchr(p, '{')) != NULL) {
        size_t skip = 1;
        const char *val = placeholder(brace, v, &skip);
        rc |= buf_append(line, p, (size_t)(brace - p));
        rc |= val != NULL ? buf_puts(line, val) : buf_append(line, brace, 1);
        p = brace + skip;
    }
    return rc == 0 ? buf_puts(line, p) : rc;
}
