/* core/usage_scan.c (with usage_json.c and usage_sse.c): token usage and
 * the model read from answers in every format, whole, byte by byte and in
 * random pieces, within a fixed memory. */
#include <stdlib.h>
#include <string.h>

#include "core/usage_scan.h"
#include "suites.h"

#define NO (-1LL)

struct scan_case {
    const char *name;
    enum usage_format format;
    enum usage_body kind;
    const char *text;
    bool complete;
    long long prompt, completion, cached, total;
    const char *model;
    enum usage_source source;
};

static const struct usage_paths custom_paths = {
    "$.meta.tokens.in", "$.stats[1]['out put']", "$.meta.tokens.cache", "", "$.meta.engine",
};

/* A fixed-seed generator, so that a failing split can be found again. */
static unsigned long next_rand(unsigned long *state)
{
    *state = *state * 6364136223846793005UL + 1442695040888963407UL;
    return *state >> 33;
}

/* Scans text in pieces: whole (mode 0), a byte at a time (1), or random
 * lengths from 1 to 40 drawn from seed (2). */
static void scan(const struct scan_case *c, int mode, unsigned long seed, struct usage_counts *out)
{
    struct usage_scan *s = usage_scan_new(c->format, &custom_paths, c->kind);
    size_t len = strlen(c->text), i = 0, n;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    while (i < len) {
        n = mode == 0 ? len - i : mode == 1 ? 1 : 1 + next_rand(&seed) % 40;
        if (n > len - i)
            n = len - i;
        usage_scan_feed(s, c->text + i, n);
        i += n;
    }
    usage_scan_end(s, c->complete, out);
    usage_scan_free(s);
}

static bool same(const struct scan_case *c, const struct usage_counts *u)
{
    return u->prompt == c->prompt && u->completion == c->completion && u->cached == c->cached &&
           u->total == c->total && strcmp(u->model, c->model) == 0 && u->source == c->source;
}

static void check_cases(const struct scan_case *cases, size_t ncases)
{
    struct usage_counts u;
    size_t i;
    int mode, round;

    for (i = 0; i < ncases; i++) {
        for (mode = 0; mode < 3; mode++) {
            for (round = 0; round < (mode == 2 ? 50 : 1); round++) {
                scan(&cases[i], mode, 1000 + (unsigned long)round, &u);
                if (!same(&cases[i], &u)) {
                    fprintf(stderr, "\n%s (mode %d round %d): got %lld %lld %lld %lld \"%s\" %s\n",
                            cases[i].name, mode, round, u.prompt, u.completion, u.cached, u.total,
                            u.model, usage_source_name(u.source));
                    CU_FAIL("scan result differs");
                    return;
                }
            }
        }
    }
    CU_PASS("all cases");
}

#define OPENAI_JSON                                                                                \
    "{\"id\":\"c1\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"message\":{\"content\":"      \
    "\"say \\\"usage\\\": {\\\"prompt_tokens\\\": 99} \\u00e9\\ud83d\\ude00\"}}],"                 \
    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5,\"total_tokens\":17,"                 \
    "\"prompt_tokens_details\":{\"cached_tokens\":4,\"audio_tokens\":0}}}"

static const struct scan_case openai_cases[] = {
    {"openai json", USAGE_FORMAT_OPENAI, USAGE_BODY_JSON, OPENAI_JSON, true, 12, 5, 4, 17, "gpt-4o",
     USAGE_SOURCE_REPORTED},
    {"openai json no usage", USAGE_FORMAT_OPENAI, USAGE_BODY_JSON,
     " {\"model\":\"gpt-4o\",\"usage\":null,\"choices\":[]}\n", true, NO, NO, NO, NO, "gpt-4o",
     USAGE_SOURCE_ABSENT},
    {"openai json cut", USAGE_FORMAT_OPENAI, USAGE_BODY_JSON,
     "{\"model\":\"gpt-4o\",\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5", false, 12, NO,
     NO, NO, "gpt-4o", USAGE_SOURCE_CUT},
    {"openai json cut inside a number", USAGE_FORMAT_OPENAI, USAGE_BODY_JSON,
     "{\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5", true, 12, NO, NO, NO, "",
     USAGE_SOURCE_PARSE_ERROR},
    {"openai json malformed", USAGE_FORMAT_OPENAI, USAGE_BODY_JSON,
     "{\"usage\":{\"prompt_tokens\":3},]", true, 3, NO, NO, NO, "", USAGE_SOURCE_PARSE_ERROR},
    {"openai json trailing", USAGE_FORMAT_OPENAI, USAGE_BODY_JSON,
     "{\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}} x", true, 3, 4, NO, 7, "",
     USAGE_SOURCE_PARSE_ERROR},
    {"openai json empty", USAGE_FORMAT_OPENAI, USAGE_BODY_JSON, " \n", true, NO, NO, NO, NO, "",
     USAGE_SOURCE_PARSE_ERROR},
    {"openai responses", USAGE_FORMAT_OPENAI, USAGE_BODY_JSON,
     "{\"model\":\"o3-2025\",\"output\":[{\"type\":\"message\"}],\"usage\":{\"input_tokens\":10,"
     "\"input_tokens_details\":{\"cached_tokens\":2},\"output_tokens\":7,\"total_tokens\":17}}",
     true, 10, 7, 2, 17, "o3-2025", USAGE_SOURCE_REPORTED},
    {"openai sse", USAGE_FORMAT_OPENAI, USAGE_BODY_SSE,
     "data: {\"model\":\"gpt-4o-mini\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],"
     "\"usage\":null}\r\n\r\n"
     ": keep-alive\r\n\r\n"
     "data: {\"model\":\"gpt-4o-mini-2024\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
     "\"completion_tokens\":7,\"total_tokens\":16}}\r\n\r\n"
     "data: [DONE]\r\n\r\n",
     true, 9, 7, NO, 16, "gpt-4o-mini-2024", USAGE_SOURCE_REPORTED},
    {"openai sse without usage", USAGE_FORMAT_OPENAI, USAGE_BODY_SSE,
     "data: {\"model\":\"m\",\"choices\":[]}\n\ndata: [DONE]\n\n", true, NO, NO, NO, NO, "m",
     USAGE_SOURCE_ABSENT},
    {"openai sse malformed event", USAGE_FORMAT_OPENAI, USAGE_BODY_SSE,
     "data: {\"usage\":{\"prompt_tokens\":2}}\n\ndata: {\"choices\":\n\ndata: [DONE]\n\n", true, 2,
     NO, NO, NO, "", USAGE_SOURCE_PARSE_ERROR},
    {"openai sse not json", USAGE_FORMAT_OPENAI, USAGE_BODY_SSE, "data: [DON]\n\n", true, NO, NO,
     NO, NO, "", USAGE_SOURCE_PARSE_ERROR},
    {"openai sse cut", USAGE_FORMAT_OPENAI, USAGE_BODY_SSE,
     "data: {\"model\":\"m\",\"usage\":{\"prompt_tokens\":2}}\n\ndata: {\"cho", false, 2, NO, NO,
     NO, "m", USAGE_SOURCE_CUT},
    {"openai responses sse", USAGE_FORMAT_OPENAI, USAGE_BODY_SSE,
     "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"model\":"
     "\"gpt-5\",\"usage\":null}}\n\n"
     "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":"
     "{\"input_tokens\":30,\"output_tokens\":3,\"total_tokens\":33}}}\n\n",
     true, 30, 3, NO, 33, "gpt-5", USAGE_SOURCE_REPORTED},
    {"sse multi-line data, CR lines, no space", USAGE_FORMAT_OPENAI, USAGE_BODY_SSE,
     "id: 1\rdata:{\"usage\":\rdata: {\"prompt_tokens\":1,\rdata:\"completion_tokens\":2}}\r\r"
     "data\r\r",
     true, 1, 2, NO, 3, "", USAGE_SOURCE_REPORTED},
    {"sse multi-line data, CR LF lines", USAGE_FORMAT_OPENAI, USAGE_BODY_SSE,
     "data: {\"usage\":\r\ndata:  {\"prompt_tokens\":1}}\r\n\r\ndata:\r\ndata:\r\n\r\n", true, 1,
     NO, NO, NO, "", USAGE_SOURCE_PARSE_ERROR},
    {"sse byte order mark", USAGE_FORMAT_OPENAI, USAGE_BODY_SSE,
     "\xef\xbb\xbf"
     "data: {\"usage\":{\"prompt_tokens\":3}}\n\n",
     true, 3, NO, NO, NO, "", USAGE_SOURCE_REPORTED},
    {"sse last event without its empty line", USAGE_FORMAT_OPENAI, USAGE_BODY_SSE,
     "data: {\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6}}\n", true, 5, 6, NO, 11, "",
     USAGE_SOURCE_REPORTED},
    {"numbers", USAGE_FORMAT_OPENAI, USAGE_BODY_JSON,
     "{\"usage\":{\"prompt_tokens\":12.0,\"completion_tokens\":1e2,\"total_tokens\":1.5,"
     "\"prompt_tokens_details\":{\"cached_tokens\":-3}}}",
     true, 12, 100, NO, 112, "", USAGE_SOURCE_REPORTED},
    {"numbers ignored", USAGE_FORMAT_OPENAI, USAGE_BODY_JSON,
     "{\"usage\":{\"prompt_tokens\":\"12\",\"completion_tokens\":9007199254740993,"
     "\"total_tokens\":true,\"prompt_tokens_details\":{\"cached_tokens\":0.25e1}}}",
     true, NO, NO, NO, NO, "", USAGE_SOURCE_ABSENT},
    {"numbers at the limit", USAGE_FORMAT_OPENAI, USAGE_BODY_JSON,
     "{\"usage\":{\"prompt_tokens\":9007199254740992,\"completion_tokens\":0,"
     "\"total_tokens\":250E-1,\"prompt_tokens_details\":{\"cached_tokens\":2.5e+1}}}",
     true, 9007199254740992LL, 0, 25, 25, "", USAGE_SOURCE_REPORTED},
    {"model escapes", USAGE_FORMAT_OPENAI, USAGE_BODY_JSON,
     "{\"model\":\"gpt\\u002d4\\\"o\\/x\\u00e9\\n\xc3\xa9z\"}", true, NO, NO, NO, NO, "gpt-4\"o/xz",
     USAGE_SOURCE_ABSENT},
    {"other body", USAGE_FORMAT_OPENAI, USAGE_BODY_OTHER, "<html>usage</html>", true, NO, NO, NO,
     NO, "", USAGE_SOURCE_ABSENT},
    {"other body cut", USAGE_FORMAT_OPENAI, USAGE_BODY_OTHER, "<html>", false, NO, NO, NO, NO, "",
     USAGE_SOURCE_CUT},
    {"none", USAGE_FORMAT_NONE, USAGE_BODY_JSON, OPENAI_JSON, false, NO, NO, NO, NO, "",
     USAGE_SOURCE_NONE},
};

static const struct scan_case other_cases[] = {
    {"anthropic json", USAGE_FORMAT_ANTHROPIC, USAGE_BODY_JSON,
     "{\"id\":\"msg_1\",\"type\":\"message\",\"model\":\"claude-sonnet-4\",\"content\":[{\"type\":"
     "\"text\",\"text\":\"hi\"}],\"usage\":{\"input_tokens\":100,\"cache_creation_input_tokens\":"
     "20,\"cache_read_input_tokens\":30,\"output_tokens\":50}}",
     true, 150, 50, 30, 200, "claude-sonnet-4", USAGE_SOURCE_REPORTED},
    {"anthropic sse", USAGE_FORMAT_ANTHROPIC, USAGE_BODY_SSE,
     "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":"
     "\"claude-3-5-haiku\",\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":0,"
     "\"cache_read_input_tokens\":5,\"output_tokens\":1}}}\n\n"
     "event: ping\ndata: {\"type\": \"ping\"}\n\n"
     "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
     "{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"
     "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
     "\"end_turn\"},\"usage\":{\"output_tokens\":42}}\n\n"
     "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
     true, 30, 42, 5, 72, "claude-3-5-haiku", USAGE_SOURCE_REPORTED},
    {"anthropic error event", USAGE_FORMAT_ANTHROPIC, USAGE_BODY_SSE,
     "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n", true,
     NO, NO, NO, NO, "", USAGE_SOURCE_ABSENT},
    {"gemini json", USAGE_FORMAT_GEMINI, USAGE_BODY_JSON,
     "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]}}],\"usageMetadata\":{"
     "\"promptTokenCount\":8,\"candidatesTokenCount\":4,\"thoughtsTokenCount\":3,"
     "\"cachedContentTokenCount\":2,\"totalTokenCount\":15},\"modelVersion\":\"gemini-2.5-pro\"}",
     true, 8, 7, 2, 15, "gemini-2.5-pro", USAGE_SOURCE_REPORTED},
    {"gemini array stream", USAGE_FORMAT_GEMINI, USAGE_BODY_JSON,
     "[{\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":8,\"candidatesTokenCount\":1},"
     "\"modelVersion\":\"gemini-2.0-flash\"}\r\n,\r\n{\"candidates\":[],\"usageMetadata\":{"
     "\"promptTokenCount\":8,\"candidatesTokenCount\":6,\"totalTokenCount\":14},"
     "\"modelVersion\":\"gemini-2.0-flash-001\"}]",
     true, 8, 6, NO, 14, "gemini-2.0-flash-001", USAGE_SOURCE_REPORTED},
    {"gemini sse", USAGE_FORMAT_GEMINI, USAGE_BODY_SSE,
     "data: {\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":"
     "1,\"totalTokenCount\":4},\"modelVersion\":\"gemini-2.0-flash\"}\r\n\r\n"
     "data: {\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":"
     "9,\"totalTokenCount\":12},\"modelVersion\":\"gemini-2.0-flash\"}\r\n\r\n",
     true, 3, 9, NO, 12, "gemini-2.0-flash", USAGE_SOURCE_REPORTED},
    {"gemini array cut", USAGE_FORMAT_GEMINI, USAGE_BODY_JSON,
     "[{\"usageMetadata\":{\"promptTokenCount\":8}},{\"usageMe", false, 8, NO, NO, NO, "",
     USAGE_SOURCE_CUT},
    {"openai paths not read in array elements", USAGE_FORMAT_OPENAI, USAGE_BODY_JSON,
     "[{\"usage\":{\"prompt_tokens\":8}}]", true, NO, NO, NO, NO, "", USAGE_SOURCE_ABSENT},
    {"custom json", USAGE_FORMAT_CUSTOM, USAGE_BODY_JSON,
     "{\"meta\":{\"engine\":\"my-llm\",\"tokens\":{\"in\":11,\"cache\":1}},\"stats\":[{\"out put\":"
     "100},{\"out put\":22}]}",
     true, 11, 22, 1, 33, "my-llm", USAGE_SOURCE_REPORTED},
    {"custom sse", USAGE_FORMAT_CUSTOM, USAGE_BODY_SSE,
     "data: {\"meta\":{\"tokens\":{\"in\":4}}}\n\ndata: {\"meta\":{\"engine\":\"e1\"},\"stats\":"
     "[0,{\"out put\":5}]}\n\n",
     true, 4, 5, NO, 9, "e1", USAGE_SOURCE_REPORTED},
    {"custom absent", USAGE_FORMAT_CUSTOM, USAGE_BODY_JSON, "{\"stats\":[{\"out put\":1}]}", true,
     NO, NO, NO, NO, "", USAGE_SOURCE_ABSENT},
};

static void test_openai_answers(void)
{
    check_cases(openai_cases, NELEM(openai_cases));
}

static void test_anthropic_gemini_custom_answers(void)
{
    check_cases(other_cases, NELEM(other_cases));
}

/* A text fed times times; a NULL text is 1 MB of 'a'. */
struct piece {
    const char *text;
    size_t times;
};

static const struct {
    enum usage_body kind;
    struct piece pieces[5];
    enum usage_source source;
    long long prompt, total;
    size_t model_len;
} bounded_cases[] = {
    /* A 20 MB answer with a 1 MB model name (cut) and the counts last. */
    {USAGE_BODY_JSON,
     {{"{\"model\":\"", 1},
      {NULL, 1},
      {"\",\"choices\":[", 1},
      {"{\"message\":{\"content\":\"0123456789abcdef\\n\"}},", 400000},
      {"{}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}", 1}},
     USAGE_SOURCE_REPORTED,
     1,
     3,
     USAGE_MODEL_MAX - 1},
    /* Nesting 10,000 deep is malformed; the counts before it stay. */
    {USAGE_BODY_JSON,
     {{"{\"usage\":{\"prompt_tokens\":7},\"x\":", 1}, {"[", 10000}, {"]", 10000}},
     USAGE_SOURCE_PARSE_ERROR,
     7,
     NO,
     0},
    /* Events: 1 MB of data, then 10,000 deep, then the counts. */
    {USAGE_BODY_SSE,
     {{"data: {\"x\":\"", 1},
      {NULL, 1},
      {"\"}\n\ndata: ", 1},
      {"{\"a\":", 10000},
      {"\n\ndata: {\"usage\":{\"prompt_tokens\":4}}\n\n", 1}},
     USAGE_SOURCE_PARSE_ERROR,
     4,
     NO,
     0},
};

/* Huge answers: the scan holds no more memory at the end than at the
 * start, at most USAGE_SCAN_MEMORY, and still reads the counts. */
static void test_memory_is_bounded(void)
{
    struct usage_scan *s;
    struct usage_counts u;
    char *big = malloc(1 << 20);
    const char *text;
    size_t c, i, k, held;

    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'a', (1 << 20) - 1);
    big[(1 << 20) - 1] = '\0';
    for (c = 0; c < NELEM(bounded_cases); c++) {
        s = usage_scan_new(USAGE_FORMAT_OPENAI, NULL, bounded_cases[c].kind);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        held = usage_scan_memory(s);
        CU_ASSERT(held <= USAGE_SCAN_MEMORY);
        for (i = 0; i < NELEM(bounded_cases[c].pieces); i++) {
            text = bounded_cases[c].pieces[i].text != NULL ? bounded_cases[c].pieces[i].text : big;
            for (k = 0; k < bounded_cases[c].pieces[i].times; k++)
                usage_scan_feed(s, text, strlen(text));
        }
        CU_ASSERT_EQUAL(usage_scan_memory(s), held);
        usage_scan_end(s, true, &u);
        usage_scan_free(s);
        CU_ASSERT_EQUAL(u.source, bounded_cases[c].source);
        CU_ASSERT_EQUAL(u.prompt, bounded_cases[c].prompt);
        CU_ASSERT_EQUAL(u.total, bounded_cases[c].total);
        CU_ASSERT_EQUAL(strlen(u.model), bounded_cases[c].model_len);
    }
    free(big);
}

static void test_request_model(void)
{
    char out[USAGE_MODEL_MAX], small[6];
    const char *body = "{\"messages\":[{\"model\":\"no\"}],\"model\":\"gpt-4o\\u002dmini\"}";

    usage_request_model("/v1/chat/completions", body, strlen(body), out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "gpt-4o-mini");
    usage_request_model("/v1beta/models/gemini-2.0-flash:generateContent", NULL, 0, out,
                        sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "gemini-2.0-flash");
    usage_request_model("/v1beta/models/gemini-pro/x", "{\"contents\":[]}", 15, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "gemini-pro");
    usage_request_model("/v1/models/m1?alt=sse", "[{\"model\":\"x\"}]", 15, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "m1");
    usage_request_model("/v1/chat", "{\"model\":\"x\",", 13, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "");
    usage_request_model("/v1/chat", "{\"model\":42}", 12, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "");
    usage_request_model("/v1/chat", "{\"model\":\"abcdefgh\"}", 20, small, sizeof(small));
    CU_ASSERT_STRING_EQUAL(small, "abcde");
    usage_request_model("/models/a\x01\xc3\xa9z:x", NULL, 0, small, sizeof(small));
    CU_ASSERT_STRING_EQUAL(small, "az");
}

static void test_paths_parse(void)
{
    struct usage_paths p;
    const char *err;

    CU_ASSERT_PTR_NULL(usage_paths_parse("{\"prompt\":\"$.u.in\",\"completion\":\"$['o k'][2]\","
                                         "\"cached\":null,\"model\":\"$.m\"}",
                                         &p));
    CU_ASSERT_STRING_EQUAL(p.prompt, "$.u.in");
    CU_ASSERT_STRING_EQUAL(p.completion, "$['o k'][2]");
    CU_ASSERT_STRING_EQUAL(p.cached, "");
    CU_ASSERT_STRING_EQUAL(p.total, "");
    CU_ASSERT_STRING_EQUAL(p.model, "$.m");
    CU_ASSERT_PTR_NULL(usage_paths_parse("{}", &p));
    CU_ASSERT_PTR_NULL(usage_paths_parse(NULL, &p));
    CU_ASSERT_PTR_NULL(usage_paths_parse(" ", &p));
    CU_ASSERT_PTR_NULL(usage_paths_parse("null\n", &p));
    CU_ASSERT_PTR_NOT_NULL(usage_paths_parse("nullx", &p));
    err = usage_paths_parse("{\"prompt\":\"usage.in\"}", &p);
    CU_ASSERT(err != NULL && strcmp(err, "usage_paths.prompt: must start with $") == 0);
    CU_ASSERT_STRING_EQUAL(p.prompt, "");
    err = usage_paths_parse("{\"total\":\"$.a[*]\"}", &p);
    CU_ASSERT(err != NULL && strncmp(err, "usage_paths.total: wildcards", 28) == 0);
    err = usage_paths_parse("{\"prompts\":\"$.a\"}", &p);
    CU_ASSERT(err != NULL && strstr(err, "unknown member \"prompts\"") != NULL);
    err = usage_paths_parse("{\"model\":3}", &p);
    CU_ASSERT(err != NULL && strncmp(err, "usage_paths.model: must be", 26) == 0);
    err = usage_paths_parse("[\"$.a\"]", &p);
    CU_ASSERT(err != NULL && strstr(err, "object") != NULL);
    err = usage_paths_parse("{\"cached\":", &p);
    CU_ASSERT_PTR_NOT_NULL(err);
}

static void test_paths_too_long(void)
{
    char json[USAGE_PATH_MAX + 40], *p;
    struct usage_paths out;
    const char *err;

    p = json + snprintf(json, sizeof(json), "{\"prompt\":\"$.");
    memset(p, 'a', USAGE_PATH_MAX);
    snprintf(p + USAGE_PATH_MAX - 2, 4, "\"}");
    err = usage_paths_parse(json, &out);
    CU_ASSERT(err != NULL && strstr(err, "usage_paths.prompt: must be at most") != NULL);
}

static void test_body_kinds_and_names(void)
{
    enum usage_format f;
    static const struct {
        const char *type;
        enum usage_body kind;
    } kinds[] = {
        {"text/event-stream", USAGE_BODY_SSE},
        {"Text/Event-Stream; charset=utf-8", USAGE_BODY_SSE},
        {"application/json", USAGE_BODY_JSON},
        {"APPLICATION/JSON;charset=UTF-8", USAGE_BODY_JSON},
        {"application/problem+json", USAGE_BODY_JSON},
        {"application/vnd.api+JSON ; q=1", USAGE_BODY_JSON},
        {"application/jsonl", USAGE_BODY_OTHER},
        {"text/html", USAGE_BODY_OTHER},
        {"+json", USAGE_BODY_OTHER},
        {"", USAGE_BODY_OTHER},
    };
    size_t i;

    for (i = 0; i < NELEM(kinds); i++)
        CU_ASSERT_EQUAL(usage_body_kind(kinds[i].type, strlen(kinds[i].type)), kinds[i].kind);
    CU_ASSERT_EQUAL(usage_body_kind("application/json", 11), USAGE_BODY_OTHER);
    CU_ASSERT_EQUAL(usage_body_kind(NULL, 0), USAGE_BODY_OTHER);
    CU_ASSERT_EQUAL(usage_format_parse("anthropic", &f), 0);
    CU_ASSERT_EQUAL(f, USAGE_FORMAT_ANTHROPIC);
    CU_ASSERT_EQUAL(usage_format_parse("OpenAI", &f), -1);
    CU_ASSERT_STRING_EQUAL(usage_format_name(USAGE_FORMAT_GEMINI), "gemini");
    CU_ASSERT_STRING_EQUAL(usage_format_name(USAGE_FORMAT_CUSTOM), "custom");
    CU_ASSERT_STRING_EQUAL(usage_source_name(USAGE_SOURCE_PARSE_ERROR), "parse_error");
    CU_ASSERT_STRING_EQUAL(usage_source_name(USAGE_SOURCE_CUT), "cut");
    CU_ASSERT_PTR_NULL(usage_source_name(USAGE_SOURCE_NONE));
}

void suite_usage_scan(void)
{
    ADD_SUITE("usage_scan", TEST(test_openai_answers), TEST(test_anthropic_gemini_custom_answers),
              TEST(test_memory_is_bounded), TEST(test_request_model), TEST(test_paths_parse),
              TEST(test_paths_too_long), TEST(test_body_kinds_and_names));
}
