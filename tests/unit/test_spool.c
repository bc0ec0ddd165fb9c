/* core/spool.c: the spool's line format (shared with older binaries),
 * appending, replaying in batches, the byte and row counts, and a spool
 * that refuses writes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/reqlog.h"
#include "core/spool.h"
#include "suites.h"

/* A line as every binary so far writes it (json-c, plain, "/" escaped). */
#define OLD_LINE                                                                                   \
    "{\"request_id\":\"r-1\",\"ts_ms\":1700000000123,\"method\":\"POST\",\"upstream_id\":3,"       \
    "\"upstream\":\"openai\",\"path\":\"\\/v1\\/chat\",\"key_id\":7,\"token_id\":0,"               \
    "\"status\":429,\"latency_ms\":12,\"attempts\":2,\"req_bytes\":10,\"resp_bytes\":20,"          \
    "\"error\":null,\"rules\":\"[\\\"slow\\\"]\",\"messages\":null}\n"

struct seen {
    struct reqlog_entry *e[8];
    size_t n, batches;
    int fail_at; /* the batch (from 1) that fails; 0: none */
};

static int take_batch(void *arg, struct reqlog_entry *list, size_t n)
{
    struct seen *s = arg;
    struct reqlog_entry *e;
    size_t i = 0;

    s->batches++;
    while (list != NULL) {
        e = list;
        list = e->next;
        e->next = NULL;
        if (s->fail_at == 0 && s->n < NELEM(s->e))
            s->e[s->n++] = e;
        else
            reqlog_entry_free(e);
        i++;
    }
    CU_ASSERT_EQUAL(i, n);
    return s->fail_at == (int)s->batches ? -1 : 0;
}

static void seen_free(struct seen *s)
{
    while (s->n > 0)
        reqlog_entry_free(s->e[--s->n]);
}

static char *make_dir(void)
{
    char *dir = strdup("/tmp/apigw-spool-XXXXXX");

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    return dir;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static void test_writes_the_old_format(void)
{
    struct reqlog_entry e = {.request_id = "r-1",
                             .ts_ms = 1700000000123LL,
                             .method = "POST",
                             .upstream_id = 3,
                             .upstream = "openai",
                             .path = "/v1/chat",
                             .key_id = 7,
                             .status = 429,
                             .latency_ms = 12,
                             .attempts = 2,
                             .req_bytes = 10,
                             .resp_bytes = 20,
                             .rules = "[\"slow\"]"};
    char *dir = make_dir(), path[512], line[1024] = "";
    FILE *f;

    CU_ASSERT_FALSE(spool_pending(dir));
    CU_ASSERT_EQUAL(spool_append(dir, &e, 1, true), 0);
    CU_ASSERT_TRUE(spool_pending(dir));
    snprintf(path, sizeof(path), "%s/reqlog.spool", dir);
    f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof(line), f));
    fclose(f);
    CU_ASSERT_STRING_EQUAL(line, OLD_LINE);
    CU_ASSERT_EQUAL(spool_bytes(dir), (long long)strlen(OLD_LINE));
    unlink(path);
    rmdir(dir);
    free(dir);
}

static void test_replays_old_lines_in_batches(void)
{
    char *dir = make_dir();
    struct seen s = {.n = 0};

    write_file(dir, "reqlog.spool",
               OLD_LINE "not json\n{\"request_id\":\"\"}\n" OLD_LINE
                        "{\"request_id\":\"r-3\",\"method\":\"GET\"}\n");
    log_set_level(LOG_WARN);
    CU_ASSERT_EQUAL(spool_replay(dir, 2, take_batch, &s), 0);
    log_set_level(LOG_INFO);
    CU_ASSERT_EQUAL(s.batches, 2);
    CU_ASSERT_EQUAL_FATAL(s.n, 3);
    CU_ASSERT_STRING_EQUAL(s.e[0]->request_id, "r-1");
    CU_ASSERT_EQUAL(s.e[0]->ts_ms, 1700000000123LL);
    CU_ASSERT_STRING_EQUAL(s.e[0]->method, "POST");
    CU_ASSERT_EQUAL(s.e[0]->upstream_id, 3);
    CU_ASSERT_STRING_EQUAL(s.e[0]->upstream, "openai");
    CU_ASSERT_STRING_EQUAL(s.e[0]->path, "/v1/chat");
    CU_ASSERT_EQUAL(s.e[0]->key_id, 7);
    CU_ASSERT_EQUAL(s.e[0]->status, 429);
    CU_ASSERT_EQUAL(s.e[0]->attempts, 2);
    CU_ASSERT_EQUAL(s.e[0]->resp_bytes, 20);
    CU_ASSERT_PTR_NULL(s.e[0]->error);
    CU_ASSERT_STRING_EQUAL(s.e[0]->rules, "[\"slow\"]");
    CU_ASSERT_FALSE(s.e[0]->affine); /* a line from before sticky keys */
    CU_ASSERT_STRING_EQUAL(s.e[2]->request_id, "r-3");
    CU_ASSERT_PTR_NULL(s.e[2]->path);
    CU_ASSERT_FALSE(spool_pending(dir));
    CU_ASSERT_EQUAL(spool_bytes(dir), 0);
    seen_free(&s);
    rmdir(dir);
    free(dir);
}

/* Sticky keys: no id, the preferred key, another key. */
static void test_keeps_the_affinity(void)
{
    struct reqlog_entry e[3] = {
        {.request_id = "a-0", .method = "GET"},
        {.request_id = "a-1", .method = "GET", .affine = true, .affine_home = true},
        {.request_id = "a-2", .method = "GET", .affine = true},
    };
    char *dir = make_dir();
    struct seen s = {.n = 0};
    size_t i;

    for (i = 0; i < NELEM(e); i++)
        CU_ASSERT_EQUAL(spool_append(dir, &e[i], 1, true), 0);
    CU_ASSERT_EQUAL(spool_replay(dir, 10, take_batch, &s), 0);
    CU_ASSERT_EQUAL_FATAL(s.n, 3);
    for (i = 0; i < NELEM(e); i++) {
        CU_ASSERT_STRING_EQUAL(s.e[i]->request_id, e[i].request_id);
        CU_ASSERT_EQUAL(s.e[i]->affine, e[i].affine);
        CU_ASSERT_EQUAL(s.e[i]->affine_home, e[i].affine_home);
    }
    seen_free(&s);
    rmdir(dir);
    free(dir);
}

static void test_failed_replay_keeps_the_file(void)
{
    char *dir = make_dir();
    struct seen s = {.fail_at = 1};
    long long bytes;

    write_file(dir, "reqlog.replay.1.2", OLD_LINE);
    bytes = spool_bytes(dir);
    CU_ASSERT_EQUAL(bytes, (long long)strlen(OLD_LINE));
    log_set_level(LOG_ERROR);
    CU_ASSERT_EQUAL(spool_replay(dir, 10, take_batch, &s), -1);
    CU_ASSERT_TRUE(spool_pending(dir));
    CU_ASSERT_EQUAL(spool_bytes(dir), bytes);
    s.fail_at = 0;
    s.batches = 0;
    CU_ASSERT_EQUAL(spool_replay(dir, 10, take_batch, &s), 0);
    log_set_level(LOG_INFO);
    CU_ASSERT_EQUAL(s.n, 1);
    CU_ASSERT_FALSE(spool_pending(dir));
    seen_free(&s);
    rmdir(dir);
    free(dir);
}

static void test_counts_rows_reading_only_what_is_new(void)
{
    char *dir = make_dir(), from[512], to[512];
    struct spool_tally t = {.n = 0};
    struct reqlog_entry e = {.request_id = "r-9", .method = "GET"};

    CU_ASSERT_EQUAL(spool_count_rows(dir, &t), 0);
    write_file(dir, "reqlog.spool", OLD_LINE OLD_LINE);
    CU_ASSERT_EQUAL(spool_count_rows(dir, &t), 2);
    CU_ASSERT_EQUAL_FATAL(t.n, 1);
    CU_ASSERT_EQUAL(t.f[0].bytes, 2 * (long long)strlen(OLD_LINE));
    CU_ASSERT_EQUAL(spool_append(dir, &e, 1, false), 0);
    CU_ASSERT_EQUAL(spool_count_rows(dir, &t), 3);
    /* A replay renames the file: the same file, nothing to read again. */
    snprintf(from, sizeof(from), "%s/reqlog.spool", dir);
    snprintf(to, sizeof(to), "%s/reqlog.replay.1.2", dir);
    CU_ASSERT_EQUAL(rename(from, to), 0);
    CU_ASSERT_EQUAL(spool_append(dir, &e, 1, false), 0);
    CU_ASSERT_EQUAL(spool_count_rows(dir, &t), 4);
    CU_ASSERT_EQUAL(t.n, 2);
    unlink(to);
    CU_ASSERT_EQUAL(spool_count_rows(dir, &t), 1);
    CU_ASSERT_EQUAL(t.n, 1);
    unlink(from);
    CU_ASSERT_EQUAL(spool_count_rows(dir, &t), 0);
    rmdir(dir);
    free(dir);
}

static void test_a_spool_that_refuses_writes(void)
{
    char *dir = make_dir(), path[512];
    struct reqlog_entry e = {.request_id = "r-1", .method = "GET"};
    struct spool_tally t = {.n = 0};
    struct seen s = {.n = 0};
    struct stat st;

    /* A full disk, as /dev/full plays it. */
    snprintf(path, sizeof(path), "%s/reqlog.spool", dir);
    CU_ASSERT_EQUAL_FATAL(symlink("/dev/full", path), 0);
    errno = 0;
    CU_ASSERT_EQUAL(spool_append(dir, &e, 1, true), -1);
    CU_ASSERT_EQUAL(errno, ENOSPC);
    CU_ASSERT_EQUAL(spool_append(dir, &e, 1, false), -1);
    /* A device holds no rows: nothing to replay (reading it would never
     * end), count or wait for. */
    CU_ASSERT_FALSE(spool_pending(dir));
    CU_ASSERT_EQUAL(spool_bytes(dir), 0);
    CU_ASSERT_EQUAL(spool_count_rows(dir, &t), 0);
    CU_ASSERT_EQUAL(spool_replay(dir, 10, take_batch, &s), 0);
    CU_ASSERT_EQUAL(s.batches, 0);
    CU_ASSERT_EQUAL(lstat(path, &st), 0);
    CU_ASSERT_TRUE(S_ISLNK(st.st_mode));
    unlink(path);
    /* A folder that does not exist. */
    snprintf(path, sizeof(path), "%s/missing", dir);
    errno = 0;
    CU_ASSERT_EQUAL(spool_append(path, &e, 1, false), -1);
    CU_ASSERT_EQUAL(errno, ENOENT);
    rmdir(dir);
    free(dir);
}

/* The endpoint column goes through the spool and back. */
static void test_keeps_the_endpoint(void)
{
    struct reqlog_entry e = {.request_id = "r-ep", .method = "GET", .status = 200};
    struct seen s = {.n = 0};
    char *dir = make_dir();

    snprintf(e.endpoint, sizeof(e.endpoint), "%s", "http://127.0.0.1:9");
    CU_ASSERT_EQUAL(spool_append(dir, &e, 1, true), 0);
    CU_ASSERT_EQUAL(spool_replay(dir, 4, take_batch, &s), 0);
    CU_ASSERT_EQUAL_FATAL(s.n, 1);
    CU_ASSERT_STRING_EQUAL(s.e[0]->endpoint, "http://127.0.0.1:9");
    seen_free(&s);
    rmdir(dir);
    free(dir);
}

void suite_spool(void)
{
    ADD_SUITE("spool", TEST(test_writes_the_old_format), TEST(test_replays_old_lines_in_batches),
              TEST(test_keeps_the_affinity), TEST(test_keeps_the_endpoint),
              TEST(test_failed_replay_keeps_the_file),
              TEST(test_counts_rows_reading_only_what_is_new),
              TEST(test_a_spool_that_refuses_writes));
}
