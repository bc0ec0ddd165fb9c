/* libFuzzer harness: upstream answers are outside input, scanned as they
 * stream.  Whatever the bytes, format, kind and pieces, a scan must never
 * crash, overrun or grow, must give the same result however the answer is
 * split, and must give counts and a model of the promised shape.  The
 * request-model and usage_paths readers get the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/usage_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct usage_paths paths = {
    "$.u.in", "$.out[1]['x y']", "$.u.c", "$[0].t", "$.m",
};

static void scan(enum usage_format f, enum usage_body kind, bool complete, const char *p, size_t n,
                 unsigned seed, struct usage_counts *out)
{
    struct usage_scan *s = usage_scan_new(f, &paths, kind);
    size_t held, i = 0, k;

    if (s == NULL)
        abort();
    held = usage_scan_memory(s);
    if (held > USAGE_SCAN_MEMORY)
        abort();
    while (i < n) {
        k = seed == 0 ? n - i : 1 + (seed = seed * 1103515245u + 12345u) % 23;
        if (k > n - i)
            k = n - i;
        usage_scan_feed(s, p + i, k);
        i += k;
    }
    if (usage_scan_memory(s) != held)
        abort();
    usage_scan_end(s, complete, out);
    usage_scan_free(s);
}

static void check_shape(const struct usage_counts *u)
{
    const long long max = 1LL << 53;
    size_t i, len = strnlen(u->model, USAGE_MODEL_MAX);

    if (len == USAGE_MODEL_MAX)
        abort();
    for (i = 0; i < len; i++)
        if (u->model[i] < 0x20 || u->model[i] > 0x7e)
            abort();
    if (u->prompt < -1 || u->completion < -1 || u->cached < -1 || u->total < -1 ||
        u->prompt > 3 * max || u->completion > 2 * max || u->cached > max || u->total > 5 * max)
        abort();
    if ((unsigned)u->source > USAGE_SOURCE_CUT)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct usage_counts whole, split;
    struct usage_paths parsed;
    enum usage_format f;
    enum usage_body kind;
    const char *body = (const char *)data + 2, *msg;
    char model[16], *text;
    bool complete;

    if (size < 2)
        return 0;
    f = (enum usage_format)(data[0] % 5);
    kind = (enum usage_body)(data[0] / 5 % 3);
    complete = data[0] & 0x80;
    scan(f, kind, complete, body, size - 2, 0, &whole);
    scan(f, kind, complete, body, size - 2, data[1] | 1u, &split);
    check_shape(&whole);
    if (memcmp(&whole, &split, offsetof(struct usage_counts, model)) != 0 ||
        strcmp(whole.model, split.model) != 0 || whole.source != split.source)
        abort();

    usage_request_model("/v1beta/models/x:generateContent", body, size - 2, model, sizeof(model));
    if (strnlen(model, sizeof(model)) == sizeof(model))
        abort();
    text = malloc(size - 1);
    if (text == NULL)
        return 0;
    memcpy(text, body, size - 2);
    text[size - 2] = '\0';
    msg = usage_paths_parse(text, &parsed);
    if (msg != NULL && parsed.prompt[0] != '\0')
        abort();
    free(text);
    return 0;
}
