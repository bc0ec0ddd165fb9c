/* libFuzzer harness: the key paste rules (POST /api/admin/keys/import)
 * must never crash, leak or read past the text, whatever is pasted; every
 * value handed on lies inside the text and the rejected list stays capped.
 * fuzz-sources: fcgi-app/admin/keys_paste.c */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin/keys_paste.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct import *im = calloc(1, sizeof(*im));
    struct json_object *o, *rejected;
    char *text = malloc(size + 1);
    size_t i;

    if (im == NULL || text == NULL)
        goto out;
    memcpy(text, data, size);
    text[size] = '\0';
    im->min_len = size > 0 ? data[0] % 16 : 8;
    o = json_object_new_object();
    json_object_object_add(o, "text", json_object_new_string_len(text, (int)size));
    import_collect(o, im);
    for (i = 0; i < im->n; i++) {
        if (im->c[i].n == 0 || im->c[i].line < 1 ||
            paste_value_check(im->c[i].p, im->c[i].n, im->min_len) != PASTE_OK)
            abort();
    }
    rejected = import_rejected(im);
    if (json_object_array_length(rejected) > REJECTED_MAX)
        abort();
    json_object_put(rejected);
    json_object_put(o);
out:
    if (im != NULL)
        free(im->c);
    free(im);
    free(text);
    return 0;
}
