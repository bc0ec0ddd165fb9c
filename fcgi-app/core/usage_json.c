/*
 * The incremental JSON tokenizer of usage scans (usage_json.h).  One state
 * machine over the bytes; where it is in the document is a stack of
 * containers, each with the set of targets that may still lie below it, so
 * the usual answer (targets nowhere near the long text of a reply) costs
 * one comparison a byte.
 */
#include "core/usage_json.h"

#include <string.h>

enum {
    ST_VALUE,        /* a value must come */
    ST_VALUE_OR_END, /* after '[': a value or ']' */
    ST_KEY_OR_END,   /* after '{': a member name or '}' */
    ST_KEY,          /* after ',' in an object: a member name */
    ST_COLON,        /* after a member name */
    ST_AFTER,        /* after a value inside a container: ',' or the close */
    ST_DONE,         /* after the top value: only white space */
    ST_STRING,
    ST_ESCAPE,
    ST_UNICODE,
    ST_NUMBER,
    ST_LITERAL,
    ST_ERROR,
};

/* The steps of a number (sub while in ST_NUMBER). */
enum { N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP };

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

void usage_json_init(struct usage_json *j, const struct usage_json_target *targets,
                     unsigned ntargets, bool array_roots, usage_json_report *report, void *ctx)
{
    j->targets = targets;
    j->ntargets = ntargets < USAGE_JSON_TARGETS ? ntargets : USAGE_JSON_TARGETS;
    j->array_roots = array_roots;
    j->report = report;
    j->ctx = ctx;
    usage_json_reset(j);
}

static uint32_t all_targets(const struct usage_json *j)
{
    return j->ntargets == 32 ? UINT32_MAX : (UINT32_C(1) << j->ntargets) - 1;
}

void usage_json_reset(struct usage_json *j)
{
    j->state = ST_VALUE;
    j->depth = 0;
    j->vmask = all_targets(j);
    j->vlevel = 0;
    j->len = 0;
    j->high = 0;
}

/* The targets of mask whose path ends at level. */
static uint32_t ending(const struct usage_json *j, uint32_t mask, unsigned level)
{
    uint32_t end = 0;
    unsigned t;

    for (t = 0; mask != 0; t++, mask >>= 1)
        if ((mask & 1) && j->targets[t].nsteps == level)
            end |= UINT32_C(1) << t;
    return end;
}

/* Reports v to every target of the next value that ends there. */
static void report(struct usage_json *j, const struct usage_json_value *v)
{
    uint32_t end = ending(j, j->vmask, j->vlevel);
    unsigned t;

    for (t = 0; end != 0; t++, end >>= 1)
        if (end & 1)
            j->report(j->ctx, j->targets[t].field, v);
}

/* Sets the next value's targets: the element at the current index of the
 * array on top, or the member named by buf in the object on top. */
static void position(struct usage_json *j, bool element)
{
    const struct usage_json_frame *f = &j->frames[j->depth - 1];
    uint32_t mask = f->mask, out = 0;
    unsigned t;

    if (element && j->array_roots && j->depth == 1) {
        j->vmask = all_targets(j);
        j->vlevel = 0;
        return;
    }
    for (t = 0; mask != 0; t++, mask >>= 1) {
        const struct usage_json_step *st;
        if (!(mask & 1))
            continue;
        st = &j->targets[t].steps[f->level];
        if (element ? st->name == NULL && st->index == f->index
                    : st->name != NULL && !j->key_long && st->len == j->len &&
                          memcmp(st->name, j->buf, j->len) == 0)
            out |= UINT32_C(1) << t;
    }
    j->vmask = out;
    j->vlevel = (uint16_t)(f->level + 1);
}

/* A value has ended: what may follow. */
static void value_end(struct usage_json *j)
{
    j->state = j->depth == 0 ? ST_DONE : ST_AFTER;
}

static void number_end(struct usage_json *j)
{
    struct usage_json_value v = {false, j->buf, j->len};

    if (j->keep && !j->key_long) {
        j->buf[j->len] = '\0';
        report(j, &v);
    }
    value_end(j);
}

/* The first byte c of a value. */
static void value_begin(struct usage_json *j, unsigned char c)
{
    uint32_t end;
    struct usage_json_frame *f;

    if (c == '{' || c == '[') {
        if (j->depth == USAGE_JSON_DEPTH) {
            j->state = ST_ERROR;
            return;
        }
        end = ending(j, j->vmask, j->vlevel);
        f = &j->frames[j->depth++];
        f->mask = j->vmask & ~end;
        f->level = j->vlevel;
        f->index = 0;
        f->array = c == '[';
        j->state = c == '[' ? ST_VALUE_OR_END : ST_KEY_OR_END;
        return;
    }
    j->keep = j->vmask != 0 && ending(j, j->vmask, j->vlevel) != 0;
    j->len = 0;
    j->key_long = false;
    if (c == '"') {
        j->in_key = false;
        j->state = ST_STRING;
    } else if (c == '-' || is_digit(c)) {
        j->state = ST_NUMBER;
        j->sub = c == '-' ? N_MINUS : c == '0' ? N_ZERO : N_INT;
        j->buf[j->len++] = (char)c;
    } else if (c == 't' || c == 'f' || c == 'n') {
        j->lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
        j->sub = 1;
        j->state = ST_LITERAL;
    } else {
        j->state = ST_ERROR;
    }
}

static void key_begin(struct usage_json *j)
{
    j->in_key = true;
    j->keep = j->frames[j->depth - 1].mask != 0;
    j->len = 0;
    j->key_long = false;
    j->state = ST_STRING;
}

/* Closes the container on top with c, or fails. */
static void container_close(struct usage_json *j, unsigned char c)
{
    if (c != (j->frames[j->depth - 1].array ? ']' : '}')) {
        j->state = ST_ERROR;
        return;
    }
    j->depth--;
    value_end(j);
}

/* Keeps one byte of a string being kept: a member name's bytes as they
 * are, a value's printable ASCII only. */
static void keep_byte(struct usage_json *j, unsigned char c)
{
    if (j->in_key) {
        if (j->len < USAGE_JSON_KEY_MAX)
            j->buf[j->len++] = (char)c;
        else
            j->key_long = true;
    } else if (c >= 0x20 && c < 0x7f && j->len < USAGE_JSON_STR_MAX - 1) {
        j->buf[j->len++] = (char)c;
    }
}

/* Keeps the code point of a \u escape: UTF-8 in a member name (a lone
 * surrogate as U+FFFD), nothing but ASCII in a value. */
static void keep_code(struct usage_json *j, uint32_t cp)
{
    if (!j->in_key) {
        if (cp < 0x80)
            keep_byte(j, (unsigned char)cp);
        return;
    }
    if (cp >= 0xdc00 && cp <= 0xdfff && j->high != 0)
        cp = 0x10000 + ((j->high - 0xd800) << 10) + (cp - 0xdc00);
    else if (cp >= 0xd800 && cp <= 0xdfff)
        cp = 0xfffd;
    j->high = 0;
    if (cp < 0x80) {
        keep_byte(j, (unsigned char)cp);
    } else if (cp < 0x800) {
        keep_byte(j, (unsigned char)(0xc0 | cp >> 6));
        keep_byte(j, (unsigned char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        keep_byte(j, (unsigned char)(0xe0 | cp >> 12));
        keep_byte(j, (unsigned char)(0x80 | (cp >> 6 & 0x3f)));
        keep_byte(j, (unsigned char)(0x80 | (cp & 0x3f)));
    } else {
        keep_byte(j, (unsigned char)(0xf0 | cp >> 18));
        keep_byte(j, (unsigned char)(0x80 | (cp >> 12 & 0x3f)));
        keep_byte(j, (unsigned char)(0x80 | (cp >> 6 & 0x3f)));
        keep_byte(j, (unsigned char)(0x80 | (cp & 0x3f)));
    }
}

/* A high surrogate waits for the \u of its low half; anything else makes
 * it U+FFFD. */
static void flush_high(struct usage_json *j)
{
    if (j->high != 0)
        keep_code(j, 0xd800);
}

static void string_end(struct usage_json *j)
{
    struct usage_json_value v = {true, j->buf, 0};

    if (j->keep)
        flush_high(j);
    if (j->in_key) {
        if (j->keep)
            position(j, false);
        else
            j->vmask = 0;
        j->state = ST_COLON;
        return;
    }
    if (j->keep) {
        j->buf[j->len] = '\0';
        v.len = j->len;
        report(j, &v);
    }
    value_end(j);
}

/* Reads string bytes from p[i]; returns the index after them. */
static size_t string_bytes(struct usage_json *j, const unsigned char *p, size_t i, size_t n)
{
    if (!j->keep) {
        while (i < n && p[i] != '"' && p[i] != '\\' && p[i] >= 0x20)
            i++;
    } else {
        for (; i < n && p[i] != '"' && p[i] != '\\' && p[i] >= 0x20; i++) {
            flush_high(j);
            keep_byte(j, p[i]);
        }
    }
    if (i == n)
        return i;
    if (p[i] == '"')
        string_end(j);
    else if (p[i] == '\\')
        j->state = ST_ESCAPE;
    else
        j->state = ST_ERROR;
    return i + 1;
}

static void escape(struct usage_json *j, unsigned char c)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *e = c != '\0' ? strchr(from, c) : NULL;

    j->state = ST_STRING;
    if (c == 'u') {
        j->ucode = 0;
        j->udigits = 0;
        j->state = ST_UNICODE;
    } else if (e == NULL) {
        j->state = ST_ERROR;
    } else if (j->keep) {
        flush_high(j);
        keep_byte(j, (unsigned char)to[e - from]);
    }
}

static void unicode(struct usage_json *j, unsigned char c)
{
    unsigned v;

    if (is_digit(c))
        v = c - '0';
    else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        v = (unsigned)((c | 0x20) - 'a' + 10);
    else {
        j->state = ST_ERROR;
        return;
    }
    j->ucode = j->ucode << 4 | v;
    if (++j->udigits < 4)
        return;
    j->state = ST_STRING;
    if (!j->keep)
        return;
    if (j->in_key && j->ucode >= 0xd800 && j->ucode <= 0xdbff) {
        flush_high(j);
        j->high = j->ucode;
    } else {
        keep_code(j, j->ucode);
    }
}

/* The next step of a number for c, or -1 when c does not continue it. */
static int number_step(int sub, unsigned char c)
{
    switch (sub) {
    case N_MINUS:
        return c == '0' ? N_ZERO : is_digit(c) ? N_INT : -1;
    case N_ZERO:
    case N_INT:
        if (c == '.')
            return N_DOT;
        if (c == 'e' || c == 'E')
            return N_E;
        return sub == N_INT && is_digit(c) ? N_INT : -1;
    case N_DOT:
    case N_FRAC:
        if (is_digit(c))
            return N_FRAC;
        return sub == N_FRAC && (c == 'e' || c == 'E') ? N_E : -1;
    case N_E:
        if (c == '+' || c == '-')
            return N_ESIGN;
        return is_digit(c) ? N_EXP : -1;
    default: /* N_ESIGN, N_EXP */
        return is_digit(c) ? N_EXP : -1;
    }
}

static bool number_whole(int sub)
{
    return sub == N_ZERO || sub == N_INT || sub == N_FRAC || sub == N_EXP;
}

/* Reads number bytes from p[i]; returns the index after those it took. */
static size_t number_bytes(struct usage_json *j, const unsigned char *p, size_t i, size_t n)
{
    int next;

    for (; i < n; i++) {
        next = number_step(j->sub, p[i]);
        if (next < 0) {
            if (number_whole(j->sub))
                number_end(j);
            else
                j->state = ST_ERROR;
            return i; /* the byte after the number is read again */
        }
        j->sub = next;
        if (!j->keep)
            continue;
        if (j->len < USAGE_JSON_NUM_MAX)
            j->buf[j->len++] = (char)p[i];
        else
            j->key_long = true; /* too long: not reported */
    }
    return i;
}

/* One structural byte c (not white space) outside strings and numbers. */
static void structural(struct usage_json *j, unsigned char c)
{
    struct usage_json_frame *f = j->depth > 0 ? &j->frames[j->depth - 1] : NULL;

    switch (j->state) {
    case ST_VALUE_OR_END:
        if (c == ']') {
            container_close(j, c);
            return;
        }
        /* fall through */
    case ST_VALUE:
        if (f != NULL && f->array)
            position(j, true);
        value_begin(j, c);
        return;
    case ST_KEY_OR_END:
        if (c == '}') {
            container_close(j, c);
            return;
        }
        /* fall through */
    case ST_KEY:
        if (c == '"')
            key_begin(j);
        else
            j->state = ST_ERROR;
        return;
    case ST_COLON:
        j->state = c == ':' ? ST_VALUE : ST_ERROR;
        return;
    case ST_AFTER:
        if (c == ',') {
            if (f->array && f->index < UINT32_MAX)
                f->index++;
            j->state = f->array ? ST_VALUE : ST_KEY;
        } else {
            container_close(j, c);
        }
        return;
    default: /* ST_DONE */
        j->state = ST_ERROR;
    }
}

bool usage_json_feed(struct usage_json *j, const char *text, size_t n)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0;

    while (i < n && j->state != ST_ERROR) {
        switch (j->state) {
        case ST_STRING:
            i = string_bytes(j, p, i, n);
            break;
        case ST_ESCAPE:
            escape(j, p[i++]);
            break;
        case ST_UNICODE:
            unicode(j, p[i++]);
            break;
        case ST_NUMBER:
            i = number_bytes(j, p, i, n);
            break;
        case ST_LITERAL:
            if (p[i++] != (unsigned char)j->lit[j->sub])
                j->state = ST_ERROR;
            else if (j->lit[++j->sub] == '\0')
                value_end(j);
            break;
        default:
            if (!is_space(p[i]))
                structural(j, p[i]);
            i++;
        }
    }
    return j->state != ST_ERROR;
}

bool usage_json_end(struct usage_json *j)
{
    if (j->state == ST_NUMBER && j->depth == 0) {
        if (number_whole(j->sub))
            number_end(j);
        else
            j->state = ST_ERROR;
    }
    return j->state == ST_DONE;
}
