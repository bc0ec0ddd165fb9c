/* The OpenAPI document made from the route and field tables: every route
 * is an operation, ids are unique, and a field's range, enum and required
 * flag come through from its table. */
#include <json-c/json.h>
#include <string.h>

#include "openapi.h"
#include "route.h"
#include "suites.h"

/* The member at a path of names, or NULL. */
static struct json_object *at(struct json_object *o, const char *const *names)
{
    for (; *names != NULL && o != NULL; names++)
        if (!json_object_object_get_ex(o, *names, &o))
            return NULL;
    return *names == NULL ? o : NULL;
}

static void test_document_head(void)
{
    struct json_object *doc = route_openapi_document();
    const char *const openapi[] = {"openapi", NULL};
    const char *const err[] = {"components", "schemas", "Error", NULL};

    CU_ASSERT_STRING_EQUAL(json_object_get_string(at(doc, openapi)), "3.1.0");
    CU_ASSERT_PTR_NOT_NULL(at(doc, err));
    json_object_put(doc);
}

static void test_operation_ids_unique(void)
{
    struct json_object *doc = route_openapi_document(), *seen = json_object_new_object();
    const char *const paths[] = {"paths", NULL};
    int ops = 0;

    json_object_object_foreach(at(doc, paths), path, item)
    {
        (void)path;
        json_object_object_foreach(item, method, op)
        {
            struct json_object *id;
            (void)method;
            CU_ASSERT_FATAL(json_object_object_get_ex(op, "operationId", &id));
            CU_ASSERT_FALSE(json_object_object_get_ex(seen, json_object_get_string(id), NULL));
            json_object_object_add(seen, json_object_get_string(id), NULL);
            ops++;
        }
    }
    CU_ASSERT(ops > 60);
    json_object_put(seen);
    json_object_put(doc);
}

static void test_fields_come_through(void)
{
    struct json_object *doc = route_openapi_document();
    const char *const create[] = {"paths",   "/api/admin/upstreams", "post",   "requestBody",
                                  "content", "application/json",     "schema", NULL};
    const char *const strategy[] = {"properties", "strategy", "enum", NULL};
    const char *const retries[] = {"properties", "max_retries", "maximum", NULL};
    const char *const patch[] = {"paths",   "/api/admin/upstreams/{id}", "patch",  "requestBody",
                                 "content", "application/json",          "schema", "required",
                                 NULL};
    struct json_object *s = at(doc, create), *req;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(json_object_array_length(at(s, strategy)), 3);
    CU_ASSERT_EQUAL(json_object_get_int(at(s, retries)), 10);
    CU_ASSERT(json_object_object_get_ex(s, "required", &req) &&
              strcmp(json_object_get_string(json_object_array_get_idx(req, 0)), "name") == 0);
    /* An update requires nothing. */
    CU_ASSERT_PTR_NULL(at(doc, patch));
    json_object_put(doc);
}

void suite_openapi(void)
{
    ADD_SUITE("openapi", TEST(test_document_head), TEST(test_operation_ids_unique),
              TEST(test_fields_come_through));
}
