"""Reloading the configuration on SIGHUP: there is no limit to how many
times a process may reload, and requests keep being served while it does."""

import os
import signal
import threading

import harness
from harness import wait_until

RELOADS = 70


def _write_config(stack, g, max_body):
    values = stack.base_config()
    values.update({"spool_dir": os.path.join(g.dir, "spool"), "workers": 4,
                   "max_body_bytes": max_body})
    harness.st.write_config(g.config_path, values)


def _reloads(g):
    return g.log().count("configuration reloaded")


def _cap_in_force(g, cap):
    """True when the body cap in force is exactly cap bytes."""
    over = g.client.post("/healthz", body=b"x" * (cap + 1))
    at = g.client.post("/healthz", body=b"x" * cap)
    return (over.status == 413 and "(%d bytes)" % cap in over.json()["error"]["message"]
            and at.status == 405)


def test_many_reloads_each_take_effect_while_requests_run(stack):
    g = stack.gateway("many-reloads", overrides={"workers": 4})
    stop = threading.Event()
    bad = []

    def traffic():
        c = harness.Client(g.port)
        while not stop.is_set():
            r = c.post("/healthz", body=b"y" * 3000, timeout=10)
            if r.status not in (405, 413):
                bad.append(r)

    t = threading.Thread(target=traffic)
    t.start()
    try:
        for i in range(1, RELOADS + 1):
            _write_config(stack, g, 2048 + i)
            g.app.process.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: _reloads(g) >= i, what="reload %d" % i)
            if i % 10 == 0:
                assert _cap_in_force(g, 2048 + i), "reload %d did not take effect" % i
        assert "reload refused" not in g.log(), g.log()
        assert _reloads(g) == RELOADS
        assert _cap_in_force(g, 2048 + RELOADS)
    finally:
        stop.set()
        t.join(20)
        rc = g.stop()
    assert not bad, bad[:3]
    assert rc == 0, g.log()
