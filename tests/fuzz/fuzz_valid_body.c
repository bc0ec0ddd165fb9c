/* libFuzzer harness: the admin API checks every JSON body against a field
 * table before a handler sees it.  Whatever the body holds, the check must
 * never crash, overrun or leak; a refusal must be a terminated
 * "field: what" (the field as the body spelled it); a body accepted on
 * create must be accepted on update too; and the table's defaults, once
 * added, must pass the same check. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/valid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *check_color(const char *s)
{
    return strcmp(s, "red") == 0 || strcmp(s, "blue") == 0 ? NULL : "must be red or blue";
}

/* Every type, flag and ready-made check the admin tables use. */
static const struct vfield fields[] = {
    {"id", VT_INT, VF_READONLY, 0, 0, NULL, NULL},
    {"name", VT_STRING, VF_REQUIRED, 1, 64, check_name_slug, NULL},
    {"base_url", VT_STRING, 0, 8, 2048, check_http_url, "\"https://api.example.com/v1\""},
    {"header", VT_STRING, 0, 1, 128, check_header_name, "\"Authorization\""},
    {"param", VT_STRING, VF_NULLABLE, 1, 128, check_query_name, "null"},
    {"path", VT_STRING, VF_NULLABLE, 1, 1024, check_url_path, "null"},
    {"note", VT_STRING, VF_NULLABLE, 0, 255, check_no_ctl, "null"},
    {"color", VT_STRING, 0, 1, 16, check_color, "\"red\""},
    {"secret", VT_STRING, VF_REQUIRED | VF_WRITEONLY | VF_NOUPDATE, 1, 512, NULL, NULL},
    {"owner_id", VT_INT, VF_REQUIRED | VF_NOUPDATE, 1, INT64_MAX, NULL, NULL},
    {"weight", VT_INT, 0, 1, 1000000, NULL, "1"},
    {"offset", VT_INT, 0, INT64_MIN, 0, NULL, "0"},
    {"enabled", VT_BOOL, 0, 0, 0, NULL, "true"},
    {"until", VT_TIME, VF_NULLABLE, 0, 0, NULL, "null"},
    {"ids", VT_INT_LIST, 0, 0, 8, NULL, "[]"},
    {"condition", VT_OBJECT, 0, 0, 0, NULL, NULL},
    {"actions", VT_ARRAY, VF_NULLABLE, 0, 0, NULL, "null"},
    {"created_at", VT_TIME, VF_READONLY, 0, 0, NULL, NULL},
};

#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* Checks body once; aborts when a refusal is not a terminated
 * "field: what". */
static enum err check(struct json_object *body, bool create)
{
    char msg[256];
    enum err e;

    memset(msg, 'x', sizeof(msg));
    e = valid_body(body, fields, NFIELDS, create, msg, sizeof(msg));
    if (e == ERR_OK)
        return e;
    if (e != ERR_INVALID_FIELD || memchr(msg, '\0', sizeof(msg)) == NULL ||
        strstr(msg, ": ") == NULL)
        abort();
    return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json_tokener *tok;
    struct json_object *body;
    bool on_create;

    if (size > 1 << 20)
        return 0;
    /* As the admin API reads a body: strict, at most 64 levels deep. */
    tok = json_tokener_new_ex(64);
    if (tok == NULL)
        return 0;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    body = json_tokener_parse_ex(tok, (const char *)data, (int)size);
    json_tokener_free(tok);
    if (body == NULL)
        return 0;
    on_create = check(body, true) == ERR_OK;
    if (check(body, false) != ERR_OK && on_create)
        abort(); /* create checks more than update, never less */
    if (on_create) {
        valid_defaults(body, fields, NFIELDS);
        if (check(body, true) != ERR_OK)
            abort(); /* a default the table itself refuses */
    }
    json_object_put(body);
    return 0;
}
