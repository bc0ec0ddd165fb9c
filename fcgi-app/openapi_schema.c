/* The JSON Schema of a field table (core/valid.h), as the OpenAPI document
 * shows a body or an answer: each field's type, range, enum and default are
 * read from the same entry that valid_body checks against. */
#include "openapi.h"

#include <json-c/json.h>
#include <string.h>

#include "core/valid.h"

#define ENUM_WORD_MAX 64 /* the longest value of a oneof list */

/* A number macro as text, for JSON written in the source. */
#define TEXT_OF_(x) #x
#define TEXT_OF(x)  TEXT_OF_(x)

static const char *type_word(enum vtype t)
{
    switch (t) {
    case VT_STRING:
    case VT_TIME:
        return "string";
    case VT_INT:
        return "integer";
    case VT_BOOL:
        return "boolean";
    case VT_INT_LIST:
    case VT_ARRAY:
        return "array";
    case VT_NUMBER:
        return "number";
    case VT_OBJECT:
        return "object";
    }
    return "string";
}

/* "type": one word, or a list when null is accepted or (VT_OBJECT) an
 * array is too. */
static void put_type(struct json_object *s, const struct vfield *f)
{
    bool nullable = (f->flags & VF_NULLABLE) != 0;
    struct json_object *list;

    if (f->type != VT_OBJECT && !nullable) {
        json_object_object_add(s, "type", json_object_new_string(type_word(f->type)));
        return;
    }
    list = json_object_new_array();
    json_object_array_add(list, json_object_new_string(type_word(f->type)));
    if (f->type == VT_OBJECT)
        json_object_array_add(list, json_object_new_string("array"));
    if (nullable)
        json_object_array_add(list, json_object_new_string("null"));
    json_object_object_add(s, "type", list);
}

/* The accepted values of a oneof list ("a|b|c"), and null when it is. */
static void put_enum(struct json_object *s, const struct vfield *f)
{
    struct json_object *list = json_object_new_array();
    const char *p = f->oneof;

    while (*p != '\0') {
        size_t len = strcspn(p, "|");
        if (len > 0 && len <= ENUM_WORD_MAX)
            json_object_array_add(list, json_object_new_string_len(p, (int)len));
        p += len;
        if (*p == '|')
            p++;
    }
    if (f->flags & VF_NULLABLE)
        json_object_array_add(list, NULL);
    json_object_object_add(s, "enum", list);
}

/* The range of a writable field, named as JSON Schema names it for the
 * type; read-only fields carry no range (their tables leave it 0..0). */
static void put_range(struct json_object *s, const struct vfield *f)
{
    const char *lo = NULL, *hi = NULL;

    switch (f->type) {
    case VT_STRING:
        lo = "minLength", hi = "maxLength";
        break;
    case VT_INT:
    case VT_NUMBER:
        lo = "minimum", hi = "maximum";
        break;
    case VT_INT_LIST:
        lo = "minItems", hi = "maxItems";
        break;
    default:
        return;
    }
    json_object_object_add(s, lo, json_object_new_int64(f->min));
    json_object_object_add(s, hi, json_object_new_int64(f->max));
}

static struct json_object *field_schema(const struct vfield *f)
{
    struct json_object *s = json_object_new_object();

    put_type(s, f);
    if (f->type == VT_TIME)
        json_object_object_add(s, "format", json_object_new_string("date-time"));
    if (f->type == VT_INT_LIST) {
        struct json_object *items = json_object_new_object();
        json_object_object_add(items, "type", json_object_new_string("integer"));
        json_object_object_add(items, "minimum", json_object_new_int(1));
        json_object_object_add(s, "items", items);
    }
    if (!(f->flags & VF_READONLY) && (f->min != 0 || f->max != 0))
        put_range(s, f);
    if (f->oneof != NULL)
        put_enum(s, f);
    if (f->def != NULL) {
        struct json_object *d = json_tokener_parse(f->def);
        /* A default of null parses to NULL, which json-c writes as null. */
        json_object_object_add(s, "default", d);
    }
    if (f->flags & VF_READONLY)
        json_object_object_add(s, "readOnly", json_object_new_boolean(1));
    if (f->flags & VF_WRITEONLY)
        json_object_object_add(s, "writeOnly", json_object_new_boolean(1));
    if (f->flags & VF_NOUPDATE)
        json_object_object_add(s, "description",
                               json_object_new_string("Set on create; cannot be changed."));
    return s;
}

struct json_object *openapi_fields_schema(const struct vtable *t, enum openapi_use use)
{
    struct json_object *s = json_object_new_object();
    struct json_object *props = json_object_new_object();
    struct json_object *required = json_object_new_array();
    size_t i;

    json_object_object_add(s, "type", json_object_new_string("object"));
    for (i = 0; i < t->n; i++) {
        const struct vfield *f = &t->f[i];
        /* A body never carries read-only fields (they are ignored), and an
         * answer never shows write-only ones. */
        if (use != OA_ANSWER && (f->flags & VF_READONLY))
            continue;
        if (use == OA_ANSWER && (f->flags & VF_WRITEONLY))
            continue;
        json_object_object_add(props, f->name, field_schema(f));
        if (use == OA_CREATE && (f->flags & VF_REQUIRED))
            json_object_array_add(required, json_object_new_string(f->name));
    }
    json_object_object_add(s, "properties", props);
    if (json_object_array_length(required) > 0)
        json_object_object_add(s, "required", required);
    else
        json_object_put(required);
    /* valid_body refuses members that the table does not name. */
    if (use != OA_ANSWER)
        json_object_object_add(s, "additionalProperties", json_object_new_boolean(0));
    return s;
}

/* The credentials, and the contract's error body: error.code and
 * error.message always, and error.fields (every bad field of a body, at
 * most VALID_FAULTS_MAX) on invalid_field. */
static const char components_text[] =
    "{\"securitySchemes\":{"
    "\"bearer\":{\"type\":\"http\",\"scheme\":\"bearer\",\"description\":"
    "\"A session token from POST /api/admin/login, or an admin token\"},"
    "\"clientToken\":{\"type\":\"http\",\"scheme\":\"bearer\",\"description\":"
    "\"A client token (POST /api/admin/tokens); docs/API.md names the other places it may be "
    "sent\"}},"
    "\"schemas\":{\"Error\":{\"type\":\"object\",\"required\":[\"error\"],\"properties\":{"
    "\"error\":{\"type\":\"object\",\"required\":[\"code\",\"message\"],\"properties\":{"
    "\"code\":{\"type\":\"string\"},\"message\":{\"type\":\"string\"},"
    "\"fields\":{\"type\":\"array\",\"maxItems\":" TEXT_OF(
        VALID_FAULTS_MAX) ",\"items\":{"
                          "\"type\":\"object\",\"required\":[\"field\",\"message\"],\"properties\":{"
                          "\"field\":{\"type\":\"string\"},\"message\":{\"type\":\"string\"}}}}}}}}},"
                          "\"responses\":{\"Error\":{\"description\":\"An error: what went wrong and what to fix\","
                          "\"content\":{\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/Error\"}}}}}}";

struct json_object *openapi_components(void)
{
    return json_tokener_parse(components_text);
}
