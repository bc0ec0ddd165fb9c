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

/* The value of the placeholder at p (which starts with '{'), with its
 * length in *len, or NULL when none starts there. */
static const char *placeholder(const char *p, const struct shape_vars *v, size_t *len)
{
    static const char *const names[] = {"{request_id}", "{token}", "{upstream}"};
    const char *vals[] = {v->request_id, v->token, v->upstream};
    size_t i;

    for (i = 0; i < NELEM(names); i++)
        if (strncmp(p, names[i], strlen(names[i])) == 0) {
            *len = strlen(names[i]);
            return vals[i] != NULL ? vals[i] : "";
        }
    return NULL;
}

int shape_line(const struct header_rule *r, const struct shape_vars *v, struct buf *line)
{
    const char *p = r->value, *brace;
    int rc = buf_cat(line, r->name, ": ", (char *)NULL);

    /* An unknown {name} stays as it is written. */
    while (rc == 0 && (brace = strchr(p, '{')) != NULL) {
        size_t skip = 1;
        const char *val = placeholder(brace, v, &skip);
        rc |= buf_append(line, p, (size_t)(brace - p));
        rc |= val != NULL ? buf_puts(line, val) : buf_append(line, brace, 1);
        p = brace + skip;
    }
    return rc == 0 ? buf_puts(line, p) : rc;
}
