"""The integration test stack: a private MariaDB, the application, nginx
and a mock upstream, all started for one test run and driven over HTTP."""

import http.client
import json as jsonlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
import apigw_stack as st  # noqa: E402
from mock_upstream import MockUpstream  # noqa: E402

ADMIN_TOKEN = "it-admin-token-0123456789abcdef"


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # list of (name, value)
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return jsonlib.loads(self.body)

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def error_code(self):
        try:
            return self.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None

    def __repr__(self):
        return "<Resp %d %r>" % (self.status, self.body[:300])


class Client:
    """Plain HTTP/1.1 to nginx, sending paths exactly as given."""

    host_header = None  # None: http.client's own Host header

    def __init__(self, port, token=None):
        self.port = port
        self.token = token

    def connection(self, timeout=60):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, json=None, token=None,
                timeout=60, declared_length=None):
        h = {}
        tok = token if token is not None else self.token
        if tok:
            h["Authorization"] = "Bearer " + tok
        if json is not None:
            body = jsonlib.dumps(json).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        if isinstance(body, str):
            body = body.encode()
        conn = self.connection(timeout)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True,
                            skip_host=self.host_header is not None)
            if self.host_header is not None:
                conn.putheader("Host", self.host_header)
            for k, v in h.items():
                conn.putheader(k, v)
            if declared_length is not None:
                conn.putheader("Content-Length", str(declared_length))
            elif body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            if body:
                conn.send(body)
            r = conn.getresponse()
            data = r.read()
            return Resp(r.status, r.getheaders(), data)
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


class Gateway:
    """One application process with its own nginx, sharing the stack's DB."""

    def __init__(self, stack, name, overrides=None, env=None):
        self.stack = stack
        self.dir = os.path.join(stack.dir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.config_path = os.path.join(self.dir, "apigw.conf")
        values = stack.base_config()
        values["spool_dir"] = os.path.join(self.dir, "spool")
        values.update(overrides or {})
        st.write_config(self.config_path, values)
        self.socket = st.short_socket_path(os.path.join(self.dir, "app.sock"), "app")
        self.port = st.free_port()
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.app = st.App(self.config_path, self.socket, os.path.join(self.dir, "app.log"),
                          env=self.env, argv_prefix=stack.app_prefix)
        self.nginx = st.Nginx(os.path.join(self.dir, "nginx"), self.port, self.socket,
                              app_workers=int(values.get("workers", 64)))
        self.client = Client(self.port)
        self.admin = Client(self.port, ADMIN_TOKEN)

    def start(self):
        self.app.start()
        self.nginx.start()
        return self

    def stop(self):
        self.nginx.stop()
        return self.app.stop()

    def log(self):
        with open(self.app.log_path, errors="replace") as f:
            return f.read()


class Stack:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="apigw-it-")
        self.db_socket = st.short_socket_path(os.path.join(self.dir, "db.sock"), "db")
        self.db = st.MariaDB(os.path.join(self.dir, "db"), self.db_socket, self.dir,
                             durable=False)
        self.encryption_key = st.new_secret_hex(32)
        self.mock = MockUpstream()
        self.gateways = []
        # Under `make check` the application runs with sanitizers; leaks in
        # the client libraries at exit are not ours to fix.
        self.app_prefix = []
        self.main = None

    def base_config(self):
        return {
            "db_socket": self.db_socket,
            "db_user": "root",
            "db_name": "apigw_test",
            "admin_token": ADMIN_TOKEN,
            "encryption_key": self.encryption_key,
            "workers": 48,
            "log_flush_ms": 50,
            "pool_refresh_ms": 200,
            "drain_timeout_s": 10,
            "metrics_models": "gpt-metrics-a, other-model",
        }

    def start(self):
        self.db.start()
        self.mock.start()
        cfg = os.path.join(self.dir, "migrate.conf")
        st.write_config(cfg, self.base_config())
        st.migrate(cfg)
        self.main = self.gateway("main")
        return self

    def gateway(self, name, overrides=None, env=None, start=True):
        g = Gateway(self, name, overrides, env)
        self.gateways.append(g)
        if start:
            g.start()
        return g

    def sql(self, statement):
        return self.db.sql(statement, "apigw_test")

    def reset_data(self):
        """Empties every table but the schema bookkeeping."""
        tables = self.sql("SHOW TABLES").split()
        stmts = ["SET FOREIGN_KEY_CHECKS=0"]
        for t in tables:
            if t not in ("schema_migrations", "pool_version"):
                stmts.append("TRUNCATE TABLE `%s`" % t)
        stmts.append("SET FOREIGN_KEY_CHECKS=1")
        stmts.append("UPDATE pool_version SET version = version + 1")
        self.sql(";".join(stmts))

    def stop(self, keep=False):
        for g in reversed(self.gateways):
            try:
                g.stop()
            except Exception:
                pass
        self.mock.stop()
        self.db.stop()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def wait_until(check, timeout=10, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))


def run_binary(name, args=(), env=None, stdin=b"", timeout=60):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([st.binary(name)] + list(args), input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=e, cwd=st.ROOT, timeout=timeout)
