/*
 * The fault messages of the rule compiler: "place.field: what", where the
 * place is ours and the field may be user text, quoted capped.  Shared by
 * rule.c (the rule's fields and actions) and rule_cond.c (the condition
 * tree), which otherwise do not call each other back.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/utf8.h"
#include "core/rule/rule_int.h"

/* Copies at most RULE_QUOTE_MAX bytes of s, cut on a UTF-8 boundary; an
 * empty name shows as "". */
static const char *quote(const char *s, char *buf, size_t len)
{
    size_t n = strlen(s);

    if (n == 0)
        return "\"\"";
    if (n <= RULE_QUOTE_MAX) {
        snprintf(buf, len, "%s", s);
        return buf;
    }
    n = utf8_floor(s, RULE_QUOTE_MAX);
    snprintf(buf, len, "%.*s...", (int)n, s);
    return buf;
}

void rule_fail(char *err, size_t errlen, const char *place, const char *field, const char *fmt, ...)
{
    char what[256], q[RULE_QUOTE_MAX + 8];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (field == NULL)
        snprintf(err, errlen, "%s: %s", place, what);
    else
        snprintf(err, errlen, "%s%s%s: %s", place, place[0] != '\0' ? "." : "",
                 quote(field, q, sizeof(q)), what);
}
