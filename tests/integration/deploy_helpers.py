"""Helpers shared by the test_deploy_*.py files: the deployment examples of
conf-examples/ run as written (only paths, ports and certificates
substituted) behind a real Apache (Debian's apache2 in a prefix of its
own) and a real nginx, and HTTP and HTTPS clients for them.  The smoke
suite that every deployment goes through is deploy_checks.py."""

import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile

import harness
from harness import ADMIN_TOKEN

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
