/* libFuzzer harness: the configuration parser must never crash or leak,
 * whatever the file holds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config c;
    char err[512];
    char *text = malloc(size + 1);

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (config_parse(&c, "fuzz.conf", text, false, err, sizeof(err)) == 0)
        config_free(&c);
    free(text);
    return 0;
}
