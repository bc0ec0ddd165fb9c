#!/usr/bin/env python3
"""`make test-cluster`: the gateway on a three-node Galera cluster.

Starts three mariadbd on the loopback as one Galera cluster (tests/cluster/
galera.py), a mock upstream, and two gateways (apigw-fcgi and an nginx each,
started by the integration harness) that each prefer a different node:
gateway 1 has db_hosts = node1, node2, node3 and gateway 2 node2, node3,
node1.  Then it checks, in order:

  quota       keys with small daily quotas, 16 clients on each gateway:
              exactly the quota is served, and no client sees a 5xx other
              than 503 no_available_key, with wsrep_retry_autocommit = 0 so
              that certification conflicts on the hot rows reach the
              gateways (their retries are counted in /metrics).
  kill        node 1 is killed (SIGKILL) under load on keys without limits:
              both gateways keep serving after at most a short burst of 503s.
  rejoin      node 1 starts again and rejoins (cluster size 3, Synced);
              gateway 1 comes back to it; every request served has its row
              in request_logs once the writers have flushed.

With --bench it then measures two gateways with wrk on the cluster and on
a single MariaDB (alternately).  The last line is
`RESULT cluster passed=N failed=M`.  Timings are printed, never asserted,
except generous deadlines that only detect a hang.
"""

import concurrent.futures
import os
import re
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import proxy_helpers as ph  # noqa: E402
import galera  # noqa: E402

DB = "apigw_test"
HANG_S = 120


class ClusterStack(harness.Stack):
    """The integration stack with a Galera cluster in place of its MariaDB."""

    def __init__(self):
        super().__init__()
        self.cluster = galera.Cluster(os.path.join(self.dir, "cluster"))
        os.makedirs(self.cluster.dir, exist_ok=True)
        self.db = self.cluster  # Stack.sql and Stack.stop use it

    def hosts(self, first):
        """db_hosts starting at node `first` (0-based), the others after."""
        n = self.cluster.nodes
        order = n[first:] + n[:first]
        return ",".join("127.0.0.1:%d" % x.port for x in order)

    def base_config(self):
        values = super().base_config()
        values["db_socket"] = None
        values["db_hosts"] = self.hosts(0)
        return values

    def start(self):
        t0 = time.time()
        self.cluster.start()
        print("cluster: three nodes Synced in %.1f s" % (time.time() - t0), flush=True)
        self.mock.start()
        cfg = os.path.join(self.dir, "migrate.conf")
        harness.st.write_config(cfg, dict(self.base_config(), db_hosts=None,
                                          db_host="127.0.0.1",
                                          db_port=self.cluster.nodes[0].port))
        harness.st.migrate(cfg)
        self.main = self.gateway("gw1", {"db_hosts": self.hosts(0)})
        self.gw2 = self.gateway("gw2", {"db_hosts": self.hosts(1)})
        return self


def metric(gw, name):
    text = harness.Client(gw.port).get("/metrics", timeout=HANG_S).text
    m = re.search(r"^%s\{[^}]*\} (\d+)$" % name, text, re.M)
    return int(m.group(1)) if m else 0


def proxied(gw, s, timeout=30):
    """One request through gw: (status, error code or None)."""
    try:
        r = harness.Client(gw.port).get(s.path("q"), token=s.token, timeout=timeout)
    except OSError:
        return (0, "connection")
    return (r.status, r.error_code() if r.status != 200 else None)


def bad_answer(status, code):
    """A 5xx that the contract does not allow the proxy, or a lost request."""
    if status == 200:
        return False
    if status in (503, 429) and code in ("no_available_key", "rate_limited"):
        return False
    return True


def drain_quota(gws, s, clients):
    """Clients on every gateway ask until the pool answers no_available_key
    five times in a row; returns (served, list of bad answers)."""
    served = [0]
    bad = []
    lock = threading.Lock()

    def client(gw):
        refusals = 0
        while refusals < 5:
            status, code = proxied(gw, s)
            with lock:
                if status == 200:
                    served[0] += 1
                elif bad_answer(status, code):
                    bad.append((status, code))
            refusals = 0 if status == 200 else refusals + 1
            if status != 200:
                time.sleep(0.2)

    with concurrent.futures.ThreadPoolExecutor(clients * len(gws)) as ex:
        list(ex.map(client, [g for g in gws for _ in range(clients)]))
    return served[0], bad


class Hammer:
    """Writes the rows of the keys of upstream_id from another node as fast
    as one client can (a counter no check reads), so that the gateways'
    own writes on those rows meet certification conflicts."""

    def __init__(self, node, upstream_id):
        self.proc = subprocess.Popen(
            ["mariadb", "--no-defaults", "-uroot", "--socket=" + node.socket, "--force", DB],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.sql = ("UPDATE api_keys SET total_failures = total_failures + 1 "
                    "WHERE upstream_id = %d;\n" % upstream_id).encode()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping.is_set():
            try:
                self.proc.stdin.write(self.sql * 20)
                self.proc.stdin.flush()
            except OSError:
                return

    def stop(self):
        self.stopping.set()
        self.thread.join(HANG_S)
        self.proc.stdin.close()
        self.proc.wait(HANG_S)


COUNTERS = ("apigw_db_conflicts_total", "apigw_db_statement_retries_total",
            "apigw_db_transaction_retries_total")


def counters(gws):
    return [sum(metric(g, name) for g in gws) for name in COUNTERS]


def check_quota(stack):
    """(a) and (b): exact quotas across both gateways, conflicts retried."""
    gws = [stack.main, stack.gw2]
    for n in stack.cluster.nodes:
        n.sql("SET GLOBAL wsrep_retry_autocommit = 0")
    hammer = None
    try:
        nkeys, quota = 4, 40
        s = ph.setup(stack, nkeys=nkeys, key_fields={"daily_quota": quota})
        stack.mock.reset()
        before = counters(gws)
        hammer = Hammer(stack.cluster.nodes[2], int(s.up["id"]))
        served, bad = drain_quota(gws, s, 16)
        hammer.stop()
        hammer = None
        time.sleep(1.5)  # blocks a process holds and gives back when idle
        more, bad2 = drain_quota(gws, s, 2)
        seen = [a - b for a, b in zip(counters(gws), before)]
    finally:
        if hammer is not None:
            hammer.stop()
        for n in stack.cluster.nodes:
            n.sql("SET GLOBAL wsrep_retry_autocommit = 1")
    with stack.mock.lock:
        mock_seen = len(stack.mock.requests)
    print("quota: %d keys x %d: served %d (+%d after a pause), upstream saw %d; conflicts %d, "
          "statements retried %d, transactions retried %d"
          % (nkeys, quota, served, more, mock_seen, seen[0], seen[1], seen[2]), flush=True)
    assert not bad and not bad2, "clients saw: %r" % (bad + bad2)[:10]
    assert served + more == nkeys * quota, "served %d of %d" % (served + more, nkeys * quota)
    assert mock_seen == nkeys * quota
    assert seen[0] > 0 and seen[1] > 0, "no conflict reached a statement and was retried"


class Load:
    """Clients that keep asking through every gateway, recording
    (time, gateway index, status, error code) for each answer."""

    def __init__(self, gws, s, clients):
        self.gws, self.s, self.clients = gws, s, clients
        self.events = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = []

    def run_client(self, i):
        gw = self.gws[i]
        while not self.stopping.is_set():
            status, code = proxied(gw, self.s, timeout=HANG_S)
            with self.lock:
                self.events.append((time.time(), i, status, code))
            if status != 200:
                time.sleep(0.02)

    def start(self):
        for i in range(len(self.gws)):
            for _ in range(self.clients):
                t = threading.Thread(target=self.run_client, args=(i,), daemon=True)
                t.start()
                self.threads.append(t)
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(HANG_S)

    def after(self, t0):
        with self.lock:
            return [e for e in self.events if e[0] >= t0]


def burst(events):
    """The failures among events: their count and the time from the first
    to the last (0 when there were none)."""
    fails = [e for e in events if e[2] != 200]
    if not fails:
        return 0, 0.0
    return len(fails), fails[-1][0] - fails[0][0]


def check_kill_and_rejoin(stack):
    """(c) and (d): a node killed under load, then back."""
    gws = [stack.main, stack.gw2]
    node1 = stack.cluster.nodes[0]
    s = ph.setup(stack, nkeys=2)
    load = Load(gws, s, 6).start()
    try:
        time.sleep(3)
        t_kill = time.time()
        node1.kill()
        harness.wait_until(lambda: stack.cluster.size(stack.cluster.nodes[1]) == 2, HANG_S,
                           what="node 1 to leave the cluster")
        print("kill: node 1 left the cluster view after %.1f s" % (time.time() - t_kill),
              flush=True)
        time.sleep(6)
        evs = load.after(t_kill)
        for i in range(2):
            n, span = burst([e for e in evs if e[1] == i])
            print("kill: gateway %d: %d answers since the kill, %d failed over %.2f s (%s)"
                  % (i + 1, len([e for e in evs if e[1] == i]), n, span,
                     sorted(set((e[2], e[3]) for e in evs if e[1] == i and e[2] != 200))),
                  flush=True)
        bad = [e for e in evs if bad_answer(e[2], e[3])]
        assert not bad, "clients saw: %r" % bad[:10]
        last = load.after(time.time() - 2)
        assert last and all(e[2] == 200 for e in last), \
            "a gateway still fails 6 s after the kill: %r" % [e for e in last if e[2] != 200][:5]

        t_start = time.time()
        node1.start()
        rejoin_s = time.time() - t_start
        assert stack.cluster.size(node1) == 3
        print("rejoin: node 1 Synced, cluster size 3, %.1f s after its start" % rejoin_s,
              flush=True)
        harness.wait_until(lambda: gateway_connections(node1) > 0, 60, interval=0.5,
                           what="a gateway to use node 1 again")
        print("rejoin: gateway 1 uses node 1 again %.1f s after the rejoin"
              % (time.time() - t_start - rejoin_s), flush=True)
        time.sleep(1)
    finally:
        load.stop()
    check_logs(stack, s, load)


def gateway_connections(node):
    out = node.sql("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                   "WHERE HOST LIKE '127.0.0.1:%%' AND DB = '%s'" % DB)
    return int(out.strip() or 0)


def check_logs(stack, s, load):
    """Every request served has its row once the writers have flushed."""
    served = len([e for e in load.events if e[2] == 200])

    def rows():
        out = stack.sql("SELECT COUNT(*) FROM request_logs WHERE upstream_id = %d "
                        "AND status = 200" % int(s.up["id"]))
        return int(out.strip())

    try:
        harness.wait_until(lambda: rows() >= served, 60, interval=0.5, what="the log rows")
    finally:
        print("logs: %d served, %d rows with status 200" % (served, rows()), flush=True)
    assert rows() == served


CHECKS = [("quota", check_quota), ("kill_and_rejoin", check_kill_and_rejoin)]


def main():
    missing = galera.has_tools()
    if missing:
        print("test-cluster: missing %s (scripts/deps.sh installs them)" % ", ".join(missing))
        print("RESULT cluster passed=0 failed=1")
        return 1
    bench = "--bench" in sys.argv or "--bench-only" in sys.argv
    checks = [] if "--bench-only" in sys.argv else CHECKS
    t0 = time.time()
    stack = ClusterStack()
    passed = failed = 0
    try:
        stack.start()
        for name, fn in checks:
            try:
                fn(stack)
                passed += 1
                print("PASS %s" % name, flush=True)
            except Exception:
                failed += 1
                traceback.print_exc()
                print("FAIL %s" % name, flush=True)
        if bench:
            import bench_cluster
            bench_cluster.run(stack)
    except Exception:
        traceback.print_exc()
        failed += 1
    finally:
        stack.stop(keep=failed > 0)
        if failed:
            print("kept for inspection: %s" % stack.dir)
    print("test-cluster took %.0f s" % (time.time() - t0))
    print("RESULT cluster passed=%d failed=%d" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
