/* core/upscript: a pool snapshot takes the previous snapshot's compiled
 * script while the source is unchanged, and compiles a changed one. */
#include <string.h>

#include "core/pool.h"
#include "core/upscript.h"
#include "suites.h"

static const struct script_limits lim = {SCRIPT_TIMEOUT_MS_DEFAULT, SCRIPT_MEMORY_KB_DEFAULT};

static void test_same_source_is_carried_over(void)
{
    const char *src = "function onRequest(req) { req.headers.a = '1'; }";
    struct upscript *a = upscript_get(NULL, "u", src, strlen(src), &lim), *b, *c;

    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL(a->compiled);
    b = upscript_get(a, "u", src, strlen(src), &lim);
    CU_ASSERT_PTR_EQUAL(a, b);
    c = upscript_get(a, "u", "function onRequest(req) {}", 26, &lim);
    CU_ASSERT_PTR_NOT_EQUAL(a, c);
    CU_ASSERT_PTR_NOT_NULL(c->compiled);
    upscript_release(a);
    CU_ASSERT_PTR_NOT_NULL(b->compiled); /* still held by b's reference */
    upscript_release(b);
    upscript_release(c);
    script_thread_done();
}

static void test_a_source_that_does_not_compile_is_kept_with_its_error(void)
{
    const char *src = "function onRequest(req) {\n  x = = 1;\n}";
    struct upscript *s = upscript_get(NULL, "u", src, strlen(src), &lim);

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NULL(s->compiled);
    CU_ASSERT_EQUAL(s->err.kind, SCRIPT_COMPILE);
    CU_ASSERT_EQUAL(s->err.line, 2);
    upscript_release(s);
}

static void test_attach_finds_the_previous_upstream_by_id(void)
{
    const char *src = "function onResponse(res) {}";
    struct pool_upstream prev_up, next_up;
    struct pool prev;

    memset(&prev_up, 0, sizeof(prev_up));
    memset(&next_up, 0, sizeof(next_up));
    memset(&prev, 0, sizeof(prev));
    prev_up.id = next_up.id = 7;
    prev_up.name = next_up.name = "u";
    prev.ups = &prev_up;
    prev.nups = 1;
    CU_ASSERT_EQUAL(upscript_attach(&prev_up, NULL, src, strlen(src), &lim), 0);
    CU_ASSERT_EQUAL(upscript_attach(&next_up, &prev, src, strlen(src), &lim), 0);
    CU_ASSERT_PTR_EQUAL(prev_up.script, next_up.script);
    upscript_release(prev_up.script);
    upscript_release(next_up.script);
    script_thread_done();
}

void suite_upscript(void)
{
    ADD_SUITE("upscript", TEST(test_same_source_is_carried_over),
              TEST(test_a_source_that_does_not_compile_is_kept_with_its_error),
              TEST(test_attach_finds_the_previous_upstream_by_id));
}
