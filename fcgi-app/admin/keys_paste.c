/* The rules of a key paste; web/js/pages/keys.js applies the same rules for
 * the import dialog's preview, and the server stays the authority. */
#include "admin/keys_paste.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/store.h"

static const char *const reason_texts[PASTE__MAX] = {
    "ok", "too short", "too long", "bad character", "not a string", "duplicate", "already in pool",
};

const char *paste_reason_text(enum paste_reason r)
{
    return (unsigned)r < PASTE__MAX ? reason_texts[r] : "invalid";
}

enum paste_reason paste_value_check(const char *v, size_t n, size_t min_len)
{
    if (!key_chars_ok(v, n))
        return PASTE_BAD_CHAR;
    if (n > KEY_VALUE_MAX)
        return PASTE_TOO_LONG;
    if (n < min_len)
        return PASTE_TOO_SHORT;
    return PASTE_OK;
}

static bool is_separator(char c)
{
    return c == '\n' || c == '\r' || c == ',' || c == ';' || c == ' ' || c == '\t' || c == '\v' ||
           c == '\f';
}

static bool is_quote(char c)
{
    return c == '"' || c == '\'' || c == '`';
}

/* Strips the quotes around one piece and hands it on when not empty. */
static void emit(const char *p, size_t n, long line, paste_fn fn, void *arg)
{
    while (n > 0 && is_quote(p[0])) {
        p++;
        n--;
    }
    while (n > 0 && is_quote(p[n - 1]))
        n--;
    if (n > 0)
        fn(arg, p, n, line);
}

void paste_split(const char *text, size_t len, paste_fn fn, void *arg)
{
    size_t i, start = 0;
    long line = 1;
    bool in_piece = false;

    for (i = 0; i < len; i++) {
        if (!is_separator(text[i])) {
            if (!in_piece)
                start = i;
            in_piece = true;
            continue;
        }
        if (in_piece)
            emit(text + start, i - start, line, fn, arg);
        in_piece = false;
        if (text[i] == '\n')
            line++;
    }
    if (in_piece)
        emit(text + start, len - start, line, fn, arg);
}

static void refuse(struct import *im, long line, enum paste_reason reason)
{
    im->invalid++;
    if (im->nrefused < REJECTED_MAX)
        im->refused[im->nrefused++] = (struct refusal){line, im->seq, reason};
    im->seq++;
}

void import_add(struct import *im, const char *p, size_t n, long line)
{
    enum paste_reason why;

    while (n > 0 && isspace((unsigned char)*p)) {
        p++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)p[n - 1]))
        n--;
    if (n == 0)
        return; /* blank lines are skipped, not counted */
    why = paste_value_check(p, n, im->min_len);
    if (why != PASTE_OK) {
        refuse(im, line, why);
        return;
    }
    if (im->n == IMPORT_MAX) {
        im->too_many = true;
        return;
    }
    if (im->n == im->cap) {
        size_t cap = im->cap ? im->cap * 2 : 256;
        struct candidate *c = realloc(im->c, cap * sizeof(*c));
        if (c == NULL) {
            im->too_many = true;
            return;
        }
        im->c = c;
        im->cap = cap;
    }
    im->c[im->n] = (struct candidate){p, n, line, im->seq++, PASTE_OK};
    im->n++;
}

static void add_pasted(void *arg, const char *v, size_t n, long line)
{
    import_add(arg, v, n, line);
}

void import_collect(struct json_object *o, struct import *im)
{
    struct json_object *list, *text;
    size_t i;

    if (json_object_object_get_ex(o, "keys", &list) && json_object_is_type(list, json_type_array)) {
        for (i = 0; i < json_object_array_length(list); i++) {
            struct json_object *e = json_object_array_get_idx(list, i);
            if (!json_object_is_type(e, json_type_string)) {
                refuse(im, (long)i + 1, PASTE_NOT_STRING);
                continue;
            }
            import_add(im, json_object_get_string(e), (size_t)json_object_get_string_len(e),
                       (long)i + 1);
        }
    }
    if (json_object_object_get_ex(o, "text", &text) && json_object_is_type(text, json_type_string))
        paste_split(json_object_get_string(text), (size_t)json_object_get_string_len(text),
                    add_pasted, im);
}

struct json_object *import_rejected(const struct import *im)
{
    struct json_object *list = json_object_new_array();
    size_t i = 0, k = 0;

    while (json_object_array_length(list) < REJECTED_MAX) {
        struct json_object *e;
        long line;
        enum paste_reason why;
        while (i < im->n && im->c[i].reason == PASTE_OK)
            i++;
        if (i == im->n && k == im->nrefused)
            break;
        if (k < im->nrefused && (i == im->n || im->refused[k].seq < im->c[i].seq)) {
            line = im->refused[k].line;
            why = im->refused[k++].reason;
        } else {
            line = im->c[i].line;
            why = im->c[i++].reason;
        }
        e = json_object_new_object();
        json_object_object_add(e, "line", json_object_new_int64(line));
        json_object_object_add(e, "reason", json_object_new_string(paste_reason_text(why)));
        json_object_array_add(list, e);
    }
    return list;
}
