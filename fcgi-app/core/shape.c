/* Model shaping of an upstream (core/shape.h). */
#include "core/shape.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rule/rule.h"

static _Thread_local char msg[320];

/* Whether the JSON string v holds 1..SHAPE_NAME_MAX bytes of printable
 * ASCII (the bytes a request's model is read as: core/usage_paths.c). */
static bool name_ok(struct json_object *v)
{
    const char *s;
    int i, n;

    if (!json_object_is_type(v, json_type_string))
        return false;
    s = json_object_get_string(v);
    n = json_object_get_string_len(v);
    if (n < 1 || n > SHAPE_NAME_MAX)
        return false;
    for (i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] >= 0x7f)
            return false;
    return true;
}

/* Parses text as JSON: NULL (and no fault) for none, else the value.  A
 * value that does not parse is a fault, written into msg. */
static struct json_object *parse_field(const char *text, const char *field, bool *bad)
{
    struct json_object *o;

    *bad = false;
    if (text == NULL)
        return NULL;
    text += strspn(text, " \t\r\n");
    if (text[0] == '\0')
        return NULL;
    o = json_tokener_parse(text);
    if (o == NULL && strncmp(text, "null", 4) != 0) {
        snprintf(msg, sizeof(msg), "%s: must be JSON", field);
        *bad = true;
    }
    return o;
}

/* The fault of a field with more than max entries, or NULL. */
static const char *too_many(const char *field, size_t n, size_t max, const char *what)
{
    if (n <= max)
        return NULL;
    snprintf(msg, sizeof(msg), "%s: at most %zu %s", field, max, what);
    return msg;
}

static const char *parse_allow(struct json_object *a, struct shape *s)
{
    size_t i, n;

    if (!json_object_is_type(a, json_type_array))
        return "model_allow: must be an array of model patterns (\"*\" for any run of characters)";
    n = json_object_array_length(a);
    if (too_many("model_allow", n, SHAPE_ALLOW_MAX, "patterns") != NULL)
        return msg;
    if (n > 0 && (s->allow = calloc(n, sizeof(*s->allow))) == NULL)
        return "model_allow: out of memory";
    for (i = 0; i < n; i++) {
        struct json_object *v = json_object_array_get_idx(a, i);
        if (!name_ok(v)) {
            snprintf(msg, sizeof(msg),
                     "model_allow[%zu]: must be a pattern of 1 to %d printable ASCII characters", i,
                     SHAPE_NAME_MAX);
            return msg;
        }
        if ((s->allow[s->nallow++] = strdup(json_object_get_string(v))) == NULL)
            return "model_allow: out of memory";
    }
    return NULL;
}

static const char *parse_map(struct json_object *o, struct shape *s)
{
    size_t n;

    if (!json_object_is_type(o, json_type_object))
        return "model_map: must be an object {\"alias\": \"model\"}";
    n = (size_t)json_object_object_length(o);
    if (too_many("model_map", n, SHAPE_MAP_MAX, "entries") != NULL)
        return msg;
    if (n > 0 && ((s->map_from = calloc(n, sizeof(char *))) == NULL ||
                  (s->map_to = calloc(n, sizeof(char *))) == NULL))
        return "model_map: out of memory";
    json_object_object_foreach(o, key, val)
    {
        struct json_object *k = json_object_new_string(key);
        bool ok = k != NULL && name_ok(k);

        json_object_put(k);
        if (!ok || !name_ok(val)) {
            snprintf(msg, sizeof(msg),
                     "model_map: \"%.64s\": the alias and the model must each be 1 to %d printable "
                     "ASCII characters",
                     ok ? key : "(alias)", SHAPE_NAME_MAX);
            return msg;
        }
        s->map_from[s->nmap] = strdup(key);
        s->map_to[s->nmap] = strdup(json_object_get_string(val));
        if (s->map_from[s->nmap] == NULL || s->map_to[s->nmap++] == NULL)
            return "model_map: out of memory";
    }
    return NULL;
}

/* One body_set entry: a path of member names only, and its value. */
static const char *parse_set_entry(const char *path, struct json_object *val, struct shape_set *e)
{
    struct jsonpath *p;
    const char *value;
    char err[128];
    size_t i, index;

    if (strlen(path) > SHAPE_PATH_MAX) {
        snprintf(msg, sizeof(msg), "body_set: a path is at most %d bytes", SHAPE_PATH_MAX);
        return msg;
    }
    if ((p = jsonpath_compile(path, err, sizeof(err))) == NULL) {
        snprintf(msg, sizeof(msg), "body_set: \"%.64s\": %s", path, err);
        return msg;
    }
    e->nsteps = jsonpath_nsteps(p);
    for (i = 0; i < e->nsteps; i++)
        if (jsonpath_step(p, i, &index) == NULL)
            break;
    if (e->nsteps == 0 || i < e->nsteps) {
        jsonpath_free(p);
        e->nsteps = 0;
        snprintf(msg, sizeof(msg),
                 "body_set: \"%.64s\": only a chain of member names can be set, like $.a.b or "
                 "$['a']['b'] (no array index, not the root)",
                 path);
        return msg;
    }
    if ((e->steps = calloc(e->nsteps, sizeof(*e->steps))) == NULL) {
        jsonpath_free(p);
        e->nsteps = 0;
        return "body_set: out of memory";
    }
    for (i = 0; i < e->nsteps; i++)
        e->steps[i] = strdup(jsonpath_step(p, i, &index));
    jsonpath_free(p);
    value = val != NULL ? json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN) : "null";
    if (strlen(value) > SHAPE_VALUE_MAX) {
        snprintf(msg, sizeof(msg), "body_set: \"%.64s\": the value is over %d bytes of JSON", path,
                 SHAPE_VALUE_MAX);
        return msg;
    }
    e->value = strdup(value);
    for (i = 0; i < e->nsteps; i++)
        if (e->steps[i] == NULL)
            return "body_set: out of memory";
    return e->value == NULL ? "body_set: out of memory" : NULL;
}

static const char *parse_set(struct json_object *o, struct shape *s)
{
    const char *fault;
    size_t n;

    if (!json_object_is_type(o, json_type_object))
        return "body_set: must be an object {\"$.json.path\": value}";
    n = (size_t)json_object_object_length(o);
    if (too_many("body_set", n, SHAPE_SET_MAX, "entries") != NULL)
        return msg;
    if (n > 0 && (s->set = calloc(n, sizeof(*s->set))) == NULL)
        return "body_set: out of memory";
    json_object_object_foreach(o, key, val)
    {
        if ((fault = parse_set_entry(key, val, &s->set[s->nset++])) != NULL)
            return fault;
    }
    return NULL;
}

const char *shape_parse(const char *allow, const char *map, const char *set, struct shape **out)
{
    static const char *const names[] = {"model_allow", "model_map", "body_set"};
    const char *(*const parsers[])(struct json_object *, struct shape *) = {parse_allow, parse_map,
                                                                            parse_set};
    const char *texts[] = {allow, map, set}, *fault = NULL;
    struct shape *s = calloc(1, sizeof(*s));
    size_t i;

    *out = NULL;
    if (s == NULL)
        return "out of memory";
    for (i = 0; i < 3 && fault == NULL; i++) {
        bool bad;
        struct json_object *o = parse_field(texts[i], names[i], &bad);
        if (bad)
            fault = msg;
        else if (o != NULL)
            fault = parsers[i](o, s);
        json_object_put(o);
    }
    if (fault != NULL || (s->nallow == 0 && s->nmap == 0 && s->nset == 0)) {
        shape_free(s);
        return fault;
    }
    *out = s;
    return NULL;
}

void shape_free(struct shape *s)
{
    size_t i, j;

    if (s == NULL)
        return;
    for (i = 0; i < s->nallow; i++)
        free(s->allow[i]);
    for (i = 0; i < s->nmap; i++) {
        free(s->map_from[i]);
        free(s->map_to[i]);
    }
    for (i = 0; i < s->nset; i++) {
        for (j = 0; j < s->set[i].nsteps; j++)
            free(s->set[i].steps[j]);
        free(s->set[i].steps);
        free(s->set[i].value);
    }
    free(s->allow);
    free(s->map_from);
    free(s->map_to);
    free(s->set);
    free(s);
}

bool shape_glob(const char *p, const char *s)
{
    const char *star = NULL, *resume = NULL;

    /* The greedy walk with one back-track point: the last '*' seen takes
     * one more byte whenever what follows it fails to match. */
    while (*s != '\0') {
        if (*p == '*') {
            star = ++p;
            resume = s;
        } else if (*p == *s) {
            p++;
            s++;
        } else if (star != NULL) {
            p = star;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

bool shape_model_allowed(const struct shape *s, const char *model)
{
    size_t i;

    if (s == NULL || s->nallow == 0)
        return true;
    for (i = 0; i < s->nallow; i++)
        if (shape_glob(s->allow[i], model))
            return true;
    return false;
}

const char *shape_model_mapped(const struct shape *s, const char *model)
{
    size_t i;

    for (i = 0; s != NULL && i < s->nmap; i++)
        if (strcmp(s->map_from[i], model) == 0)
            return s->map_to[i];
    return NULL;
}

bool shape_changes_body(const struct shape *s)
{
    return s != NULL && (s->nmap > 0 || s->nset > 0);
}

/* The JSON object of the body, NULL when it is anything else. */
static struct json_object *parse_object(const char *body, size_t len)
{
    struct json_tokener *tok = json_tokener_new();
    struct json_object *o = NULL;

    if (tok == NULL || len > (size_t)0x7fffffff)
        goto out;
    o = json_tokener_parse_ex(tok, body, (int)len);
    if (o != NULL &&
        (json_tokener_get_error(tok) != json_tokener_success ||
         !json_object_is_type(o, json_type_object) ||
         strspn(body + tok->char_offset, " \t\r\n") != len - (size_t)tok->char_offset)) {
        json_object_put(o);
        o = NULL;
    }
out:
    if (tok != NULL)
        json_tokener_free(tok);
    return o;
}

/* Sets one body_set entry in root. */
static void set_one(struct json_object *root, const struct shape_set *e)
{
    struct json_object *cur = root, *next;
    size_t i;

    for (i = 0; i + 1 < e->nsteps; i++) {
        if (!json_object_object_get_ex(cur, e->steps[i], &next) ||
            !json_object_is_type(next, json_type_object)) {
            next = json_object_new_object();
            if (next == NULL || json_object_object_add(cur, e->steps[i], next) != 0)
                return;
        }
        cur = next;
    }
    json_object_object_add(cur, e->steps[e->nsteps - 1], json_tokener_parse(e->value));
}

char *shape_body(const struct shape *s, const char *body, size_t len, size_t *outlen)
{
    struct json_object *root, *m;
    const char *real = NULL, *text;
    char *out = NULL;
    size_t i, n;

    if (!shape_changes_body(s) || body == NULL || (root = parse_object(body, len)) == NULL)
        return NULL;
    if (json_object_object_get_ex(root, "model", &m) && json_object_is_type(m, json_type_string))
        real = shape_model_mapped(s, json_object_get_string(m));
    if (real == NULL && s->nset == 0)
        goto out;
    if (real != NULL)
        json_object_object_add(root, "model", json_object_new_string(real));
    for (i = 0; i < s->nset; i++)
        set_one(root, &s->set[i]);
    text = json_object_to_json_string_length(
        root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (text != NULL && (out = malloc(n + 1)) != NULL) {
        memcpy(out, text, n + 1);
        *outlen = n;
    }
out:
    json_object_put(root);
    return out;
}

char *shape_path(const struct shape *s, const char *path)
{
    const char *seg = path != NULL ? strstr(path, "/models/") : NULL, *real;
    char name[SHAPE_NAME_MAX + 1], *out;
    size_t n, head, tail;

    if (seg == NULL || s == NULL || s->nmap == 0)
        return NULL;
    seg += strlen("/models/");
    n = strcspn(seg, ":/?#");
    if (n == 0 || n > SHAPE_NAME_MAX)
        return NULL;
    memcpy(name, seg, n);
    name[n] = '\0';
    if ((real = shape_model_mapped(s, name)) == NULL)
        return NULL;
    head = (size_t)(seg - path);
    tail = strlen(seg + n);
    if ((out = malloc(head + strlen(real) + tail + 1)) == NULL)
        return NULL;
    memcpy(out, path, head);
    memcpy(out + head, real, strlen(real));
    memcpy(out + head + strlen(real), seg + n, tail + 1);
    return out;
}
