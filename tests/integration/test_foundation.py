"""The foundation: configuration errors, routing, the error format, 413,
/healthz with the database up and down, reconnection, CGI mode, signals,
migrations."""

import os
import re
import signal
import time

import harness
from harness import run_binary, wait_until

GOOD_KEY = "encryption_key = " + "ab" * 32 + "\n"


def _check_config(stack, text, env=None):
    path = os.path.join(stack.dir, "check.conf")
    with open(path, "w") as f:
        f.write(text)
    return run_binary("apigw-fcgi", ["-c", path, "--check-config"], env=env), path


def test_config_errors_name_file_line_and_key(stack):
    cases = [
        ("port = 80\nfrobnicate = 1\n" + GOOD_KEY, 2, "frobnicate", "unknown key"),
        ("workers = many\n" + GOOD_KEY, 1, "workers", "not an integer"),
        ("max_body_bytes = 12Q\n" + GOOD_KEY, 1, "max_body_bytes", "not a size"),
        ("quota_reset_hour = 31\n" + GOOD_KEY, 1, "quota_reset_hour", "out of range"),
        ("port = 8080\n", 1, "encryption_key", "required value is missing"),
    ]
    for text, line, key, why in cases:
        out, path = _check_config(stack, text)
        assert out.returncode == 2, (text, out)
        err = out.stderr.decode().strip()
        assert "\n" not in err, err
        assert err.startswith("%s:%d: %s: " % (path, line, key)), err
        assert why in err, err


def test_config_environment_override_and_error(stack):
    out, _ = _check_config(stack, "port = 8080\n" + GOOD_KEY, env={"APIGW_PORT": "eighty"})
    assert out.returncode == 2
    assert out.stderr.decode().strip() == "environment:APIGW_PORT: port: not an integer"
    out, path = _check_config(stack, "port = 8080\n" + GOOD_KEY)
    assert out.returncode == 0, out
    got = run_binary("apigw-fcgi", ["-c", path, "--get", "port"], env={"APIGW_PORT": "9191"})
    assert got.stdout.decode().strip() == "9191"


def test_bad_config_stops_the_application(stack):
    path = os.path.join(stack.dir, "bad.conf")
    with open(path, "w") as f:
        f.write("db_port = -1\n" + GOOD_KEY)
    out = run_binary("apigw-fcgi", ["-c", path, "-s", os.path.join(stack.dir, "x.sock")])
    assert out.returncode == 2
    assert out.stderr.decode().strip() == "%s:1: db_port: out of range" % path


def test_healthz_ok(stack):
    r = stack.main.client.get("/healthz")
    assert r.status == 200, r
    assert r.json() == {"status": "ok", "db": "ok"}
    assert r.header("Content-Type").startswith("application/json")
    rid = r.header("X-Gateway-Request-Id")
    assert re.fullmatch(r"[0-9a-f]{24}", rid)
    # The first 12 digits are the request's start in ms (core/reqid.h).
    assert abs(int(rid[:12], 16) / 1000 - time.time()) < 60, rid


def test_request_ids_are_unique(stack):
    ids = {stack.main.client.get("/healthz").header("X-Gateway-Request-Id") for _ in range(50)}
    assert len(ids) == 50


def test_unknown_route_gives_json_404(stack):
    r = stack.main.client.get("/api/nothing-here")
    assert r.status == 404
    assert r.error_code() == "not_found"
    assert "/api/nothing-here" in r.json()["error"]["message"]
    assert r.header("X-Gateway-Request-Id")


def test_wrong_method_gives_405_with_allow(stack):
    r = stack.main.client.request("DELETE", "/healthz")
    assert r.status == 405
    assert r.error_code() == "method_not_allowed"
    assert "GET" in r.header("Allow")


def test_static_admin_page_is_served(stack):
    r = stack.main.client.get("/")
    assert r.status == 200
    assert b"API Gateway Pro" in r.body
    assert r.header("X-Gateway-Request-Id") is None  # nginx answered, not the app
    # Never inside another site's frame; files are what their type says.
    for path in ("/", "/js/app.js", "/css/app.css"):
        r = stack.main.client.get(path)
        assert r.status == 200, (path, r)
        assert r.header("Content-Security-Policy") == "frame-ancestors 'none'", (path, r)
        assert r.header("X-Frame-Options") == "DENY", (path, r)
        assert r.header("X-Content-Type-Options") == "nosniff", (path, r)


def test_body_over_the_cap_gives_413(stack):
    g = stack.gateway("small-body", {"max_body_bytes": "2K"})
    try:
        r = g.client.post("/healthz", body=b"x" * 5000)
        assert r.status == 413, r
        assert r.error_code() == "body_too_large"
        assert "2048" in r.json()["error"]["message"]
        # Just under the cap the body is read and routing goes on.
        r = g.client.post("/healthz", body=b"x" * 2048)
        assert r.status == 405
        # The worker survived: the next request is served.
        assert g.client.get("/healthz").status == 200
    finally:
        g.stop()


def test_cgi_mode_serves_one_request(stack):
    env = {"APIGW_CONFIG": stack.main.config_path, "GATEWAY_INTERFACE": "CGI/1.1",
           "REQUEST_METHOD": "GET", "REQUEST_URI": "/healthz", "QUERY_STRING": ""}
    out = run_binary("apigw-fcgi", env=env)
    assert out.returncode == 0, out
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"Status: 200 OK"), out.stdout
    assert b"X-Gateway-Request-Id: " in head
    assert body == b'{"status":"ok","db":"ok"}'
    env.update({"REQUEST_METHOD": "POST", "REQUEST_URI": "/nope", "CONTENT_LENGTH": "5"})
    out = run_binary("apigw-fcgi", env=env, stdin=b"hello")
    assert out.stdout.startswith(b"Status: 404 Not Found"), out.stdout
    assert b'"code":"not_found"' in out.stdout


def test_cgi_mode_body_cap(stack):
    env = {"APIGW_CONFIG": stack.main.config_path, "APIGW_MAX_BODY_BYTES": "1K",
           "REQUEST_METHOD": "POST", "REQUEST_URI": "/healthz", "CONTENT_LENGTH": "4096"}
    out = run_binary("apigw-fcgi", env=env, stdin=b"y" * 4096)
    assert out.stdout.startswith(b"Status: 413"), out.stdout
    assert b'"code":"body_too_large"' in out.stdout


def test_migrate_is_idempotent(stack):
    env = {"APIGW_CONFIG": stack.main.config_path}
    out = run_binary("apigw-migrate", env=env)
    assert out.returncode == 0, out
    assert out.stdout.decode().startswith("schema is up to date"), out.stdout
    assert run_binary("apigw-migrate", ["--dry-run"], env=env).returncode == 0
    versions = stack.sql("SELECT COUNT(*) FROM schema_migrations").strip()
    assert int(versions) == len([f for f in os.listdir(os.path.join(harness.st.ROOT, "sql"))
                                 if re.match(r"\d{3}_.*\.sql$", f)])


def test_sighup_reloads_and_refuses_bad_config(stack):
    g = stack.gateway("reload")
    try:
        with open(g.config_path, "a") as f:
            f.write("log_level = debug\n")
        g.app.process.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "configuration reloaded" in g.log(), what="reload")
        with open(g.config_path, "a") as f:
            f.write("no_such_key = 1\n")
        g.app.process.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reload refused" in g.log(), what="refused reload")
        assert "no_such_key: unknown key" in g.log()
        assert g.client.get("/healthz").status == 200
    finally:
        g.stop()


def test_sigterm_exits_cleanly_with_kept_connections(stack):
    g = stack.gateway("drain")
    for _ in range(20):
        assert g.client.get("/healthz").status == 200
    t0 = time.time()
    g.app.process.proc.send_signal(signal.SIGTERM)
    rc = g.app.process.proc.wait(15)
    assert rc == 0, g.log()
    # Kept-alive FastCGI connections from nginx must not hold the exit up.
    assert time.time() - t0 < 5
    assert "stopped" in g.log()
    g.nginx.stop()


def test_healthz_reports_db_down_then_reconnects(stack):
    c = stack.main.client
    assert c.get("/healthz").status == 200
    stack.db.stop()
    try:
        r = c.get("/healthz")
        assert r.status == 503, r
        assert r.json() == {"status": "degraded", "db": "down"}
        # Several requests while down: every worker answers, none hangs.
        for _ in range(10):
            assert c.get("/healthz", timeout=10).status == 503
    finally:
        stack.db.start()
    wait_until(lambda: c.get("/healthz").status == 200, timeout=15, what="reconnect")
    assert c.get("/healthz").json()["db"] == "ok"
