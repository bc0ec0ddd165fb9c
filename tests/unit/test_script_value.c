/* core/script_value.c: values between json-c and Duktape, both directly
 * (push, encode, take on a heap of the test's own) and through script_call
 * (an identity hook gives back what it got). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/script.h"
#include "core/script_value.h"
#include "suites.h"

static const struct script_limits lim = {SCRIPT_TIMEOUT_MS_DEFAULT, SCRIPT_MEMORY_KB_DEFAULT};

/* Pushes the value in udata and leaves its JSON text. */
static duk_ret_t encode_body(duk_context *ctx, void *udata)
{
    script_value_push(ctx, udata);
    script_value_encode(ctx, -1);
    return 1;
}

/* Pushes v into a fresh heap, encodes it and takes it back into *out.
 * Returns what script_value_take returned, or -2 when encoding threw. */
static int round_trip(json_object *v, json_object **out)
{
    duk_context *ctx = duk_create_heap_default();
    int rc = -2;

    *out = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    if (duk_safe_call(ctx, encode_body, v, 0, 1) == DUK_EXEC_SUCCESS)
        rc = script_value_take(ctx, -1, SCRIPT_RESULT_MAX, out);
    duk_destroy_heap(ctx);
    return rc;
}

/* Checks that v comes back equal (v is consumed). */
static void check_same(json_object *v)
{
    json_object *out;

    CU_ASSERT_EQUAL(round_trip(v, &out), 0);
    CU_ASSERT_TRUE(json_object_equal(v, out));
    if (!json_object_equal(v, out))
        fprintf(stderr, "round trip: %s -> %s\n", json_object_to_json_string(v),
                json_object_to_json_string(out));
    json_object_put(out);
    json_object_put(v);
}

/* Returns the JSON text of a round trip of v (v is consumed; the text is
 * the test's to free). */
static char *trip_text(json_object *v)
{
    json_object *out;
    char *text;

    CU_ASSERT_EQUAL(round_trip(v, &out), 0);
    text = strdup(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
    json_object_put(out);
    json_object_put(v);
    return text;
}

/* Compiles a hooks source; fails the test when it does not compile. */
static struct script *compile(const char *src)
{
    struct script_error err;
    struct script *s = script_compile(SCRIPT_FORM_HOOKS, src, strlen(src), &lim, &err);

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    return s;
}

/* Calls onRequest(arg, {}) of s; the caller frees c->result and c->arg0. */
static enum script_kind call1(struct script *s, json_object *arg, struct script_call *c)
{
    memset(c, 0, sizeof(*c));
    c->hook = SCRIPT_HOOK_REQUEST;
    c->args[0] = arg;
    c->nargs = 1;
    c->want_arg0 = true;
    return script_call(s, &lim, c);
}

/* Returns the plain JSON text of member name of o ("" when absent). */
static const char *member_text(json_object *o, const char *name)
{
    json_object *v;

    return json_object_object_get_ex(o, name, &v)
               ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)
               : "";
}

static void test_strings(void)
{
    json_object *out, *v = json_object_new_string_len("a\0b\0", 4);

    /* NUL inside a string survives, length and all. */
    CU_ASSERT_EQUAL(round_trip(v, &out), 0);
    CU_ASSERT_EQUAL(json_object_get_string_len(out), 4);
    CU_ASSERT_EQUAL(memcmp(json_object_get_string(out), "a\0b\0", 4), 0);
    json_object_put(out);
    json_object_put(v);
    check_same(json_object_new_string(""));
    check_same(json_object_new_string("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \"q\" \\ \n\t\x01"));
    check_same(json_object_new_string("\xf0\x9f\x98\x80 four bytes"));
}

static void test_invalid_utf8(void)
{
    static const char *const bad[] = {"\xff\xfe", "a\xc3", "\xed\xa0\x80 lone surrogate",
                                      "\xc0\xaf overlong", "\x80\x80\x80"};
    size_t i;

    /* Bytes that are not UTF-8 come back as some string (never a crash,
     * never a failure, never dropped): the engine may replace them. */
    for (i = 0; i < NELEM(bad); i++) {
        json_object *out, *v = json_object_new_string(bad[i]);

        CU_ASSERT_EQUAL(round_trip(v, &out), 0);
        CU_ASSERT_TRUE(json_object_is_type(out, json_type_string));
        json_object_put(out);
        json_object_put(v);
    }
}

static void test_symbol_bytes(void)
{
    static const char lead[] = {'\x80', '\x81', '\x82', '\xff'};
    struct script *s = compile("function onRequest(req) {\n"
                               "  req.t = [typeof req.body, Object.keys(req.o).length];\n"
                               "}");
    char text[3] = {0, 'z', 0};
    size_t i;

    /* The engine takes a string that begins with these bytes for a
     * symbol (0x82, 0xff: internal properties): a body or a name from a
     * client must stay a string all the same. */
    for (i = 0; i < NELEM(lead); i++) {
        json_object *o = json_object_new_object(), *req = json_object_new_object(), *v;
        struct script_call c;

        text[0] = lead[i];
        json_object_object_add(o, text, json_object_new_int(1));
        json_object_object_add(req, "body", json_object_new_string(text));
        json_object_object_add(req, "o", o);
        CU_ASSERT_EQUAL(call1(s, req, &c), SCRIPT_OK);
        CU_ASSERT_STRING_EQUAL(member_text(c.arg0, "t"), "[\"string\",1]");
        CU_ASSERT_TRUE(json_object_object_get_ex(c.arg0, "body", &v) &&
                       strcmp(json_object_get_string(v), "\xef\xbf\xbdz") == 0);
        CU_ASSERT_TRUE(json_object_object_get_ex(c.arg0, "o", &v) &&
                       json_object_object_get_ex(v, "\xef\xbf\xbdz", NULL));
        json_object_put(c.arg0);
        json_object_put(req);
    }
    script_free(s);
}

static void test_numbers(void)
{
    char *t;
    json_object *out, *v;

    check_same(json_object_new_int64(0));
    check_same(json_object_new_int64(-1));
    check_same(json_object_new_int64(2147483648LL));
    check_same(json_object_new_int64(-9007199254740992LL));
    check_same(json_object_new_int64(9007199254740992LL));
    check_same(json_object_new_double(0.1));
    check_same(json_object_new_double(-2.5e-300));
    check_same(json_object_new_double(1.7976931348623157e308));
    /* Beyond 2^53 precision goes as in JavaScript. */
    t = trip_text(json_object_new_int64(9007199254740993LL));
    CU_ASSERT_STRING_EQUAL(t, "9007199254740992");
    free(t);
    /* INT64_MIN is a power of two: exact as a double, and back. */
    check_same(json_object_new_int64(INT64_MIN));
    /* INT64_MAX rounds up to 2^63, past int64: still a number. */
    v = json_object_new_int64(INT64_MAX);
    CU_ASSERT_EQUAL(round_trip(v, &out), 0);
    CU_ASSERT_TRUE(json_object_is_type(out, json_type_int) ||
                   json_object_is_type(out, json_type_double));
    json_object_put(out);
    json_object_put(v);
    /* What JSON cannot hold becomes null, as in JSON.stringify. */
    t = trip_text(json_object_new_double(NAN));
    CU_ASSERT_STRING_EQUAL(t, "null");
    free(t);
    t = trip_text(json_object_new_double(-INFINITY));
    CU_ASSERT_STRING_EQUAL(t, "null");
    free(t);
    t = trip_text(json_object_new_double(-0.0));
    CU_ASSERT_STRING_EQUAL(t, "0");
    free(t);
}

static void test_nested_and_null(void)
{
    json_object *out;

    check_same(json_tokener_parse("{\"a\":[1,\"two\",true,false,null,{\"b\":{\"c\":[[],{}]}}],"
                                  "\"\":\"empty name\",\"x y\\u00e9\":2.5}"));
    check_same(json_tokener_parse("[[[[[[[[[[\"deep\"]]]]]]]]]]"));
    check_same(json_object_new_boolean(1));
    /* NULL and JSON null both give null, which takes back as NULL. */
    CU_ASSERT_EQUAL(round_trip(NULL, &out), 0);
    CU_ASSERT_PTR_NULL(out);
}

/* Returns n arrays nested around 1. */
static json_object *nest(int n)
{
    json_object *v = json_object_new_int(1);

    while (n-- > 0) {
        json_object *a = json_object_new_array();
        json_object_array_add(a, v);
        v = a;
    }
    return v;
}

static void test_depth_limit(void)
{
    json_object *out, *v = nest(SCRIPT_VALUE_DEPTH_MAX + 10), *p;
    int depth = 0;

    /* Deeper than the limit the value is cut to null, not refused. */
    CU_ASSERT_EQUAL(round_trip(v, &out), 0);
    for (p = out; json_object_is_type(p, json_type_array); p = json_object_array_get_idx(p, 0))
        depth++;
    CU_ASSERT_EQUAL(depth, SCRIPT_VALUE_DEPTH_MAX);
    CU_ASSERT_PTR_NULL(p);
    json_object_put(out);
    json_object_put(v);
    /* Everything within the limit comes back whole. */
    check_same(nest(SCRIPT_VALUE_DEPTH_MAX));
}

static void test_identity_hook(void)
{
    struct script *s = compile("function onRequest(req) { return req; }");
    json_object *v = json_tokener_parse("{\"s\":\"\\u0000\\u00e9\",\"n\":-12345678901,\"d\":0.5,"
                                        "\"a\":[null,true,{\"k\":[]}],\"o\":{}}");
    struct script_call c;

    CU_ASSERT_EQUAL(call1(s, v, &c), SCRIPT_OK);
    CU_ASSERT_TRUE(json_object_equal(v, c.result));
    CU_ASSERT_TRUE(json_object_equal(v, c.arg0));
    json_object_put(c.result);
    json_object_put(c.arg0);
    json_object_put(v);
    script_free(s);
}

static void test_undefined_and_functions(void)
{
    struct script *s = compile("function onRequest(req) {\n"
                               "  req.f = function () {}; req.u = undefined;\n"
                               "  if (req.give === 'fn') return function () {};\n"
                               "  if (req.give === 'list') return [undefined, function () {}];\n"
                               "}");
    json_object *v = json_tokener_parse("{\"give\":\"fn\"}");
    struct script_call c;

    /* Undefined and functions have no JSON: no result, no member. */
    CU_ASSERT_EQUAL(call1(s, v, &c), SCRIPT_OK);
    CU_ASSERT_PTR_NULL(c.result);
    CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(c.arg0, JSON_C_TO_STRING_PLAIN),
                           "{\"give\":\"fn\"}");
    json_object_put(c.arg0);
    json_object_object_add(v, "give", json_object_new_string("list"));
    CU_ASSERT_EQUAL(call1(s, v, &c), SCRIPT_OK);
    CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(c.result, JSON_C_TO_STRING_PLAIN),
                           "[null,null]");
    json_object_put(c.result);
    json_object_put(c.arg0);
    json_object_put(v);
    script_free(s);
}

static void test_malformed_results(void)
{
    static const char *const tries[] = {
        "var o = {}; o.self = o; return o;",
        "req.me = req;",
        "return {toJSON: function () { throw new Error('no'); }};",
        "var s = 'x'; while (s.length < 5 * 1024 * 1024) s += s; return s;",
    };
    struct script_limits big = {1000, 65536};
    char src[256];
    size_t i;

    /* A cycle, a throwing toJSON and a result over 4 MiB are malformed. */
    for (i = 0; i < NELEM(tries); i++) {
        struct script_error err;
        struct script *s;
        struct script_call c = {.hook = SCRIPT_HOOK_REQUEST, .nargs = 1, .want_arg0 = true};

        snprintf(src, sizeof(src), "function onRequest(req) { %s }", tries[i]);
        s = script_compile(SCRIPT_FORM_HOOKS, src, strlen(src), &big, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        c.args[0] = json_object_new_object();
        CU_ASSERT_EQUAL(script_call(s, &big, &c), SCRIPT_MALFORMED);
        CU_ASSERT_PTR_NULL(c.result);
        CU_ASSERT_PTR_NULL(c.arg0);
        json_object_put(c.args[0]);
        script_free(s);
    }
    script_thread_done();
}

static void test_deep_result(void)
{
    struct script *s = compile("function onRequest(req) {\n"
                               "  var v = 1;\n"
                               "  for (var i = 0; i < req.n; i++) v = [v];\n"
                               "  return v;\n"
                               "}");
    json_object *n = json_tokener_parse("{\"n\":64}");
    struct script_call c;

    /* A result as deep as an input may be comes back (the engine makes it
     * under the time limit of a slow machine's sanitizer build too). */
    CU_ASSERT_EQUAL(call1(s, n, &c), SCRIPT_OK);
    CU_ASSERT_PTR_NOT_NULL(c.result);
    json_object_put(c.result);
    json_object_put(c.arg0);
    json_object_put(n);
    /* Deeper is refused as malformed, not a crash. */
    n = json_tokener_parse("{\"n\":65}");
    CU_ASSERT_EQUAL(call1(s, n, &c), SCRIPT_MALFORMED);
    json_object_put(n);
    n = json_tokener_parse("{\"n\":5000}");
    CU_ASSERT_EQUAL(call1(s, n, &c), SCRIPT_MALFORMED);
    json_object_put(n);
    script_free(s);
}

void suite_script_value(void)
{
    ADD_SUITE("script_value", TEST(test_strings), TEST(test_invalid_utf8), TEST(test_symbol_bytes),
              TEST(test_numbers), TEST(test_nested_and_null), TEST(test_depth_limit),
              TEST(test_identity_hook), TEST(test_undefined_and_functions),
              TEST(test_malformed_results), TEST(test_deep_result));
}
