/* libFuzzer harness: JSON paths come from rule authors; whatever the text,
 * compiling must never crash, overrun or leak, and a compiled path must
 * look up safely in any document. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rule/rule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char doc_text[] =
    "{\"error\":{\"code\":\"rate_limit\",\"status\":429,\"details\":[{\"reason\":\"quota\"}]},"
    "\"choices\":[{\"finish_reason\":\"stop\",\"index\":0},{\"finish_reason\":\"length\"}],"
    "\"odd key\":[10,20,[30,[40]]],\"it's\":{\"\\\"q\\\"\":1},\"n\":null,\"\":\"empty\","
    "\"a\":{\"a\":{\"a\":{\"a\":[[[[1]]]]}}}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct json_object *doc;
    struct json_object *v;
    struct jsonpath *p;
    char *text, err[128];
    bool found = true;

    if (doc == NULL)
        doc = json_tokener_parse(doc_text);
    text = malloc(size + 1);
    if (text == NULL || doc == NULL)
        goto out;
    memcpy(text, data, size);
    text[size] = '\0';
    err[0] = '\0';
    p = jsonpath_compile(text, err, sizeof(err));
    if (p == NULL) {
        if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
            abort();
        goto out;
    }
    v = jsonpath_get(p, doc, &found);
    if (!found && v != NULL)
        abort();
    if (found && v != NULL)
        (void)json_object_get_type(v);
    (void)jsonpath_get(p, NULL, &found);
    jsonpath_free(p);
out:
    free(text);
    return 0;
}
