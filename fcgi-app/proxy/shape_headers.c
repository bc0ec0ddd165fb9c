/* Header shaping (shape_headers.h). */
#include "proxy/shape_headers.h"

#include <string.h>
#include <strings.h>

#include "core/nelem.h"

bool shape_forwarding_header(const char *name)
{
    static const char *const fwd[] = {"forwarded", "x-real-ip", "via", "cf-connecting-ip",
                                      "true-client-ip"};
    size_t i;

    if (strncasecmp(name, "x-forwarded-", 12) == 0)
        return true;
    for (i = 0; i < NELEM(fwd); i++)
        if (strcasecmp(name, fwd[i]) == 0)
            return true;
    return false;
}

bool shape_drops(const struct header_rules *rules, bool strip, const char *name)
{
    size_t i;

    if (strip && shape_forwarding_header(name))
        return true;
    for (i = 0; i < rules->n; i++)
        if (rules->v[i].op != HEADER_APPEND && strcasecmp(rules->v[i].name, name) == 0)
            return true;
    return false;
}
