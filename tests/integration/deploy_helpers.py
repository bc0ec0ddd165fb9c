"""Helpers shared by the test_deploy_*.py files: the deployment examples of
conf-examples/ run as written (only paths, ports and certificates
substituted) behind a real Apache (Debian's apache2 in a prefix of its
own) and a real nginx, HTTP and HTTPS clients for them, and one smoke suite
of the proxy and the admin API that every deployment goes through."""

import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import harness
from admin_helpers import A, assert_error, key_value, ok, uniq
from harness import ADMIN_TOKEN, Resp
from mock_upstream import Reply, json_reply
from proxy_helpers import parallel, read_events, wait_log_row
from rules_helpers import quiet_mock

st = harness.st
ROOT = st.ROOT
EXAMPLES = os.path.join(ROOT, "conf-examples")
WEB = os.path.join(ROOT, "web")
APACHE_MODULES = "/usr/lib/apache2/modules"
AS_ROOT = os.geteuid() == 0
SETTLE_S = 0.6          # pool_refresh_ms is 200 in the test stack


# ---------------------------------------------------------------- files

def open_dirs(*paths):
    """Apache's children and the programs they start run as www-data: the
    test's folders must be traversable and readable."""
    for p in paths:
        os.chmod(p, 0o755)


def copy_web(dest):
    """A copy of the admin page (web/), readable by everyone."""
    shutil.copytree(WEB, dest, dirs_exist_ok=True)
    for d, dirs, files in os.walk(dest):
        os.chmod(d, 0o755)
        for f in files:
            os.chmod(os.path.join(d, f), 0o644)
    return dest


def install_binary(dest, name="apigw-fcgi"):
    """A copy of a built binary (mode 755) under another name."""
    shutil.copy(st.binary(name), dest)
    os.chmod(dest, 0o755)
    return dest


def app_config(stack, folder, **overrides):
    """A copy of the gateway configuration that processes running as
    www-data can read (mode 644), with a spool folder they can write."""
    os.makedirs(folder, exist_ok=True)
    open_dirs(stack.dir, folder)
    spool = os.path.join(folder, "spool")
    os.makedirs(spool, exist_ok=True)
    os.chmod(spool, 0o777)
    values = stack.base_config()
    values["spool_dir"] = spool
    values.update(overrides)
    path = os.path.join(folder, "apigw.conf")
    st.write_config(path, values)
    os.chmod(path, 0o644)
    return path


def free_port_any():
    """A port free on every IPv4 and IPv6 address (for `listen 80;` as
    written, which binds all of them)."""
    for _ in range(50):
        port = st.free_port()
        try:
            for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
                with socket.socket(fam) as s:
                    # As nginx binds: connections of earlier tests that
                    # linger in TIME_WAIT on this port do not stop it.
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    if fam == socket.AF_INET6:
                        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    s.bind((addr, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def read_tail(path, n=60):
    try:
        with open(path, "rb") as f:
            return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
    except OSError:
        return "(no %s)" % path


def a2enmod_modules(example):
    """The modules the example's own `a2enmod` line names."""
    with open(example) as f:
        m = re.search(r"^#\s+a2enmod\s+(.*)$", f.read(), re.M)
    assert m, "%s has no a2enmod line" % example
    return m.group(1).split()


# ---------------------------------------------------------------- Apache

# What Debian's apache2 enables out of the box (the part that matters here);
# an example adds the modules its a2enmod line names.
APACHE_BASE_MODULES = ["mpm_event", "authz_core", "authz_host", "authn_core", "mime", "dir",
                       "alias", "env", "setenvif"]


class Apache:
    """Debian's apache2 in a ServerRoot of its own, listening on a free
    127.0.0.1 port, with a wrapper httpd.conf like Debian's apache2.conf
    (everything denied below /, no overrides) that defines the example's
    variables and then includes the example file itself."""

    def __init__(self, prefix, modules, defines=None, include=None, extra=""):
        self.prefix = prefix
        self.port = st.free_port()
        self.modules = list(dict.fromkeys(APACHE_BASE_MODULES + list(modules)))
        self.defines = dict(defines or {})
        self.include = include
        self.extra = extra
        self.conf = os.path.join(prefix, "httpd.conf")
        self.error_log = os.path.join(prefix, "error.log")
        self.process = None

    def render(self):
        for d in ("", "run", "lock", "logs"):
            os.makedirs(os.path.join(self.prefix, d), exist_ok=True)
            os.chmod(os.path.join(self.prefix, d), 0o755)
        p = self.prefix
        lines = [
            "# written by deploy_helpers.py: a stand-in for Debian's apache2.conf",
            'ServerRoot "%s"' % p,
            "ServerName localhost",
            "Listen 127.0.0.1:%d" % self.port,
            'PidFile "%s/httpd.pid"' % p,
            'ErrorLog "%s"' % self.error_log,
            "LogLevel warn",
            'DefaultRuntimeDir "%s/run"' % p,
            "Mutex file:%s/lock default" % p,
        ]
        for m in self.modules:
            lines.append('LoadModule %s_module "%s/mod_%s.so"' % (m, APACHE_MODULES, m))
        if AS_ROOT:
            lines += ["User www-data", "Group www-data"]
        lines += [
            "TypesConfig /etc/mime.types",
            "StartServers 1",
            "ServerLimit 4",
            "ThreadsPerChild 32",
            "MaxRequestWorkers 128",
            "KeepAlive On",
            'LogFormat "%h %l %u %t \\"%r\\" %>s %b %D" timed',
            'CustomLog "%s/access.log" timed' % p,
            "<Directory />",
            "    Options FollowSymLinks",
            "    AllowOverride None",
            "    Require all denied",
            "</Directory>",
            "AccessFileName .htaccess",
            '<FilesMatch "^\\.ht">',
            "    Require all denied",
            "</FilesMatch>",
        ]
        if "cgid" in self.modules:
            lines.append('ScriptSock "%s/run/cgid.sock"' % p)
        if "fcgid" in self.modules:
            # Apache makes the folder itself and gives it to www-data.
            lines += ['FcgidIPCDir "%s/fcgid"' % p,
                      'FcgidProcessTableFile "%s/run/fcgid_shm"' % p]
        for k, v in self.defines.items():
            lines.append('Define %s "%s"' % (k, v))
        lines.append(self.extra)
        if self.include:
            lines.append('Include "%s"' % self.include)
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        self.render()
        env = dict(os.environ)
        for k, d in (("APACHE_RUN_DIR", "run"), ("APACHE_LOCK_DIR", "lock"),
                     ("APACHE_LOG_DIR", "logs"), ("APACHE_PID_FILE", "httpd.pid")):
            env[k] = os.path.join(self.prefix, d)
        check = subprocess.run(["apache2", "-f", self.conf, "-t"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert check.returncode == 0, "apache2 -t refuses %s:\n%s" % (
            self.conf, check.stdout.decode("utf-8", "replace"))
        self.process = st.Process("apache2", ["apache2", "-f", self.conf, "-DFOREGROUND"],
                                  os.path.join(self.prefix, "apache2.out"), env=env,
                                  cwd=self.prefix).start()
        try:
            st.wait_for(self._ready, 20, "Apache on port %d" % self.port)
        except Exception as e:
            raise AssertionError("Apache did not start (%s):\n%s\n%s" % (
                e, self.process.log_tail(), read_tail(self.error_log)))
        return self

    def _ready(self):
        if not self.process.alive():
            raise RuntimeError("apache2 exited")
        return st.port_accepts(self.port)

    def stop(self):
        """SIGTERM; returns apache2's exit status."""
        return self.process.stop(signal.SIGTERM, timeout=30) if self.process else None

    def errors(self):
        return read_tail(self.error_log, 80)


# ---------------------------------------------------------------- nginx

NGINX_MAIN = """# written by deploy_helpers.py: a stand-in for Debian's nginx.conf
{user_line}
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
daemon off;

events {{
    worker_connections 1024;
}}

http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    ssl_prefer_server_ciphers on;
    access_log {prefix}/access.log;
    gzip on;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;

    include {site};
}}
"""


def self_signed_cert(folder, cn="localhost"):
    """(certificate, key) made with openssl for the test."""
    os.makedirs(folder, exist_ok=True)
    cert = os.path.join(folder, "fullchain.pem")
    key = os.path.join(folder, "privkey.pem")
    out = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                          "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + cn,
                          "-addext", "subjectAltName=DNS:%s,IP:127.0.0.1" % cn],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert out.returncode == 0, out.stdout.decode()
    return cert, key


class NginxSite:
    """conf-examples/nginx/apigw.conf itself, with its paths, ports,
    certificate and host name substituted, in a minimal main configuration."""

    def __init__(self, prefix, fcgi_socket, cert, key, web_root=WEB,
                 example=os.path.join(EXAMPLES, "nginx", "apigw.conf")):
        self.prefix = prefix
        self.socket = fcgi_socket
        self.cert, self.key = cert, key
        self.web_root = web_root
        self.example = example
        self.http_port = free_port_any()
        self.https_port = free_port_any()
        while self.https_port == self.http_port:
            self.https_port = free_port_any()
        self.conf = os.path.join(prefix, "nginx.conf")
        self.site = os.path.join(prefix, "apigw.conf")
        self.process = None

    def substitutions(self):
        return [
            ("server unix:/run/apigw/apigw.sock;", "server unix:%s;" % self.socket),
            ("listen 80;", "listen %d;" % self.http_port),
            ("listen [::]:80;", "listen [::]:%d;" % self.http_port),
            ("listen 443 ssl", "listen %d ssl" % self.https_port),
            ("listen [::]:443 ssl", "listen [::]:%d ssl" % self.https_port),
            ("/etc/ssl/apigw/fullchain.pem", self.cert),
            ("/etc/ssl/apigw/privkey.pem", self.key),
            ("server_name gateway.example.com;", "server_name localhost;"),
            ("root /usr/local/share/apigw/web;", "root %s;" % self.web_root),
            ("error_log /var/log/nginx/error.log crit;",
             "error_log %s crit;" % os.path.join(self.prefix, "error.log")),
        ]

    def render(self):
        os.makedirs(self.prefix, exist_ok=True)
        for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(self.prefix, d), exist_ok=True)
        with open(self.example) as f:
            text = f.read()
        for old, new in self.substitutions():
            assert old in text, "%s no longer has %r" % (self.example, old)
            text = text.replace(old, new)
        with open(self.site, "w") as f:
            f.write(text)
        with open(self.conf, "w") as f:
            f.write(NGINX_MAIN.format(user_line="user root;" if AS_ROOT else "",
                                      prefix=self.prefix, site=self.site))

    def start(self):
        self.render()
        check = subprocess.run(["nginx", "-p", self.prefix, "-c", self.conf, "-t"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert check.returncode == 0, "nginx -t refuses the site:\n" + check.stdout.decode()
        self.process = st.Process("nginx", ["nginx", "-p", self.prefix, "-c", self.conf],
                                  os.path.join(self.prefix, "nginx.out")).start()
        try:
            st.wait_for(lambda: self._ready(), 20, "nginx on port %d" % self.https_port)
        except Exception as e:
            raise AssertionError("nginx did not start (%s):\n%s\n%s" % (
                e, self.process.log_tail(), read_tail(os.path.join(self.prefix, "error.log"))))
        return self

    def _ready(self):
        if not self.process.alive():
            raise RuntimeError("nginx exited")
        return st.port_accepts(self.https_port) and st.port_accepts(self.http_port)

    def stop(self):
        """SIGQUIT (graceful); returns nginx's exit status."""
        return self.process.stop(signal.SIGQUIT, timeout=10) if self.process else None


# ---------------------------------------------------------------- clients

class Client(harness.Client):
    """HTTP/1.1 (or HTTPS without verification) to a web server, sending
    paths exactly as given, with `Host: localhost` as a site expects."""

    host_header = "localhost"

    def __init__(self, port, token=None, https=False, host="127.0.0.1"):
        super().__init__(port, token)
        self.https = https
        self.host = host

    def connection(self, timeout=60):
        if self.https:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                               context=ctx)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def open_stream(self, path, headers=None, timeout=30):
        """Starts a GET; returns (connection, response) unread."""
        conn = self.connection(timeout)
        conn.putrequest("GET", path, skip_accept_encoding=True, skip_host=True)
        conn.putheader("Host", "localhost")
        if self.token:
            conn.putheader("Authorization", "Bearer " + self.token)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        return conn, conn.getresponse()


class Site:
    """A deployed gateway as its clients see it: one port of a web server."""

    def __init__(self, name, port, https=False, server=None):
        self.name = name
        self.port = port
        self.https = https
        self.server = server            # Apache or NginxSite: errors() / stop()
        self.client = Client(port, https=https)
        self.admin = Client(port, ADMIN_TOKEN, https=https)
        self.fixture = None             # Fixture, made once by fixture()

    def describe(self):
        if self.server is not None and hasattr(self.server, "errors"):
            return "\n-- %s error log:\n%s" % (self.name, self.server.errors())
        return ""


# ---------------------------------------------------------------- the smoke suite

def quietly(fn):
    """Runs a check with the mock's tracebacks silenced (a gateway that
    drops an upstream connection makes the mock print one)."""
    def run(stack, *args, **kw):
        with quiet_mock(stack):
            return fn(stack, *args, **kw)
    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


class Fixture:
    """An upstream on the mock, one key and a client token, all made
    through the site's admin API."""

    def __init__(self, up, key, token):
        self.up = up
        self.key = key
        self.token = token

    def path(self, rest=""):
        return "/proxy/%s/%s" % (self.up["name"], rest)


def fixture(stack, site):
    if site.fixture is None:
        up = ok(site.admin.post(A + "/upstreams", json={
            "name": uniq("dep"), "base_url": stack.mock.url}), 201)
        value = key_value("d")
        key = ok(site.admin.post(A + "/keys", json={"upstream_id": up["id"],
                                                    "key_value": value}), 201)
        key["value"] = value
        tok = ok(site.admin.post(A + "/tokens", json={"name": uniq("dtok")}), 201)["token"]
        time.sleep(SETTLE_S)
        site.fixture = Fixture(up, key, tok)
    return site.fixture


def check_healthz(stack, site):
    r = site.client.get("/healthz")
    assert r.status == 200, (r, site.describe())
    assert r.json() == {"status": "ok", "db": "ok"}, r
    assert (r.header("Content-Type") or "").startswith("application/json"), r.headers
    assert r.header("X-Gateway-Request-Id"), r.headers


def check_admin_authorization(stack, site):
    """Authorization reaches the application: with it the admin API
    answers, without it (or with a wrong one) 401."""
    r = site.admin.get(A + "/upstreams")
    assert r.status == 200, ("the admin token did not reach the application", r,
                             site.describe())
    assert isinstance(r.json()["items"], list), r
    r = site.client.get(A + "/upstreams")
    assert_error(r, 401, "unauthorized")
    r = site.client.get(A + "/upstreams", token="not-the-admin-token")
    assert_error(r, 401, "unauthorized")
    # The admin page is served from the web folder.
    r = site.client.get("/")
    assert r.status == 200 and b"<html" in r.body.lower(), r
    # Never inside another site's frame (the example's own headers).
    assert r.header("X-Frame-Options") == "DENY", (r, site.describe())
    assert r.header("Content-Security-Policy") == "frame-ancestors 'none'", r


def check_metrics(stack, site):
    r = site.client.get("/metrics")
    assert r.status == 200, (r, site.describe())
    assert b"# TYPE" in r.body, r.body[:300]


def _never_leaked(stack, token):
    for q in list(stack.mock.requests):
        blob = "%s %r %r" % (q.path, q.headers, q.body)
        assert token not in blob, "the client token reached the upstream: %r" % (q.headers,)


@quietly
def check_proxy_get_and_post(stack, site):
    """A proxied GET (token in Authorization) and POST (token in X-Api-Key,
    a binary body): the upstream sees the key, the body byte for byte, and
    never the client token; each request has its log row."""
    fx = fixture(stack, site)
    stack.mock.reset(lambda req: json_reply({"path": req.path, "method": req.method,
                                             "len": len(req.body)}))
    r = site.client.get(fx.path("v1/models?limit=2&x=%2F"), token=fx.token)
    assert r.status == 200, (r, site.describe())
    assert r.json() == {"path": "/v1/models?limit=2&x=%2F", "method": "GET", "len": 0}, r
    assert r.header("X-Gateway-Attempts") == "1", r.headers
    rid_get = r.header("X-Gateway-Request-Id")
    body = bytes(range(256)) * 64 + b"\x00\r\n\r\nend"
    r2 = site.client.post(fx.path("v1/upload"), token="", body=body,
                          headers={"X-Api-Key": fx.token,
                                   "Content-Type": "application/octet-stream"})
    assert r2.status == 200, (r2, site.describe())
    assert r2.json() == {"path": "/v1/upload", "method": "POST", "len": len(body)}, r2
    seen = list(stack.mock.requests)
    assert [q.method for q in seen] == ["GET", "POST"], seen
    for q in seen:
        assert q.header("Authorization") == "Bearer " + fx.key["value"], q.headers
        assert q.header("X-Api-Key") is None, q.headers
    assert seen[1].body == body
    assert seen[1].header("Content-Type") == "application/octet-stream"
    _never_leaked(stack, fx.token)
    # Each request has its log row, with the key and the token.
    row = wait_log_row(stack, r)
    assert row["request_id"] == rid_get
    assert (row["status"], row["upstream_id"], row["key_id"], row["method"]) == \
        (200, fx.up["id"], fx.key["id"], "GET"), row
    row = wait_log_row(stack, r2)
    assert (row["status"], row["method"], row["req_bytes"]) == (200, "POST", len(body)), row
    # Without a token: the contract's 401.
    r = site.client.get(fx.path("v1/models"))
    assert_error(r, 401, "unauthorized")


@quietly
def check_sse_streams(stack, site, n=5, pause=0.4, tolerance=0.35):
    """Server-Sent Events, 5 events 400 ms apart: each reaches the client
    within `tolerance` of being sent, long before the stream ends."""
    fx = fixture(stack, site)
    events = ['data: {"i": %d, "text": "token %d"}\n\n' % (i, i) for i in range(n)]
    stack.mock.reset(lambda req: Reply(
        chunks=[(0 if i == 0 else pause, e) for i, e in enumerate(events)],
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}))
    c = Client(site.port, fx.token, https=site.https)
    conn, resp = c.open_stream(fx.path("v1/chat/completions?stream=true"))
    try:
        assert resp.status == 200, (resp.status, resp.read()[:300], site.describe())
        assert (resp.getheader("Content-Type") or "").startswith("text/event-stream"), \
            resp.getheaders()
        got = read_events(resp, n)
        rest = resp.read()
    finally:
        conn.close()
    assert [e for _, e in got] == [e.encode() for e in events], got
    assert rest == b"", rest
    sent = list(stack.mock.sent_chunks)
    assert [d for _, d in sent] == [e.encode() for e in events], sent
    lags = [round(a - t, 3) for (a, _), (t, _) in zip(got, sent)]
    assert all(lag < tolerance for lag in lags), \
        "%s buffers the stream: event lags (s) %r" % (site.name, lags)
    # The first event arrived about 1.2 s before the last one was sent.
    assert sent[-1][0] - got[0][0] > (n - 1) * pause - tolerance - 0.1, (got, sent)
    _never_leaked(stack, fx.token)
    return lags


def check_invalid_path(stack, site):
    """A path that leaves the upstream's base gets the JSON 400, and nothing
    goes upstream."""
    fx = fixture(stack, site)
    stack.mock.reset()
    for rest in ("%2e%2e/admin", "v1/%2E%2E/%2e%2e/x", "a/%252e%252e/b"):
        r = site.client.get(fx.path(rest), token=fx.token)
        assert r.status == 400, (rest, r, site.describe())
        assert r.error_code() == "invalid_path", (rest, r)
        assert (r.header("Content-Type") or "").startswith("application/json"), r.headers
    assert stack.mock.requests == [], [q.path for q in stack.mock.requests]


def check_quota_exact(stack, site, concurrency=20, quota=5):
    """A key with daily_quota 5 under 20 concurrent requests: exactly 5
    succeed, the rest get 503 no_available_key."""
    up = ok(site.admin.post(A + "/upstreams", json={
        "name": uniq("depq"), "base_url": stack.mock.url}), 201)
    value = key_value("q")
    key = ok(site.admin.post(A + "/keys", json={"upstream_id": up["id"], "key_value": value,
                                                "daily_quota": quota}), 201)
    tok = ok(site.admin.post(A + "/tokens", json={"name": uniq("dtq")}), 201)["token"]
    time.sleep(SETTLE_S)
    stack.mock.reset()
    path = "/proxy/%s/v1/x" % up["name"]

    def one(i):
        r = site.client.get(path, token=tok, timeout=60)
        return r.status, r.error_code(), r.header("X-Gateway-Request-Id")

    res = parallel(one, range(concurrency), workers=concurrency)
    statuses = [x[0] for x in res]
    assert statuses.count(200) == quota and statuses.count(503) == concurrency - quota, \
        ({s: statuses.count(s) for s in set(statuses)}, res, site.describe())
    assert {x[1] for x in res if x[0] == 503} == {"no_available_key"}, res
    assert len(stack.mock.requests) == quota
    harness.wait_until(lambda: ok(site.admin.get(A + "/keys/%d" % key["id"]))["used_today"]
                       == quota, timeout=10, what="used_today == %d" % quota)


def check_rule_bans_and_retries(stack, site):
    """A rule (status 401 -> ban_key + retry): the bad key is banned with a
    key_events row and the request is answered by the other key."""
    up = ok(site.admin.post(A + "/upstreams", json={
        "name": uniq("depr"), "base_url": stack.mock.url, "max_retries": 1,
        "retry_backoff_ms": 10, "strategy": "random"}), 201)
    keys = []
    for tag in ("bad", "good"):
        value = key_value(tag[0])
        k = ok(site.admin.post(A + "/keys", json={"upstream_id": up["id"],
                                                  "key_value": value}), 201)
        k["value"] = value
        keys.append(k)
    bad, good = keys
    tok = ok(site.admin.post(A + "/tokens", json={"name": uniq("dtr")}), 201)["token"]
    name = uniq("dep-ban-401")
    rule = ok(site.admin.post(A + "/rules", json={
        "name": name, "upstream_id": up["id"],
        "condition": {"type": "status", "op": "eq", "value": 401},
        "actions": [{"type": "ban_key"}, {"type": "retry"}], "stop": True}), 201)

    def script(req):
        if req.header("Authorization") == "Bearer " + bad["value"]:
            return json_reply({"error": {"message": "Incorrect API key"}}, 401)
        return json_reply({"ok": True})

    stack.mock.reset(script)
    time.sleep(SETTLE_S)
    path = "/proxy/%s/v1/chat" % up["name"]
    hit = None
    for _ in range(30):
        before = len(stack.mock.requests)
        r = site.client.get(path, token=tok)
        assert r.status == 200 and r.json() == {"ok": True}, (r, site.describe())
        mine = [q.header("Authorization") for q in list(stack.mock.requests)[before:]]
        if "Bearer " + bad["value"] in mine:
            hit = r
            assert mine == ["Bearer " + bad["value"], "Bearer " + good["value"]], mine
            assert r.header("X-Gateway-Attempts") == "2", r.headers
            break
    assert hit is not None, "the bad key was never tried"
    k = ok(site.admin.get(A + "/keys/%d" % bad["id"]))
    assert k["status"] == "banned" and k["status_reason"] == name, k
    ev = ok(site.admin.get(A + "/keys/%d/events" % bad["id"]))["items"]
    assert len(ev) == 1, ev
    assert (ev[0]["from"], ev[0]["to"], ev[0]["rule_id"], ev[0]["request_id"]) == \
        ("active", "banned", rule["id"], hit.header("X-Gateway-Request-Id")), ev
    assert ok(site.admin.get(A + "/keys/%d" % good["id"]))["status"] == "active"
    # The banned key is not used again.
    before = len(stack.mock.requests)
    for _ in range(3):
        r = site.client.get(path, token=tok)
        assert r.status == 200 and r.header("X-Gateway-Attempts") == "1", r
    assert {q.header("Authorization") for q in list(stack.mock.requests)[before:]} == \
        {"Bearer " + good["value"]}
    stack.sql("DELETE FROM rules WHERE id = %d; UPDATE pool_version SET version = version + 1"
              % rule["id"])


@quietly
def check_repeated_requests(stack, site, n=30, delay=0.2):
    """n proxied requests one after the other, each answered after `delay`:
    every one succeeds (none is taken for a client that left)."""
    fx = fixture(stack, site)
    stack.mock.reset(lambda req: Reply(200, b'{"ok":true}', {"Content-Type": "application/json"},
                                       delay=delay))
    got = []
    for i in range(n):
        r = site.client.get(fx.path("v1/r/%d" % i), token=fx.token)
        got.append((r.status, r.body[:100], r.header("X-Gateway-Request-Id")))
    bad = [g for g in got if g[0] != 200]
    assert not bad, "%d of %d requests failed through %s: %r" % (len(bad), n, site.name, bad[:5])
    assert len(stack.mock.requests) == n


@quietly
def check_concurrent_streams(stack, site, n=16, pause=0.15, events=4, deadline=15):
    """n SSE streams at once (more than the application has threads): every
    one completes intact, none waits for a thread that never frees."""
    fx = fixture(stack, site)
    evs = ['data: {"i": %d}\n\n' % i for i in range(events)]
    stack.mock.reset(lambda req: Reply(
        chunks=[(pause, e) for e in evs],
        headers={"Content-Type": "text/event-stream"}))
    body = "".join(evs).encode()

    def one(i):
        t0 = time.time()
        try:
            r = site.client.get(fx.path("v1/chat?n=%d" % i), token=fx.token, timeout=deadline)
            return r.status, r.body == body, round(time.time() - t0, 2), r.body[:100]
        except OSError as e:
            return "no answer (%s)" % e.__class__.__name__, False, round(time.time() - t0, 2), b""

    for _round in range(2):
        res = parallel(one, range(n), workers=n)
        bad = [x for x in res if x[0] != 200 or not x[1]]
        assert not bad, "%d of %d concurrent streams failed through %s: %r" % (
            len(bad), n, site.name, bad[:6])


@quietly
def check_chunked_post(stack, site):
    """A request body sent with Transfer-Encoding: chunked (no
    Content-Length, as streaming SDKs send it) reaches the upstream byte
    for byte."""
    fx = fixture(stack, site)
    stack.mock.reset(lambda req: json_reply({"len": len(req.body)}))
    parts = [b'{"model": "m", ', b'"input": "' + b"x" * 5000 + b'"', b"}"]
    body = b"".join(parts)
    conn = site.client.connection(30)
    try:
        conn.putrequest("POST", fx.path("v1/chunked"), skip_accept_encoding=True, skip_host=True)
        conn.putheader("Host", "localhost")
        conn.putheader("Authorization", "Bearer " + fx.token)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for p in parts:
            conn.send(b"%x\r\n%s\r\n" % (len(p), p))
        conn.send(b"0\r\n\r\n")
        r = conn.getresponse()
        try:
            data = r.read()
        except http.client.IncompleteRead as e:
            data = b"(cut off) " + e.partial
        got = Resp(r.status, r.getheaders(), data)
    finally:
        conn.close()
    seen = [(q.method, len(q.body)) for q in stack.mock.requests]
    assert got.status == 200 and seen == [("POST", len(body))], \
        "chunked body through %s: answer %r, upstream saw %r" % (site.name, got, seen)
    assert stack.mock.requests[0].body == body
    assert got.json() == {"len": len(body)}, got


def post_oversized(client, path, token, size, send=True, timeout=30):
    """A POST declaring `size` bytes; with send, the body follows (the
    server may answer and close before it has all of it)."""
    conn = client.connection(timeout)
    try:
        conn.putrequest("POST", path, skip_accept_encoding=True, skip_host=True)
        conn.putheader("Host", "localhost")
        conn.putheader("Authorization", "Bearer " + token)
        conn.putheader("Content-Type", "application/octet-stream")
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        if send:
            block = b"\0" * (1 << 20)
            try:
                for _ in range(size >> 20):
                    conn.send(block)
            except OSError:
                pass
        r = conn.getresponse()
        return Resp(r.status, r.getheaders(), r.read())
    finally:
        conn.close()


def check_oversized_body(stack, site, size=40 << 20, declared_only=True):
    """A body over the limits (40 MiB): the contract's JSON 413 and nothing
    sent upstream, whether the body is sent or only declared (a client
    waiting before it sends)."""
    fx = fixture(stack, site)
    stack.mock.reset()
    for send in ((True, False) if declared_only else (True,)):
        t0 = time.time()
        r = post_oversized(site.client, fx.path("v1/upload"), fx.token, size, send=send)
        what = "%d bytes %s" % (size, "sent" if send else "declared")
        assert r.status == 413, (what, r, site.describe())
        assert_error(r, 413, "body_too_large")
        assert time.time() - t0 < 10, (what, time.time() - t0)
    assert stack.mock.requests == [], [(q.method, len(q.body)) for q in stack.mock.requests]


# ---------------------------------------------------------------- one site at a time

class _Stopper:
    """Put in stack.gateways so that Stack.stop() stops it with the rest."""

    def __init__(self, fn):
        self.fn = fn

    def stop(self):
        self.fn()


def shared_site(stack, kind, name, make):
    """The site `name`, made by make(stack, folder) on first use and kept
    for the next tests; any other site is stopped first (one deployment at a
    time).  The stack stops the last one.  A site that could not be made
    fails its later tests at once.  `kind` names the sort of site in
    messages."""
    sites = stack.__dict__.setdefault("_deploy_sites", {})
    broken = stack.__dict__.setdefault("_deploy_broken", {})
    if name in broken:
        raise AssertionError("%s (%s) could not be set up (see the first test): %s"
                             % (name, kind, broken[name]))
    if name in sites:
        return sites[name][0]
    stop_sites(stack)
    folder = tempfile.mkdtemp(prefix="%s-" % name, dir=stack.dir)
    open_dirs(stack.dir, folder)
    try:
        site, stop = make(stack, folder)
    except BaseException as e:
        broken[name] = str(e).splitlines()[0] if str(e) else repr(e)
        raise
    done = []

    def stop_once():
        if not done:
            done.append(stop())
        return done[0]

    sites[name] = (site, stop_once)
    stack.gateways.append(_Stopper(stop_once))
    return site


def stop_sites(stack):
    """Stops every running site; returns {name: what its stop returned}."""
    sites = stack.__dict__.setdefault("_deploy_sites", {})
    out = {}
    for name in list(sites):
        out[name] = sites.pop(name)[1]()
    return out
