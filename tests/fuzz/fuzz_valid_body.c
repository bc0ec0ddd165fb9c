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

#include "core/nelem.h"
#include "core/valid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *check_color(const char *s)
{
    return strcmp(s, "red") == 0 || strcmp(s, "blue") == 0 ? NULL : "must be red or blue";
}

/* Every type, flag and ready-made check the admin tables use. */
static const struct vfield fields[] = {
    {.name = "id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "name",
     .type = VT_STRING,
     .flags = VF_REQUIRED,
     .min = 1,
     .max = 64,
     .check = check_name_slug},
    {.name = "base_url",
     .type = VT_STRING,
     .min = 8,
     .max = 2048,
     .check = check_http_url,
     .def = "\"https://api.example.com/v1\""},
    {.name = "header",
     .type = VT_STRING,
     .min = 1,
     .max = 128,
     .check = check_header_name,
     .def = "\"Authorization\""},
    {.name = "param",
     .type = VT_STRING,
     .flags = VF_NULLABLE,
     .min = 1,
     .max = 128,
     .check = check_query_name,
     .def = "null"},
    {.name = "path",
     .type = VT_STRING,
     .flags = VF_NULLABLE,
     .min = 1,
     .max = 1024,
     .check = check_url_path,
     .def = "null"},
    {.name = "note",
     .type = VT_STRING,
     .flags = VF_NULLABLE,
     .max = 255,
     .check = check_no_ctl,
     .def = "null"},
    {.name = "color",
     .type = VT_STRING,
     .min = 1,
     .max = 16,
     .check = check_color,
     .def = "\"red\""},
    {.name = "secret",
     .type = VT_STRING,
     .flags = VF_REQUIRED | VF_WRITEONLY | VF_NOUPDATE,
     .min = 1,
     .max = 512},
    {.name = "owner_id",
     .type = VT_INT,
     .flags = VF_REQUIRED | VF_NOUPDATE,
     .min = 1,
     .max = INT64_MAX},
    {.name = "weight", .type = VT_INT, .min = 1, .max = 1000000, .def = "1"},
    {.name = "offset", .type = VT_INT, .min = INT64_MIN, .def = "0"},
    {.name = "enabled", .type = VT_BOOL, .def = "true"},
    {.name = "until", .type = VT_TIME, .flags = VF_NULLABLE, .def = "null"},
    {.name = "ids", .type = VT_INT_LIST, .max = 8, .def = "[]"},
    {.name = "condition", .type = VT_OBJECT},
    {.name = "actions", .type = VT_ARRAY, .flags = VF_NULLABLE, .def = "null"},
    {.name = "created_at", .type = VT_TIME, .flags = VF_READONLY},
};

#define NFIELDS NELEM(fields)

/* Checks body once; aborts when a refusal is not a terminated
 * "field: what", or when the list of every fault (valid_body_all) does
 * not agree with it: the same verdict, the same first fault, 1 to
 * VALID_FAULTS_MAX entries. */
static enum err check(struct json_object *body, bool create)
{
    char msg[256], all[256];
    struct json_object *faults = json_object_new_array(), *first, *field, *what;
    enum err e;

    memset(msg, 'x', sizeof(msg));
    e = valid_body(body, fields, NFIELDS, create, msg, sizeof(msg));
    if (valid_body_all(body, fields, NFIELDS, create, all, sizeof(all), faults) != e)
        abort();
    if (e == ERR_OK) {
        if (json_object_array_length(faults) != 0)
            abort();
        json_object_put(faults);
        return e;
    }
    if (e != ERR_INVALID_FIELD || memchr(msg, '\0', sizeof(msg)) == NULL ||
        strstr(msg, ": ") == NULL || strcmp(msg, all) != 0)
        abort();
    if (json_object_array_length(faults) < 1 || json_object_array_length(faults) > VALID_FAULTS_MAX)
        abort();
    first = json_object_array_get_idx(faults, 0);
    if (!json_object_object_get_ex(first, "field", &field) ||
        !json_object_object_get_ex(first, "message", &what) ||
        strncmp(msg, json_object_get_string(field), strlen(json_object_get_string(field))) != 0)
        abort();
    json_object_put(faults);
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
