/* GET /metrics: the Prometheus text format.
 *
 * Request, latency, retry and rule figures come from the totals the log
 * writers keep in the database, so they cover every gateway process and
 * host, whichever one answers the scrape.  Key counts are read live.  The
 * log queue, the spool and pending alert deliveries belong to the process
 * that answers (labelled with its host and pid). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "core/egress.h"
#include "core/alert.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/concurrency.h"
#include "core/endpoint.h"
#include "core/pool.h"
#include "core/scriptstat.h"
#include "core/db_hosts.h"
#include "core/db.h"
#include "core/dbpool.h"
#include "core/latency.h"
#include "core/reqlog.h"
#include "core/rollup.h"
#include "core/throttle.h"
#include "ops/ops.h"
#include "http.h"

#define METRICS_CAP (8u << 20)

/* Writes a label value with \, " and newlines escaped. */
static void label(struct buf *b, const char *v)
{
    for (; v != NULL && *v != '\0'; v++) {
        if (*v == '\\' || *v == '"')
            buf_printf(b, "\\%c", *v);
        else if (*v == '\n')
            buf_puts(b, "\\n");
        else
            buf_append(b, v, 1);
    }
}

/* The upstream labels of a row whose columns start at col: id, name. */
static void upstream_labels(struct buf *b, const struct db_res *res, unsigned i, unsigned col)
{
    const char *name = db_val(res, i, col + 1);

    buf_puts(b, "upstream=\"");
    label(b, name != NULL ? name : db_int(res, i, col) == 0 ? "(none)" : "(deleted)");
    buf_printf(b, "\",upstream_id=\"%lld\"", db_int(res, i, col));
}

static int requests(struct db *db, struct buf *b)
{
    struct db_res res;
    unsigned i;
    int rc;

    rc = db_query(db,
                  "SELECT t.upstream_id, u.name, t.status_class, t.requests, t.retries"
                  " FROM stats_total t LEFT JOIN upstreams u ON u.id = t.upstream_id"
                  " ORDER BY t.upstream_id, t.status_class",
                  DB_NOARGS, &res);
    buf_puts(b, "# HELP apigw_requests_total Requests through the proxy, by upstream and status "
                "class (every gateway process).\n# TYPE apigw_requests_total counter\n");
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        buf_puts(b, "apigw_requests_total{");
        upstream_labels(b, &res, i, 0);
        buf_printf(b, ",class=\"%lldxx\"} %lld\n", db_int(&res, i, 2), db_int(&res, i, 3));
    }
    buf_puts(b, "# HELP apigw_retries_total Attempts beyond the first, by upstream.\n"
                "# TYPE apigw_retries_total counter\n");
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        long long sum = 0;
        unsigned j = i;
        while (j < res.nrows && db_int(&res, j, 0) == db_int(&res, i, 0))
            sum += db_int(&res, j++, 4);
        buf_puts(b, "apigw_retries_total{");
        upstream_labels(b, &res, i, 0);
        buf_printf(b, "} %lld\n", sum);
        i = j - 1;
    }
    db_res_free(&res);
    return rc;
}

/* Tokens by upstream and kind, summed over status classes. */
static int tokens(struct db *db, struct buf *b)
{
    static const char *const kinds[] = {"prompt", "completion", "cached"};
    struct db_res res;
    unsigned i, k;
    int rc;

    rc = db_query(db,
                  "SELECT t.upstream_id, u.name, SUM(t.prompt_tokens), SUM(t.completion_tokens),"
                  " SUM(t.cached_tokens) FROM stats_total t LEFT JOIN upstreams u"
                  " ON u.id = t.upstream_id GROUP BY t.upstream_id, u.name ORDER BY t.upstream_id",
                  DB_NOARGS, &res);
    buf_puts(b, "# HELP apigw_tokens_total Tokens the answers reported, by upstream and kind"
                " (prompt includes cached).\n# TYPE apigw_tokens_total counter\n");
    for (i = 0; rc == DB_OK && i < res.nrows; i++)
        for (k = 0; k < 3; k++) {
            buf_puts(b, "apigw_tokens_total{");
            upstream_labels(b, &res, i, 0);
            buf_printf(b, ",kind=\"%s\"} %lld\n", kinds[k], db_int(&res, i, 2 + k));
        }
    db_res_free(&res);
    return rc;
}

/* Requests by model, for the models the operator lists in metrics_models
 * only: models come from clients and answers, and a label set must stay
 * bounded. */
static int models(struct db *db, struct buf *b, const char *list)
{
    struct db_res res;
    unsigned i;
    int rc;

    if (list == NULL || list[0] == '\0')
        return DB_OK;
    rc = db_query(db,
                  "SELECT m.upstream_id, u.name, m.model, m.requests FROM stats_model_total m"
                  " LEFT JOIN upstreams u ON u.id = m.upstream_id ORDER BY m.upstream_id, m.model",
                  DB_NOARGS, &res);
    buf_puts(b, "# HELP apigw_model_requests_total Requests by upstream and model, for the models"
                " listed in metrics_models.\n# TYPE apigw_model_requests_total counter\n");
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        if (!rollup_model_listed(list, db_val(&res, i, 2)))
            continue;
        buf_puts(b, "apigw_model_requests_total{");
        upstream_labels(b, &res, i, 0);
        buf_puts(b, ",model=\"");
        label(b, db_val(&res, i, 2));
        buf_printf(b, "\"} %lld\n", db_int(&res, i, 3));
    }
    db_res_free(&res);
    return rc;
}

static int latency(struct db *db, struct buf *b)
{
    struct db_res res, sums;
    unsigned i;
    int rc;

    rc = db_query(db,
                  "SELECT l.upstream_id, u.name, l.le_ms, l.count FROM stats_total_latency l"
                  " LEFT JOIN upstreams u ON u.id = l.upstream_id"
                  " ORDER BY l.upstream_id, l.le_ms = 0, l.le_ms",
                  DB_NOARGS, &res);
    if (rc == DB_OK)
        rc = db_query(db,
                      "SELECT upstream_id, SUM(latency_sum), SUM(requests) FROM stats_total"
                      " GROUP BY upstream_id ORDER BY upstream_id",
                      DB_NOARGS, &sums);
    else
        memset(&sums, 0, sizeof(sums));
    buf_puts(
        b, "# HELP apigw_request_duration_seconds Time from a request's arrival until its "
           "answer was complete, by upstream.\n# TYPE apigw_request_duration_seconds histogram\n");
    for (i = 0; rc == DB_OK && i < res.nrows;) {
        long long up = db_int(&res, i, 0), cumulative = 0, total_ms = 0, count = 0;
        unsigned j, k = i, le;
        for (j = 0; j < sums.nrows; j++)
            if (db_int(&sums, j, 0) == up)
                total_ms = db_int(&sums, j, 1), count = db_int(&sums, j, 2);
        /* Every bound is printed, cumulative, whether or not it has rows. */
        for (le = 0; le < LATENCY_LE_COUNT; le++) {
            while (k < res.nrows && db_int(&res, k, 0) == up &&
                   db_int(&res, k, 2) == latency_le_ms[le])
                cumulative += db_int(&res, k++, 3);
            buf_puts(b, "apigw_request_duration_seconds_bucket{");
            upstream_labels(b, &res, i, 0);
            if (latency_le_ms[le] == 0)
                buf_puts(b, ",le=\"+Inf\"}");
            else
                buf_printf(b, ",le=\"%g\"}", latency_le_ms[le] / 1000.0);
            buf_printf(b, " %lld\n", le + 1 == LATENCY_LE_COUNT ? count : cumulative);
        }
        buf_puts(b, "apigw_request_duration_seconds_sum{");
        upstream_labels(b, &res, i, 0);
        buf_printf(b, "} %.3f\napigw_request_duration_seconds_count{", total_ms / 1000.0);
        upstream_labels(b, &res, i, 0);
        buf_printf(b, "} %lld\n", count);
        while (k < res.nrows && db_int(&res, k, 0) == up)
            k++;
        i = k;
    }
    db_res_free(&res);
    db_res_free(&sums);
    return rc;
}

/* A gauge with one line per upstream, from a query of (id, name, value). */
static int upstream_gauge(struct db *db, struct buf *b, const char *name, const char *help,
                          const char *sql)
{
    struct db_res res;
    unsigned i;
    int rc = db_query(db, sql, DB_NOARGS, &res);

    buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        buf_printf(b, "%s{", name);
        upstream_labels(b, &res, i, 0);
        buf_printf(b, "} %lld\n", db_int(&res, i, 2));
    }
    db_res_free(&res);
    return rc;
}

static int rules_and_keys(struct db *db, struct buf *b)
{
    struct db_res res;
    unsigned i;
    int rc;

    rc = db_query(db, "SELECT rule, fired FROM stats_rules_total ORDER BY rule", DB_NOARGS, &res);
    buf_puts(b, "# HELP apigw_rule_firings_total Times each rule fired.\n"
                "# TYPE apigw_rule_firings_total counter\n");
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        buf_puts(b, "apigw_rule_firings_total{rule=\"");
        label(b, db_val(&res, i, 0));
        buf_printf(b, "\"} %lld\n", db_int(&res, i, 1));
    }
    db_res_free(&res);
    if (rc != DB_OK)
        return rc;
    rc = db_query(db,
                  "SELECT u.id, u.name, s.status, COUNT(k.id) FROM upstreams u"
                  " CROSS JOIN (SELECT 'active' AS status UNION ALL SELECT 'disabled'"
                  " UNION ALL SELECT 'banned' UNION ALL SELECT 'exhausted') s"
                  " LEFT JOIN api_keys k ON k.upstream_id = u.id AND k.status = s.status"
                  " GROUP BY u.id, u.name, s.status ORDER BY u.id, s.status",
                  DB_NOARGS, &res);
    buf_puts(b, "# HELP apigw_keys Keys by upstream and status, now.\n# TYPE apigw_keys gauge\n");
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        buf_puts(b, "apigw_keys{");
        upstream_labels(b, &res, i, 0);
        buf_puts(b, ",status=\"");
        label(b, db_val(&res, i, 2));
        buf_printf(b, "\"} %lld\n", db_int(&res, i, 3));
    }
    db_res_free(&res);
    if (rc != DB_OK)
        return rc;
    rc = upstream_gauge(db, b, "apigw_key_model_blocks", "Rests of keys for one model, now.",
                        "SELECT u.id, u.name, COUNT(b.key_id) FROM upstreams u"
                        " LEFT JOIN api_keys k ON k.upstream_id = u.id"
                        " LEFT JOIN key_model_blocks b ON b.key_id = k.id"
                        " AND (b.until IS NULL OR b.until > UTC_TIMESTAMP(6))"
                        " GROUP BY u.id, u.name ORDER BY u.id");
    if (rc != DB_OK)
        return rc;
    return upstream_gauge(
        db, b, "apigw_upstream_capacity_state",
        "Capacity as the last check saw it (core/capacity.h): 0 ok, 1 low, 2 dry.",
        "SELECT u.id, u.name, CASE s.state WHEN 'low' THEN 1 WHEN 'dry' THEN 2"
        " ELSE 0 END FROM capacity_state s JOIN upstreams u"
        " ON u.id = s.upstream_id WHERE s.key_id = 0 ORDER BY u.id");
}

/* The login throttle's counters of this process (core/throttle.h). */
static void login_counters(struct buf *b, const char *host)
{
    struct throttle_stats st;

    throttle_get_stats(throttle_process(0), &st);
    buf_puts(b, "# HELP apigw_login_failures_total Logins refused for a wrong username or "
                "password by this process.\n# TYPE apigw_login_failures_total counter\n"
                "apigw_login_failures_total{host=\"");
    label(b, host);
    buf_printf(b, "\",pid=\"%ld\"} %lld\n", (long)getpid(), st.failures);
    buf_puts(b, "# HELP apigw_login_throttled_total Logins this process refused unchecked: after "
                "too many failures (429), or with no password hashing slot free (503).\n"
                "# TYPE apigw_login_throttled_total counter\n");
    buf_puts(b, "apigw_login_throttled_total{host=\"");
    label(b, host);
    buf_printf(b, "\",pid=\"%ld\",reason=\"failures\"} %lld\n", (long)getpid(), st.refused);
    buf_puts(b, "apigw_login_throttled_total{host=\"");
    label(b, host);
    buf_printf(b, "\",pid=\"%ld\",reason=\"hash_busy\"} %lld\n", (long)getpid(), st.busy);
}

/* One figure of this process (gauge or counter). */
static void proc_figure(struct buf *b, const char *host, const char *name, const char *type,
                        const char *help, long long value)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s{host=\"", name, help, name, type, name);
    label(b, host);
    buf_printf(b, "\",pid=\"%ld\"} %lld\n", (long)getpid(), value);
}

/* The threads, the requests in flight and the database pool (threads.h). */
static void thread_figures(struct app *app, struct buf *b, const char *host)
{
    struct dbpool_stats ds = {0, 0, 0, 0};
    long long n, idle;

    pthread_mutex_lock(&app->threads_lock);
    n = app->nthreads;
    idle = app->naccepting;
    pthread_mutex_unlock(&app->threads_lock);
    if (app->db_pool != NULL)
        db_pool_stats(app->db_pool, &ds);
    proc_figure(b, host, "apigw_inflight_requests", "gauge",
                "Proxied requests in flight in this process.",
                (long long)atomic_load(&app->inflight));
    proc_figure(b, host, "apigw_overloaded_total", "counter",
                "Proxied requests refused with 503 overloaded (max_inflight).",
                (long long)atomic_load(&app->overloaded));
    proc_figure(b, host, "apigw_threads", "gauge", "Worker threads alive in this process.", n);
    proc_figure(b, host, "apigw_threads_waiting", "gauge",
                "Worker threads waiting for a new connection.", idle);
    proc_figure(b, host, "apigw_db_pool_in_use", "gauge", "Pooled database connections in use now.",
                (long long)ds.taken);
    proc_figure(b, host, "apigw_db_pool_timeouts_total", "counter",
                "Waits for a pooled database connection that gave up (db_pool_wait_ms).",
                (long long)ds.timeouts);
    proc_figure(b, host, "apigw_pool_version_checks_total", "counter",
                "Pool version queries this process made (periodic and after lookup misses).",
                (long long)atomic_load(&app->pool.version_checks));
    proc_figure(b, host, "apigw_egress_proxy_failures_total", "counter",
                "Attempts that failed at their egress proxy (transport cause proxy).",
                egress_failures_total());
    proc_figure(b, host, "apigw_egress_proxy_rests_total", "counter",
                "Rests of egress proxies that failed 3 times within 60 s.", egress_rests_total());
}

/* Proxied requests that a max_concurrent refused in this process, by the
 * scope of the limit (the counts they are held to are per process). */
static void concurrency_figures(struct buf *b, const char *host)
{
    int s;

    buf_puts(b, "# HELP apigw_concurrency_limited_total Proxied requests refused by a token's or "
                "upstream's max_concurrent in this process.\n"
                "# TYPE apigw_concurrency_limited_total counter\n");
    for (s = 0; s < CONCURRENCY__MAX; s++) {
        buf_puts(b, "apigw_concurrency_limited_total{host=\"");
        label(b, host);
        buf_printf(b, "\",pid=\"%ld\",scope=\"%s\"} %lld\n", (long)getpid(),
                   concurrency_scope_name((enum concurrency_scope)s),
                   concurrency_refusals((enum concurrency_scope)s));
    }
}

/* Requests waiting for a usable key (proxy/key_wait.h), and how waits
 * ended. */
static void key_wait_figures(struct app *app, struct buf *b, const char *host)
{
    static const char *const result[] = {"served", "expired", "refused"};
    long long n[3];
    size_t i;

    n[0] = (long long)atomic_load(&app->key_wait_served);
    n[1] = (long long)atomic_load(&app->key_wait_expired);
    n[2] = (long long)atomic_load(&app->key_wait_refused);
    proc_figure(b, host, "apigw_key_waiting", "gauge",
                "Proxied requests waiting for a usable key (queue_wait_ms) in this process.",
                (long long)atomic_load(&app->key_waiting));
    buf_puts(b, "# HELP apigw_key_wait_total Waits for a usable key in this process: served, "
                "expired (503 after queue_wait_ms), refused (max_waiting).\n"
                "# TYPE apigw_key_wait_total counter\n");
    for (i = 0; i < 3; i++) {
        buf_puts(b, "apigw_key_wait_total{host=\"");
        label(b, host);
        buf_printf(b, "\",pid=\"%ld\",result=\"%s\"} %lld\n", (long)getpid(), result[i], n[i]);
    }
}

/* Errors of upstream scripts in this process, by upstream and kind. */
static void script_figures(struct buf *b, const char *host)
{
    static struct scriptstat_row rows[SCRIPTSTAT_SLOTS * SCRIPT_KIND__MAX];
    static pthread_mutex_t rows_lock = PTHREAD_MUTEX_INITIALIZER;
    size_t i, n;

    buf_puts(b, "# HELP apigw_script_errors_total Upstream script calls that failed in this "
                "process, by upstream and kind.\n"
                "# TYPE apigw_script_errors_total counter\n");
    pthread_mutex_lock(&rows_lock);
    n = scriptstat_rows(rows, sizeof(rows) / sizeof(rows[0]));
    for (i = 0; i < n; i++) {
        buf_puts(b, "apigw_script_errors_total{host=\"");
        label(b, host);
        buf_printf(b, "\",pid=\"%ld\",upstream=\"", (long)getpid());
        label(b, rows[i].upstream);
        buf_printf(b, "\",kind=\"%s\"} %lld\n", script_kind_name(rows[i].kind), rows[i].count);
    }
    pthread_mutex_unlock(&rows_lock);
}

/* Requests with an affinity id in this process, by upstream (those with
 * affinity now) and by whether the id's preferred key served. */
static void affinity_figures(struct app *app, struct buf *b, const char *host)
{
    static const char *const result[] = {"other", "preferred"};
    struct pool *p = pool_acquire(&app->pool);
    size_t i;
    int k;

    buf_puts(b, "# HELP apigw_affinity_total Requests with an affinity id served in this process,"
                " by upstream and by whether the id's preferred key served.\n"
                "# TYPE apigw_affinity_total counter\n");
    for (i = 0; p != NULL && i < p->nups; i++) {
        if (p->ups[i].affinity_served == NULL)
            continue;
        for (k = 0; k < 2; k++) {
            buf_puts(b, "apigw_affinity_total{host=\"");
            label(b, host);
            buf_printf(b, "\",pid=\"%ld\",upstream=\"", (long)getpid());
            label(b, p->ups[i].name);
            buf_printf(b, "\",result=\"%s\"} %lld\n", result[k],
                       (long long)atomic_load(&p->ups[i].affinity_served[k]));
        }
    }
    pool_release(p);
}

/* The budgets pacing learned for the keys of paced upstreams (core/pace.h),
 * as this process knows them: those not yet refilled. */
static void pace_figures(struct app *app, struct buf *b, const char *host)
{
    static const char *const kind[] = {"requests", "tokens"};
    size_t i, k;
    int j;
    int64_t now = clock_mono_ms();
    struct pool *p = pool_acquire(&app->pool);

    buf_puts(b, "# HELP apigw_key_pace_remaining What the provider last said a key has left, by"
                " kind, until it refills (pace_by_headers).\n"
                "# TYPE apigw_key_pace_remaining gauge\n");
    for (i = 0; p != NULL && i < p->nups; i++)
        for (k = 0; p->ups[i].pace_by_headers && k < p->ups[i].nkeys; k++)
            for (j = 0; j < 2; j++) {
                const struct pace_state *s = &p->ups[i].keys[k].pace;
                long long left = atomic_load(j == 0 ? &s->req_left : &s->tok_left);
                if (left < 0 || atomic_load(j == 0 ? &s->req_reset_ms : &s->tok_reset_ms) <= now)
                    continue;
                buf_puts(b, "apigw_key_pace_remaining{host=\"");
                label(b, host);
                buf_printf(b, "\",pid=\"%ld\",upstream=\"", (long)getpid());
                label(b, p->ups[i].name);
                buf_printf(b, "\",key=\"%lld\",kind=\"%s\"} %lld\n", p->ups[i].keys[k].id, kind[j],
                           left);
            }
    pool_release(p);
}

/* The labels of endpoint k of u: host, pid, upstream, endpoint (its
 * origin, or its whole URL when an earlier endpoint has the same origin,
 * so that no two series are the same). */
static void endpoint_labels(struct buf *b, const char *host, const struct pool_upstream *u,
                            size_t k)
{
    const char *name = u->eps[k].origin;
    size_t j;

    for (j = 0; j < k; j++)
        if (strcmp(u->eps[j].origin, name) == 0)
            name = u->eps[k].url;
    buf_puts(b, "{host=\"");
    label(b, host);
    buf_printf(b, "\",pid=\"%ld\",upstream=\"", (long)getpid());
    label(b, u->name);
    buf_puts(b, "\",endpoint=\"");
    label(b, name);
    buf_puts(b, "\"");
}

/* The endpoints of the current pool (core/endpoint.h): attempts by
 * outcome and whether the breaker is open, as this process sees them. */
static void endpoint_figures(struct app *app, struct buf *b, const char *host)
{
    struct pool *p = pool_acquire(&app->pool);
    int64_t now = clock_mono_ms();
    size_t i, k;
    int o;

    buf_puts(b, "# HELP apigw_endpoint_requests_total Attempts this process sent to each endpoint,"
                " by outcome (ok, 5xx, transport).\n"
                "# TYPE apigw_endpoint_requests_total counter\n");
    for (i = 0; p != NULL && i < p->nups; i++)
        for (k = 0; k < p->ups[i].neps; k++)
            for (o = 0; p->ups[i].eps[k].br != NULL && o < ENDPOINT_OUTCOMES; o++) {
                buf_puts(b, "apigw_endpoint_requests_total");
                endpoint_labels(b, host, &p->ups[i], k);
                buf_printf(b, ",outcome=\"%s\"} %lld\n",
                           endpoint_outcome_name((enum endpoint_outcome)o),
                           (long long)atomic_load(&p->ups[i].eps[k].br->outcomes[o]));
            }
    buf_puts(b, "# HELP apigw_endpoint_open Whether the endpoint's breaker is open or half-open in"
                " this process (1) or closed (0).\n# TYPE apigw_endpoint_open gauge\n");
    for (i = 0; p != NULL && i < p->nups; i++)
        for (k = 0; k < p->ups[i].neps; k++) {
            struct endpoint_view v;
            endpoint_view(p->ups[i].eps[k].br, &p->ups[i].ep_params, now, &v);
            buf_puts(b, "apigw_endpoint_open");
            endpoint_labels(b, host, &p->ups[i], k);
            buf_printf(b, "} %d\n", v.state != ENDPOINT_CLOSED);
        }
    pool_release(p);
}

/* The request log's rows: in memory, in the spool, lost. */
static void log_rows(struct buf *b, const char *host, struct reqlog *q)
{
    proc_figure(b, host, "apigw_log_rows_queued", "gauge",
                "Request-log rows waiting in this process's memory.", q ? reqlog_depth(q) : 0);
    proc_figure(b, host, "apigw_log_rows_spooled", "gauge",
                "Request-log rows waiting in the spool folder (every process sharing it).",
                q ? reqlog_spool_rows(q) : 0);
    proc_figure(b, host, "apigw_log_rows_dropped_total", "counter",
                "Request-log rows this process lost: the spool refused them and the memory "
                "queue was full.",
                q ? reqlog_rows_dropped(q) : 0);
}

/* The database breaker of this process (core/db.h), and its write conflicts
 * and failovers (core/db_hosts.h). */
static void db_figures(struct buf *b, const char *host)
{
    struct db_breaker_stats st;
    struct db_retry_stats rs;

    db_breaker_stats(&st);
    db_retry_stats(&rs);
    proc_figure(b, host, "apigw_db_breaker_open", "gauge",
                "Whether this process takes the database for down after a timeout or a failed "
                "connection (its calls fail at once).",
                st.open ? 1 : 0);
    proc_figure(b, host, "apigw_db_fast_failures_total", "counter",
                "Database calls this process failed at once while the breaker was open.",
                st.fast_failures);
    proc_figure(b, host, "apigw_db_conflicts_total", "counter",
                "Statements or transactions of this process that met a deadlock, a lock wait "
                "timeout or a Galera certification conflict.",
                rs.conflicts);
    proc_figure(b, host, "apigw_db_statement_retries_total", "counter",
                "Statements outside a transaction this process ran again after a conflict.",
                rs.stmt_retries);
    proc_figure(b, host, "apigw_db_transaction_retries_total", "counter",
                "Transactions this process ran again after a conflict.", rs.tx_retries);
    proc_figure(b, host, "apigw_db_failovers_total", "counter",
                "Database connections this process made to a server other than the first of "
                "db_hosts.",
                rs.failovers);
}

/* What belongs to the process that answers. */
static void process_figures(struct req *r, struct buf *b, bool db_up)
{
    struct app *app = r->w->app;
    char host[128] = "";

    gethostname(host, sizeof(host) - 1);
#define PROC_GAUGE(name, help, value)                                                              \
    do {                                                                                           \
        buf_printf(b, "# HELP " name " " help "\n# TYPE " name " gauge\n" name "{host=\"");        \
        label(b, host);                                                                            \
        buf_printf(b, "\",pid=\"%ld\"} %lld\n", (long)getpid(), (long long)(value));               \
    } while (0)
    PROC_GAUGE("apigw_log_queue_rows", "Request-log rows waiting in this process's memory.",
               app->reqlog ? reqlog_depth(app->reqlog) : 0);
    PROC_GAUGE("apigw_log_spool_bytes",
               "Bytes of request-log rows waiting in the spool folder (every process sharing it).",
               app->reqlog ? reqlog_spool_bytes(app->reqlog) : 0);
    PROC_GAUGE("apigw_alert_deliveries_pending", "Webhook deliveries this process still owes.",
               alerter_pending(app->alerter));
    PROC_GAUGE("apigw_db_up", "Whether this process reaches the database.", db_up ? 1 : 0);
    thread_figures(app, b, host);
    key_wait_figures(app, b, host);
    db_figures(b, host);
#undef PROC_GAUGE
    concurrency_figures(b, host);
    script_figures(b, host);
    affinity_figures(app, b, host);
    pace_figures(app, b, host);
    endpoint_figures(app, b, host);
    log_rows(b, host, app->reqlog);
    login_counters(b, host);
}

void h_metrics(struct req *r, const struct route_args *a)
{
    struct db *db = r->w->db;
    struct buf b;
    int rc;

    (void)a;
    buf_init(&b, METRICS_CAP);
    rc = requests(db, &b);
    if (rc == DB_OK)
        rc = tokens(db, &b);
    if (rc == DB_OK)
        rc = models(db, &b, r->cfg->metrics_models);
    if (rc == DB_OK)
        rc = latency(db, &b);
    if (rc == DB_OK)
        rc = rules_and_keys(db, &b);
    if (rc != DB_OK) {
        /* The shared figures need the database; the process's own still say something. */
        buf_reset(&b);
    }
    process_figures(r, &b, rc == DB_OK);
    resp_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    resp_header(r, "Cache-Control", "no-store");
    resp_write(r, buf_str(&b), b.len);
    buf_free(&b);
}
