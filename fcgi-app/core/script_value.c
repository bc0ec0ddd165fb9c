/* Values between json-c and the script engine; see script_value.h. */
#include "core/script_value.h"

#include <string.h>

/* Pushes len bytes of text as a string.  Duktape takes a string whose
 * first byte is 0x80, 0x81, 0x82 or 0xff for a symbol (0x82 and 0xff: its
 * hidden internal properties), so a value or a name from outside that
 * begins with a byte no UTF-8 text begins with gets U+FFFD in its place:
 * it stays a string, and no client's JSON names an internal property. */
void script_value_push_text(duk_context *ctx, const char *s, size_t len)
{
    unsigned char c = len > 0 ? (unsigned char)s[0] : 0, *buf;

    if (c < 0x80 || (c >= 0xc2 && c <= 0xf4)) {
        duk_push_lstring(ctx, s, (duk_size_t)len);
        return;
    }
    /* One buffer: the rest alone could begin with such a byte again. */
    buf = duk_push_fixed_buffer(ctx, (duk_size_t)len + 2);
    memcpy(buf, "\xef\xbf\xbd", 3);
    memcpy(buf + 3, s + 1, len - 1);
    duk_buffer_to_string(ctx, -1);
}

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
        script_value_push_text(ctx, json_object_get_string(v),
                               (size_t)json_object_get_string_len(v));
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
                script_value_push_text(ctx, name, strlen(name));
                push_at(ctx, member, depth + 1);
                duk_put_prop(ctx, obj);
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
    /* As deep as an input value may be, and the container around it. */
    tok = json_tokener_new_ex(SCRIPT_VALUE_DEPTH_MAX + 1);
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
