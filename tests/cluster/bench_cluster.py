"""`tests/cluster/run.py --bench`: two gateways on the Galera cluster next to
two gateways on one MariaDB (the integration stack's, on its unix socket).

Both stacks run at once against the benchmark's fast mock (nginx `return
200`, tests/bench/mock-nginx.conf.in) and are measured alternately,
cluster, single, cluster, single, ...: wrk on both gateways at the same
time (16 connections each, ROUNDS rounds of SECONDS seconds), once on keys
without limits and once on keys with a daily quota.  Prints requests per
second summed over the two gateways, the median of the rounds, and the
ratio cluster / single.
"""

import os
import statistics
import subprocess
import sys

import harness
import proxy_helpers as ph

sys.path.insert(0, os.path.join(harness.st.ROOT, "scripts"))
import bench  # noqa: E402  (parse_wrk)

ROUNDS = 3
SECONDS = 8
CONNS = 16


def fast_mock(root):
    """The benchmark's nginx mock; returns (process, base URL)."""
    prefix = os.path.join(root, "fast-mock")
    for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(prefix, d), exist_ok=True)
    port = harness.st.free_port()
    with open(os.path.join(harness.st.ROOT, "tests", "bench", "mock-nginx.conf.in")) as f:
        conf = f.read().replace("@PREFIX@", prefix).replace("@MOCK_PORT@", str(port)).replace(
            "@PROXY_PORT@", str(harness.st.free_port()))
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    proc = harness.st.Process("fast-mock", ["nginx", "-p", prefix, "-c", path],
                              os.path.join(prefix, "out.log")).start()
    harness.st.wait_for(lambda: harness.st.port_accepts(port), 10, "the fast mock")
    return proc, "http://127.0.0.1:%d" % port


def refusals(stack, s):
    """The answers other than 200 that the stack logged for s's upstream."""
    return stack.sql("SELECT status, error, COUNT(*) FROM request_logs WHERE upstream_id = %d "
                     "AND status <> 200 GROUP BY status, error" % int(s.up["id"])).strip()


def both(gws, s):
    """wrk on every gateway at once; the summed requests per second."""
    procs = [subprocess.Popen(["wrk", "-t1", "-c%d" % CONNS, "-d%ds" % SECONDS,
                               "-H", "Authorization: Bearer " + s.token,
                               "http://127.0.0.1:%d%s" % (g.port, s.path("v1/chat"))],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for g in gws]
    total = 0.0
    for p in procs:
        out = p.communicate(timeout=SECONDS + 60)[0].decode()
        r = bench.parse_wrk(out)
        total += r["rps"] or 0.0
    return total


def run(cluster_stack):
    single = harness.Stack()
    mock = None
    try:
        mock, url = fast_mock(cluster_stack.dir)
        single.start()
        single.gw2 = single.gateway("gw2")
        stacks = [("cluster", cluster_stack), ("single", single)]
        setups = {}
        for name, stack in stacks:
            setups[name] = {
                "gateway": ph.setup(stack, nkeys=4, base_url=url),
                "gateway_quota": ph.setup(stack, nkeys=4, base_url=url,
                                          key_fields={"daily_quota": 1000000000}),
            }
        for target in ("gateway", "gateway_quota"):
            rps = {"cluster": [], "single": []}
            for _ in range(ROUNDS):
                for name, stack in stacks:
                    rps[name].append(both([stack.main, stack.gw2], setups[name][target]))
            for name, stack in stacks:
                print("bench %s on %s: not 200: %s" % (target, name,
                      refusals(stack, setups[name][target]) or "none"), flush=True)
            c, s = statistics.median(rps["cluster"]), statistics.median(rps["single"])
            print("bench %s: cluster %.0f req/s %s, single %.0f req/s %s, ratio %.2f"
                  % (target, c, [round(x) for x in rps["cluster"]], s,
                     [round(x) for x in rps["single"]], c / s if s else 0), flush=True)
    finally:
        single.stop()
        if mock is not None:
            mock.stop()
