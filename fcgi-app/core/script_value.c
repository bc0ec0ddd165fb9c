/* Values between json-c and the script engine; see script_value.h. */
#include "core/script_value.h"

#include <string.h>

/* Pushes v at the given depth; see script_value_push. */
static void push_at(duk_context *ctx, json_object *v, int depth)
{
    switch (json_object_get_type(v)) {
    case json_type_boolean:
        duk_push_boolean(ctx, json_object_get_boolean(v));
        return;
    case json_type_int:
        duk_push_number(ctx, (double)json_object_get_int64(v));
        return;
    case json_type_double:
        duk_push_number(ctx, json_object_get_double(v));
        return;
    case json_type_string:
        duk_push_lstring(ctx, json_object_get_string(v), (duk_size_t)json_object_get_string_len(v));
        return;
    case json_type_array:
        if (depth < SCRIPT_VALUE_DEPTH_MAX) {
            size_t i, n = json_object_array_length(v);
            duk_idx_t arr = duk_push_array(ctx);

            for (i = 0; i < n; i++) {
                push_at(ctx, json_object_array_get_idx(v, i), depth + 1);
                duk_put_prop_index(ctx, arr, (duk_uarridx_t)i);
            }
            return;
        }
        break;
    case json_type_object:
        if (depth < SCRIPT_VALUE_DEPTH_MAX) {
            duk_idx_t obj = duk_push_object(ctx);

            json_object_object_foreach(v, name, member)
            {
                push_at(ctx, member, depth + 1);
                duk_put_prop_string(ctx, obj, name);
            }
            return;
        }
        break;
    case json_type_null:
        break;
    }
    duk_push_null(ctx);
}

void script_value_push(duk_context *ctx, json_object *v)
{
    push_at(ctx, v, 0);
}

void script_value_encode(duk_context *ctx, duk_idx_t idx)
{
    idx = duk_normalize_index(ctx, idx);
    if (duk_is_undefined(ctx, idx))
        return;
    duk_dup(ctx, idx);
    duk_json_encode(ctx, -1);
    duk_replace(ctx, idx);
}

int script_value_take(duk_context *ctx, duk_idx_t idx, size_t cap, json_object **out)
{
    duk_size_t len = 0;
    const char *text;
    struct json_tokener *tok;

    *out = NULL;
    if (!duk_is_string(ctx, idx))
        return 0;
    text = duk_get_lstring(ctx, idx, &len);
    if (len > cap)
        return -1;
    tok = json_tokener_new();
    if (tok == NULL)
        return -1;
    /* The terminating NUL ends a bare literal such as `false`. */
    *out = json_tokener_parse_ex(tok, text, (int)len + 1);
    if (json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(*out);
        *out = NULL;
        json_tokener_free(tok);
        return -1;
    }
    json_tokener_free(tok);
    return 0;
}
