"""Helpers shared by the test_cron_*.py files: running the cron binaries
(apigw-quota-reset, apigw-recover, apigw-log-cleanup) with a configuration
of the test's choosing, reading whole tables to compare them, a clean slate
of keys and tokens, holding a job's named lock from another connection,
and the daily reset's times computed with zoneinfo."""

import datetime
import itertools
import os
import subprocess
import time
import zoneinfo

import harness

JOBS = ("apigw-quota-reset", "apigw-recover", "apigw-log-cleanup", "apigw-jobs")
LOCKS = {"apigw-quota-reset": "apigw_quota_reset", "apigw-recover": "apigw_recover",
         "apigw-log-cleanup": "apigw_log_cleanup"}

_conf_seq = itertools.count(1)


# ---------------------------------------------------------------- running jobs

class JobRun:
    """What one run of a job did: exit status and its two outputs (text)."""

    def __init__(self, name, args, rc, out, err, seconds=0.0):
        self.name = name
        self.args = list(args)
        self.rc = rc
        self.out = out.decode("utf-8", "replace") if isinstance(out, bytes) else out
        self.err = err.decode("utf-8", "replace") if isinstance(err, bytes) else err
        self.seconds = seconds

    def __repr__(self):
        return "<%s %s: rc=%r out=%r err=%r>" % (self.name, " ".join(self.args), self.rc,
                                                 self.out, self.err)

    def line(self):
        """The job succeeded, said one line on stdout and nothing on stderr:
        returns that line."""
        assert self.rc == 0, self
        assert self.err == "", self
        return one_line(self.out, self)

    def quiet(self):
        """Exit 0 with no output at all (a second copy)."""
        assert (self.rc, self.out, self.err) == (0, "", ""), self


def one_line(text, what=None):
    """text is exactly one non-empty line ending in a newline; returns it."""
    assert text.endswith("\n") and text.count("\n") == 1 and text.strip(), \
        "expected exactly one line, got %r (%r)" % (text, what)
    return text[:-1]


def job_env(stack, config=None):
    return {"APIGW_CONFIG": config or stack.main.config_path}


def run_job(stack, name, *args, config=None, timeout=120):
    """Runs a job to its end with APIGW_CONFIG = config (default: the
    running gateway's configuration)."""
    t0 = time.time()
    r = harness.run_binary(name, list(args), env=job_env(stack, config), timeout=timeout)
    return JobRun(name, args, r.returncode, r.stdout, r.stderr, time.time() - t0)


def start_job(stack, name, *args, config=None):
    """Starts a job in the background; finish it with finish_job."""
    e = dict(os.environ)
    e.update(job_env(stack, config))
    p = subprocess.Popen([harness.st.binary(name)] + list(args), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                         cwd=harness.st.ROOT)
    p.job_name = name
    p.job_args = list(args)
    p.t0 = time.time()
    return p


def finish_job(p, timeout=120):
    out, err = p.communicate(timeout=timeout)
    return JobRun(p.job_name, p.job_args, p.returncode, out, err, time.time() - p.t0)


def write_conf(stack, extra_lines=None, **overrides):
    """A configuration file of the test's own: the stack's base configuration
    with overrides (None removes a key), plus raw extra lines at the end.
    Returns (path, number of lines)."""
    values = stack.base_config()
    values.update(overrides)
    path = os.path.join(stack.dir, "cron-%d.conf" % next(_conf_seq))
    harness.st.write_config(path, values)
    if extra_lines:
        with open(path, "a") as f:
            for line in extra_lines:
                f.write(line + "\n")
    with open(path) as f:
        n = len(f.read().splitlines())
    return path, n


# ---------------------------------------------------------------- the database

def sql_rows(stack, statement):
    """Rows as lists of strings (NULL stays "NULL")."""
    return [line.split("\t") for line in stack.sql(statement).splitlines() if line != ""]


def sql_int(stack, statement):
    return int(stack.sql(statement).strip())


def sql_val(stack, statement):
    return stack.sql(statement).rstrip("\n")


def table(stack, name, where="1=1", order="1"):
    """Every row of a table (or those matching where), for comparing before
    and after; binary columns in hexadecimal."""
    cols = sql_rows(stack, "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS"
                           " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '%s'"
                           " ORDER BY ORDINAL_POSITION" % name)
    assert cols, "no table %s" % name
    sel = ", ".join("HEX(`%s`)" % c if t in ("binary", "varbinary", "blob") else "`%s`" % c
                    for c, t in cols)
    return stack.sql("SELECT %s FROM `%s` WHERE %s ORDER BY %s" % (sel, name, where, order))


def snapshot(stack, names):
    return {n: table(stack, n) for n in names}


def assert_same(before, after):
    for name in before:
        assert before[name] == after[name], "table %s changed:\nbefore:\n%s\nafter:\n%s" % (
            name, before[name][:3000], after[name][:3000])


def pool_version(stack):
    return sql_int(stack, "SELECT version FROM pool_version WHERE id = 1")


def clean_slate(stack):
    """No upstreams (nor keys, key history, rules), no client tokens, no
    job_state: the jobs' summary counts are then exactly the test's own."""
    stack.sql("SET FOREIGN_KEY_CHECKS=0; DELETE FROM key_events; DELETE FROM rule_hits;"
              " DELETE FROM upstream_guard; DELETE FROM rules; DELETE FROM api_keys;"
              " DELETE FROM upstreams; DELETE FROM client_tokens; DELETE FROM job_state;"
              " DELETE FROM capacity_state;"
              " SET FOREIGN_KEY_CHECKS=1; UPDATE pool_version SET version = version + 1")


def key_row(stack, key_id):
    """The cron-relevant columns of one key, straight from the table."""
    cols = ["status", "used_today", "probe_failures", "disabled_until", "status_reason",
            "total_requests", "total_failures"]
    rows = sql_rows(stack, "SELECT %s FROM api_keys WHERE id = %d" % (", ".join(cols), key_id))
    assert len(rows) == 1, (key_id, rows)
    out = dict(zip(cols, rows[0]))
    for c in ("used_today", "probe_failures", "total_requests", "total_failures"):
        out[c] = int(out[c])
    for c in ("disabled_until", "status_reason"):
        if out[c] == "NULL":
            out[c] = None
    return out


def until_in_s(stack, key_id):
    """Seconds from the database's now to the key's disabled_until."""
    return sql_int(stack, "SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), disabled_until)"
                          " FROM api_keys WHERE id = %d" % key_id)


def key_events(stack, key_id):
    """The key's history, oldest first: (from, to, reason, actor, excerpt)."""
    return [tuple(r) for r in sql_rows(
        stack, "SELECT from_status, to_status, reason, actor, COALESCE(excerpt, 'NULL')"
               " FROM key_events WHERE key_id = %d ORDER BY id" % key_id)]


def set_keys(stack, ids, assignments):
    """UPDATE api_keys SET <assignments> for those ids, and a pool reload."""
    stack.sql("UPDATE api_keys SET %s WHERE id IN (%s); UPDATE pool_version SET version ="
              " version + 1" % (assignments, ", ".join(str(int(i)) for i in ids)))


# ---------------------------------------------------------------- the named lock

class HeldLock:
    """Holds a MariaDB named lock from a separate, long-lived client (a
    `mariadb` process reading statements from a pipe) for a with-block."""

    def __init__(self, stack, name):
        self.stack = stack
        self.name = name
        self.proc = None

    def __enter__(self):
        argv = ["mariadb", "--no-defaults", "-uroot", "--socket=" + self.stack.db_socket, "-N",
                "-B", "apigw_test"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.proc.stdin.write(b"SELECT GET_LOCK('%s', 0);\n" % self.name.encode())
        self.proc.stdin.flush()
        harness.wait_until(lambda: self.holder() is not None, timeout=10,
                           what="the lock %s to be taken" % self.name)
        return self

    def holder(self):
        v = sql_val(self.stack, "SELECT IS_USED_LOCK('%s')" % self.name)
        return None if v == "NULL" else int(v)

    def __exit__(self, *exc):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        harness.wait_until(lambda: self.holder() is None, timeout=10,
                           what="the lock %s to be released" % self.name)
        return False


# ---------------------------------------------------------------- the daily reset

def zone(tz):
    return zoneinfo.ZoneInfo(tz)


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def avoid_hour_edge(tz, margin_s=6):
    """Local hours start at :00 local time (which is :30 or :15 UTC in some
    zones): start a check only when the current local hour has at least
    margin_s seconds left, so that the job sees the hour the test computed."""
    local = utc_now().astimezone(zone(tz))
    left = 3600 - (local.minute * 60 + local.second + local.microsecond / 1e6)
    if left < margin_s:
        time.sleep(left + 0.5)


def reset_at(tz, day, hour):
    """The instant of the reset of local date `day` (a UTC datetime)."""
    t = datetime.datetime.combine(day, datetime.time(hour), tzinfo=zone(tz))
    return t.astimezone(datetime.timezone.utc)


def prev_reset(tz, hour, now=None):
    """(instant, local date) of the latest reset at or before now."""
    now = now or utc_now()
    day = now.astimezone(zone(tz)).date()
    for d in range(0, 3):
        t = reset_at(tz, day - datetime.timedelta(days=d), hour)
        if t <= now:
            return t, day - datetime.timedelta(days=d)
    raise AssertionError("no reset in the last 3 days?")


def next_reset(tz, hour, now=None):
    now = now or utc_now()
    day = now.astimezone(zone(tz)).date()
    for d in range(-1, 3):
        t = reset_at(tz, day + datetime.timedelta(days=d), hour)
        if t > now:
            return t
    raise AssertionError("no reset in the next 3 days?")


def rfc3339(t):
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_hour(tz):
    return utc_now().astimezone(zone(tz)).hour


# ---------------------------------------------------------------- misc

def parse_db_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=datetime.timezone.utc)
