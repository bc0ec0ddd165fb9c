/*
 * Usage scans (usage_scan.h): the paths each format reads, the scan that
 * feeds an answer's bytes to the JSON tokenizer (usage_json.c) directly or
 * event by event (usage_sse.c), and the counts made of what it found.
 * A scan is one allocation of a fixed size; feeding it allocates nothing.
 */
#include "core/usage_scan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/nelem.h"
#include "core/rule/rule.h"
#include "core/usage_json.h"
#include "core/usage_sse.h"

/* What a path reads.  Anthropic's cache writes and Gemini's thoughts are
 * added into prompt and completion at the end. */
enum field {
    F_PROMPT,
    F_COMPLETION,
    F_CACHED,
    F_TOTAL,
    F_MODEL,
    F_CACHE_WRITE,
    F_THOUGHTS,
    F__MAX
};

struct builtin {
    enum field field;
    const char *path; /* member names joined by '.' */
};

/* OpenAI: Chat Completions and the Responses API (whose stream carries the
 * usage in response.usage of its response.completed event). */
static const struct builtin openai[] = {
    {F_PROMPT, "usage.prompt_tokens"},
    {F_COMPLETION, "usage.completion_tokens"},
    {F_CACHED, "usage.prompt_tokens_details.cached_tokens"},
    {F_TOTAL, "usage.total_tokens"},
    {F_PROMPT, "usage.input_tokens"},
    {F_COMPLETION, "usage.output_tokens"},
    {F_CACHED, "usage.input_tokens_details.cached_tokens"},
    {F_MODEL, "model"},
    {F_PROMPT, "response.usage.input_tokens"},
    {F_COMPLETION, "response.usage.output_tokens"},
    {F_CACHED, "response.usage.input_tokens_details.cached_tokens"},
    {F_TOTAL, "response.usage.total_tokens"},
    {F_MODEL, "response.model"},
};

/* Anthropic: the answer, and the stream's message_start (message.*) and
 * message_delta (usage.*) events. */
static const struct builtin anthropic[] = {
    {F_PROMPT, "usage.input_tokens"},
    {F_COMPLETION, "usage.output_tokens"},
    {F_CACHE_WRITE, "usage.cache_creation_input_tokens"},
    {F_CACHED, "usage.cache_read_input_tokens"},
    {F_MODEL, "model"},
    {F_PROMPT, "message.usage.input_tokens"},
    {F_COMPLETION, "message.usage.output_tokens"},
    {F_CACHE_WRITE, "message.usage.cache_creation_input_tokens"},
    {F_CACHED, "message.usage.cache_read_input_tokens"},
    {F_MODEL, "message.model"},
};

/* Gemini: also inside the elements of a top-level array (the stream of
 * :streamGenerateContent without alt=sse). */
static const struct builtin gemini[] = {
    {F_PROMPT, "usageMetadata.promptTokenCount"},
    {F_COMPLETION, "usageMetadata.candidatesTokenCount"},
    {F_THOUGHTS, "usageMetadata.thoughtsTokenCount"},
    {F_CACHED, "usageMetadata.cachedContentTokenCount"},
    {F_TOTAL, "usageMetadata.totalTokenCount"},
    {F_MODEL, "modelVersion"},
};

#define MAX_COUNT (1LL << 53)

#define CUSTOM_FIELDS 5
#define MAX_STEPS     (CUSTOM_FIELDS * 64) /* jsonpath.c allows 64 steps a path */

struct usage_scan {
    enum usage_format format;
    enum usage_body kind;
    struct usage_json json;
    struct usage_sse sse;
    struct usage_json_target targets[USAGE_JSON_TARGETS];
    struct usage_json_step steps[MAX_STEPS];
    unsigned ntargets, nsteps;
    char names[CUSTOM_FIELDS * USAGE_PATH_MAX]; /* a custom path's member names */
    size_t nnames;

    /* What was found: the last value of each field. */
    long long num[F__MAX];
    char model[USAGE_MODEL_MAX];
    bool counted;   /* a count was read */
    bool malformed; /* the answer, or an event's data, was not JSON */

    /* The current event: its data is held while it could be "[DONE]". */
    char held[6];
    unsigned nheld;
    bool streaming; /* its data goes to the tokenizer */
};

_Static_assert(sizeof(struct usage_scan) <= USAGE_SCAN_MEMORY, "a scan fits USAGE_SCAN_MEMORY");
_Static_assert(USAGE_JSON_STR_MAX <= USAGE_MODEL_MAX, "a model found fits");

static const char *const format_names[] = {"none", "openai", "anthropic", "gemini", "custom"};

int usage_format_parse(const char *name, enum usage_format *out)
{
    size_t i;

    for (i = 0; i < NELEM(format_names); i++)
        if (strcmp(name, format_names[i]) == 0) {
            *out = (enum usage_format)i;
            return 0;
        }
    return -1;
}

const char *usage_format_name(enum usage_format f)
{
    return (size_t)f < NELEM(format_names) ? format_names[f] : "none";
}

const char *usage_source_name(enum usage_source s)
{
    static const char *const names[] = {NULL, "reported", "absent", "parse_error", "cut"};

    return (size_t)s < NELEM(names) ? names[s] : NULL;
}

/* Whether the n bytes at p start with the word w, ASCII case ignored. */
static bool starts_with(const char *p, size_t n, const char *w)
{
    size_t len = strlen(w);

    return n >= len && strncasecmp(p, w, len) == 0;
}

enum usage_body usage_body_kind(const char *content_type, size_t len)
{
    const char *p = content_type;
    size_t n;

    if (p == NULL)
        return USAGE_BODY_OTHER;
    while (len > 0 && (*p == ' ' || *p == '\t'))
        p++, len--;
    for (n = 0; n < len && p[n] != ';' && p[n] != ' ' && p[n] != '\t'; n++)
        ;
    if (n == 17 && starts_with(p, n, "text/event-stream"))
        return USAGE_BODY_SSE;
    if (n == 16 && starts_with(p, n, "application/json"))
        return USAGE_BODY_JSON;
    if (n > 5 && memchr(p, '/', n) != NULL && strncasecmp(p + n - 5, "+json", 5) == 0)
        return USAGE_BODY_JSON;
    return USAGE_BODY_OTHER;
}

/* Adds a target made of the member names of a dotted path (ours). */
static void add_builtin(struct usage_scan *s, const struct builtin *b)
{
    struct usage_json_target *t = &s->targets[s->ntargets++];
    const char *p = b->path, *dot;

    t->steps = &s->steps[s->nsteps];
    t->nsteps = 0;
    t->field = b->field;
    for (;;) {
        dot = strchr(p, '.');
        s->steps[s->nsteps++] =
            (struct usage_json_step){p, dot != NULL ? (size_t)(dot - p) : strlen(p), 0};
        t->nsteps++;
        if (dot == NULL)
            break;
        p = dot + 1;
    }
}

/* Adds the target of a custom path; a path that is empty, or not valid
 * (usage_paths_parse checks them first), reads nothing. */
static void add_custom(struct usage_scan *s, enum field field, const char *text)
{
    struct usage_json_target *t = &s->targets[s->ntargets];
    struct jsonpath *p;
    const char *name;
    size_t i, n, index, len;
    char err[128];

    if (text[0] == '\0' || memchr(text, '\0', USAGE_PATH_MAX) == NULL)
        return;
    p = jsonpath_compile(text, err, sizeof(err));
    if (p == NULL)
        return;
    n = jsonpath_nsteps(p);
    t->steps = &s->steps[s->nsteps];
    t->nsteps = (unsigned)n;
    t->field = field;
    for (i = 0; i < n && s->nsteps < MAX_STEPS; i++) {
        struct usage_json_step *st = &s->steps[s->nsteps++];
        name = jsonpath_step(p, i, &index);
        *st = (struct usage_json_step){NULL, 0, index > UINT32_MAX ? UINT32_MAX : (uint32_t)index};
        if (name == NULL)
            continue;
        /* A name is shorter than its path, and the paths fit names. */
        len = strlen(name);
        memcpy(s->names + s->nnames, name, len);
        st->name = s->names + s->nnames;
        st->len = len;
        s->nnames += len;
    }
    if (i == n)
        s->ntargets++;
    jsonpath_free(p);
}

/* The count that the n characters of s (a valid JSON number) are, or -1
 * when they are not a non-negative integer up to 2^53. */
static long long count_value(const char *s, size_t n)
{
    long long v = 0;
    size_t i = 0, digits = 0, frac = 0;
    long exp = 0, shift;
    bool neg_exp = false, in_frac = false;
    char d[USAGE_JSON_NUM_MAX];

    if (n == 0 || s[0] == '-')
        return -1;
    for (; i < n && s[i] != 'e' && s[i] != 'E'; i++) {
        if (s[i] == '.')
            in_frac = true;
        else {
            d[digits++] = s[i];
            frac += in_frac;
        }
    }
    if (i < n) {
        if (s[++i] == '+' || s[i] == '-')
            neg_exp = s[i++] == '-';
        for (; i < n && exp < 1000; i++)
            exp = exp * 10 + (s[i] - '0');
    }
    shift = (neg_exp ? -exp : exp) - (long)frac;
    /* Digits past the decimal point after the shift must all be zero. */
    while (shift < 0 && digits > 0) {
        if (d[digits - 1] != '0')
            return -1;
        digits--;
        shift++;
    }
    for (i = 0; i < digits; i++) {
        v = v * 10 + (d[i] - '0');
        if (v > MAX_COUNT)
            return -1;
    }
    for (; shift > 0 && v != 0; shift--) {
        v *= 10;
        if (v > MAX_COUNT)
            return -1;
    }
    return v;
}

/* A value found at a target: the model when it is a non-empty string,
 * a count when it is one; anything else is ignored. */
static void found(void *ctx, unsigned field, const struct usage_json_value *v)
{
    struct usage_scan *s = ctx;
    long long n;

    if (field == F_MODEL) {
        if (v->string && v->len > 0)
            memcpy(s->model, v->text, v->len + 1); /* len < USAGE_MODEL_MAX */
    } else if (!v->string && (n = count_value(v->text, v->len)) >= 0) {
        s->num[field] = n;
        s->counted = true;
    }
}

/* The event's data bytes.  "[DONE]" is held until it is known not to be
 * the whole data; anything else goes to the tokenizer. */
static void event_data(void *ctx, const char *p, size_t n)
{
    static const char done[] = "[DONE]";
    struct usage_scan *s = ctx;
    size_t i = 0;

    while (!s->streaming && i < n) {
        if (s->nheld < sizeof(s->held) && p[i] == done[s->nheld]) {
            s->held[s->nheld++] = p[i++];
            continue;
        }
        s->streaming = true;
        usage_json_feed(&s->json, s->held, s->nheld);
    }
    if (s->streaming && i < n)
        usage_json_feed(&s->json, p + i, n - i);
}

/* The event is dispatched: its data must have been one JSON value. */
static void event_end(void *ctx)
{
    struct usage_scan *s = ctx;

    if (!s->streaming && (s->nheld == 0 || s->nheld == sizeof(s->held))) {
        /* Empty data (not dispatched by the standard), or OpenAI's end of
         * stream "[DONE]": not JSON, not an error. */
    } else {
        if (!s->streaming)
            usage_json_feed(&s->json, s->held, s->nheld);
        if (!usage_json_end(&s->json))
            s->malformed = true;
    }
    usage_json_reset(&s->json);
    s->nheld = 0;
    s->streaming = false;
}

static void add_targets(struct usage_scan *s, const struct usage_paths *paths)
{
    const struct builtin *b = NULL;
    size_t i, n = 0;

    if (s->format == USAGE_FORMAT_OPENAI)
        b = openai, n = NELEM(openai);
    else if (s->format == USAGE_FORMAT_ANTHROPIC)
        b = anthropic, n = NELEM(anthropic);
    else if (s->format == USAGE_FORMAT_GEMINI)
        b = gemini, n = NELEM(gemini);
    for (i = 0; i < n; i++)
        add_builtin(s, &b[i]);
    if (s->format == USAGE_FORMAT_CUSTOM && paths != NULL) {
        add_custom(s, F_PROMPT, paths->prompt);
        add_custom(s, F_COMPLETION, paths->completion);
        add_custom(s, F_CACHED, paths->cached);
        add_custom(s, F_TOTAL, paths->total);
        add_custom(s, F_MODEL, paths->model);
    }
}

struct usage_scan *usage_scan_new(enum usage_format f, const struct usage_paths *paths,
                                  enum usage_body kind)
{
    struct usage_scan *s = malloc(sizeof(*s));
    const struct usage_sse_sink sink = {event_data, event_end, NULL};
    size_t i;

    if (s == NULL)
        return NULL;
    s->format = f;
    s->kind = kind;
    s->ntargets = s->nsteps = 0;
    s->nnames = 0;
    for (i = 0; i < F__MAX; i++)
        s->num[i] = -1;
    s->model[0] = '\0';
    s->counted = s->malformed = false;
    s->nheld = 0;
    s->streaming = false;
    add_targets(s, paths);
    usage_json_init(&s->json, s->targets, s->ntargets, f == USAGE_FORMAT_GEMINI, found, s);
    usage_sse_init(&s->sse, &sink);
    s->sse.sink.ctx = s;
    return s;
}

size_t usage_scan_memory(const struct usage_scan *s)
{
    return sizeof(*s);
}

void usage_scan_feed(struct usage_scan *s, const char *p, size_t n)
{
    if (s->format == USAGE_FORMAT_NONE || n == 0)
        return;
    if (s->kind == USAGE_BODY_JSON) {
        if (!s->malformed && !usage_json_feed(&s->json, p, n))
            s->malformed = true;
    } else if (s->kind == USAGE_BODY_SSE) {
        usage_sse_feed(&s->sse, p, n);
    }
}

/* The counts of the format out of the fields found. */
static void counts(const struct usage_scan *s, struct usage_counts *out)
{
    const long long *v = s->num;

    out->prompt = v[F_PROMPT];
    out->completion = v[F_COMPLETION];
    out->cached = v[F_CACHED];
    out->total = v[F_TOTAL];
    if (v[F_CACHE_WRITE] >= 0 || (s->format == USAGE_FORMAT_ANTHROPIC && v[F_CACHED] >= 0))
        out->prompt = (v[F_PROMPT] > 0 ? v[F_PROMPT] : 0) +
                      (v[F_CACHE_WRITE] > 0 ? v[F_CACHE_WRITE] : 0) +
                      (v[F_CACHED] > 0 ? v[F_CACHED] : 0);
    if (v[F_THOUGHTS] >= 0)
        out->completion = (v[F_COMPLETION] > 0 ? v[F_COMPLETION] : 0) + v[F_THOUGHTS];
    if (out->total < 0 && out->prompt >= 0 && out->completion >= 0)
        out->total = out->prompt + out->completion;
}

void usage_scan_end(struct usage_scan *s, bool complete, struct usage_counts *out)
{
    counts(s, out);
    memcpy(out->model, s->model, sizeof(out->model));
    if (s->format == USAGE_FORMAT_NONE) {
        out->source = USAGE_SOURCE_NONE;
        return;
    }
    if (s->kind == USAGE_BODY_JSON && !s->malformed && !usage_json_end(&s->json))
        s->malformed = true;
    if (!complete)
        out->source = USAGE_SOURCE_CUT;
    else if (s->malformed)
        out->source = USAGE_SOURCE_PARSE_ERROR;
    else if (s->counted)
        out->source = USAGE_SOURCE_REPORTED;
    else
        out->source = USAGE_SOURCE_ABSENT;
}

void usage_scan_free(struct usage_scan *s)
{
    free(s);
}
