"""Supervision: under `make run` the application comes back by itself
after `kill -9`, and says so; during the gap nginx answers in the contract's
JSON, never with its own HTML page.  The systemd unit restarts it too."""

import os
import shutil
import signal
import subprocess
import time

import harness
from harness import wait_until
from test_make_run import _healthy, _start


def _read_until(proc, needle, timeout):
    """Reads make run's output line by line until a line holds needle."""
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return b"".join(seen)
    raise AssertionError("no %r in make run's output:\n%s" % (needle, b"".join(seen).decode()))


def _app_pid(var):
    with open(os.path.join(var, "run", "apigw-fcgi.pid")) as f:
        return int(f.read())


def _gap_answer(port):
    """A request while the application is down: what nginx answers."""
    return harness.Client(port).get("/healthz", timeout=5)


def test_kill_9_under_make_run_comes_back(stack):
    var = os.path.join(stack.dir, "supervise-var")
    port = harness.st.free_port()
    run = _start(var, port)
    try:
        _read_until(run, b"API Gateway Pro is running", 120)
        wait_until(lambda: _healthy(port), timeout=30, what="make run to serve /healthz")
        pid = _app_pid(var)
        sock = os.path.join(var, "run", "apigw.sock")
        # Stop it first so that the gap is certain, then kill it: nginx's
        # answer in the gap is JSON.
        os.kill(pid, signal.SIGSTOP)
        os.kill(pid, signal.SIGKILL)
        r = _gap_answer(port)
        assert r.status in (502, 503), r
        assert r.header("Content-Type").startswith("application/json"), r.headers
        assert r.error_code() in ("bad_gateway", "overloaded"), r
        assert r.header("Retry-After") == "1" and r.header("X-Gateway-Request-Id"), r.headers
        out = _read_until(run, b"is back", 30)
        assert b"died after" in out and b"killed by signal 9 (SIGKILL)" in out, out
        assert b"restarting it" in out, out
        wait_until(lambda: _healthy(port), timeout=30, what="the application to come back")
        assert _app_pid(var) != pid
        assert os.path.exists(sock)
        # A crash loop backs off instead of spinning.  "is back" comes after
        # the pid file is written.
        for _ in range(3):
            os.kill(_app_pid(var), signal.SIGKILL)
            out = _read_until(run, b"is back", 60)
        assert b"crash loop" in out and b"restarting it in" in out, out
        wait_until(lambda: _healthy(port), timeout=30, what="the application after the loop")
    finally:
        run.send_signal(signal.SIGTERM)
        out, _ = run.communicate(timeout=90)
    assert run.returncode == 0 and b"stopped" in out, out


def test_systemd_unit_restarts_the_application(stack):
    unit = os.path.join(harness.st.ROOT, "conf-examples", "systemd", "apigw.service")
    with open(unit) as f:
        text = f.read()
    service = text.split("[Service]")[1].split("\n[")[0]
    lines = [line.strip() for line in service.splitlines()]
    assert "Restart=always" in lines, service
    assert "RestartSec=1" in lines, service
    # A crash loop is bounded by systemd's start limit, not given up at once.
    unit_part = text.split("[Unit]")[1].split("\n[")[0]
    assert "StartLimitIntervalSec=60" in unit_part and "StartLimitBurst=20" in unit_part
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return
    out = subprocess.run([analyze, "verify", unit], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, cwd=os.path.dirname(unit))
    text = out.stdout.decode()
    # The binaries and the user are not installed here; nothing else may be wrong.
    bad = [line for line in text.splitlines()
           if line.strip() and "apigw-fcgi" not in line and "not executable" not in line
           and "No such file" not in line and "'man " not in line]
    assert not bad, text
