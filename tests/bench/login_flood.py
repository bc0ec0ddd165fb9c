#!/usr/bin/env python3
"""Proxied latency under a login flood: starts the integration stack and
the benchmark's nginx mock upstream (tests/bench/mock-nginx.conf.in), then
for each flood sends paced proxied GETs (one keep-alive connection, one
request every 5 ms) in a process of its own while 48 threads in another
process post logins as fast as the gateway answers them.  Prints the
proxied p50/p95/p99 and the login answers per second by status.

    BUILD=build python3 tests/bench/login_flood.py [SECONDS]

Floods: `none`; `wrong` (wrong passwords for one user from 127.0.0.2);
`spray` (wrong passwords for fresh usernames from 48 addresses
127.0.1.x); `right` (the right password, each thread from an address of
its own 127.0.2.x, which no throttle stops: only the hashing slots bound
it).  Loopback only; every
loop ends by itself."""

import collections
import http.client
import json
import multiprocessing
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402  (puts scripts/ on the path)
import apigw_stack as st  # noqa: E402
from admin_helpers import create_user  # noqa: E402
from proxy_helpers import setup  # noqa: E402

THREADS = 48
FLOODS = ("none", "wrong", "spray", "right")


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p / 100.0))] if s else float("nan")


def measure(port, path, token, seconds, out):
    """Paced proxied GETs on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    lat, errors, end = [], 0, time.time() + seconds
    while time.time() < end:
        t0 = time.perf_counter()
        try:
            conn.request("GET", path, headers={"Authorization": "Bearer " + token})
            r = conn.getresponse()
            r.read()
            errors += r.status != 200
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        lat.append((time.perf_counter() - t0) * 1000.0)
        time.sleep(0.005)
    out.put((lat, errors))


def flood(port, mode, user, pw, seconds, out):
    """THREADS threads posting logins until the time is up."""
    counts, lock, end = collections.Counter(), threading.Lock(), time.time() + seconds

    def worker(i):
        n = 0
        while time.time() < end:
            n += 1
            src = {"spray": "127.0.1.%d", "right": "127.0.2.%d"}.get(mode, "127.0.0.2")
            src = src.replace("%d", str(i + 1))
            if mode == "right":
                body = {"username": user, "password": pw}
            elif mode == "spray":
                body = {"username": "spray-%d-%d" % (i, n), "password": "guess-%d" % n}
            else:
                body = {"username": user, "password": "guess-%d-%d" % (i, n)}
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                              source_address=(src, 0))
            try:
                conn.request("POST", "/api/admin/login", body=json.dumps(body),
                             headers={"Content-Type": "application/json"})
                status = conn.getresponse().status
            except (OSError, http.client.HTTPException):
                status = "error"
            finally:
                conn.close()
            with lock:
                counts[status] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(dict(counts))


def run(stack, s, user, pw, mode, seconds):
    port = stack.main.port
    q_lat, q_flood = multiprocessing.Queue(), multiprocessing.Queue()
    procs = [multiprocessing.Process(target=measure,
                                     args=(port, s.path("v1/x"), s.token, seconds, q_lat))]
    if mode != "none":
        procs.append(multiprocessing.Process(target=flood,
                                             args=(port, mode, user, pw, seconds, q_flood)))
    for p in procs:
        p.start()
    lat, errors = q_lat.get()
    counts = q_flood.get() if mode != "none" else {}
    for p in procs:
        p.join()
    logins = ", ".join("%s: %.0f/s" % (k, v / seconds) for k, v in sorted(counts.items(),
                                                                            key=str))
    print("%-6s proxied p50 %7.2f ms  p95 %7.2f ms  p99 %7.2f ms  (%d requests, %d not 200)"
          "   logins %s" % (mode, percentile(lat, 50), percentile(lat, 95), percentile(lat, 99),
                           len(lat), errors, logins or "-"), flush=True)


def mock_nginx(stack):
    """The benchmark's nginx mock upstream; returns (process, its URL)."""
    prefix = os.path.join(stack.dir, "mock-nginx")
    for d in ("", "client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(prefix, d), exist_ok=True)
    port = st.free_port()
    with open(os.path.join(HERE, "mock-nginx.conf.in")) as f:
        conf = f.read().replace("@PREFIX@", prefix).replace("@MOCK_PORT@", str(port)).replace(
            "@PROXY_PORT@", str(st.free_port()))
    with open(os.path.join(prefix, "nginx.conf"), "w") as f:
        f.write(conf)
    proc = st.Process("mock-nginx", ["nginx", "-p", prefix, "-c",
                                     os.path.join(prefix, "nginx.conf")],
                      os.path.join(prefix, "out.log")).start()
    st.wait_for(lambda: st.port_accepts(port), 10, "the mock")
    return proc, "http://127.0.0.1:%d" % port


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    stack = harness.Stack().start()
    mock = None
    try:
        mock, url = mock_nginx(stack)
        s = setup(stack, nkeys=10, base_url=url)
        _, user, pw = create_user(stack, "viewer")
        for mode in FLOODS:
            run(stack, s, user, pw, mode, seconds)
            time.sleep(2)
    finally:
        if mock is not None:
            mock.stop()
        stack.stop()


if __name__ == "__main__":
    main()
