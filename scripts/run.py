#!/usr/bin/env python3
"""`make run`: the whole stack in the foreground, data kept in var/.

Starts MariaDB (unless APIGW_DB_HOST / APIGW_DB_SOCKET or the configuration
names an existing server), applies the schema, starts the FastCGI
application and nginx on 127.0.0.1:$APIGW_PORT, prints the URL and how to
log in, and stops everything it started on Ctrl-C or SIGTERM.  When the
application dies it is started again (AppKeeper); its pid is in
var/run/apigw-fcgi.pid.  The housekeeping jobs run on the schedule of
conf-examples/crontab (JobScheduler), one line printed per run.
"""

import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apigw_stack as st  # noqa: E402

# APIGW_VAR moves the state folder (the tests use it); default var/.
VAR = os.path.abspath(os.environ.get("APIGW_VAR") or os.path.join(st.ROOT, "var"))


def say(msg):
    print("apigw: " + msg, flush=True)


def take_lock():
    os.makedirs(VAR, exist_ok=True)
    f = open(os.path.join(VAR, "run.lock"), "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        pid = f.read().strip() or "?"
        say("make run is already running (pid %s); stop it first" % pid)
        sys.exit(1)
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def set_config_value(path, key, value):
    with open(path) as f:
        lines = f.read().splitlines()
    pat = re.compile(r"^\s*%s\s*=" % re.escape(key))
    for i, line in enumerate(lines):
        if pat.match(line):
            lines[i] = "%s = %s" % (key, value)
            break
    else:
        lines.append("%s = %s" % (key, value))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)


def config_value(path, key):
    with open(path) as f:
        for line in f:
            m = re.match(r"^\s*%s\s*=\s*(.*?)\s*$" % re.escape(key), line)
            if m:
                return m.group(1).strip("\"'")
    return ""


def prepare_config():
    path = os.environ.get("APIGW_CONFIG") or os.path.join(VAR, "apigw.conf")
    fresh_token = None
    if not os.path.exists(path):
        shutil.copy(os.path.join(st.ROOT, "conf-examples", "apigw.conf"), path)
        os.chmod(path, 0o600)
        say("wrote %s from conf-examples/apigw.conf" % path)
    if not config_value(path, "encryption_key"):
        set_config_value(path, "encryption_key", st.new_secret_hex(32))
        say("generated encryption_key in %s (keep a copy: stored keys need it)" % path)
    if not config_value(path, "admin_token"):
        fresh_token = st.new_secret_hex(24)
        set_config_value(path, "admin_token", fresh_token)
    return path, fresh_token


def prepare_db_user(config_path, env):
    """make run's own MariaDB: the application, apigw-migrate and the cron
    jobs connect as a dedicated user with a generated password, both kept
    in the configuration file (mode 0600); root is not theirs to use.
    Returns (user, password, database) as the programs will see them."""
    if config_value(config_path, "db_user") in ("", "root"):
        set_config_value(config_path, "db_user", "apigw")
        say("the application's database user is apigw (db_user in %s)" % config_path)
    if not config_value(config_path, "db_password"):
        set_config_value(config_path, "db_password", st.new_secret_hex(24))
        say("generated db_password in %s" % config_path)
    return tuple(effective(config_path, k, env) for k in ("db_user", "db_password", "db_name"))


def effective(config_path, key, env):
    out = subprocess.run([st.binary("apigw-fcgi"), "-c", config_path, "--get", key],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=st.ROOT)
    if out.returncode != 0:
        say(out.stderr.decode().strip())
        sys.exit(2)
    return out.stdout.decode().strip()


def exit_status(code):
    """How a process ended, from its Popen returncode."""
    if code is not None and code < 0:
        try:
            return "killed by signal %d (%s)" % (-code, signal.Signals(-code).name)
        except ValueError:
            return "killed by signal %d" % -code
    return "exit status %s" % code


class AppKeeper:
    """Restarts the application when it dies, at once the first time; a
    crash loop (each run shorter than QUICK_S) waits longer each time, from
    0.5 s up to 30 s, so that it cannot spin.  nginx answers the gap with
    the JSON 502 of web/errors/app_unavailable.json."""

    QUICK_S = 10.0
    MAX_DELAY_S = 30.0

    def __init__(self, app, pid_path, stopping, started_at):
        self.app = app
        self.pid_path = pid_path
        self.stopping = stopping
        self.quick_deaths = 0
        self.started_at = started_at
        self.write_pid()

    def write_pid(self):
        with open(self.pid_path, "w") as f:
            f.write("%d\n" % self.app.process.proc.pid)

    def delay(self):
        if self.quick_deaths <= 1:
            return 0.0
        return min(0.5 * 2 ** (self.quick_deaths - 2), self.MAX_DELAY_S)

    def wait(self, seconds):
        end = time.monotonic() + seconds
        while not self.stopping["flag"] and time.monotonic() < end:
            time.sleep(0.05)

    def restart(self):
        """Called when the application has exited: starts it again (after
        the back-off a crash loop earns), unless make run is stopping."""
        proc = self.app.process
        ran = time.monotonic() - self.started_at
        self.quick_deaths = self.quick_deaths + 1 if ran < self.QUICK_S else 1
        delay = self.delay()
        say("apigw-fcgi (pid %d) died after %.1f s: %s; %s" % (
            proc.proc.pid, ran, exit_status(proc.proc.returncode),
            "restarting it" if delay == 0 else
            "crash loop (%d quick exits in a row): restarting it in %g s" % (
                self.quick_deaths, delay)))
        tail = proc.log_tail(5)
        if tail:
            say("its last log lines:\n" + tail)
        self.wait(delay)
        if self.stopping["flag"]:
            return
        self.started_at = time.monotonic()
        try:
            self.app.start()
        except RuntimeError as e:
            say("apigw-fcgi did not come back: %s" % str(e).splitlines()[0])
            return  # the main loop sees it dead and comes back here
        self.write_pid()
        say("apigw-fcgi is back (pid %d)" % self.app.process.proc.pid)


class JobScheduler(threading.Thread):
    """Runs the housekeeping jobs as conf-examples/crontab schedules them,
    on local time: apigw-recover and apigw-jobs every minute, apigw-quota-reset every hour
    on the hour, apigw-log-cleanup daily at 03:17.  Jobs run one at a time;
    each run prints one line and appends its output to var/log/cron.log.
    APIGW_JOBS_SCALE (a number, default 1) multiplies every period and
    offset: the tests use 0.05 to run apigw-recover every 3 s."""

    # (name, period in seconds, offset into the period)
    JOBS = (("apigw-recover", 60, 0), ("apigw-jobs", 60, 0), ("apigw-quota-reset", 3600, 0),
            ("apigw-log-cleanup", 86400, 3 * 3600 + 17 * 60))
    TIMEOUT_S = 600

    def __init__(self, env, log_path, stopping):
        super().__init__(name="jobs", daemon=True)
        self.env = env
        self.log_path = log_path
        self.stopping = stopping
        self.scale = self.read_scale(env.get("APIGW_JOBS_SCALE", ""))
        now = time.time()
        self.due = {name: self.next_run(period, offset, now)
                    for name, period, offset in self.JOBS}

    @staticmethod
    def read_scale(text):
        try:
            scale = float(text) if text else 1.0
        except ValueError:
            scale = 0.0
        if not 0.001 <= scale <= 1000:
            say("APIGW_JOBS_SCALE=%s is not a number from 0.001 to 1000; using 1" % text)
            scale = 1.0
        return scale

    def next_run(self, period, offset, now):
        """The first start after now, on local time like cron."""
        period, offset = period * self.scale, offset * self.scale
        local = now + time.localtime(now).tm_gmtoff
        return now + (offset - (local - offset) % period) % period

    def run_job(self, name):
        began = time.monotonic()
        try:
            out = subprocess.run([st.binary(name)], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, env=self.env, cwd=st.ROOT,
                                 timeout=self.TIMEOUT_S)
            text, status = out.stdout.decode(errors="replace"), exit_status(out.returncode)
        except (OSError, subprocess.TimeoutExpired) as e:
            text, status = str(e), "did not finish"
        with open(self.log_path, "a") as f:
            f.write(text)
        lines = [line for line in text.splitlines() if line.strip()]
        say("job %s (%s, %.1f s): %s" % (name, status, time.monotonic() - began,
                                         lines[-1] if lines else "no output"))

    def run(self):
        while not self.stopping["flag"]:
            now = time.time()
            for name, period, offset in self.JOBS:
                if self.due[name] <= now and not self.stopping["flag"]:
                    self.run_job(name)
                    self.due[name] = self.next_run(period, offset, max(now, time.time()))
            time.sleep(0.2)


def main():
    lock = take_lock()  # noqa: F841  (held until exit)
    for d in ("run", "db", "log", "nginx", "spool"):
        os.makedirs(os.path.join(VAR, d), exist_ok=True)
    # The database's and the application's sockets: only this user enters.
    os.chmod(os.path.join(VAR, "run"), 0o700)
    config_path, fresh_token = prepare_config()
    env = dict(os.environ)
    env["APIGW_CONFIG"] = config_path
    env.setdefault("APIGW_SPOOL_DIR", os.path.join(VAR, "spool"))

    started = []
    stopping = {"flag": False}

    def stop_all(signum=None, frame=None):
        stopping["flag"] = True

    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)

    try:
        external_db = (env.get("APIGW_DB_HOST") or env.get("APIGW_DB_SOCKET") or
                       effective(config_path, "db_host", env))
        if not external_db:
            sock = st.private_socket_path(os.path.join(VAR, "run", "db.sock"), "db")
            env["APIGW_DB_SOCKET"] = sock
            say("starting MariaDB (data in %s)" % os.path.join(VAR, "db"))
            db = st.MariaDB(os.path.join(VAR, "db"), sock, os.path.join(VAR, "log"),
                            app_user=prepare_db_user(config_path, env))
            db.start()
            started.append(db)
        say(st.migrate(config_path, env))

        port = int(effective(config_path, "port", env))
        if st.port_accepts(port):
            say("port %d is already in use; set APIGW_PORT to another port" % port)
            return 1
        app_sock = st.short_socket_path(os.path.join(VAR, "run", "apigw.sock"), "app")
        env["APIGW_FCGI_SOCKET"] = app_sock
        app = st.App(config_path, app_sock, os.path.join(VAR, "log", "apigw.log"), env=env)
        app_started = time.monotonic()
        app.start()
        started.append(app)
        nginx = st.Nginx(os.path.join(VAR, "nginx"), port, app_sock,
                         app_workers=int(effective(config_path, "workers", env)),
                         client_max_body="%dm" % (int(effective(config_path, "max_body_bytes",
                                                                env)) // (1 << 20) + 2))
        nginx.start()
        started.append(nginx)
        # The pid file is there before "running" is said, so that whoever
        # waits for that line finds it.
        keeper = AppKeeper(app, os.path.join(VAR, "run", "apigw-fcgi.pid"), stopping,
                           app_started)

        token = env.get("APIGW_ADMIN_TOKEN") or config_value(config_path, "admin_token")
        say("API Gateway Pro is running at http://127.0.0.1:%d/" % port)
        if fresh_token:
            say("generated the bootstrap admin token (stored in %s):" % config_path)
        say("log in at http://127.0.0.1:%d/ with the admin token: %s" % (port, token))
        say("  or: curl -H 'Authorization: Bearer %s' http://127.0.0.1:%d/api/admin/upstreams"
            % (token, port))
        say("logs: %s; press Ctrl-C to stop" % os.path.join(VAR, "log", "apigw.log"))
        jobs = JobScheduler(env, os.path.join(VAR, "log", "cron.log"), stopping)
        jobs.start()
        say("housekeeping jobs run on the crontab schedule (apigw-recover every %g s); "
            "their output goes to %s" % (60 * jobs.scale, jobs.log_path))
        while not stopping["flag"]:
            for part in started:
                proc = part.process
                if part is app and not proc.alive():
                    keeper.restart()
                elif not proc.alive():
                    say("%s exited unexpectedly:\n%s" % (proc.name, proc.log_tail()))
                    return 1
            time.sleep(0.1)
        say("stopping")
        return 0
    except RuntimeError as e:
        say(str(e))
        return 1
    finally:
        for part in reversed(started):
            try:
                part.stop()
            except Exception as e:  # keep stopping the others
                say("while stopping: %s" % e)
        if started:
            say("stopped")


if __name__ == "__main__":
    sys.exit(main())
