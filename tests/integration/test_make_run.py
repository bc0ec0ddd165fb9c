"""`make run` as RUN.md describes it: one stack in the foreground, a second
copy refused, everything stopped on SIGTERM, data kept across restarts.
scripts/run.py is what the make target runs; APIGW_VAR points it at a
private folder so that it cannot disturb a developer's var/."""

import os
import signal
import socket
import stat
import subprocess
import sys
import time

import harness
from harness import wait_until

RUN = os.path.join(harness.st.ROOT, "scripts", "run.py")


def _start(var, port, argv=(sys.executable, RUN)):
    env = dict(os.environ, APIGW_VAR=var, APIGW_PORT=str(port))
    for k in ("APIGW_DB_HOST", "APIGW_DB_SOCKET", "APIGW_CONFIG"):
        env.pop(k, None)
    return subprocess.Popen(list(argv), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, cwd=harness.st.ROOT)


def _processes_using(path):
    out = subprocess.run(["ps", "-eo", "pid,stat,args"], stdout=subprocess.PIPE).stdout.decode()
    return [line for line in out.splitlines()[1:] if path in line and line.split()[1][0] != "Z"]


def _healthy(port):
    try:
        return harness.Client(port).get("/healthz", timeout=2).status == 200
    except OSError:
        return False


def _children_of(pid):
    out = subprocess.run(["ps", "-eo", "pid,ppid,args"], stdout=subprocess.PIPE).stdout.decode()
    return [line for line in out.splitlines()[1:] if line.split()[1] == str(pid)]


def _conf_value(conf, key):
    for line in conf.splitlines():
        name, _, value = line.partition("=")
        if name.strip() == key:
            return value.strip()
    return None


def _connect_as_nobody(path):
    """Exit status of a child that drops to user nobody and connects to the
    unix socket at path: 0 connected, 13 refused by permissions."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            code = 0
        except PermissionError:
            code = 13
        finally:
            os._exit(code)
    return os.waitpid(pid, 0)[1] >> 8


def _check_private_database(conf, var):
    """The application's database user is its own, with a generated
    password; the socket folder is the owner's alone; root takes no empty
    password."""
    assert _conf_value(conf, "db_user") not in (None, "", "root"), conf
    assert len(_conf_value(conf, "db_password") or "") >= 32
    run_dir = os.path.join(var, "run")
    assert stat.S_IMODE(os.stat(run_dir).st_mode) == 0o700
    if os.geteuid() == 0:
        # Every folder above run/ may be passed through for this check.
        above = [os.path.dirname(run_dir), os.path.dirname(os.path.dirname(run_dir))]
        modes = [stat.S_IMODE(os.stat(d).st_mode) for d in above]
        try:
            for d in above:
                os.chmod(d, 0o711)
            assert _connect_as_nobody(os.path.join(run_dir, "db.sock")) == 13
        finally:
            for d, m in zip(above, modes):
                os.chmod(d, m)
    db = harness.st.MariaDB(None, os.path.join(run_dir, "db.sock"), None)
    rows = db.sql("SELECT CONCAT_WS(' ', user, IFNULL(JSON_VALUE(priv, '$.plugin'), '-'), "
                  "IFNULL(JSON_VALUE(priv, '$.authentication_string'), '')) "
                  "FROM mysql.global_priv "
                  "WHERE host = 'localhost' AND user IN ('root', '%s')"
                  % _conf_value(conf, "db_user"))
    assert {row.split(" ")[0] for row in rows.splitlines()} == {"root",
                                                               _conf_value(conf, "db_user")}
    for row in rows.splitlines():
        user, plugin, *auth = row.split(" ")
        if user == "root":
            assert plugin == "unix_socket", row
        else:
            assert plugin == "mysql_native_password" and auth and auth[0], row


def test_make_run_lifecycle(stack):
    var = os.path.join(stack.dir, "run-var")
    port = harness.st.free_port()
    first = _start(var, port)
    try:
        wait_until(lambda: _healthy(port) or first.poll() is not None, timeout=120,
                   what="make run to serve /healthz")
        assert first.poll() is None, first.stdout.read().decode()
        # A second copy refuses and says why.
        second = _start(var, harness.st.free_port())
        out, _ = second.communicate(timeout=30)
        assert second.returncode != 0
        assert b"already running" in out, out
        # The admin token was generated, stored and is accepted.
        with open(os.path.join(var, "apigw.conf")) as f:
            conf = f.read()
        token = [line.split("=", 1)[1].strip() for line in conf.splitlines()
                 if line.startswith("admin_token")][0]
        assert len(token) >= 32
        _check_private_database(conf, var)
        db = harness.st.MariaDB(None, os.path.join(var, "run", "db.sock"), None)
        db.sql("INSERT INTO job_state VALUES ('it-marker', 'kept', UTC_TIMESTAMP())", "apigw")
        # A housekeeping job may be running at that moment: it is not counted.
        children = [c for c in _children_of(first.pid)
                    if not any(j in c for j in ("apigw-recover", "apigw-quota-reset",
                                                "apigw-log-cleanup", "apigw-jobs"))]
        assert len(children) == 3, children  # mariadbd, apigw-fcgi, nginx
        first.send_signal(signal.SIGTERM)
        out, _ = first.communicate(timeout=90)
        assert first.returncode == 0, out
        assert b"stopped" in out
        for line in children:
            pid = int(line.split()[0])
            assert not os.path.exists("/proc/%d" % pid) or \
                open("/proc/%d/stat" % pid).read().split()[2] == "Z", line
        assert not _healthy(port)
        assert token.encode() in out.split(b"admin token:")[1][:200]
    finally:
        if first.poll() is None:
            first.kill()
    # Data survives a restart, and the token is not regenerated.  This time
    # through the make target itself, as the README runs it: make passes
    # SIGTERM on to the stack, which stops everything it started.
    again = _start(var, port, ["make", "--no-print-directory", "run"])
    try:
        wait_until(lambda: _healthy(port) or again.poll() is not None, timeout=300,
                   what="make run to come back")
        assert again.poll() is None, again.stdout.read().decode()
        got = db.sql("SELECT value FROM job_state WHERE name = 'it-marker'", "apigw")
        assert got.strip() == "kept"
        with open(os.path.join(var, "apigw.conf")) as f:
            assert token in f.read()
    finally:
        again.send_signal(signal.SIGTERM)
        out, _ = again.communicate(timeout=90)
    assert b"stopped" in out, out
    assert not _healthy(port)
    wait_until(lambda: not _processes_using(var), timeout=10, what="the stack to stop")
    time.sleep(0.2)
