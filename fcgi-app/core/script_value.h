/*
 * Values between json-c and the script engine (Duktape), for core/script.c
 * alone: only the two script files include duktape.h.
 */
#ifndef APIGW_SCRIPT_VALUE_H
#define APIGW_SCRIPT_VALUE_H

#include <duktape.h>
#include <json-c/json.h>

/* Deeper input values are cut off: their place holds null. */
#define SCRIPT_VALUE_DEPTH_MAX 64

/* Pushes v onto ctx's stack as the script value of the same shape (NULL
 * and JSON null push null; integers beyond 2^53 lose precision as they do
 * in JavaScript).  Objects and arrays nested deeper than
 * SCRIPT_VALUE_DEPTH_MAX push null in their place.  A string or a name
 * whose first byte cannot begin UTF-8 text gets U+FFFD for that byte (the
 * engine would take it for a symbol).  Throws (a Duktape
 * error) only when memory runs out: call it inside a protected call. */
void script_value_push(duk_context *ctx, json_object *v);

/* Replaces the value at idx with its JSON text as JSON.stringify makes it,
 * or with undefined when it has none (undefined, a function).  Runs the
 * script's toJSON methods and getters, and throws for a cycle: call it
 * inside a protected call under the time limit. */
void script_value_encode(duk_context *ctx, duk_idx_t idx);

/* Parses the JSON text at idx (from script_value_encode) into *out, owned
 * by the caller; undefined and null give NULL.  Returns 0, or -1 when the text is
 * longer than cap bytes or json-c cannot parse it (nested deeper than
 * SCRIPT_VALUE_DEPTH_MAX). */
int script_value_take(duk_context *ctx, duk_idx_t idx, size_t cap, json_object **out);

#endif
