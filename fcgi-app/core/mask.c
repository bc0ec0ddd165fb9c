/* The one function that hides a key in stored or shown text, and the
 * encoded forms of a key it looks for (mask.h). */
#include "core/mask.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/utf8.h"

/* How the characters of a key are written in one encoded form. */
enum mask_enc { ENC_JSON, ENC_JSON_U_LOWER, ENC_JSON_U_UPPER, ENC_PCT_UPPER, ENC_PCT_LOWER };

/* Writes the form of byte c under enc to out (at most 6 bytes); returns
 * how many bytes it took. */
static size_t encode_byte(unsigned char c, enum mask_enc enc, char *out)
{
    const char *hex =
        (enc == ENC_JSON_U_UPPER || enc == ENC_PCT_UPPER) ? "0123456789ABCDEF" : "0123456789abcdef";
    bool ctl = c < 0x20 || c == 0x7f;

    if (enc == ENC_PCT_UPPER || enc == ENC_PCT_LOWER) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            (c != '\0' && strchr("-._~", c) != NULL)) {
            out[0] = (char)c;
            return 1;
        }
        out[0] = '%';
        out[1] = hex[c >> 4];
        out[2] = hex[c & 15];
        return 3;
    }
    if (enc == ENC_JSON && !ctl && (c == '/' || c == '"' || c == '\\')) {
        out[0] = '\\';
        out[1] = (char)c;
        return 2;
    }
    if (ctl || (enc != ENC_JSON && c != '\0' && strchr("\"\\/<>&'", c) != NULL)) {
        memcpy(out, "\\u00", 4);
        out[4] = hex[c >> 4];
        out[5] = hex[c & 15];
        return 6;
    }
    out[0] = (char)c;
    return 1;
}

/* Writes the base64 of the n bytes at p to out, the characters that the
 * key alone decides only (no padding, no last character that the next
 * bytes would change), so that the form is found inside a longer base64
 * text too.  Returns the length written (at most 4 * n / 3 + 1). */
static size_t encode_base64(const unsigned char *p, size_t n, bool url, char *out)
{
    const char *abc = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                          : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;

    for (i = 0; i + 3 <= n; i += 3) {
        unsigned long v = ((unsigned long)p[i] << 16) | ((unsigned long)p[i + 1] << 8) | p[i + 2];
        out[o++] = abc[(v >> 18) & 63];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = abc[(v >> 6) & 63];
        out[o++] = abc[v & 63];
    }
    if (n - i >= 1)
        out[o++] = abc[p[i] >> 2];
    if (n - i == 2)
        out[o++] = abc[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
    return o;
}

/* Adds the form p (len bytes) unless it is too short to tell from
 * ordinary text or s already has it. */
static void add_form(struct mask_secret *s, const char *p, size_t len)
{
    size_t i;

    if (s->nforms == MASK_FORMS_MAX || (s->nforms > 0 && len < MASK_PARTIAL_MIN))
        return;
    for (i = 0; i < s->nforms; i++)
        if (s->form[i].len == len && memcmp(s->form[i].p, p, len) == 0)
            return;
    s->form[s->nforms].p = p;
    s->form[s->nforms].len = len;
    s->first[(unsigned char)p[0] >> 3] |= (unsigned char)(1u << ((unsigned char)p[0] & 7));
    s->nforms++;
}

int mask_secret_init(struct mask_secret *s, const char *value, size_t len, const char *masked)
{
    static const enum mask_enc encs[] = {ENC_JSON, ENC_JSON_U_LOWER, ENC_JSON_U_UPPER,
                                         ENC_PCT_UPPER, ENC_PCT_LOWER};
    size_t e, i, o = 0;

    memset(s, 0, sizeof(*s));
    s->value = value;
    s->len = len;
    s->masked = masked;
    if (len == 0)
        return 0;
    add_form(s, value, len);
    s->store_len = len * 6 * 5 + 2 * (len * 4 / 3 + 1);
    if ((s->store = malloc(s->store_len)) == NULL)
        return -1;
    for (e = 0; e < sizeof(encs) / sizeof(encs[0]); e++) {
        size_t start = o;
        for (i = 0; i < len; i++)
            o += encode_byte((unsigned char)value[i], encs[e], s->store + o);
        add_form(s, s->store + start, o - start);
    }
    for (e = 0; e < 2; e++) {
        size_t n = encode_base64((const unsigned char *)value, len, e == 1, s->store + o);
        add_form(s, s->store + o, n);
        o += n;
    }
    return 0;
}

void mask_secret_free(struct mask_secret *s)
{
    if (s->store != NULL) {
        crypto_wipe(s->store, s->store_len);
        free(s->store);
    }
    s->store = NULL;
    s->nforms = 0;
}

/* A secret of the per-thread cache: its own copy of the value and of the
 * masked form, and the forms computed on that copy. */
struct mask_slot {
    char *value;
    size_t len;
    char masked[MASK_MAX];
    struct mask_secret secret;
};

/* Enough for a worker that goes round a small pool (the keys of a pool
 * are used in turn): a larger pool misses and recomputes the forms. */
#define MASK_SLOTS 16

/* A thread's cache: its slots and the one to replace next. */
struct mask_cache {
    struct mask_slot slot[MASK_SLOTS];
    size_t next;
};

static pthread_once_t slots_once = PTHREAD_ONCE_INIT;
static pthread_key_t slots_key;
static bool slots_key_ok;

/* Wipes and frees one slot. */
static void slot_clear(struct mask_slot *m)
{
    mask_secret_free(&m->secret);
    if (m->value != NULL) {
        crypto_wipe(m->value, m->len);
        free(m->value);
    }
    m->value = NULL;
    m->len = 0;
}

/* Wipes and frees a thread's cache when it ends (a pthread key destructor). */
static void slots_free(void *arg)
{
    struct mask_cache *c = arg;
    size_t i;

    for (i = 0; i < MASK_SLOTS; i++)
        slot_clear(&c->slot[i]);
    free(c);
}

static void slots_setup(void)
{
    slots_key_ok = pthread_key_create(&slots_key, slots_free) == 0;
}

/* The calling thread's cache, made at its first call; NULL without memory. */
static struct mask_cache *thread_cache(void)
{
    struct mask_cache *c;

    pthread_once(&slots_once, slots_setup);
    if (!slots_key_ok)
        return NULL;
    c = pthread_getspecific(slots_key);
    if (c == NULL && (c = calloc(1, sizeof(*c))) != NULL &&
        pthread_setspecific(slots_key, c) != 0) {
        free(c);
        c = NULL;
    }
    return c;
}

const struct mask_secret *mask_secret_cached(const char *value, size_t len, const char *masked)
{
    struct mask_cache *c = thread_cache();
    struct mask_slot *m;
    size_t i, mlen = strlen(masked);

    if (c == NULL || len == 0 || mlen >= MASK_MAX)
        return NULL;
    for (i = 0; i < MASK_SLOTS; i++) {
        m = &c->slot[i];
        /* The masked form, public, tells most keys apart before the
         * constant-time comparison of the value. */
        if (m->value != NULL && m->len == len && strcmp(m->masked, masked) == 0 &&
            crypto_equal(m->value, value, len))
            return &m->secret;
    }
    m = &c->slot[c->next++ % MASK_SLOTS];
    slot_clear(m);
    if ((m->value = malloc(len)) == NULL)
        return NULL;
    memcpy(m->value, value, len);
    m->len = len;
    memcpy(m->masked, masked, mlen + 1);
    if (mask_secret_init(&m->secret, m->value, len, m->masked) != 0) {
        slot_clear(m);
        return NULL;
    }
    return &m->secret;
}

/* How many bytes of form f begin at src + i (n bytes in all): the whole
 * form, what is left of the input when it ends inside the form, or, at the
 * start of the input, the longest tail of the form that it begins with
 * (MASK_PARTIAL_MIN bytes at least for a cut piece); 0 for none. */
static size_t form_at(const char *src, size_t i, size_t n, const struct mask_form *f)
{
    size_t left = n - i, m;

    if (left >= f->len && memcmp(src + i, f->p, f->len) == 0)
        return f->len;
    if (left < f->len && left >= MASK_PARTIAL_MIN && memcmp(src + i, f->p, left) == 0)
        return left;
    if (i != 0)
        return 0;
    for (m = (f->len - 1 < n ? f->len - 1 : n); m >= MASK_PARTIAL_MIN; m--)
        if (memcmp(src, f->p + f->len - m, m) == 0)
            return m;
    return 0;
}

/* How many bytes of the secret, in any of its forms, begin at src + i; 0
 * when none does.  A secret filled by hand (no forms) is looked for as
 * stored. */
static size_t secret_at(const char *src, size_t i, size_t n, const struct mask_secret *k)
{
    struct mask_form plain = {k->value, k->len};
    unsigned char c = (unsigned char)src[i];
    size_t f, hit;

    if (k->len == 0)
        return 0;
    if (k->nforms == 0)
        return form_at(src, i, n, &plain);
    if (i != 0 && !(k->first[c >> 3] & (1u << (c & 7))))
        return 0;
    for (f = 0; f < k->nforms; f++)
        if ((hit = form_at(src, i, n, &k->form[f])) > 0)
            return hit;
    return 0;
}

/* Appends the len bytes of UTF-8 text s to out (o bytes used of cap), cut
 * on a character boundary when they do not fit; returns the new length. */
static size_t put(char *out, size_t o, size_t cap, const char *s, size_t len)
{
    if (len > cap - o)
        len = utf8_floor(s, cap - o);
    memcpy(out + o, s, len);
    return o + len;
}

size_t mask_text(char *out, size_t outlen, const char *src, size_t n, const struct mask_secret *k,
                 bool printable)
{
    size_t i = 0, o = 0, cap, hit, len;

    if (outlen == 0)
        return 0;
    cap = outlen - 1;
    while (i < n && o < cap) {
        unsigned char c = (unsigned char)src[i];
        if ((hit = secret_at(src, i, n, k)) > 0) {
            size_t mlen = strlen(k->masked), room = cap - o;
            o = put(out, o, cap, k->masked, mlen);
            if (mlen > room)
                break; /* the text ends in a cut mask */
            i += hit;
            continue;
        }
        if (!printable) {
            out[o++] = src[i++];
            continue;
        }
        len = utf8_seq_len(c);
        if (len == 0 || i + len > n || !utf8_valid(src + i, len) || o + len > cap) {
            out[o++] = '?';
            i++;
            continue;
        }
        if (len == 1 && c < 0x20 && c != '\n' && c != '\t')
            out[o++] = ' ';
        else
            o = put(out, o, cap, src + i, len);
        i += len;
    }
    out[o] = '\0';
    return o;
}

/* Whether some form of the secret may begin at src + 1 or later (n bytes
 * in all): a whole form, and a form cut off by the end of the input,
 * both begin with the form's first MASK_PARTIAL_MIN bytes (all of a
 * shorter form), which memmem finds far faster than a look at every
 * byte.  A form cut at the start of the input can only be at src. */
static bool may_hold_after_first(const char *src, size_t n, const struct mask_secret *k)
{
    struct mask_form plain = {k->value, k->len};
    const struct mask_form *forms = k->nforms > 0 ? k->form : &plain;
    size_t f, nforms = k->nforms > 0 ? k->nforms : 1;

    for (f = 0; f < nforms; f++) {
        size_t m = forms[f].len < MASK_PARTIAL_MIN ? forms[f].len : MASK_PARTIAL_MIN;
        if (m == 0 || (n > 1 && memmem(src + 1, n - 1, forms[f].p, m) != NULL))
            return true;
    }
    return false;
}

int mask_buf(struct buf *out, const char *src, size_t n, const struct mask_secret *k)
{
    size_t i = 0, start = 0, hit;
    int hits = 0;

    if (k == NULL || k->len == 0 ||
        (n > 0 && secret_at(src, 0, n, k) == 0 && !may_hold_after_first(src, n, k)))
        return buf_append(out, src, n) == 0 ? 0 : -1;
    while (i < n) {
        if ((hit = secret_at(src, i, n, k)) == 0) {
            i++;
            continue;
        }
        if (buf_append(out, src + start, i - start) != 0 || buf_puts(out, k->masked) != 0)
            return -1;
        hits++;
        i += hit;
        start = i;
    }
    return buf_append(out, src + start, n - start) == 0 ? hits : -1;
}

size_t mask_buf_bound(size_t n)
{
    /* Every byte could at worst be a one-byte secret that becomes a mask. */
    return (n + 2) * MASK_MAX;
}
