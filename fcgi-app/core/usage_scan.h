/*
 * Token usage and the model, read from an upstream's answer as it passes
 * (docs/USAGE.md).  Not to be confused with usage.h, which counts requests
 * per key and client token for the request quotas.  The answer is never
 * held or changed for this: a scan is fed the bytes that went to the
 * client, keeps only what its parser needs (bounded, USAGE_SCAN_MEMORY),
 * and at the end says what the answer reported.  JSON answers are scanned
 * with an incremental tokenizer that tracks where it is in the document
 * (usage_json.c); event streams are split into events (usage_sse.c) and
 * each event's data is scanned as its own JSON document, as it arrives.
 *
 * The counts mean the same in every format: prompt includes the cached
 * tokens (Anthropic's input_tokens, cache_creation_input_tokens and
 * cache_read_input_tokens added up), completion is what the model wrote
 * (Gemini's thoughts included), total is the answer's own total or else
 * prompt + completion.
 *
 * What each format reads (the last value found wins, field by field):
 * - openai: $.usage.prompt_tokens / input_tokens, completion_tokens /
 *   output_tokens, prompt_tokens_details.cached_tokens /
 *   input_tokens_details.cached_tokens, total_tokens, and $.model; the
 *   same under $.response (the Responses API's stream events).
 * - anthropic: $.usage.input_tokens, output_tokens,
 *   cache_creation_input_tokens, cache_read_input_tokens (cached) and
 *   $.model; the same under $.message (the stream's message_start).
 * - gemini: $.usageMetadata.promptTokenCount, candidatesTokenCount plus
 *   thoughtsTokenCount, cachedContentTokenCount, totalTokenCount and
 *   $.modelVersion, also in the elements of a top-level array.
 * - custom: the usage_paths.
 * A count is a non-negative integer up to 2^53 (12.0 and 1.2e1 count as
 * 12); anything else there (negative, fractional, larger, a string, null)
 * is ignored.  The model keeps its printable ASCII (escapes decoded, other
 * characters dropped), cut to USAGE_MODEL_MAX - 1 bytes; an empty one
 * does not replace a model found before.
 *
 * Event streams follow the WHATWG rules: lines end in LF, CR LF or CR;
 * the values of "data:" lines (one space after the colon dropped) joined
 * by LF are the event's data, dispatched by an empty line; other fields
 * and comments are skipped; an event with empty data is no event.  Data
 * "[DONE]" (OpenAI's end) is not an error; any other data must be one JSON
 * value.  Nothing of an event is held, so its size is not limited; the
 * counts of an event the stream ends before dispatching are kept, but its
 * syntax is not judged (the standard drops such an event).  JSON nesting
 * deeper than 256 makes the document malformed.
 */
#ifndef APIGW_USAGE_SCAN_H
#define APIGW_USAGE_SCAN_H

#include <stdbool.h>
#include <stddef.h>

enum usage_format {
    USAGE_FORMAT_NONE = 0,
    USAGE_FORMAT_OPENAI,
    USAGE_FORMAT_ANTHROPIC,
    USAGE_FORMAT_GEMINI,
    USAGE_FORMAT_CUSTOM,
};

/* What became of the usage of one answer. */
enum usage_source {
    USAGE_SOURCE_NONE = 0,    /* not looked for (format none, or no answer) */
    USAGE_SOURCE_REPORTED,    /* the answer reported at least one count */
    USAGE_SOURCE_ABSENT,      /* a complete answer that reported none */
    USAGE_SOURCE_PARSE_ERROR, /* the answer (or an event of it) was not JSON */
    USAGE_SOURCE_CUT,         /* the answer ended early; counts read so far kept */
};

#define USAGE_MODEL_MAX   128   /* bytes of a model name kept, NUL included */
#define USAGE_SCAN_MEMORY 65536 /* the most a scan holds, whatever it is fed */

/* The JSON paths of a custom format (core/rule/jsonpath.c syntax); an empty
 * string means the field is not read. */
#define USAGE_PATH_MAX 256
struct usage_paths {
    char prompt[USAGE_PATH_MAX];
    char completion[USAGE_PATH_MAX];
    char cached[USAGE_PATH_MAX];
    char total[USAGE_PATH_MAX];
    char model[USAGE_PATH_MAX];
};

struct usage_counts {
    long long prompt, completion, cached, total; /* -1 when not reported */
    char model[USAGE_MODEL_MAX];                 /* "" when the answer named none */
    enum usage_source source;
};

/* "none", "openai", "anthropic", "gemini", "custom" and back.  parse
 * returns -1 for an unknown name. */
int usage_format_parse(const char *name, enum usage_format *out);
const char *usage_format_name(enum usage_format f);

/* "reported", "absent", "parse_error", "cut"; NULL for USAGE_SOURCE_NONE. */
const char *usage_source_name(enum usage_source s);

/* Reads the text of an upstream's usage_paths field (a JSON object with
 * any of prompt, completion, cached, total, model, each a JSON path string
 * of at most USAGE_PATH_MAX - 1 bytes, or null; NULL, "" or "null" reads
 * no path).  Returns NULL, or a message naming what is wrong (an unknown
 * member, a value that is not a valid path: "usage_paths.prompt: must
 * start with $"), then out is all empty.  The message is the thread's,
 * valid until its next call. */
const char *usage_paths_parse(const char *json, struct usage_paths *out);

/* The answer's kind, from its Content-Type: USAGE_BODY_SSE for
 * text/event-stream, USAGE_BODY_JSON for application/json and any +json
 * type, USAGE_BODY_OTHER (not scanned) otherwise. */
enum usage_body { USAGE_BODY_OTHER, USAGE_BODY_JSON, USAGE_BODY_SSE };
enum usage_body usage_body_kind(const char *content_type, size_t len);

struct usage_scan;

/* A scan of one answer; paths is read only for USAGE_FORMAT_CUSTOM (and
 * copied).  NULL when memory runs out. */
struct usage_scan *usage_scan_new(enum usage_format f, const struct usage_paths *paths,
                                  enum usage_body kind);
/* The bytes a scan holds: fixed when it is made, at most
 * USAGE_SCAN_MEMORY, whatever it is fed (for tests). */
size_t usage_scan_memory(const struct usage_scan *s);
/* Feeds the next bytes of the answer, in any pieces. */
void usage_scan_feed(struct usage_scan *s, const char *p, size_t n);
/* Ends the scan: complete says the answer arrived whole.  Fills out:
 * the counts found (-1 for those not reported) and the model, whatever
 * the source, which is
 * - NONE for the format none (nothing is read);
 * - CUT when complete is false;
 * - PARSE_ERROR when the JSON answer (an empty one included), or the
 *   data of a dispatched event, was not one JSON value;
 * - REPORTED when a count was read, ABSENT otherwise.  An answer of
 *   USAGE_BODY_OTHER is not read: ABSENT (or CUT). */
void usage_scan_end(struct usage_scan *s, bool complete, struct usage_counts *out);
void usage_scan_free(struct usage_scan *s);

/* The model a request names, into out (cap bytes, "" when none): the
 * string $.model of a JSON object body (the whole body must be valid
 * JSON), or else the segment after "/models/" up to ':', '/', '?' or '#'
 * in the path (Gemini's /v1beta/models/gemini-2.0-flash:generateContent).
 * Only printable ASCII is kept; longer names are cut to fit. */
void usage_request_model(const char *path, const char *body, size_t body_len, char *out,
                         size_t cap);

#endif
