#!/usr/bin/env python3
"""The query half of `make bench`: a million request-log rows over 24 hours
(four models, half of them priced, with token counts; with their rollups,
as the log writer would have written them), then the
time of log pages (every filter, a cursor page) and of stats over the day.
Targets: a log page under 100 ms, stats over 24 hours under 500 ms."""

import http.client
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apigw_stack as st  # noqa: E402
import bench_seeded  # noqa: E402
from bench_seeded import ADMIN  # noqa: E402

ROWS = int(os.environ.get("BENCH_LOG_ROWS", "1000000"))

# The latency bucket of core/latency.c, in SQL.
BUCKET = "IF(latency_ms < 100, latency_ms, LEAST(799, 100 + FLOOR(LN(latency_ms / 100) / LN(1.02))))"


def fill(db, rows):
    """Rows spread evenly over the last 24 hours, newest at id = rows."""
    db.sql("""
        %(upstreams)s
        INSERT INTO request_logs (request_id, ts, method, upstream_id, upstream, path, key_id,
                                  token_id, status, status_class, latency_ms, attempts,
                                  req_bytes, resp_bytes, model, prompt_tokens,
                                  completion_tokens, cached_tokens, total_tokens, usage_source,
                                  cost_nanos, currency)
        SELECT CONCAT('b', seq),
               UTC_TIMESTAMP(3) - INTERVAL ((%(rows)d - seq) * 86400000 DIV %(rows)d) * 1000 MICROSECOND,
               IF(seq %% 4 = 0, 'GET', 'POST'), 1 + seq %% 3,
               ELT(1 + seq %% 3, 'alpha', 'beta', 'gamma'),
               CONCAT('/proxy/', ELT(1 + seq %% 3, 'alpha', 'beta', 'gamma'), '/v1/item/', seq %% 1000),
               1 + seq %% 30, 1 + seq %% 5,
               CASE WHEN seq %% 997 = 0 THEN 503 WHEN seq %% 101 = 0 THEN 429 ELSE 200 END,
               CASE WHEN seq %% 997 = 0 THEN 5 WHEN seq %% 101 = 0 THEN 4 ELSE 2 END,
               (seq * 7919) %% 1500, 1 + (seq %% 97 = 0), 200, 230,
               ELT(1 + seq %% 4, 'gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet', 'gemini-1.5-pro'),
               100 + seq %% 900, 10 + seq %% 300, seq %% 50, 110 + seq %% 900 + seq %% 300,
               'reported', IF(seq %% 4 < 2, (100 + seq %% 900) * 2500, NULL),
               IF(seq %% 4 < 2, 'USD', NULL)
        FROM seq_1_to_%(rows)d;
        INSERT INTO stats_minute (minute, upstream_id, key_id, status_class, requests, errors,
                                  retries, latency_sum, prompt_tokens, completion_tokens,
                                  cached_tokens, total_tokens)
        SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(ts) DIV 60 * 60), upstream_id, key_id, status_class,
               COUNT(*), SUM(status >= 400), SUM(attempts - 1), SUM(latency_ms),
               SUM(prompt_tokens), SUM(completion_tokens), SUM(cached_tokens), SUM(total_tokens)
        FROM request_logs GROUP BY 1, 2, 3, 4;
        INSERT INTO stats_model_minute (minute, upstream_id, model, currency, requests, errors,
                                        prompt_tokens, completion_tokens, cached_tokens,
                                        total_tokens, cost_nanos)
        SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(ts) DIV 60 * 60), upstream_id, model,
               COALESCE(currency, ''), COUNT(*), SUM(status >= 400), SUM(prompt_tokens),
               SUM(completion_tokens), SUM(cached_tokens), SUM(total_tokens),
               COALESCE(SUM(cost_nanos), 0)
        FROM request_logs GROUP BY 1, 2, 3, 4;
        INSERT INTO stats_token_minute (minute, upstream_id, token_id, currency, requests, errors,
                                        prompt_tokens, completion_tokens, cached_tokens,
                                        total_tokens, cost_nanos)
        SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(ts) DIV 60 * 60), upstream_id, token_id,
               COALESCE(currency, ''), COUNT(*), SUM(status >= 400), SUM(prompt_tokens),
               SUM(completion_tokens), SUM(cached_tokens), SUM(total_tokens),
               COALESCE(SUM(cost_nanos), 0)
        FROM request_logs GROUP BY 1, 2, 3, 4;
        INSERT INTO stats_latency (minute, upstream_id, bucket, count)
        SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(ts) DIV 60 * 60), upstream_id, %(bucket)s, COUNT(*)
        FROM request_logs GROUP BY 1, 2, 3;
        INSERT INTO stats_latency_hour (hour, upstream_id, bucket, count)
        SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(ts) DIV 3600 * 3600), upstream_id, %(bucket)s, COUNT(*)
        FROM request_logs GROUP BY 1, 2, 3;
    """ % {"rows": rows, "bucket": BUCKET, "upstreams": bench_seeded.UPSTREAMS_SQL}, "apigw_bench")


def timed_get(port, path, n=7):
    times, body = [], None
    for _ in range(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"Authorization": "Bearer " + ADMIN})
        r = conn.getresponse()
        body = r.read()
        times.append((time.perf_counter() - t0) * 1000)
        conn.close()
        if r.status != 200:
            raise RuntimeError("%s: %d %s" % (path, r.status, body[:300]))
    return statistics.median(times), json.loads(body)


def main():
    tmp = tempfile.mkdtemp(prefix="apigw-qbench-")
    procs = []
    try:
        port = bench_seeded.start(tmp, procs, fill, ROWS, "log rows over 24 h (and their rollups)", 16)
        results = {}
        first = timed_get(port, "/api/admin/logs?limit=50")[1]
        cases = [
            ("logs, newest page", "/api/admin/logs?limit=50"),
            ("logs, next page (cursor)", "/api/admin/logs?limit=50&cursor=" + first["next_cursor"]),
            ("logs, upstream_id", "/api/admin/logs?limit=50&upstream_id=2"),
            ("logs, key_id", "/api/admin/logs?limit=50&key_id=17"),
            ("logs, token_id", "/api/admin/logs?limit=50&token_id=3"),
            ("logs, status=429", "/api/admin/logs?limit=50&status=429"),
            ("logs, status=5xx (0.1% of rows)", "/api/admin/logs?limit=50&status=5xx"),
            ("logs, from/to (an hour, 12 h ago)",
             "/api/admin/logs?limit=50&from=%s&to=%s" % (
                 time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 13 * 3600)),
                 time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 12 * 3600)))),
            ("logs, upstream + 5xx", "/api/admin/logs?limit=50&upstream_id=1&status=5xx"),
            ("logs, q (path substring)", "/api/admin/logs?limit=50&q=/item/42"),
            ("logs, model", "/api/admin/logs?limit=50&model=claude-3-5-sonnet"),
            ("stats, 24 hours", "/api/admin/stats"),
            ("stats, 24 hours, one upstream", "/api/admin/stats?upstream_id=3"),
        ]
        for name, path in cases:
            ms, body = timed_get(port, path)
            n = len(body.get("items", [])) if "items" in body else body["totals"]["requests"]
            results[name] = {"ms": round(ms, 1), "rows": n}
            limit = 500 if name.startswith("stats") else 100
            print("%-38s %7.1f ms  (%s %d)%s" % (name, ms, "requests" if name.startswith("stats")
                                                 else "items", n,
                                                 "" if ms < limit else "   over %d ms!" % limit),
                  flush=True)
        os.makedirs(os.path.join(st.ROOT, "build", "bench"), exist_ok=True)
        with open(os.path.join(st.ROOT, "build", "bench", "queries.json"), "w") as f:
            json.dump({"rows": ROWS, "results": results}, f, indent=2)
        return 0
    finally:
        bench_seeded.stop(procs, tmp)


if __name__ == "__main__":
    sys.exit(main())
