"""`make install DESTDIR=...` into a temporary root, then the installed
files at work: the staged tree and its man pages, apigw-migrate creating and
upgrading a fresh database from the staged schema, apigw-fcgi behind nginx
(on its own socket, and on fd 0 from spawn-fcgi as systemd's
StandardInput=socket hands it over), the cron jobs, the systemd units
(systemd-analyze verify) and the crontab's lines."""

import os
import re
import secrets
import shlex
import subprocess
import tempfile
import time

import deploy_helpers as dh
import harness
from admin_helpers import A, key_value, ok, uniq
from harness import ADMIN_TOKEN, Client

st = harness.st
PREFIX = "/usr/local"
BINARIES = ["apigw-fcgi", "apigw-migrate", "apigw-quota-reset", "apigw-recover",
            "apigw-log-cleanup", "apigw-jobs"]
CRON_JOBS = ["apigw-quota-reset", "apigw-recover", "apigw-log-cleanup", "apigw-jobs"]


class Installed:
    """The staged tree of one `make install DESTDIR=root PREFIX=/usr/local`."""

    def __init__(self, root):
        self.root = root
        self.prefix = root + PREFIX
        self.bin = os.path.join(self.prefix, "bin")
        self.share = os.path.join(self.prefix, "share", "apigw")
        self.man = os.path.join(self.prefix, "share", "man")
        self.sql = os.path.join(self.share, "sql")
        # The installed programs run from a folder of their own: nothing of
        # the source tree (such as ./sql) is within their reach.
        self.cwd = tempfile.mkdtemp(prefix="cwd-", dir=root)

    def binary(self, name):
        return os.path.join(self.bin, name)

    def run(self, name, args=(), config=None, env=None, timeout=120):
        e = {k: v for k, v in os.environ.items() if not k.startswith("APIGW_")}
        if config:
            e["APIGW_CONFIG"] = config
        e.update(env or {})
        return subprocess.run([self.binary(name)] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=e, cwd=self.cwd, timeout=timeout,
                              stdin=subprocess.DEVNULL)


def installed(stack):
    """make install, once per run (run from the repository's root)."""
    cache = stack.__dict__.setdefault("_deploy_install", {})
    if "inst" not in cache:
        dh.stop_sites(stack)      # the Apache tests' last site
        root = tempfile.mkdtemp(prefix="destdir-", dir=stack.dir)
        build = os.path.relpath(st.build_dir(), st.ROOT)
        out = subprocess.run(["make", "--no-print-directory", "install", "DESTDIR=" + root,
                              "PREFIX=" + PREFIX, "BUILD=" + build],
                             cwd=st.ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=300)
        assert out.returncode == 0, "make install failed:\n" + out.stdout.decode()[-3000:]
        cache["inst"] = Installed(root)
    return cache["inst"]


def fresh_config(stack, inst, tag):
    """A configuration naming a database that does not exist yet."""
    name = "apigw_%s_%s" % (tag, secrets.token_hex(3))
    folder = tempfile.mkdtemp(prefix=tag + "-", dir=stack.dir)
    values = stack.base_config()
    values.update({"db_name": name, "spool_dir": os.path.join(folder, "spool")})
    path = os.path.join(folder, "apigw.conf")
    st.write_config(path, values)
    return path, name


def fresh_database(stack):
    """One fresh database migrated by the installed apigw-migrate (its SQL
    folder given by APIGW_SQL_DIR), shared by the tests below."""
    inst = installed(stack)
    cache = stack.__dict__.setdefault("_deploy_install", {})
    if "db" not in cache:
        cfg, name = fresh_config(stack, inst, "inst")
        r = inst.run("apigw-migrate", config=cfg, env={"APIGW_SQL_DIR": inst.sql})
        assert r.returncode == 0, r
        cache["db"] = (cfg, name)
    return cache["db"]


def tables(stack, db):
    return set(stack.db.sql("SHOW TABLES", db).split())


# ---------------------------------------------------------------- the tree

def test_make_install_stages_binaries_data_and_man_pages(stack):
    inst = installed(stack)
    assert sorted(os.listdir(inst.bin)) == sorted(BINARIES), os.listdir(inst.bin)
    for b in BINARIES:
        mode = os.stat(inst.binary(b)).st_mode & 0o777
        assert mode == 0o755, (b, oct(mode))
    for folder in ("sql", "web", "conf-examples"):
        want = _files(os.path.join(st.ROOT, folder))
        got = _files(os.path.join(inst.share, folder))
        assert got == want, (folder, sorted(want ^ got))
    for f in ("web/index.html", "web/errors/body_too_large.json",
              "conf-examples/nginx/apigw.conf", "conf-examples/apache/apigw-common.inc",
              "conf-examples/shared-hosting/htaccess", "conf-examples/systemd/apigw.socket",
              "conf-examples/crontab"):
        assert os.path.isfile(os.path.join(inst.share, f)), f
    man8 = os.path.join(inst.man, "man8")
    assert sorted(os.listdir(man8)) == sorted(b + ".8" for b in BINARIES), os.listdir(man8)
    for b in BINARIES:
        page = os.path.join(man8, b + ".8")
        r = subprocess.run(["man", "-l", page], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0"),
                           timeout=60)
        text = re.sub(".\b", "", r.stdout.decode("utf-8", "replace"))   # overstrike
        assert r.returncode == 0, (page, r.stderr.decode())
        assert r.stderr.decode().strip() == "", (page, r.stderr.decode())
        assert "NAME" in text and "SYNOPSIS" in text and b in text, (page, text[:500])


def _files(top):
    out = set()
    for d, _dirs, files in os.walk(top):
        for f in files:
            out.add(os.path.relpath(os.path.join(d, f), top))
    return out


# ---------------------------------------------------------------- apigw-migrate

def test_installed_migrate_with_sql_dir_creates_then_says_up_to_date(stack):
    inst = installed(stack)
    cfg, name = fresh_config(stack, inst, "mig")
    files = [f for f in os.listdir(inst.sql) if re.match(r"\d{3}_.*\.sql$", f)]
    # The version is the highest number, which a branch may reach with a gap.
    n, top = len(files), max(int(f[:3]) for f in files)
    r = inst.run("apigw-migrate", ["--sql-dir", inst.sql], config=cfg)
    assert (r.returncode, r.stderr) == (0, b""), r
    assert r.stdout.decode() == "applied %d migrations (schema at version %03d)\n" % (n, top), r
    assert {"api_keys", "upstreams", "request_logs", "schema_migrations"} <= tables(stack, name)
    r = inst.run("apigw-migrate", ["--sql-dir", inst.sql], config=cfg)
    assert (r.returncode, r.stderr) == (0, b""), r
    assert r.stdout.decode() == "schema is up to date (version %03d)\n" % top, r


def test_installed_migrate_finds_its_sql_by_environment_and_default(stack):
    inst = installed(stack)
    cfg, name = fresh_config(stack, inst, "env")
    r = inst.run("apigw-migrate", config=cfg, env={"APIGW_SQL_DIR": inst.sql})
    assert r.returncode == 0 and r.stdout.startswith(b"applied "), r
    r = inst.run("apigw-migrate", config=cfg, env={"APIGW_SQL_DIR": inst.sql})
    assert r.returncode == 0 and r.stdout.startswith(b"schema is up to date"), r
    # Without either, the compiled-in default is where `make install` puts
    # the schema: $(PREFIX)/share/apigw/sql.
    default = PREFIX + "/share/apigw/sql"
    if not os.path.isdir(default):
        r = inst.run("apigw-migrate", config=cfg)
        assert r.returncode == 1, r
        assert r.stderr.decode() == \
            "apigw-migrate: cannot open the migrations folder %s\n" % default, r


# ---------------------------------------------------------------- apigw-fcgi

def _behind_nginx(stack, inst, argv, sock, cfg, folder):
    """Runs argv (an installed apigw-fcgi, perhaps under spawn-fcgi) with a
    harness nginx in front; returns (process, nginx, client, admin)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIGW_")}
    env["APIGW_CONFIG"] = cfg
    proc = st.Process("installed", argv, os.path.join(folder, "app.log"), env=env,
                      cwd=inst.cwd).start()
    try:
        st.wait_for(lambda: proc.alive() and st.socket_accepts(sock), 30,
                    "the installed application on " + sock)
    except RuntimeError:
        proc.stop()
        raise AssertionError("the installed application did not start:\n" + proc.log_tail())
    ng = st.Nginx(os.path.join(folder, "nginx"), st.free_port(), sock, app_workers=8)
    ng.start()
    return proc, ng, Client(ng.port), Client(ng.port, ADMIN_TOKEN)


def test_installed_fcgi_on_its_socket_serves_health_admin_and_proxy(stack):
    inst = installed(stack)
    cfg, _name = fresh_database(stack)
    folder = tempfile.mkdtemp(prefix="fcgi-", dir=stack.dir)
    sock = st.short_socket_path(os.path.join(folder, "app.sock"), "inst")
    proc, ng, client, admin = _behind_nginx(stack, inst, [inst.binary("apigw-fcgi"), "-s", sock],
                                            sock, cfg, folder)
    try:
        r = client.get("/healthz")
        assert r.status == 200 and r.json() == {"status": "ok", "db": "ok"}, r
        up = ok(admin.post(A + "/upstreams", json={"name": uniq("inst"),
                                                   "base_url": stack.mock.url}), 201)
        value = key_value("i")
        ok(admin.post(A + "/keys", json={"upstream_id": up["id"], "key_value": value}), 201)
        tok = ok(admin.post(A + "/tokens", json={"name": uniq("itok")}), 201)["token"]
        time.sleep(dh.SETTLE_S)
        stack.mock.reset()
        r = client.post("/proxy/%s/v1/echo?x=1" % up["name"], token=tok, body=b"installed")
        assert r.status == 200, r
        q = stack.mock.requests[-1]
        assert (q.method, q.path, q.body) == ("POST", "/v1/echo?x=1", b"installed"), q.__dict__
        assert q.header("Authorization") == "Bearer " + value
    finally:
        ng.stop()
        rc = proc.stop()
    assert rc == 0, proc.log_tail()


def test_spawn_fcgi_hands_the_socket_as_fd0(stack):
    """spawn-fcgi -n -s SOCK -- apigw-fcgi: the listening socket arrives as
    file descriptor 0, as systemd's StandardInput=socket hands it over."""
    inst = installed(stack)
    cfg, _name = fresh_database(stack)
    folder = tempfile.mkdtemp(prefix="spawn-", dir=stack.dir)
    sock = st.short_socket_path(os.path.join(folder, "app.sock"), "spawn")
    argv = ["spawn-fcgi", "-n", "-s", sock, "-M", "0660", "--", inst.binary("apigw-fcgi")]
    proc, ng, client, admin = _behind_nginx(stack, inst, argv, sock, cfg, folder)
    try:
        for _ in range(5):
            r = client.get("/healthz")
            assert r.status == 200 and r.json() == {"status": "ok", "db": "ok"}, r
        r = admin.get(A + "/upstreams")
        assert r.status == 200, r
        assert "serving FastCGI" in proc.log_tail(), proc.log_tail()
    finally:
        ng.stop()
        rc = proc.stop()
    assert rc == 0, (rc, proc.log_tail())


# ---------------------------------------------------------------- cron jobs

SUMMARY = {
    "apigw-quota-reset": r"^(nothing to do: .*|reset used_today of \d+ keys and \d+ tokens, .*)$",
    "apigw-recover": r"^recovered \d+ keys, \d+ still failing$",
    "apigw-log-cleanup": r"^deleted \d+ log rows older than .*$",
    "apigw-jobs": r"^worked on \d+ validation jobs \(\d+ keys\); re-checked \d+ banned keys,"
                  r" \d+ active again$",
}


def test_installed_cron_jobs_help_and_one_run_each(stack):
    inst = installed(stack)
    cfg, _name = fresh_database(stack)
    for b in BINARIES:
        r = inst.run(b, ["--help"])
        assert r.returncode == 0 and r.stdout.startswith(b"usage: " + b.encode()), (b, r)
    for job in CRON_JOBS:
        r = inst.run(job, config=cfg)
        out = r.stdout.decode()
        assert r.returncode == 0 and r.stderr == b"", (job, r)
        assert out.endswith("\n") and out.count("\n") == 1, (job, out)
        assert re.match(SUMMARY[job], out.strip()), (job, out)
    # --force: the quota reset acts whatever the hour.
    r = inst.run("apigw-quota-reset", ["--force"], config=cfg)
    assert r.returncode == 0 and re.match(rb"reset used_today of \d+ keys", r.stdout), r


# ---------------------------------------------------------------- systemd

def test_systemd_units_verify(stack):
    inst = installed(stack)
    src = os.path.join(dh.EXAMPLES, "systemd")
    units = sorted(os.listdir(src))
    assert {"apigw.service", "apigw.socket"} <= set(units), units
    for job in CRON_JOBS:
        assert {job + ".service", job + ".timer"} <= set(units), units
    folder = tempfile.mkdtemp(prefix="units-", dir=stack.dir)
    for u in units:
        with open(os.path.join(src, u)) as f:
            text = f.read()
        for b in re.findall(r"/usr/local/bin/([\w-]+)", text):
            assert b in BINARIES, (u, b)
        with open(os.path.join(folder, u), "w") as f:
            f.write(text.replace(PREFIX + "/bin/", inst.bin + "/"))
    env = dict(os.environ, MANPATH=inst.man + ":", SYSTEMD_LOG_COLOR="0")
    r = subprocess.run(["systemd-analyze", "verify"] + units, cwd=folder, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    assert (r.returncode, r.stdout.decode()) == (0, ""), r.stdout.decode()
    # The check is real here: a unit with a mistake is refused.
    with open(os.path.join(folder, "apigw.service")) as f:
        text = f.read()
    bad = os.path.join(folder, "bad")
    os.makedirs(bad)
    with open(os.path.join(bad, "apigw.service"), "w") as f:
        f.write(text.replace("ExecStart=" + inst.bin, "ExecStart=/nonexistent"))
    os.link(os.path.join(folder, "apigw.socket"), os.path.join(bad, "apigw.socket"))
    r = subprocess.run(["systemd-analyze", "verify", "apigw.service", "apigw.socket"], cwd=bad,
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    assert r.returncode != 0 and b"/nonexistent" in r.stdout, r.stdout


# ---------------------------------------------------------------- crontab

def test_crontab_lines_name_installed_binaries_and_run(stack):
    inst = installed(stack)
    cfg, _name = fresh_database(stack)
    with open(os.path.join(dh.EXAMPLES, "crontab")) as f:
        lines = [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]
    env_lines = [ln for ln in lines if re.match(r"^[A-Z_]+=", ln)]
    jobs = [ln for ln in lines if ln not in env_lines]
    assert env_lines == ["APIGW_CONFIG=/etc/apigw/apigw.conf"], env_lines
    assert len(jobs) == len(CRON_JOBS), jobs
    logdir = tempfile.mkdtemp(prefix="cronlog-", dir=stack.dir)
    named = []
    for ln in jobs:
        fields = ln.split(None, 5)
        assert len(fields) == 6, ln
        for fld in fields[:5]:
            assert re.match(r"^(\*|\d+)(/\d+)?(,\d+)*$", fld), (ln, fld)
        cmd = fields[5]
        prog = shlex.split(cmd)[0]
        assert prog.startswith(PREFIX + "/bin/"), ln
        name = os.path.basename(prog)
        named.append(name)
        staged = inst.binary(name)
        assert os.path.isfile(staged) and os.access(staged, os.X_OK), (ln, staged)
        # The line itself, as cron's shell runs it (installed paths, a log
        # folder that exists).
        run = cmd.replace(PREFIX + "/bin/", inst.bin + "/").replace("/var/log/apigw", logdir)
        e = {k: v for k, v in os.environ.items() if not k.startswith("APIGW_")}
        e["APIGW_CONFIG"] = cfg
        r = subprocess.run(["/bin/sh", "-c", run], env=e, cwd=inst.cwd, timeout=120,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert r.returncode == 0 and r.stdout == b"", (ln, r)
    assert sorted(named) == sorted(CRON_JOBS), named
    # Without the log folder the shell refuses the redirection and the job
    # does not run (the crontab's comment says to create it).
    missing = os.path.join(logdir, "missing")
    run = jobs[0].split(None, 5)[5].replace(PREFIX + "/bin/", inst.bin + "/")
    r = subprocess.run(["/bin/sh", "-c", run.replace("/var/log/apigw", missing)], env=e,
                       cwd=inst.cwd, timeout=60, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    assert r.returncode != 0 and b"nonexistent" in r.stdout.lower(), r
    with open(os.path.join(logdir, "cron.log")) as f:
        log = f.read().splitlines()
    assert len(log) == len(CRON_JOBS), log
    for job, line in zip(named, log):
        assert re.match(SUMMARY[job], line), (job, line)
