/*
 * The request log's spool files (see spool.h): the line format of an
 * entry, appending under a lock, replaying in batches and the byte count
 * for /metrics.  The format and the file names are shared with every
 * process that uses the folder, older binaries included: change neither.
 */
#include "core/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/reqlog_entry.h"

#define SPOOL_NAME    "reqlog.spool"
#define REPLAY_PREFIX "reqlog.replay."
/* A line holds a row with its attempts (REQLOG_TRAIL_MAX, 64 KiB of JSON
 * that the line's JSON escapes again, up to four times as long) and the
 * row's own capped texts. */
#define SPOOL_LINE_MAX (512u << 10)
#define SPOOL_CHUNK    (256u << 10) /* bytes per write of an append */
#define SPOOL_READ     (256u << 10) /* bytes per read when counting rows */

/* The spool line of an entry: a JSON object with every column. */
static struct json_object *entry_json(const struct reqlog_entry *e)
{
    struct json_object *o = json_object_new_object();

#define S(k, v) json_object_object_add(o, k, (v) ? json_object_new_string(v) : NULL)
#define I(k, v) json_object_object_add(o, k, json_object_new_int64(v))
    S("request_id", e->request_id);
    I("ts_ms", e->ts_ms);
    S("method", e->method);
    I("upstream_id", e->upstream_id);
    S("upstream", e->upstream);
    if (e->endpoint[0] != '\0')
        S("endpoint", e->endpoint);
    S("path", e->path);
    if (e->query != NULL)
        S("query", e->query);
    I("key_id", e->key_id);
    I("token_id", e->token_id);
    I("status", e->status);
    I("latency_ms", e->latency_ms);
    I("attempts", e->attempts);
    I("req_bytes", e->req_bytes);
    I("resp_bytes", e->resp_bytes);
    S("error", e->error);
    S("rules", e->rules);
    S("messages", e->messages);
    if (e->trail != NULL)
        S("trail", e->trail);
    if (e->usage.model[0] != '\0')
        S("model", e->usage.model);
    if (e->model_requested[0] != '\0')
        S("model_requested", e->model_requested);
    if (e->usage.source != USAGE_SOURCE_NONE) {
        I("prompt_tokens", e->usage.prompt);
        I("completion_tokens", e->usage.completion);
        I("cached_tokens", e->usage.cached);
        I("total_tokens", e->usage.total);
        S("usage_source", usage_source_name(e->usage.source));
    }
    if (e->proxy[0] != '\0')
        S("proxy", e->proxy);
    if (e->currency[0] != '\0') {
        I("cost_nanos", e->cost_nanos);
        S("currency", e->currency);
    }
    if (e->fallback_from[0] != '\0')
        S("fallback_from", e->fallback_from);
    if (e->affine)
        json_object_object_add(o, "affinity", json_object_new_boolean(e->affine_home));
#undef S
#undef I
    return o;
}

/* The string member k of o, or NULL when it is absent or not a string. */
static const char *opt_str(struct json_object *o, const char *k)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* A copy of the string member k of o, at most cap bytes; NULL when it is
 * absent or not a string. */
static char *opt_dup(struct json_object *o, const char *k, size_t cap)
{
    const char *s = opt_str(o, k);

    return s != NULL ? strndup(s, cap) : NULL;
}

/* Copies the string member k of o into the array dst (cut to fit); leaves
 * dst empty when it is absent or not a string. */
static void opt_copy(struct json_object *o, const char *k, char *dst, size_t size)
{
    const char *s = opt_str(o, k);

    if (s != NULL)
        snprintf(dst, size, "%s", s);
}

static long long jget_or(struct json_object *o, const char *k, long long absent)
{
    struct json_object *v;

    return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : absent;
}

static long long jget(struct json_object *o, const char *k)
{
    return jget_or(o, k, 0);
}

/* The usage of a spool line; a line without it (written before usage was
 * read, or for an answer that was not scanned) has source none. */
static void usage_from_json(struct json_object *o, struct usage_counts *u)
{
    const char *src = opt_str(o, "usage_source");
    int i;

    u->source = USAGE_SOURCE_NONE;
    for (i = USAGE_SOURCE_REPORTED; src != NULL && i <= USAGE_SOURCE_CUT; i++)
        if (strcmp(src, usage_source_name((enum usage_source)i)) == 0)
            u->source = (enum usage_source)i;
    opt_copy(o, "model", u->model, sizeof(u->model));
    u->prompt = jget_or(o, "prompt_tokens", -1);
    u->completion = jget_or(o, "completion_tokens", -1);
    u->cached = jget_or(o, "cached_tokens", -1);
    u->total = jget_or(o, "total_tokens", -1);
}

/* The entry of a spool line, or NULL when the line is not an object with a
 * non-empty request_id.  The caller owns the entry. */
static struct reqlog_entry *entry_from_json(const char *line)
{
    struct json_object *o = json_tokener_parse(line);
    const char *id =
        o != NULL && json_object_is_type(o, json_type_object) ? opt_str(o, "request_id") : NULL;
    struct reqlog_entry *e;
    struct json_object *v;

    if (id == NULL || id[0] == '\0' || (e = calloc(1, sizeof(*e))) == NULL) {
        json_object_put(o);
        return NULL;
    }
    opt_copy(o, "request_id", e->request_id, sizeof(e->request_id));
    opt_copy(o, "method", e->method, sizeof(e->method));
    opt_copy(o, "upstream", e->upstream, sizeof(e->upstream));
    opt_copy(o, "endpoint", e->endpoint, sizeof(e->endpoint));
    e->ts_ms = jget(o, "ts_ms");
    e->upstream_id = jget(o, "upstream_id");
    e->path = opt_dup(o, "path", REQLOG_PATH_MAX);
    e->query = opt_dup(o, "query", REQLOG_QUERY_MAX);
    e->key_id = jget(o, "key_id");
    e->token_id = jget(o, "token_id");
    e->status = (int)jget(o, "status");
    e->latency_ms = jget(o, "latency_ms");
    e->attempts = (int)jget(o, "attempts");
    e->req_bytes = jget(o, "req_bytes");
    e->resp_bytes = jget(o, "resp_bytes");
    e->error = opt_dup(o, "error", REQLOG_ERROR_MAX);
    e->rules = opt_dup(o, "rules", REQLOG_RULES_MAX);
    e->messages = opt_dup(o, "messages", REQLOG_MSGS_MAX);
    e->trail = opt_dup(o, "trail", REQLOG_TRAIL_MAX);
    usage_from_json(o, &e->usage);
    opt_copy(o, "currency", e->currency, sizeof(e->currency));
    opt_copy(o, "fallback_from", e->fallback_from, sizeof(e->fallback_from));
    opt_copy(o, "model_requested", e->model_requested, sizeof(e->model_requested));
    opt_copy(o, "proxy", e->proxy, sizeof(e->proxy));
    e->cost_nanos = jget(o, "cost_nanos");
    e->affine = json_object_object_get_ex(o, "affinity", &v) && v != NULL;
    e->affine_home = e->affine && json_object_get_boolean(v);
    json_object_put(o);
    return e;
}

static void spool_path(const char *dir, const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", dir, name);
}

static bool is_replay_file(const char *name)
{
    return strncmp(name, REPLAY_PREFIX, strlen(REPLAY_PREFIX)) == 0;
}

/* Whether name is a spool or a replay file. */
static bool is_spool_file(const char *name)
{
    return strcmp(name, SPOOL_NAME) == 0 || is_replay_file(name);
}

/* Whether path is a regular file (a link is followed), with its status in
 * st.  Anything else (a device, say) holds no rows to replay or count. */
static bool regular_file(const char *path, struct stat *st)
{
    return stat(path, st) == 0 && S_ISREG(st->st_mode);
}

void spool_init(const char *dir)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        log_warn("request log: cannot create %s: %s", dir, strerror(errno));
}

/* Writes all n bytes of p to fd.  Returns 0, or -1 with errno set. */
static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes the lines of list to fd, SPOOL_CHUNK bytes at a time.  Returns 0,
 * or -1 with errno set. */
static int write_lines(int fd, const struct reqlog_entry *list)
{
    const struct reqlog_entry *e;
    struct buf b;
    int rc = 0;

    buf_init(&b, SPOOL_CHUNK + SPOOL_LINE_MAX);
    for (e = list; rc == 0 && e != NULL; e = e->next) {
        struct json_object *o = entry_json(e);
        if (buf_puts(&b, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) != 0 ||
            buf_puts(&b, "\n") != 0) {
            errno = ENOMEM;
            rc = -1;
        }
        json_object_put(o);
        if (rc == 0 && (b.len >= SPOOL_CHUNK || e->next == NULL)) {
            rc = write_all(fd, b.data, b.len);
            buf_reset(&b);
        }
    }
    buf_free(&b);
    return rc;
}

int spool_append(const char *dir, const struct reqlog_entry *list, size_t n, bool sync)
{
    char path[512];
    off_t start = -1;
    int fd, rc = -1, err;

    (void)n; /* the list ends with a NULL next */
    spool_path(dir, SPOOL_NAME, path, sizeof(path));
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX) == 0 && (start = lseek(fd, 0, SEEK_END)) >= 0 &&
        write_lines(fd, list) == 0 && (!sync || fsync(fd) == 0))
        rc = 0;
    err = errno;
    /* A half-written line would spoil the next append's first line. */
    if (rc != 0 && start >= 0 && ftruncate(fd, start) != 0) {
        /* Nothing more to do: the replay skips a line it cannot read. */
    }
    close(fd); /* also releases the lock */
    errno = err;
    return rc;
}

/* Inserts the rows of one replay file in batches; removes it when all went
 * in.  Returns 0, 1 when it skipped the file (another process replays it,
 * or it is not a regular file), or -1 when a write failed (the file
 * stays). */
static int replay_file(const char *path, size_t batch_rows, spool_write_fn *write_batch, void *arg)
{
    struct reqlog_entry *head = NULL, *tail = NULL, *e;
    char *line = malloc(SPOOL_LINE_MAX);
    size_t n = 0;
    int rc = 0;
    struct stat st;
    FILE *f;

    f = fopen(path, "r");
    /* One replayer per file, whichever process shares the folder; only a
     * regular file holds rows (reading a device could go on for ever). */
    if (f == NULL || line == NULL || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
        flock(fileno(f), LOCK_EX | LOCK_NB) != 0) {
        free(line);
        if (f != NULL)
            fclose(f);
        return 1;
    }
    while (rc == 0) {
        bool eof = fgets(line, SPOOL_LINE_MAX, f) == NULL;
        if (!eof && (e = entry_from_json(line)) != NULL) {
            if (tail != NULL)
                tail->next = e;
            else
                head = e;
            tail = e;
            n++;
        }
        if (n > 0 && (eof || n == batch_rows)) {
            rc = write_batch(arg, head, n) == 0 ? 0 : -1; /* it frees the batch */
            head = tail = NULL;
            n = 0;
        }
        if (eof)
            break;
    }
    fclose(f);
    free(line);
    if (rc == 0)
        unlink(path);
    return rc;
}

int spool_replay(const char *dir, size_t batch_rows, spool_write_fn *write_batch, void *arg)
{
    char from[512], to[512], name[64];
    struct dirent *de;
    struct stat st;
    int rc = 0;
    DIR *d;

    spool_path(dir, SPOOL_NAME, from, sizeof(from));
    snprintf(name, sizeof(name), REPLAY_PREFIX "%ld.%lld", (long)getpid(),
             (long long)clock_wall_ms());
    spool_path(dir, name, to, sizeof(to));
    if (regular_file(from, &st) && rename(from, to) != 0 && errno != ENOENT)
        log_warn("request log: cannot move the spool aside: %s", strerror(errno));
    d = opendir(dir);
    if (d == NULL)
        return -1;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (!is_replay_file(de->d_name))
            continue;
        spool_path(dir, de->d_name, to, sizeof(to));
        rc = replay_file(to, batch_rows, write_batch, arg);
        if (rc == 0)
            log_info("request log: replayed spooled rows from %s", de->d_name);
        rc = rc < 0 ? -1 : 0;
    }
    closedir(d);
    return rc;
}

long long spool_bytes(const char *dir)
{
    long long total = 0;
    struct dirent *de;
    struct stat st;
    char path[512];
    DIR *d = opendir(dir);

    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        if (!is_spool_file(de->d_name))
            continue;
        spool_path(dir, de->d_name, path, sizeof(path));
        if (regular_file(path, &st))
            total += (long long)st.st_size;
    }
    closedir(d);
    return total;
}

bool spool_pending(const char *dir)
{
    char path[512];
    struct stat st;
    struct dirent *de;
    bool found = false;
    DIR *d;

    d = opendir(dir);
    if (d == NULL)
        return false;
    while (!found && (de = readdir(d)) != NULL) {
        if (!is_spool_file(de->d_name))
            continue;
        spool_path(dir, de->d_name, path, sizeof(path));
        found = regular_file(path, &st);
    }
    closedir(d);
    return found;
}

/* Adds the lines of bytes [f->bytes, size) of fd to f->rows and moves
 * f->bytes on past what it read. */
static void count_lines(int fd, struct spool_tally_file *f, long long size)
{
    char *chunk = malloc(SPOOL_READ), *p;
    ssize_t r;

    while (chunk != NULL && f->bytes < size) {
        size_t want =
            size - f->bytes < (long long)SPOOL_READ ? (size_t)(size - f->bytes) : SPOOL_READ;
        r = pread(fd, chunk, want, (off_t)f->bytes);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        for (p = chunk; (p = memchr(p, '\n', (size_t)(chunk + r - p))) != NULL; p++)
            f->rows++;
        f->bytes += r;
    }
    free(chunk);
}

/* The entry of t for the file (dev, ino), or NULL. */
static const struct spool_tally_file *tally_find(const struct spool_tally *t,
                                                 unsigned long long dev, unsigned long long ino)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        if (t->f[i].dev == dev && t->f[i].ino == ino)
            return &t->f[i];
    return NULL;
}

long long spool_count_rows(const char *dir, struct spool_tally *t)
{
    struct spool_tally next = {.n = 0};
    long long total = 0;
    struct dirent *de;
    struct stat st;
    char path[512];
    DIR *d = opendir(dir);
    int fd;

    while (d != NULL && (de = readdir(d)) != NULL) {
        if (!is_spool_file(de->d_name))
            continue;
        spool_path(dir, de->d_name, path, sizeof(path));
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
            struct spool_tally_file f = {st.st_dev, st.st_ino, 0, 0};
            const struct spool_tally_file *old = tally_find(t, f.dev, f.ino);
            /* The files only grow until they go; one that shrank is read
             * again from the start. */
            if (old != NULL && old->bytes <= (long long)st.st_size)
                f = *old;
            count_lines(fd, &f, (long long)st.st_size);
            total += f.rows;
            if (next.n < SPOOL_TALLY_FILES)
                next.f[next.n++] = f;
        }
        if (fd >= 0)
            close(fd);
    }
    if (d != NULL)
        closedir(d);
    *t = next;
    return total;
}
