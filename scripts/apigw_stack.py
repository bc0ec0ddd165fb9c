"""Starts and stops the parts of a local API Gateway Pro stack.

One module serves `make run`, the integration tests and the benchmark, so
that all three run the stack the same way: a MariaDB server with its data in
a folder of its own (unix socket only), the schema applied by apigw-migrate,
the FastCGI application on a unix socket, and nginx in its own prefix.
Only the Python standard library is used.
"""

import os
import resource
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_dir():
    return os.path.join(ROOT, os.environ.get("BUILD", "build"))


def binary(name):
    return os.path.join(build_dir(), "bin", name)


def short_socket_path(path, tag):
    """Unix socket paths are limited to 108 bytes; fall back to /tmp."""
    if len(path) < 100:
        return path
    return "/tmp/apigw-%s-%s.sock" % (tag, secrets.token_hex(4))


def private_socket_path(path, tag):
    """Like short_socket_path, but a path too long falls back to a socket
    in a fresh folder of /tmp that only this user can enter (0700)."""
    if len(path) < 100:
        return path
    return os.path.join(tempfile.mkdtemp(prefix="apigw-%s-" % tag), tag + ".sock")


def wait_for(check, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("timed out after %ss waiting for %s" % (timeout, what))


def socket_accepts(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def port_accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A child process whose output goes to a log file."""

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = env
        self.cwd = cwd or ROOT
        self.proc = None

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                     env=self.env, cwd=self.cwd, start_new_session=True)
        log.close()
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def log_tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""


class MariaDB:
    """A private MariaDB server: data in datadir, reachable only by socket."""

    def __init__(self, datadir, socket_path, log_dir, durable=True, flush_log_at_trx_commit=1,
                 extra_args=(), app_user=None):
        self.datadir = datadir
        self.socket = socket_path
        self.log_dir = log_dir
        self.durable = durable
        self.flush_log_at_trx_commit = flush_log_at_trx_commit
        self.extra_args = list(extra_args)
        # (user, password, database): the account the application, apigw-migrate
        # and the cron jobs use (`make run`); see app_user_sql.
        self.app_user = app_user
        self.process = None

    def install(self):
        if os.path.isdir(os.path.join(self.datadir, "mysql")):
            return
        os.makedirs(self.datadir, exist_ok=True)
        out = subprocess.run(["mariadb-install-db", "--user=root", "--datadir=" + self.datadir,
                              "--auth-root-authentication-method=normal",
                              "--skip-test-db"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if out.returncode != 0:
            raise RuntimeError("mariadb-install-db failed:\n" + out.stdout.decode()[-2000:])

    def start(self):
        self.install()
        tmpdir = os.path.join(os.path.dirname(os.path.abspath(self.datadir)), "db-tmp")
        os.makedirs(tmpdir, exist_ok=True)
        argv = ["mariadbd", "--no-defaults", "--user=root", "--datadir=" + self.datadir,
                "--tmpdir=" + tmpdir,
                "--socket=" + self.socket, "--skip-networking",
                "--pid-file=" + os.path.join(self.log_dir, "mariadb.pid"),
                "--log-error=" + os.path.join(self.log_dir, "mariadb.err"),
                "--max-connections=2000", "--max-prepared-stmt-count=200000",
                "--innodb-buffer-pool-size=256M", "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci", "--skip-name-resolve"]
        if not self.durable:
            argv += ["--innodb-flush-log-at-trx-commit=0", "--sync-binlog=0",
                     "--innodb-doublewrite=0"]
        else:
            argv += ["--innodb-flush-log-at-trx-commit=%d" % self.flush_log_at_trx_commit]
        argv += self.extra_args
        init_file = None
        if self.app_user:
            init_file = os.path.join(os.path.dirname(os.path.abspath(self.socket)), "db-init.sql")
            fd = os.open(init_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(app_user_sql(*self.app_user))
            argv.append("--init-file=" + init_file)
        self.process = Process("mariadb", argv, os.path.join(self.log_dir, "mariadb.out")).start()
        try:
            wait_for(lambda: self._ready(), 60, "MariaDB on " + self.socket)
            if self.app_user:
                # The socket answers before the init file has run.
                wait_for(lambda: self._app_user_ready(), 60, "MariaDB's init file")
        except RuntimeError:
            raise RuntimeError("MariaDB did not start:\n" + self._error_log())
        finally:
            if init_file:
                os.unlink(init_file)  # it holds the password; the server has read it
        return self

    def _app_user_ready(self):
        """True once the application's account logs in (the init file ran)."""
        self._ready()
        user, password, _ = self.app_user
        out = subprocess.run(["mariadb", "--no-defaults", "-u" + user, "--socket=" + self.socket,
                              "-N", "-B", "-e", "SELECT 1"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=dict(os.environ, MYSQL_PWD=password))
        return out.returncode == 0

    def _ready(self):
        if not self.process.alive():
            raise RuntimeError("MariaDB exited:\n" + self._error_log())
        return socket_accepts(self.socket)

    def _error_log(self):
        try:
            with open(os.path.join(self.log_dir, "mariadb.err")) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def sql(self, statement, database=None):
        """Runs SQL with the mariadb client (tests and set-up only)."""
        argv = ["mariadb", "--no-defaults", "-uroot", "--socket=" + self.socket, "-N", "-B"]
        if database:
            argv.append(database)
        out = subprocess.run(argv + ["-e", statement], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        if out.returncode != 0:
            raise RuntimeError("SQL failed: %s\n%s" % (statement[:200], out.stderr.decode()))
        return out.stdout.decode()

    def stop(self):
        if self.process:
            self.process.stop(signal.SIGTERM, timeout=60)


SQL_NAME = re.compile(r"^[A-Za-z0-9_]{1,32}$")
SQL_SECRET = re.compile(r"^[\x21-\x7e]{16,256}$")


def app_user_sql(user, password, database):
    """The statements that give the application its own database account
    at every start of `make run`'s MariaDB (its --init-file): all
    privileges on its database only (apigw-migrate creates the database
    and its tables), and root reachable only by the operating system's
    root over the socket (unix_socket), never with an empty password."""
    if not SQL_NAME.match(user) or user == "root" or not SQL_NAME.match(database):
        raise RuntimeError("db_user and db_name must be 1-32 letters, digits or _ (not root)")
    if not SQL_SECRET.match(password) or "'" in password or "\\" in password:
        raise RuntimeError("db_password must be 16-256 printable characters without ' or \\")
    return ("CREATE USER IF NOT EXISTS '{u}'@'localhost' IDENTIFIED BY '{p}';\n"
            "ALTER USER '{u}'@'localhost' IDENTIFIED BY '{p}';\n"
            "GRANT ALL PRIVILEGES ON `{d}`.* TO '{u}'@'localhost';\n"
            "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket;\n"
            "DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1'{h};\n"
            "FLUSH PRIVILEGES;\n").format(u=user, p=password, d=database, h=root_by_host_name())


def root_by_host_name():
    """mariadb-install-db also makes root@HOSTNAME, without a password (for
    TCP, which this server does not listen on): it is dropped too."""
    host = socket.gethostname()
    if re.match(r"^[A-Za-z0-9.-]{1,60}$", host) and host != "localhost":
        return ", 'root'@'%s'" % host
    return ""


def write_config(path, values):
    """Writes a configuration file from a dict (None values are skipped)."""
    with open(path, "w") as f:
        f.write("# written by apigw_stack.py\n")
        for k, v in values.items():
            if v is not None:
                f.write("%s = %s\n" % (k, v))


def new_secret_hex(nbytes=32):
    return secrets.token_hex(nbytes)


def migrate(config_path, env=None):
    e = dict(os.environ if env is None else env)
    e["APIGW_CONFIG"] = config_path
    out = subprocess.run([binary("apigw-migrate")], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=e, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError("apigw-migrate failed: " + out.stdout.decode())
    return out.stdout.decode().strip()


class App:
    """The FastCGI application on a unix socket."""

    def __init__(self, config_path, socket_path, log_path, env=None, argv_prefix=None):
        self.config_path = config_path
        self.socket = socket_path
        self.log_path = log_path
        self.env = dict(os.environ if env is None else env)
        self.env["APIGW_CONFIG"] = config_path
        self.argv_prefix = argv_prefix or []
        self.process = None

    def start(self):
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        argv = self.argv_prefix + [binary("apigw-fcgi"), "-s", self.socket]
        self.process = Process("apigw-fcgi", argv, self.log_path, env=self.env).start()
        wait_for(lambda: self._ready(), 30, "the application on " + self.socket)
        return self

    def _ready(self):
        if not self.process.alive():
            raise RuntimeError("apigw-fcgi exited:\n" + self.process.log_tail())
        return socket_accepts(self.socket)

    def stop(self, timeout=40):
        return self.process.stop(signal.SIGTERM, timeout) if self.process else None


NGINX_WORKERS = 2


def keepalive_line(app_workers):
    """Idle FastCGI connections nginx may keep per worker process: each pins
    an application thread, so all of them together stay at a quarter of the
    threads.  Small thread counts get no kept connections at all."""
    k = app_workers // (4 * NGINX_WORKERS)
    return "keepalive %d;" % k if app_workers >= 8 and k >= 1 else ""


NGINX_NOFILE = 40000


def nginx_nofile():
    """worker_rlimit_nofile: 40000 (2 x 16384 connections and files), or
    the hard limit when that is lower and nginx may not raise it."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if os.geteuid() == 0 or hard == resource.RLIM_INFINITY:
        return NGINX_NOFILE
    return min(NGINX_NOFILE, hard)


class Nginx:
    """nginx in its own prefix, in front of one or more application sockets."""

    def __init__(self, prefix, port, fcgi_socket, web_root=None, client_max_body="64m",
                 template=None, app_workers=64):
        self.app_workers = app_workers
        self.prefix = prefix
        self.port = port
        self.fcgi_socket = fcgi_socket
        self.web_root = web_root or os.path.join(ROOT, "web")
        self.client_max_body = client_max_body
        self.template = template or os.path.join(ROOT, "conf-examples", "nginx-local.conf.in")
        self.conf = os.path.join(prefix, "nginx.conf")
        self.process = None

    def render(self):
        os.makedirs(self.prefix, exist_ok=True)
        for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(self.prefix, d), exist_ok=True)
        with open(self.template) as f:
            text = f.read()
        subs = {
            "@USER_LINE@": "user root;" if os.geteuid() == 0 else "",
            "@PREFIX@": self.prefix,
            "@PORT@": str(self.port),
            "@FCGI_SOCKET@": self.fcgi_socket,
            "@WEB_ROOT@": self.web_root,
            "@CLIENT_MAX_BODY@": self.client_max_body,
            "@KEEPALIVE_LINE@": keepalive_line(self.app_workers),
            "@KEEP_CONN@": "on" if self.app_workers >= 8 else "off",
            "@WORKER_RLIMIT_NOFILE@": str(nginx_nofile()),
        }
        for k, v in subs.items():
            text = text.replace(k, v)
        with open(self.conf, "w") as f:
            f.write(text)

    def start(self):
        self.render()
        argv = ["nginx", "-p", self.prefix, "-c", self.conf]
        self.process = Process("nginx", argv, os.path.join(self.prefix, "nginx.out")).start()
        wait_for(lambda: self._ready(), 20, "nginx on port %d" % self.port)
        return self

    def _ready(self):
        if not self.process.alive():
            raise RuntimeError("nginx exited:\n" + self.process.log_tail())
        return port_accepts(self.port)

    def stop(self):
        if self.process:
            self.process.stop(signal.SIGQUIT, timeout=10)


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def tool_path(name):
    return shutil.which(name)
