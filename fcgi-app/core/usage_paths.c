/*
 * The text a usage scan is configured with or reads from a request: an
 * upstream's usage_paths (checked with jsonpath.c's parser, the syntax of
 * rule paths) and the model a request names.
 */
#include "core/usage_scan.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "core/nelem.h"
#include "core/rule/rule.h"
#include "core/usage_json.h"

static const struct {
    const char *name;
    size_t offset;
} members[] = {
    {"prompt", offsetof(struct usage_paths, prompt)},
    {"completion", offsetof(struct usage_paths, completion)},
    {"cached", offsetof(struct usage_paths, cached)},
    {"total", offsetof(struct usage_paths, total)},
    {"model", offsetof(struct usage_paths, model)},
};

/* Checks one member's value and copies it into its field.  Returns NULL
 * or the fault, written into msg. */
static const char *path_member(const char *name, struct json_object *v, char *field, char *msg,
                               size_t msglen)
{
    struct jsonpath *p;
    const char *text;
    char err[128];

    if (v == NULL)
        return NULL; /* null: not read */
    if (!json_object_is_type(v, json_type_string)) {
        snprintf(msg, msglen, "usage_paths.%s: must be a JSON path string or null", name);
        return msg;
    }
    text = json_object_get_string(v);
    if ((size_t)json_object_get_string_len(v) >= USAGE_PATH_MAX ||
        strlen(text) != (size_t)json_object_get_string_len(v)) {
        snprintf(msg, msglen, "usage_paths.%s: must be at most %d bytes", name, USAGE_PATH_MAX - 1);
        return msg;
    }
    p = jsonpath_compile(text, err, sizeof(err));
    if (p == NULL) {
        snprintf(msg, msglen, "usage_paths.%s: %s", name, err);
        return msg;
    }
    jsonpath_free(p);
    memcpy(field, text, strlen(text) + 1);
    return NULL;
}

const char *usage_paths_parse(const char *json, struct usage_paths *out)
{
    static _Thread_local char msg[256];
    struct json_object *o = NULL;
    const char *fault = NULL;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (json == NULL)
        return NULL;
    json += strspn(json, " \t\r\n");
    if (json[0] == '\0')
        return NULL; /* an empty field: no paths */
    o = json_tokener_parse(json);
    if (o == NULL) {
        if (strncmp(json, "null", 4) != 0 || json[4 + strspn(json + 4, " \t\r\n")] != '\0')
            fault = "usage_paths: must be a JSON object";
        goto out;
    }
    if (!json_object_is_type(o, json_type_object)) {
        fault = "usage_paths: must be a JSON object";
        goto out;
    }
    json_object_object_foreach(o, key, val)
    {
        for (i = 0; i < NELEM(members) && strcmp(key, members[i].name) != 0; i++)
            ;
        if (i == NELEM(members)) {
            snprintf(msg, sizeof(msg),
                     "usage_paths: unknown member \"%.40s\" (prompt, completion, cached, total, "
                     "model)",
                     key);
            fault = msg;
            goto out;
        }
        fault = path_member(key, val, (char *)out + members[i].offset, msg, sizeof(msg));
        if (fault != NULL)
            goto out;
    }
out:
    json_object_put(o);
    if (fault != NULL)
        memset(out, 0, sizeof(*out));
    return fault;
}

/* Copies the printable ASCII of the n bytes at p into out (cap bytes). */
static void keep_printable(const char *p, size_t n, char *out, size_t cap)
{
    size_t i, len = 0;

    for (i = 0; i < n && len + 1 < cap; i++)
        if (p[i] >= 0x20 && p[i] < 0x7f)
            out[len++] = p[i];
    out[len] = '\0';
}

/* Keeps a string found at $.model (printable ASCII already) in ctx. */
static void body_model(void *ctx, unsigned field, const struct usage_json_value *v)
{
    char *model = ctx;

    (void)field;
    if (v->string)
        memcpy(model, v->text, v->len + 1);
}

void usage_request_model(const char *path, const char *body, size_t body_len, char *out, size_t cap)
{
    static const struct usage_json_step step = {"model", 5, 0};
    static const struct usage_json_target target = {&step, 1, 0};
    struct usage_json j;
    const char *seg;
    char model[USAGE_JSON_STR_MAX] = "";

    if (cap == 0)
        return;
    out[0] = '\0';
    if (body != NULL && body_len > 0) {
        usage_json_init(&j, &target, 1, false, body_model, model);
        if (usage_json_feed(&j, body, body_len) && usage_json_end(&j))
            keep_printable(model, strlen(model), out, cap);
    }
    if (out[0] != '\0' || path == NULL)
        return;
    seg = strstr(path, "/models/");
    if (seg == NULL)
        return;
    seg += strlen("/models/");
    keep_printable(seg, strcspn(seg, ":/?#"), out, cap);
}
