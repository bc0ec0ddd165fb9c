#!/usr/bin/env python3
"""`make bench`: the gateway against two references, in one run, on this
machine.

  nginx proxy_pass  -> fast mock   (what a plain reverse proxy reaches)
  bare FastCGI      -> fast mock   (nginx -> FastCGI -> libcurl, nothing else)
  the gateway       -> fast mock   (token check, key choice, request logging,
                                    a rule; keys without limits)
  the gateway       -> fast mock   (the same, with keys that have a daily
    with quota keys                 quota: one atomic reservation UPDATE in
                                    MariaDB per request)
  gateway_post      -> fast mock   (the gateway with a POST of a small JSON
                                    body: the reference of the next)
  gateway_script    -> fast mock   (the same POST to an upstream with a
                                    script: issue 17)
  gateway_usage     -> fast mock   (the `gateway` request to an upstream
                                    whose usage_format is openai: the mock's
                                    answer carries a usage object; issue 18)
  gateway_routed    -> fast mock   (the `gateway` request to an upstream with
                                    two weighted endpoints and breakers,
                                    token affinity, a queue wait and a
                                    fallback: issue 19)
  gateway_shaped    -> fast mock   (the `gateway` request, naming its model
                                    in the path (/models/{model}:), to an
                                    upstream with three header rules (set,
                                    remove, append) and a model_map that
                                    maps that model: issue 20)

The fast mock is nginx `return 200` with a ~230-byte JSON body.  Each target
is driven by wrk at 32 connections; then RSS over 200,000 requests and 64
concurrent SSE streams.  Figures go to stdout and build/bench/results.json.
Last, the concurrency section (scripts/bench_streams.py): 2,000 streams held
open while wrk drives the short requests again.
"""

import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import apigw_stack as st  # noqa: E402
import bench_seeded  # noqa: E402
import bench_streams  # noqa: E402
from mock_upstream import MockUpstream, Reply  # noqa: E402

DURATION = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = 32
WORKERS = int(os.environ.get("BENCH_WORKERS", "64"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
ADMIN = "bench-admin-token-0123456789abcdef"
OUT = os.path.join(st.ROOT, "build", "bench")


def sh(argv, **kw):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          **kw).stdout.decode()


def build_bare():
    os.makedirs(OUT, exist_ok=True)
    out = os.path.join(OUT, "bare_fcgi")
    sh(["cc", "-O2", "-o", out, os.path.join(st.ROOT, "tests", "bench", "bare_fcgi.c"),
        "-lfcgi", "-lcurl", "-lpthread"])
    return out


def parse_wrk(text):
    def num(pattern, conv=float):
        m = re.search(pattern, text)
        return conv(m.group(1)) if m else None

    def ms(v, unit):
        return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    lat = dict((p, ms(v, u)) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$",
                                                         text, re.M))
    return {
        "rps": num(r"Requests/sec:\s+([\d.]+)"),
        "requests": num(r"(\d+) requests in", int),
        "p50_ms": lat.get("50"),
        "p99_ms": lat.get("99"),
        "errors": ("Non-2xx" in text) or ("Socket errors" in text),
        "raw": text,
    }


SENT = {"gateway": 0}

# Issue 17's gateway_script target: set a header, map the model, read one
# field of the answer.
BENCH_SCRIPT = """var MODELS = {'gpt-4o': 'gpt-bench', 'gpt-4o-mini': 'gpt-bench-mini'};
function onRequest(req, ctx) {
    req.headers['x-bench-script'] = '1';
    if (req.json && typeof req.json.model === 'string' &&
        Object.prototype.hasOwnProperty.call(MODELS, req.json.model)) {
        req.json.model = MODELS[req.json.model];
    }
}
function onResponse(res, req, ctx) {
    if (res.json && res.json.object === 'error') {
        return {action: 'retry', reason: 'error in a 200 body'};
    }
}
"""

# wrk -s: a POST of a small chat-completions body (gateway_post, gateway_script).
POST_LUA = """wrk.method = "POST"
wrk.body = '{"model":"gpt-4o","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16}'
wrk.headers["Content-Type"] = "application/json"
"""


def wrk(port, path, headers=(), seconds=DURATION, conns=CONNECTIONS):
    argv = ["wrk", "-t2", "-c%d" % conns, "-d%ds" % seconds, "--latency"]
    for h in headers:
        argv += ["-s", h[4:]] if h.startswith("lua:") else ["-H", h]
    argv.append("http://127.0.0.1:%d%s" % (port, path))
    result = parse_wrk(sh(argv))
    if headers:
        SENT["gateway"] += result["requests"] or 0
    return result


TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def cpu_by_comm():
    """CPU seconds (user + system) of the bench's own processes (this
    script's descendants: MariaDB, the nginx, the applications), summed by
    command name: a round's difference, divided by its requests, says where
    each request's CPU went, which the machine's noise disturbs far less
    than req/s.  Other processes of the same names (another MariaDB on the
    machine) are not counted."""
    stats, parent = {}, {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        stats[int(pid)] = (stat[stat.index("(") + 1:stat.rindex(")")], fields)
        parent[int(pid)] = int(fields[1])
    ours = {os.getpid()}
    grew = True
    while grew:
        kids = {p for p, pp in parent.items() if pp in ours and p not in ours}
        ours |= kids
        grew = bool(kids)
    total = {}
    for pid in ours - {os.getpid()}:
        comm, fields = stats[pid]
        comm = "kworker" if comm.startswith("kworker") else comm
        total[comm] = total.get(comm, 0.0) + (int(fields[11]) + int(fields[12])) * TICK_S
    return total


def cpu_per_request(before, after, requests):
    """Microseconds of CPU per request by command name, the busiest first
    (names under 1 us per request left out)."""
    out = {}
    for comm, sec in after.items():
        us = (sec - before.get(comm, 0.0)) * 1e6 / max(1, requests)
        if us >= 1.0:
            out[comm] = round(us, 1)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def admin(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Authorization": "Bearer " + ADMIN,
                          "Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    if r.status >= 300:
        raise RuntimeError("%s %s: %d %s" % (method, path, r.status, data[:300]))
    return json.loads(data) if data else None


def sse_run(port, token, mock, streams=64, events=20, gap=0.05):
    """64 clients read an SSE stream each; how late does each event arrive?"""
    mock.script = lambda req: Reply(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"},
        chunks=[(gap, "data: {\"n\": %d%s}\n\n" % (
            i, ", \"usage\": {\"prompt_tokens\": 9, \"completion_tokens\": 20}"
            if i == events - 1 else "")) for i in range(events)])
    delays, done, errors = [], [], []
    lock = threading.Lock()

    def one():
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", "/proxy/sse/stream", headers={"Authorization": "Bearer " + token})
            r = conn.getresponse()
            got = 0
            buf = b""
            while got < events:
                chunk = r.read1(65536) if hasattr(r, "read1") else r.read(1)
                if not chunk:
                    break
                now = time.time()
                buf += chunk
                while b"\n\n" in buf:
                    ev, buf = buf.split(b"\n\n", 1)
                    n = json.loads(ev.split(b"data: ", 1)[1])["n"]
                    with lock:
                        sent = [t for t, d in mock.sent_chunks if b'"n": %d}' % n in d]
                    if sent:
                        with lock:
                            delays.append((now - max(sent)) * 1000)
                    got += 1
            conn.close()
            with lock:
                done.append(got == events)
        except Exception as e:  # noqa: BLE001 - report, do not crash the run
            with lock:
                errors.append(str(e))

    threads = [threading.Thread(target=one) for _ in range(streams)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    delays.sort()
    return {
        "streams": streams,
        "complete": sum(done),
        "errors": errors[:3],
        "events": len(delays),
        "delay_p50_ms": delays[len(delays) // 2] if delays else None,
        "delay_p99_ms": delays[int(len(delays) * 0.99)] if delays else None,
        "delay_max_ms": delays[-1] if delays else None,
        "seconds": time.time() - t0,
    }


def import_run(port):
    """Issue 3's target: 10,000 keys in one call in under 2 seconds."""
    up = admin(port, "POST", "/api/admin/upstreams",
               {"name": "bench-import", "base_url": "http://127.0.0.1:9/v1"})
    pool = ["sk-pool-%04d-%s" % (i, st.new_secret_hex(16)) for i in range(200)]
    admin(port, "POST", "/api/admin/keys/import", {"upstream_id": up["id"], "keys": pool})
    upload = ["sk-new-%05d-%s" % (i, st.new_secret_hex(16)) for i in range(9100)]
    upload += pool[:100] + upload[:400]           # 500 duplicates
    upload += ["bad key %d" % i for i in range(400)]  # 400 invalid
    t0 = time.time()
    res = admin(port, "POST", "/api/admin/keys/import", {"upstream_id": up["id"], "keys": upload})
    took = time.time() - t0
    # The keys served no request; delete them so that they do not sit in
    # the pool cache of the proxy figures that follow.
    admin(port, "DELETE", "/api/admin/upstreams/%d" % up["id"])
    return {"keys": len(upload), "seconds": took, "result": res}


def print_script_ratio(results):
    """Issue 17's figure: the scripted upstream against the same POST
    without a script (and against the GET `gateway`, for the record)."""
    sc, po = results["gateway_script"], results["gateway_post"]
    results["ratio_gateway_script_to_post"] = sc["rps"] / po["rps"]
    print("gateway_script / gateway_post: %.2f   p99 %.2f x post%s" % (
        sc["rps"] / po["rps"], sc["p99_ms"] / po["p99_ms"],
        "   gateway_script / gateway: %.2f" % (sc["rps"] / results["gateway"]["rps"])
        if "gateway" in results else ""), flush=True)


def pool_like_bench(gw_port, name, tag, fields):
    """An upstream like `bench` with fields of its own: 10 keys without
    limits and the same 429 rule."""
    body = {"name": name, "max_retries": 1}
    body.update(fields)
    up = admin(gw_port, "POST", "/api/admin/upstreams", body)
    admin(gw_port, "POST", "/api/admin/keys/import",
          {"upstream_id": up["id"],
           "keys": ["sk-bench-%s%02d-%s" % (tag, i, st.new_secret_hex(12)) for i in range(10)]})
    admin(gw_port, "POST", "/api/admin/rules", {
        "name": name + "-429", "upstream_id": up["id"],
        "condition": {"type": "status", "op": "eq", "value": 429},
        "actions": [{"type": "retry"}]})
    return up


def print_ratio_to_gateway(results, name):
    """Issue 18's, 19's and 20's figures: usage extraction, the routing
    features or request shaping, on against the same requests without
    them."""
    us, gw = results[name], results["gateway"]
    results["ratio_%s_to_gateway" % name] = us["rps"] / gw["rps"]
    print("%s / gateway: %.3f   p99 %.2f x gateway" % (
        name, us["rps"] / gw["rps"], us["p99_ms"] / gw["p99_ms"]), flush=True)


def main():
    tmp = tempfile.mkdtemp(prefix="apigw-bench-")
    procs = []
    results = {"connections": CONNECTIONS, "seconds": DURATION}
    try:
        bare_bin = build_bare()
        mock_port, proxy_port = st.free_port(), st.free_port()
        mprefix = os.path.join(tmp, "mock")
        os.makedirs(mprefix)
        for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(mprefix, d))
        with open(os.path.join(st.ROOT, "tests", "bench", "mock-nginx.conf.in")) as f:
            conf = f.read().replace("@PREFIX@", mprefix).replace(
                "@MOCK_PORT@", str(mock_port)).replace("@PROXY_PORT@", str(proxy_port))
        with open(os.path.join(mprefix, "nginx.conf"), "w") as f:
            f.write(conf)
        mock_nginx = st.Process("mock-nginx", ["nginx", "-p", mprefix, "-c",
                                               os.path.join(mprefix, "nginx.conf")],
                                os.path.join(mprefix, "out.log")).start()
        procs.append(mock_nginx)
        st.wait_for(lambda: st.port_accepts(mock_port), 10, "the mock")

        durable = os.environ.get("BENCH_DURABLE", "0") == "1"
        # The thread pool is what docs/DEPLOYMENT.md recommends: with one
        # connection per gateway worker it serves the reservation UPDATEs of
        # keys with quotas ~25% faster than a thread per connection.
        db_args = os.environ.get("BENCH_MARIADB_ARGS", "--thread-handling=pool-of-threads")
        db = st.MariaDB(os.path.join(tmp, "db"), os.path.join(tmp, "db.sock"), tmp,
                        durable=True, flush_log_at_trx_commit=1 if durable else 2,
                        extra_args=db_args.split())
        db.start()
        procs.append(db)
        conf_path = os.path.join(tmp, "apigw.conf")
        st.write_config(conf_path, {
            "db_socket": db.socket, "db_name": "apigw_bench", "admin_token": ADMIN,
            "encryption_key": st.new_secret_hex(32), "workers": WORKERS,
            "spool_dir": os.path.join(tmp, "spool"), "log_level": "warn",
            **bench_streams.APP_CONF,
            # Other settings to compare, e.g. BENCH_APP_CONF="log_flush_ms=50 log_batch_rows=200".
            **dict(kv.split("=", 1) for kv in os.environ.get("BENCH_APP_CONF", "").split())})
        st.migrate(conf_path)
        # Schema variants to measure, e.g. BENCH_SQL="ALTER TABLE request_logs DROP KEY ix_logs_ts".
        if os.environ.get("BENCH_SQL"):
            db.sql(os.environ["BENCH_SQL"], "apigw_bench")
        app = st.App(conf_path, os.path.join(tmp, "app.sock"), os.path.join(tmp, "app.log")).start()
        procs.append(app)
        gw_port = st.free_port()
        gw = st.Nginx(os.path.join(tmp, "gw-nginx"), gw_port, app.socket, app_workers=WORKERS).start()
        procs.append(gw)

        bare_sock = os.path.join(tmp, "bare.sock")
        bare = st.Process("bare", [bare_bin, bare_sock, "http://127.0.0.1:%d/v1/chat" % mock_port,
                                   str(WORKERS)], os.path.join(tmp, "bare.log")).start()
        procs.append(bare)
        st.wait_for(lambda: st.socket_accepts(bare_sock), 10, "the bare pass-through")
        bare_port = st.free_port()
        bare_nginx = st.Nginx(os.path.join(tmp, "bare-nginx"), bare_port, bare_sock,
                              app_workers=WORKERS).start()
        procs.append(bare_nginx)

        up = admin(gw_port, "POST", "/api/admin/upstreams",
                   {"name": "bench", "base_url": "http://127.0.0.1:%d/v1" % mock_port,
                    "max_retries": 1})
        keys = ["sk-bench-%02d-%s" % (i, st.new_secret_hex(12)) for i in range(10)]
        admin(gw_port, "POST", "/api/admin/keys/import", {"upstream_id": up["id"], "keys": keys})
        token = admin(gw_port, "POST", "/api/admin/tokens", {"name": "bench"})["token"]
        admin(gw_port, "POST", "/api/admin/rules", {
            "name": "bench-429", "upstream_id": up["id"],
            "condition": {"type": "status", "op": "eq", "value": 429},
            "actions": [{"type": "retry"}]})
        results["rule"] = "one rule on (status eq 429 -> retry)"
        # The same pool again, but every key has a daily quota: requests then
        # spend units of the process's leases, which are granted by atomic
        # UPDATEs in MariaDB a block at a time (exact quotas).
        up_q = admin(gw_port, "POST", "/api/admin/upstreams",
                     {"name": "bench-quota", "base_url": "http://127.0.0.1:%d/v1" % mock_port,
                      "max_retries": 1})
        for i in range(10):
            admin(gw_port, "POST", "/api/admin/keys",
                  {"upstream_id": up_q["id"], "daily_quota": 100000000,
                   "key_value": "sk-bench-q%02d-%s" % (i, st.new_secret_hex(12))})
        admin(gw_port, "POST", "/api/admin/rules", {
            "name": "bench-quota-429", "upstream_id": up_q["id"],
            "condition": {"type": "status", "op": "eq", "value": 429},
            "actions": [{"type": "retry"}]})
        # Issue 17: the same pool and rule once more, with an upstream script
        # (an onRequest that sets a header and maps the model in the JSON
        # body, an onResponse that reads one JSON field).  It is driven with
        # a POST of a small chat-completions body, so its reference is
        # gateway_post: the same POST to `bench`, which has no script.
        pool_like_bench(gw_port, "bench-script", "s",
                        {"base_url": "http://127.0.0.1:%d/v1" % mock_port, "script": BENCH_SCRIPT})
        # Issue 18: the same pool and rule, with usage extraction on (the
        # mock's answer carries an OpenAI usage object).
        pool_like_bench(gw_port, "bench-usage", "u",
                        {"base_url": "http://127.0.0.1:%d/v1" % mock_port, "usage_format": "openai"})
        # Issue 19: the same pool behind two weighted endpoints (each with
        # its breaker), sticky keys by client token, a queue wait and a
        # fallback: what the routing features cost a request that needs none
        # of their slow paths.
        pool_like_bench(gw_port, "bench-routed", "r",
                        {"affinity": "token", "queue_wait_ms": 1000,
                         "fallback_upstreams": [up["id"]],
                         "endpoints": [{"url": "http://127.0.0.1:%d/v1" % mock_port, "weight": 1},
                                       {"url": "http://127.0.0.1:%d/v2" % mock_port, "weight": 1}]})
        # Issue 20: the same pool with request shaping: three header rules
        # (set, remove, append with a placeholder) and a model map that maps
        # the model the path names, so that every request is shaped.
        pool_like_bench(gw_port, "bench-shaped", "h",
                        {"base_url": "http://127.0.0.1:%d/v1" % mock_port,
                         "header_rules": [
                             {"op": "set", "name": "X-Team", "value": "bench"},
                             {"op": "remove", "name": "X-Debug"},
                             {"op": "append", "name": "X-Tags", "value": "{upstream}"}],
                         "model_map": {"bench-alias": "gpt-bench"}})
        post_lua = os.path.join(tmp, "post.lua")
        with open(post_lua, "w") as f:
            f.write(POST_LUA)
        only = [t for t in os.environ.get("BENCH_TARGETS", "").split(",") if t]
        results["import"] = import_run(gw_port) if not only else {"seconds": 0.0}
        print("import of 10,000 keys (500 duplicates, 400 invalid) into a pool of 200: %.2f s"
              % results["import"]["seconds"], flush=True)
        auth = ["Authorization: Bearer " + token]
        time.sleep(1.5)
        if os.environ.get("BENCH_HOLD"):
            # Profiling aid: keep the stack up and say where its parts are.
            print("HOLD bare=%d gateway=%d token=%s app_pid=%d tmp=%s" % (
                bare_port, gw_port, token, app.process.proc.pid, tmp), flush=True)
            # SIGTERM (or SIGINT) ends the hold and cleans up; a background
            # job ignores SIGINT, so SIGTERM is the one to send.
            stop = []
            signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
            end = time.time() + float(os.environ["BENCH_HOLD"])
            try:
                while not stop and time.time() < end:
                    time.sleep(0.2)
            except KeyboardInterrupt:
                pass
            return 0

        targets = [("nginx_proxy_pass", proxy_port, "/v1/chat", []),
                   ("bare_fastcgi", bare_port, "/proxy/bench/chat", []),
                   ("gateway", gw_port, "/proxy/bench/chat", auth),
                   ("gateway_quota", gw_port, "/proxy/bench-quota/chat", auth),
                   ("gateway_post", gw_port, "/proxy/bench/chat", auth + ["lua:" + post_lua]),
                   ("gateway_script", gw_port, "/proxy/bench-script/chat",
                    auth + ["lua:" + post_lua]),
                   ("gateway_usage", gw_port, "/proxy/bench-usage/chat", auth),
                   ("gateway_routed", gw_port, "/proxy/bench-routed/chat", auth),
                   ("gateway_shaped", gw_port, "/proxy/bench-shaped/models/bench-alias:chat",
                    auth)]
        # A quick comparison may run only some, e.g. BENCH_TARGETS=bare_fastcgi,gateway;
        # it then stops after the rounds (and skips the import above).
        if only:
            targets = [t for t in targets if t[0] in only]
        for name, port, path, hdrs in targets:
            wrk(port, path, hdrs, seconds=3)  # warm-up
        # Rounds interleave the targets, so that a noisy moment on this shared
        # machine hurts all three alike; each figure is the median of rounds.
        runs = dict((t[0], []) for t in targets)
        cpu = dict((t[0], []) for t in targets)
        for _ in range(ROUNDS):
            for name, port, path, hdrs in targets:
                before = cpu_by_comm()
                runs[name].append(wrk(port, path, hdrs))
                cpu[name].append(cpu_per_request(before, cpu_by_comm(),
                                                 runs[name][-1]["requests"]))
        for name, _, _, _ in targets:
            rs = runs[name]
            results[name] = {
                "rps": statistics.median(r["rps"] for r in rs),
                "p50_ms": statistics.median(r["p50_ms"] for r in rs),
                "p99_ms": statistics.median(r["p99_ms"] for r in rs),
                "rounds": [dict((k, r[k]) for k in ("rps", "p50_ms", "p99_ms")) for r in rs],
                "errors": any(r["errors"] for r in rs),
                "cpu_us_per_request": dict(
                    (comm, statistics.median(c.get(comm, 0.0) for c in cpu[name]))
                    for comm in cpu[name][-1]),
            }
            r = results[name]
            print("%-18s %9.0f req/s   p50 %6.2f ms   p99 %6.2f ms   (median of %d; rounds: %s)%s"
                  % (name, r["rps"], r["p50_ms"], r["p99_ms"], ROUNDS,
                     ", ".join("%.0f" % x["rps"] for x in r["rounds"]),
                     "   (errors!)" if r["errors"] else ""), flush=True)
            print("%-18s CPU per request: %s (total %.0f us)" % (
                "", ", ".join("%s %.0f us" % kv for kv in r["cpu_us_per_request"].items()),
                sum(r["cpu_us_per_request"].values())), flush=True)
        if only:
            if "gateway" in results and "bare_fastcgi" in results:
                print("gateway / bare FastCGI: %.2f   p99 %.2f x bare" % (
                    results["gateway"]["rps"] / results["bare_fastcgi"]["rps"],
                    results["gateway"]["p99_ms"] / results["bare_fastcgi"]["p99_ms"]))
            if "gateway_post" in results and "gateway_script" in results:
                print_script_ratio(results)
            for name in ("gateway_usage", "gateway_routed", "gateway_shaped"):
                if "gateway" in results and name in results:
                    print_ratio_to_gateway(results, name)
            return 0
        g, b, n = results["gateway"], results["bare_fastcgi"], results["nginx_proxy_pass"]
        results["ratio_gateway_to_bare"] = g["rps"] / b["rps"]
        results["ratio_gateway_to_nginx"] = g["rps"] / n["rps"]
        results["ratio_gateway_quota_to_bare"] = results["gateway_quota"]["rps"] / b["rps"]
        print("gateway / bare FastCGI: %.2f   gateway / nginx proxy_pass: %.2f" % (
            results["ratio_gateway_to_bare"], results["ratio_gateway_to_nginx"]))
        print("gateway with quota keys / bare FastCGI: %.2f" % results["ratio_gateway_quota_to_bare"])
        print_script_ratio(results)
        print_ratio_to_gateway(results, "gateway_usage")
        print_ratio_to_gateway(results, "gateway_routed")
        print_ratio_to_gateway(results, "gateway_shaped")

        pid = app.process.proc.pid
        # Every worker thread and its CURL handle come into use during the
        # first rounds; flat means flat after that.
        for _ in range(int(os.environ.get("BENCH_RSS_WARMUP_ROUNDS", "1"))):
            warm = 0
            while warm < 200000:
                warm += wrk(gw_port, "/proxy/bench/chat", auth, seconds=10)["requests"]
            print("RSS after a warm-up of %d requests: %d kB" % (warm, rss_kb(pid)), flush=True)
        rss_start = rss_kb(pid)
        count = 0
        while count < 200000:
            count += wrk(gw_port, "/proxy/bench/chat", auth, seconds=10)["requests"]
        rss_end = rss_kb(pid)
        results["rss"] = {"requests": count, "start_kb": rss_start, "end_kb": rss_end,
                          "growth": (rss_end - rss_start) / rss_start}
        print("RSS over %d requests: %d kB -> %d kB (%+.1f%%)" % (
            count, rss_start, rss_end, 100 * results["rss"]["growth"]))
        # Every request must have its log row, spooled ones included, once
        # the load is over.
        t0 = time.time()
        logged = 0
        while time.time() - t0 < 300:
            logged = int(db.sql("SELECT COUNT(*) FROM request_logs", "apigw_bench").strip())
            if logged >= SENT["gateway"]:
                break
            time.sleep(1)
        results["log_rows"] = {"sent": SENT["gateway"], "logged": logged,
                               "seconds_after_load": round(time.time() - t0, 1)}
        print("log rows: %d of %d requests, all in %.1f s after the load" % (
            logged, SENT["gateway"], time.time() - t0) if logged >= SENT["gateway"] else
              "log rows: only %d of %d requests!" % (logged, SENT["gateway"]), flush=True)
        mock = MockUpstream().start()
        # Usage extraction on (issue 18): every event is read as it passes,
        # and the last one carries an OpenAI usage object.
        admin(gw_port, "POST", "/api/admin/upstreams", {"name": "sse", "base_url": mock.url,
                                                         "timeout_ms": 60000,
                                                         "usage_format": "openai"})
        sse_up = admin(gw_port, "GET", "/api/admin/upstreams?limit=10")["items"][-1]
        admin(gw_port, "POST", "/api/admin/keys", {"upstream_id": sse_up["id"],
                                                   "key_value": "sk-sse-" + st.new_secret_hex(8)})
        time.sleep(1.2)
        results["sse"] = sse_run(gw_port, token, mock)
        s = results["sse"]
        print("SSE: %d/%d streams complete, %d events, delay p50 %.1f ms, p99 %.1f ms, max %.1f ms"
              % (s["complete"], s["streams"], s["events"], s["delay_p50_ms"] or -1,
                 s["delay_p99_ms"] or -1, s["delay_max_ms"] or -1))
        mock.stop()
        results["concurrency"] = bench_streams.run(
            gw_port, token, pid, admin, ADMIN, wrk, ("/proxy/bench/chat", auth), st.free_port)
        with open(os.path.join(OUT, "results.json"), "w") as f:
            json.dump(results, f, indent=2)
        print("results: build/bench/results.json")
        return 0
    finally:
        bench_seeded.stop(procs, tmp)


if __name__ == "__main__":
    sys.exit(main())
