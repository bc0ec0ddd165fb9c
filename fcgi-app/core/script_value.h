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

/* Pushes len bytes of text as a string; a first byte that cannot begin
 * UTF-8 text becomes U+FFFD (the engine would take it for a symbol). */
void script_value_push_text(duk_context *ctx, const char *s, size_t len);

/* script_obj.c: described arguments (script_obj.h).  A call is framed by
 * script_obj_begin and script_obj_end; objects made in it reach their
 * descriptions only until its end. */
struct script_obj;
void script_obj_begin(void);
void script_obj_end(void);

/* Pushes an instance's kit for described arguments (three values: the
 * fields' getter and setter, and the prototypes made from them); push it
 * once per instance, before its first call. */
void script_obj_kit(duk_context *ctx);

/* Pushes o as a new object (kit: the index of the kit's first value; log:
 * the index of the ctx.log function, or -1).  Throws only when memory
 * runs out. */
void script_obj_push(duk_context *ctx, struct script_obj *o, duk_idx_t kit, duk_idx_t log);

/* Reads back the fields of o from the object at idx (see script_obj.h).
 * Runs the script's getters and toJSON: call it inside the protected call,
 * under the time limit. */
void script_obj_read_back(duk_context *ctx, duk_idx_t idx, struct script_obj *o);

/* Frees the calling thread's scratch (at thread exit). */
void script_obj_thread_done(void);

#endif
