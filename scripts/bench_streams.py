"""`make bench`, concurrency section: thousands of streams held open while
wrk drives short requests (issue 14).

BENCH_STREAMS clients (default 2,000) each read one SSE answer of
BENCH_STREAM_SECONDS events (default 60, an event a second) from the
streaming mock (tests/bench/stream_mock.py), all through the gateway at
once; the clients are one asyncio process (tests/bench/stream_clients.py).
While every stream is open, wrk drives the short requests of the main
section at 32 connections, and /healthz and an admin GET are probed. The
same wrk load and probes run without streams just before (the reference)
and just after (to see how much the machine moved meanwhile).
"""

import http.client
import json
import os
import subprocess
import sys
import threading
import time

STREAMS = int(os.environ.get("BENCH_STREAMS", "2000"))
STREAM_SECONDS = int(os.environ.get("BENCH_STREAM_SECONDS", "60"))
HERE = os.path.dirname(os.path.abspath(__file__))
BENCH_DIR = os.path.join(HERE, "..", "tests", "bench")
# The gateway's settings for this section (bench.py writes them into its
# configuration): threads and the in-flight cap well above 2,000 streams
# plus wrk's 32 connections.
APP_CONF = {"max_threads": 4096, "max_inflight": 3000}
# The stream clients and the mock stand for machines of their own: as root
# they run at a higher priority, so that the gateway's 2,000 threads and
# wrk do not starve their one thread each (their lateness would count as
# the gateway's).
TOOL_PREFIX = ["nice", "-n", "-10"] if os.geteuid() == 0 else []


def proc_status(pid):
    """The process's resident memory (kB) and thread count."""
    rss = threads = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, threads


def cpu_seconds(pid):
    """User and system CPU time the process used so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def delay_split(windows, wall):
    """The 5 s windows' event delay p99s (ms) while wrk ran, and after it
    (only the streams): (min, max) of each, or None."""
    during = [w for w in windows if w[0] >= wall[0] and w[0] + 5 <= wall[1]]
    after = [w for w in windows if w[0] >= wall[1] + 1 and w[1] >= 1000]
    return [(min(w[3] for w in ws), max(w[3] for w in ws), max(w[5] for w in ws))
            if ws else None for ws in (during, after)]


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p))] if v else None


class Probes(threading.Thread):
    """GET /healthz, an admin GET and a static file in turn, each on a new
    connection (as a monitor would), every 20 ms until stopped; keeps each
    one's latency."""

    def __init__(self, port, admin_token):
        super().__init__(daemon=True)
        self.port = port
        # The admin page's index.html is nginx's alone: the control that
        # tells the machine's delays from the application's.
        self.targets = [("healthz", "/healthz", {}),
                        ("admin", "/api/admin/upstreams?limit=10",
                         {"Authorization": "Bearer " + admin_token}),
                        ("static", "/", {})]
        self.ms = dict((name, []) for name, _, _ in self.targets)
        self.failed = dict((name, 0) for name, _, _ in self.targets)
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            for name, path, headers in self.targets:
                t0 = time.monotonic()
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                    conn.request("GET", path, headers=headers)
                    r = conn.getresponse()
                    r.read()
                    conn.close()
                    ok = r.status == 200
                except OSError:
                    ok = False
                self.ms[name].append((time.monotonic() - t0) * 1000)
                self.failed[name] += 0 if ok else 1
            self.halt.wait(0.02)

    def summary(self):
        self.halt.set()
        self.join()
        return dict((name, {"count": len(v), "failed": self.failed[name],
                            "p50_ms": pct(v, 0.5), "p99_ms": pct(v, 0.99),
                            "max_ms": max(v) if v else None})
                    for name, v in self.ms.items())


def loaded(wrk, port, short, seconds, admin_token):
    """wrk on the short requests with the probes beside it."""
    probes = Probes(port, admin_token)
    probes.start()
    t0 = time.time()
    w = wrk(port, short[0], short[1], seconds=seconds)
    out = {"wrk": dict((k, w[k]) for k in ("rps", "p50_ms", "p99_ms", "requests", "errors"))}
    out["wall"] = [t0, time.time()]
    out.update(probes.summary())
    return out


def start_mock(port):
    mock = subprocess.Popen(TOOL_PREFIX + [sys.executable,
                                           os.path.join(BENCH_DIR, "stream_mock.py"), str(port)],
                            stdout=subprocess.PIPE)
    if not mock.stdout.readline().startswith(b"ready"):
        raise RuntimeError("the streaming mock did not start")
    return mock


def hold_streams(port, token, pid, run_loaded, ramp):
    """Opens the streams, runs the loaded measurement once all are open, and
    waits for them to end.  Returns (clients' results, loaded, samples)."""
    env = dict(os.environ, BENCH_STREAM_TOKEN=token)
    path = "/proxy/streams/sse?events=%d&gap_ms=1000" % STREAM_SECONDS
    clients = subprocess.Popen(TOOL_PREFIX + [sys.executable,
                                              os.path.join(BENCH_DIR, "stream_clients.py"),
                                              str(port), path, str(STREAMS), str(STREAM_SECONDS),
                                              str(ramp)], stdout=subprocess.PIPE, env=env)
    samples = []
    halt = threading.Event()

    def sample():
        while not halt.is_set():
            samples.append(proc_status(pid))
            halt.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    cpu0 = cpu_seconds(pid)
    opened = clients.stdout.readline().split()
    at_open = proc_status(pid)
    during = run_loaded()
    at_end = proc_status(pid)
    result = json.loads(clients.stdout.readline())
    result["app_cpu_seconds"] = round(cpu_seconds(pid) - cpu0, 1)
    clients.wait()
    halt.set()
    sampler.join()
    result["opened"] = int(opened[1]) if len(opened) > 1 else 0
    result["open_seconds"] = float(opened[2]) if len(opened) > 2 else None
    return result, during, {"at_open": at_open, "after_wrk": at_end,
                            "rss_peak_kb": max(s[0] for s in samples),
                            "threads_peak": max(s[1] for s in samples)}


def targets(r):
    """Each target of issue 14 against its figure: (what, met)."""
    base, dur, s = r["without"], r["with"], r["streams"]
    return [
        ("every stream delivered complete (%d/%d)" % (s["complete"], s["streams"]),
         s["complete"] == s["streams"]),
        ("/healthz p99 under 50 ms (%.1f ms)" % dur["healthz"]["p99_ms"],
         dur["healthz"]["p99_ms"] < 50 and dur["healthz"]["failed"] == 0),
        ("admin GET p99 under 50 ms (%.1f ms)" % dur["admin"]["p99_ms"],
         dur["admin"]["p99_ms"] < 50 and dur["admin"]["failed"] == 0),
        ("short-request p99 within 2 x the run without streams (%.2f / %.2f ms)"
         % (dur["wrk"]["p99_ms"], base["wrk"]["p99_ms"]),
         dur["wrk"]["p99_ms"] <= 2 * base["wrk"]["p99_ms"] and not dur["wrk"]["errors"]),
        ("RSS under 1 GiB (%.0f MiB)" % (r["app"]["rss_peak_kb"] / 1024.0),
         r["app"]["rss_peak_kb"] < 1 << 20),
    ]


def line(name, m):
    w = m["wrk"]
    h, a = m["healthz"], m["admin"]
    return ("%-20s %6.0f req/s  p50 %6.2f ms  p99 %6.2f ms%s   p99: /healthz %5.1f ms, "
            "admin GET %5.1f ms, static %5.1f ms%s" % (
                name, w["rps"], w["p50_ms"], w["p99_ms"], "  (errors!)" if w["errors"] else "",
                h["p99_ms"], a["p99_ms"], m["static"]["p99_ms"],
                "  (probes failed: %d)" % (h["failed"] + a["failed"])
                if h["failed"] + a["failed"] else ""))


def report(r):
    """Prints the streams, the gateway's memory and the targets."""
    s, a = r["streams"], r["app"]
    print("streams: %d/%d complete (%d open within %.1f s), %d of %d events, event delay "
          "p50 %.1f ms, p99 %.1f ms, max %.1f ms%s" % (
              s["complete"], s["streams"], s["opened"], s["open_seconds"] or -1, s["events"],
              s["streams"] * s["events_each"], s["delay_p50_ms"] or -1,
              s["delay_p99_ms"] or -1, s["delay_max_ms"] or -1,
              "; failures: %s" % s["errors"] if s["errors"] else ""))
    during, after = delay_split(s["delay_windows"], r["with"]["wall"])
    s["delay_p99_while_wrk_ms"], s["delay_p99_after_wrk_ms"] = during, after
    print("  event delay p99 per 5 s: %s while wrk ran, %s after it; CPU seconds over "
          "the %.0f s: apigw-fcgi %.1f, stream clients %.1f, mock %.1f" % (
              "%.0f-%.0f ms (clients' own loop lag up to %.0f ms)" % during if during else "-",
              "%.0f-%.0f ms (lag up to %.0f ms)" % after if after else "-",
              s["seconds"], s["app_cpu_seconds"], s["cpu_seconds"], r["mock_cpu_seconds"]))
    print("apigw-fcgi: RSS %.1f MiB idle, %.1f MiB peak (%.0f KiB per stream); threads %d "
          "idle, %d peak" % (
              r["idle"][0] / 1024.0, a["rss_peak_kb"] / 1024.0,
              (a["rss_peak_kb"] - r["idle"][0]) / max(1, s["streams"]), r["idle"][1],
              a["threads_peak"]))
    r["targets"] = [{"target": t, "met": ok} for t, ok in targets(r)]
    for t in r["targets"]:
        print("  %-4s %s" % ("met" if t["met"] else "MISS", t["target"]), flush=True)


def run(port, token, pid, admin, admin_token, wrk, short, free_port):
    """The whole section; `admin` and `wrk` are bench.py's helpers, `short`
    the (path, headers) of the short requests.  Returns the figures."""
    mock_port = free_port()
    mock = start_mock(mock_port)
    try:
        up = admin(port, "POST", "/api/admin/upstreams",
                   {"name": "streams", "base_url": "http://127.0.0.1:%d/v1" % mock_port,
                    "timeout_ms": 30000})
        admin(port, "POST", "/api/admin/keys", {"upstream_id": up["id"],
                                                "key_value": "sk-streams-0123456789abcdef"})
        time.sleep(1.2)
        ramp = max(1.0, STREAMS / 200.0)
        seconds = int(max(2, min(20, STREAM_SECONDS - ramp - 8)))
        r = {"streams_wanted": STREAMS, "stream_seconds": STREAM_SECONDS, "wrk_seconds": seconds,
             "ramp_seconds": ramp, "app_conf": APP_CONF, "tool_prefix": TOOL_PREFIX,
             "idle": proc_status(pid)}
        print("streams: %d x %d s (an event a second, opened over %.0f s) held while wrk drives"
              " short requests for %d s at 32 connections" % (STREAMS, STREAM_SECONDS, ramp,
                                                              seconds), flush=True)
        probes = Probes(port, admin_token)
        probes.start()
        time.sleep(5)
        r["idle_probes"] = probes.summary()
        i = r["idle_probes"]
        print("no load: p99 /healthz %.1f ms, admin GET %.1f ms, static %.1f ms" % (
            i["healthz"]["p99_ms"], i["admin"]["p99_ms"], i["static"]["p99_ms"]))
        r["without"] = loaded(wrk, port, short, seconds, admin_token)
        print(line("without streams", r["without"]), flush=True)
        r["streams"], r["with"], r["app"] = hold_streams(
            port, token, pid, lambda: loaded(wrk, port, short, seconds, admin_token), ramp)
        print(line("with %d streams" % STREAMS, r["with"]), flush=True)
        r["mock_cpu_seconds"] = round(cpu_seconds(mock.pid), 1)
        r["after"] = loaded(wrk, port, short, seconds, admin_token)
        print(line("after the streams", r["after"]), flush=True)
        report(r)
        mock.terminate()
        print("mock: %s" % mock.communicate(timeout=30)[0].decode().strip(), flush=True)
        return r
    finally:
        if mock.poll() is None:
            mock.terminate()
            mock.wait()
